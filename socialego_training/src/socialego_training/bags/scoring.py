"""Score the SocialEgo outputs recorded in a bag against its ground-truth topic.

Works on bags written by our replay tool and on bags recorded elsewhere with ``ros2 bag record``
of our topics (``/socialego/intents``, ``/socialego/model_info``, ``/socialego/poses``) plus the
ground truth (``/socialego/ground_truth`` and, for camera bags, ``/socialego/ground_truth_poses``),
either in the same bag or in a separate truth bag.

Matching a published forecast to a labelled person, in order:
1. the forecast's track id is a labelled track id (pose bags: the labels' ids are the poses' ids);
2. the pose node's box of that track at that stamp overlaps a labelled box (intersection over
   the smaller box >= ``min_overlap``, one-to-one assignment per image);
3. the track's last match, while that person is still visible;
4. the only labelled person visible at that stamp.
Forecasts that match nobody are counted, never scored.

Per labelled track, the decision of a task is the ``final`` (last known, non-stale preferred) or
``majority`` (most frequent known) published decision; a track with none scores as UNKNOWN (wrong).
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from socialego_core.labels import ATTITUDE_LABELS, TASKS, get_label_table

from .calibration import published_calibration
from .io import NS_PER_S, bag_custom_data, bag_topics, read_messages, stamp_to_ns
from .typestore import (
    GROUND_TRUTH_POSES_TOPIC,
    GROUND_TRUTH_TOPIC,
    INTENTS_TOPIC,
    MODEL_INFO_TOPIC,
    POSES_TOPIC,
)

UNKNOWN = "UNKNOWN"
NOT_INTERACTING = ATTITUDE_LABELS[2]
# final: the last published decision; majority: the most frequent one; first_full: the first
# one made on a fully observed window (as the offline protocol: one window from the track start)
DECISION_RULES: tuple[str, ...] = ("final", "majority", "first_full")
# A median latency beyond this means the receive clock is not the stamps' clock.
MAX_PLAUSIBLE_LATENCY_MS = 60_000.0


@dataclass
class TruthTrack:
    track_id: str
    video_name: str
    dataset: str
    labels: dict[str, str]  # task -> label name
    stamps: list[int] = field(default_factory=list)  # ns, sorted

    @property
    def first_ns(self) -> int:
        return self.stamps[0]

    @property
    def last_ns(self) -> int:
        return self.stamps[-1]


@dataclass
class Forecast:
    """One published SocialIntent, decoded to label names (None = UNKNOWN)."""

    stamp_ns: int
    received_ns: int
    track_id: str
    decisions: dict[str, str | None]
    stale: bool
    input_quality: float
    frames_used: int = 0
    truth_id: str | None = None
    matched_by: str = ""
    probabilities: dict[str, np.ndarray] = field(default_factory=dict)  # task -> published


@dataclass
class BagEvaluation:
    """Everything the report needs; ``to_dict`` is the JSON form (scores.json)."""

    truth: dict[str, TruthTrack]
    forecasts: list[Forecast]
    decisions: dict[str, dict[str, dict[str, str]]]  # rule -> task -> truth id -> label
    metrics: dict[str, Any]
    confusion: dict[str, dict[str, Any]]  # task -> {"labels": [...], "matrix": [[...]]}
    timing: dict[str, Any]
    latency_ms: dict[str, list[float]]
    model: dict[str, Any]
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        per_track = []
        for truth_id, track in sorted(self.truth.items()):
            row = {
                "track_id": truth_id,
                "video_name": track.video_name,
                "truth": track.labels,
                **{
                    rule: {t: self.decisions[rule][t][truth_id] for t in TASKS}
                    for rule in DECISION_RULES
                },
                **self.timing["per_track"].get(truth_id, {}),
            }
            per_track.append(row)
        return {
            "metrics": self.metrics,
            "confusion": self.confusion,
            "timing": {k: v for k, v in self.timing.items() if k != "per_track"},
            "latency": {topic: latency_summary(v) for topic, v in self.latency_ms.items()},
            "model": self.model,
            "tracks": per_track,
            "notes": self.notes,
        }


def latency_summary(values_ms: list[float]) -> dict[str, float | int]:
    if not values_ms:
        return {"count": 0}
    v = np.asarray(values_ms, dtype=float)
    return {
        "count": int(v.size),
        "mean_ms": float(v.mean()),
        "median_ms": float(np.median(v)),
        "p90_ms": float(np.percentile(v, 90)),
        "p99_ms": float(np.percentile(v, 99)),
        "max_ms": float(v.max()),
    }


def _box_overlap(
    a: tuple[float, float, float, float], b: tuple[float, float, float, float]
) -> float:
    """Intersection over the smaller box: a pose estimator's box (from keypoints) is often much
    tighter than a labelled box of the same person, which IoU would punish."""
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    ih = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    smaller = min(a[2] * a[3], b[2] * b[3])
    return iw * ih / smaller if smaller > 0 else 0.0


def _boxes(pose_array: Any) -> dict[str, tuple[float, float, float, float]]:
    return {
        p.track_id: (p.bbox_x, p.bbox_y, p.bbox_width, p.bbox_height)
        for p in pose_array.poses
        if p.bbox_width > 0 and p.bbox_height > 0
    }


def _read_truth(path: Path) -> tuple[dict[str, TruthTrack], dict[int, dict[str, tuple]]]:
    truth: dict[str, TruthTrack] = {}
    truth_boxes: dict[int, dict[str, tuple]] = {}
    for item in read_messages(path, [GROUND_TRUTH_TOPIC, GROUND_TRUTH_POSES_TOPIC]):
        stamp = stamp_to_ns(item.message.header.stamp)
        if item.topic == GROUND_TRUTH_POSES_TOPIC:
            truth_boxes[stamp] = _boxes(item.message)
            continue
        for person in item.message.people:
            track = truth.get(person.track_id)
            if track is None:
                labels = {
                    "intent": person.intent_label,
                    "attitude": person.attitude_label,
                    "action": person.action_label,
                }
                if not all(labels.values()):
                    raise ValueError(
                        f"{path}: ground truth of {person.track_id!r} lacks label names"
                    )
                track = TruthTrack(person.track_id, person.video_name, person.dataset, labels)
                truth[person.track_id] = track
            track.stamps.append(stamp)
    for track in truth.values():
        track.stamps.sort()
    return truth, truth_boxes


def _model_info(message: Any) -> dict[str, Any]:
    return {
        "model_name": message.model_name,
        "model_version": message.model_version,
        "dataset": message.dataset,
        "intent": list(message.intent_labels),
        "attitude": list(message.attitude_labels),
        "action": list(message.action_labels),
        "window_length": int(message.window_length),
        "window_stride": int(message.window_stride),
        "source_fps": float(message.source_fps),
    }


def _decode(value: int, labels: list[str] | tuple[str, ...]) -> str | None:
    return labels[value - 1] if 1 <= value <= len(labels) else None


def _read_outputs(
    path: Path, default_labels: dict[str, tuple[str, ...]]
) -> tuple[list[Forecast], dict[int, dict[str, tuple]], dict[str, list[float]], dict[str, Any]]:
    intents_raw: list[tuple[int, Any]] = []
    pose_boxes: dict[int, dict[str, tuple]] = {}
    latency: dict[str, list[float]] = defaultdict(list)
    model: dict[str, Any] = {}
    topics = [INTENTS_TOPIC, POSES_TOPIC, MODEL_INFO_TOPIC]
    for item in read_messages(path, topics):
        if item.topic == MODEL_INFO_TOPIC:
            model = _model_info(item.message)
            continue
        stamp = stamp_to_ns(item.message.header.stamp)
        if item.topic == POSES_TOPIC:
            pose_boxes[stamp] = _boxes(item.message)
            latency[POSES_TOPIC].append((item.log_time_ns - stamp) / 1e6)
        else:
            intents_raw.append((item.log_time_ns, item.message))
            if item.message.intents:  # empty arrays are heartbeats stamped "now"
                latency[INTENTS_TOPIC].append((item.log_time_ns - stamp) / 1e6)
    labels = {t: tuple(model.get(t) or default_labels[t]) for t in TASKS}
    forecasts = []
    for received, array in intents_raw:
        for intent in array.intents:
            action = intent.action_label or _decode(intent.action, labels["action"])
            forecasts.append(
                Forecast(
                    stamp_ns=stamp_to_ns(intent.header.stamp),
                    received_ns=received,
                    track_id=intent.track_id,
                    decisions={
                        "intent": _decode(intent.intent, labels["intent"]),
                        "attitude": _decode(intent.attitude, labels["attitude"]),
                        "action": action if intent.action else None,
                    },
                    stale=bool(intent.stale),
                    input_quality=float(intent.input_quality),
                    frames_used=int(intent.frames_used),
                    probabilities={
                        t: np.asarray(getattr(intent, f"{t}_probabilities"), dtype=np.float64)
                        for t in TASKS
                    },
                )
            )
    forecasts.sort(key=lambda f: (f.stamp_ns, f.received_ns))
    return forecasts, pose_boxes, dict(latency), model


def _box_matches(
    pose_boxes: dict[int, dict[str, tuple]],
    truth_boxes: dict[int, dict[str, tuple]],
    min_overlap: float,
) -> dict[tuple[int, str], str]:
    from scipy.optimize import linear_sum_assignment

    matches: dict[tuple[int, str], str] = {}
    for stamp, predicted in pose_boxes.items():
        labelled = truth_boxes.get(stamp)
        if not predicted or not labelled:
            continue
        pred_ids, truth_ids = list(predicted), list(labelled)
        overlap = np.array(
            [[_box_overlap(predicted[p], labelled[t]) for t in truth_ids] for p in pred_ids]
        )
        rows, cols = linear_sum_assignment(-overlap)
        for r, c in zip(rows, cols):
            if overlap[r, c] >= min_overlap:
                matches[(stamp, pred_ids[r])] = truth_ids[c]
    return matches


def _associate(
    forecasts: list[Forecast],
    truth: dict[str, TruthTrack],
    box_matches: dict[tuple[int, str], str],
    tolerance_ns: int,
) -> None:
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
    match_stamps = sorted({stamp for stamp, _ in box_matches})

    def box_match(forecast: Forecast) -> str | None:
        i = bisect.bisect_left(match_stamps, forecast.stamp_ns)
        for stamp in match_stamps[max(0, i - 1) : i + 1]:
            if abs(stamp - forecast.stamp_ns) <= tolerance_ns:
                if (hit := box_matches.get((stamp, forecast.track_id))) is not None:
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


def _track_decision(forecasts: list[Forecast], task: str, rule: str, window_length: int = 0) -> str:
    known = [f for f in forecasts if f.decisions[task] is not None]
    if not known:
        return UNKNOWN
    if rule == "first_full":
        full = [f for f in known if f.frames_used >= window_length]
        return full[0].decisions[task] if full else UNKNOWN  # type: ignore[return-value]
    if rule == "final":
        fresh = [f for f in known if not f.stale]
        return (fresh or known)[-1].decisions[task]  # type: ignore[return-value]
    counts = Counter(f.decisions[task] for f in known)
    top = max(counts.values())
    # ties go to the label decided most recently
    for f in reversed(known):
        if counts[f.decisions[task]] == top:
            return f.decisions[task]  # type: ignore[return-value]
    raise AssertionError("unreachable")


def _task_metrics(y_true: list[str], y_pred: list[str]) -> dict[str, float | int]:
    if not y_true:
        return {"n": 0}
    present = sorted(set(y_true))
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "weighted_f1": float(
            f1_score(y_true, y_pred, labels=present, average="weighted", zero_division=0)
        ),
    }


def _timing(truth: dict[str, TruthTrack], by_truth: dict[str, list[Forecast]]) -> dict[str, Any]:
    per_track: dict[str, dict[str, float | None]] = {}
    for truth_id, track in truth.items():
        forecasts = by_truth.get(truth_id, [])
        correct = track.labels["intent"]
        decided = [f for f in forecasts if f.decisions["intent"] is not None]
        first_decision = (decided[0].stamp_ns - track.first_ns) / NS_PER_S if decided else None
        first_correct = next(
            (
                (f.stamp_ns - track.first_ns) / NS_PER_S
                for f in decided
                if f.decisions["intent"] == correct
            ),
            None,
        )
        # the earliest time after which every published decision is correct
        stable = None
        for f in reversed(decided):
            if f.decisions["intent"] != correct:
                break
            stable = (f.stamp_ns - track.first_ns) / NS_PER_S
        per_track[truth_id] = {
            "duration_s": (track.last_ns - track.first_ns) / NS_PER_S,
            "first_decision_s": first_decision,
            "first_correct_intent_s": first_correct,
            "stable_correct_intent_s": stable,
        }

    def stats(key: str) -> dict[str, float | int]:
        values = [v[key] for v in per_track.values() if v[key] is not None]
        if not values:
            return {"tracks": 0}
        return {
            "tracks": len(values),
            "mean_s": float(np.mean(values)),
            "median_s": float(np.median(values)),
            "max_s": float(np.max(values)),
        }

    n = len(per_track)
    ever = sum(1 for v in per_track.values() if v["first_correct_intent_s"] is not None)
    return {
        "per_track": per_track,
        "first_decision": stats("first_decision_s"),
        "first_correct_intent": stats("first_correct_intent_s"),
        "stable_correct_intent": stats("stable_correct_intent_s"),
        "share_ever_correct_intent": ever / n if n else math.nan,
    }


def score_bag(
    outputs_bag: str | Path,
    truth_bag: str | Path | None = None,
    *,
    min_overlap: float = 0.5,
    tolerance_ms: float = 20.0,
) -> BagEvaluation:
    """Score the forecasts in ``outputs_bag`` against the ground truth (same bag by default)."""
    outputs_bag = Path(outputs_bag)
    truth_bag = Path(truth_bag) if truth_bag is not None else outputs_bag
    notes: list[str] = []
    truth_topics = bag_topics(truth_bag)
    if GROUND_TRUTH_TOPIC not in truth_topics:
        raise ValueError(
            f"bag {truth_bag} has no {GROUND_TRUTH_TOPIC} topic (topics: {sorted(truth_topics)}); "
            "pass the bag holding the ground truth as the truth bag"
        )
    output_topics = bag_topics(outputs_bag)
    if INTENTS_TOPIC not in output_topics:
        raise ValueError(
            f"bag {outputs_bag} has no {INTENTS_TOPIC} topic (topics: {sorted(output_topics)}): "
            "nothing to score"
        )
    truth, truth_boxes = _read_truth(truth_bag)
    if not truth:
        raise ValueError(f"bag {truth_bag}: {GROUND_TRUTH_TOPIC} labels nobody")
    dataset = next(iter(truth.values())).dataset or "jpl_social"
    table = get_label_table(dataset)
    defaults = {t: table.labels(t) for t in TASKS}
    forecasts, pose_boxes, latency, model = _read_outputs(outputs_bag, defaults)
    if not model:
        notes.append(f"no {MODEL_INFO_TOPIC} in the bag: decoded labels with the {dataset} table")
    if (
        outputs_bag != truth_bag
        and POSES_TOPIC not in output_topics
        and POSES_TOPIC in truth_topics
    ):
        pose_boxes = _read_outputs(truth_bag, defaults)[1]
    _associate(
        forecasts,
        truth,
        _box_matches(pose_boxes, truth_boxes, min_overlap),
        round(tolerance_ms * 1e6),
    )
    unmatched = sum(1 for f in forecasts if f.truth_id is None)
    if unmatched:
        notes.append(f"{unmatched} of {len(forecasts)} forecasts matched no labelled person")
    by_truth: dict[str, list[Forecast]] = defaultdict(list)
    for forecast in forecasts:
        if forecast.truth_id is not None:
            by_truth[forecast.truth_id].append(forecast)
    ids = sorted(truth)
    window_length = int(model.get("window_length") or 0)
    decisions = {
        rule: {
            task: {i: _track_decision(by_truth.get(i, []), task, rule, window_length) for i in ids}
            for task in TASKS
        }
        for rule in DECISION_RULES
    }
    metrics: dict[str, Any] = {
        "tracks": len(ids),
        "tracks_with_forecasts": sum(1 for i in ids if by_truth.get(i)),
        "forecasts": len(forecasts),
        "forecasts_matched": len(forecasts) - unmatched,
        "matched_by": dict(Counter(f.matched_by for f in forecasts if f.truth_id)),
    }
    for rule in DECISION_RULES:
        per_task = {}
        for task in TASKS:
            y_true = [truth[i].labels[task] for i in ids]
            per_task[task] = _task_metrics(y_true, [decisions[rule][task][i] for i in ids])
        # attitude without the people who do not interact (the authors' masked metric)
        kept = [i for i in ids if truth[i].labels["attitude"] != NOT_INTERACTING]
        per_task["attitude_masked"] = _task_metrics(
            [truth[i].labels["attitude"] for i in kept],
            [decisions[rule]["attitude"][i] for i in kept],
        )
        metrics[rule] = per_task
    # every published (matched, known) decision against the truth of its person
    per_message = {}
    for task in TASKS:
        pairs = [
            (truth[f.truth_id].labels[task], f.decisions[task])
            for f in forecasts
            if f.truth_id is not None and f.decisions[task] is not None
        ]
        per_message[task] = _task_metrics([p[0] for p in pairs], [p[1] for p in pairs])  # type: ignore[misc]
    masked = [
        (truth[f.truth_id].labels["attitude"], f.decisions["attitude"])
        for f in forecasts
        if f.truth_id is not None
        and f.decisions["attitude"] is not None
        and truth[f.truth_id].labels["attitude"] != NOT_INTERACTING
    ]
    per_message["attitude_masked"] = _task_metrics(
        [p[0] for p in masked],
        [p[1] for p in masked],  # type: ignore[misc]
    )
    metrics["per_message"] = per_message
    labels_of = {t: list(model.get(t) or defaults[t]) for t in TASKS}
    metrics["calibration"] = published_calibration(forecasts, truth, labels_of)
    confusion = {}
    for task in TASKS:
        y_true = [truth[i].labels[task] for i in ids]
        y_pred = [decisions["final"][task][i] for i in ids]
        labels = list(model.get(task) or defaults[task])
        labels += sorted({*y_true, *y_pred} - set(labels) - {UNKNOWN})
        if UNKNOWN in y_pred:
            labels.append(UNKNOWN)
        matrix = confusion_matrix(y_true, y_pred, labels=labels)
        confusion[task] = {"labels": labels, "matrix": matrix.tolist()}
    for topic, values in list(latency.items()):
        median = float(np.median(values)) if values else 0.0
        if not -1_000.0 <= median <= MAX_PLAUSIBLE_LATENCY_MS:
            # e.g. `ros2 bag record` without --use-sim-time during a sim-time replay
            del latency[topic]
            notes.append(
                f"{topic}: receive times and header stamps use different clocks (median "
                f"difference {median / 1000:.0f} s); latency not reported. Record replays with "
                "`ros2 bag record --use-sim-time`."
            )
    rate = float(bag_custom_data(outputs_bag).get("socialego.replay_rate", "1") or 1)
    if rate != 1.0:
        # stamps and receive times are in bag (simulated) time: convert to wall time
        latency = {k: [v / rate for v in vals] for k, vals in latency.items()}
        notes.append(f"replayed at {rate}x: latencies converted to wall-clock milliseconds")
    return BagEvaluation(
        truth=truth,
        forecasts=forecasts,
        decisions=decisions,
        metrics=metrics,
        confusion=confusion,
        timing=_timing(truth, by_truth),
        latency_ms=latency,
        model=model,
        notes=notes,
    )
