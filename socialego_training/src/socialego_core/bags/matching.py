"""Match published forecasts to labelled people (by track id, box overlap, history, or
being the only person visible); see the order in ``scoring``'s docstring."""

from __future__ import annotations

import bisect
from collections import defaultdict

import numpy as np
from scipy.optimize import linear_sum_assignment

from .evaluation import Boxes, Forecast, TruthTrack


def box_overlap(
    a: tuple[float, float, float, float], b: tuple[float, float, float, float]
) -> float:
    """Intersection over the smaller box: a pose estimator's box (from keypoints) is often much
    tighter than a labelled box of the same person, which IoU would punish."""
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    ih = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    smaller = min(a[2] * a[3], b[2] * b[3])
    return iw * ih / smaller if smaller > 0 else 0.0


def match_boxes(
    pose_boxes: Boxes, truth_boxes: Boxes, min_overlap: float
) -> dict[tuple[int, str], str]:
    """(stamp, pose track id) -> labelled track id, one-to-one per image by box overlap."""
    matches: dict[tuple[int, str], str] = {}
    for stamp, predicted in pose_boxes.items():
        labelled = truth_boxes.get(stamp)
        if not predicted or not labelled:
            continue
        pred_ids, truth_ids = list(predicted), list(labelled)
        overlap = np.array(
            [[box_overlap(predicted[p], labelled[t]) for t in truth_ids] for p in pred_ids]
        )
        rows, cols = linear_sum_assignment(-overlap)
        for r, c in zip(rows, cols):
            if overlap[r, c] >= min_overlap:
                matches[(stamp, pred_ids[r])] = truth_ids[c]
    return matches


def associate(
    forecasts: list[Forecast],
    truth: dict[str, TruthTrack],
    matched_boxes: dict[tuple[int, str], str],
    tolerance_ns: int,
) -> None:
    """Set each forecast's ``truth_id`` and ``matched_by`` (see the order in ``scoring``)."""
    visible: dict[int, list[str]] = defaultdict(list)
    for track in truth.values():
        for stamp in track.stamps:
            visible[stamp].append(track.track_id)
    stamps = sorted(visible)

    def nearest_stamp(t: int) -> int | None:
        i = bisect.bisect_left(stamps, t)
        best = min(
            (s for s in stamps[max(0, i - 1) : i + 1]), key=lambda s: abs(s - t), default=None
        )
        return best if best is not None and abs(best - t) <= tolerance_ns else None

    # forecasts carry the stamp of their newest pose; allow for stamps rounded on the way
    match_stamps = sorted({stamp for stamp, _ in matched_boxes})

    def box_match(forecast: Forecast) -> str | None:
        i = bisect.bisect_left(match_stamps, forecast.stamp_ns)
        for stamp in match_stamps[max(0, i - 1) : i + 1]:
            if abs(stamp - forecast.stamp_ns) <= tolerance_ns:
                if (hit := matched_boxes.get((stamp, forecast.track_id))) is not None:
                    return hit
        return None

    last_match: dict[str, str] = {}
    for forecast in forecasts:
        if forecast.track_id in truth:
            forecast.truth_id, forecast.matched_by = forecast.track_id, "track_id"
        elif (hit := box_match(forecast)) is not None:
            forecast.truth_id, forecast.matched_by = hit, "box"
        elif (previous := last_match.get(forecast.track_id)) is not None and (
            truth[previous].first_ns - tolerance_ns
            <= forecast.stamp_ns
            <= truth[previous].last_ns + tolerance_ns
        ):
            forecast.truth_id, forecast.matched_by = previous, "track history"
        else:
            stamp = nearest_stamp(forecast.stamp_ns)
            if stamp is not None and len(visible[stamp]) == 1:
                forecast.truth_id, forecast.matched_by = visible[stamp][0], "only person"
        if forecast.truth_id is not None:
            last_match[forecast.track_id] = forecast.truth_id
