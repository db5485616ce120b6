"""Keypoints -> heatmap-grid points: the (T, 135, 3) point arrays (COCO-WholeBody 133, then the
gaze head and target), the person's union box and the per-part boxes (``heatmap_frame="part"``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from socialego_core.layouts import BODY, COCO_WHOLEBODY133, FACE, HANDS, LEFT_HAND, RIGHT_HAND

from .config import ModalityConfig
from .tracks import N_WHOLEBODY, TrackFrames

# With heatmap_frame="part" each of these groups is mapped into its own union box over the window.
PART_GROUPS: dict[str, tuple[int, ...]] = {
    "face": tuple(FACE),
    "left_hand": tuple(LEFT_HAND),
    "right_hand": tuple(RIGHT_HAND),
}

NOSE = COCO_WHOLEBODY133.index("nose")
GAZE_HEAD = N_WHOLEBODY  # index of the gaze head point in the (…, 135, 3) point arrays
GAZE_TARGET = N_WHOLEBODY + 1
N_POINTS = N_WHOLEBODY + 2

STREAM_POINTS: dict[str, tuple[int, ...]] = {
    "body": tuple(BODY),
    "face": tuple(FACE),
    "hand": tuple(HANDS),
    "gaze": (GAZE_HEAD, GAZE_TARGET),
}


def union_box(
    points: np.ndarray,
    margin: float,
    width: float,
    height: float,
    min_score: float = 0.0,
) -> np.ndarray:
    """Square (x0, y0, side) around the confident points (K, 3) of the window, grown by margin.

    Points scoring at least ``min_score`` count; if there are none, every point with a score > 0.
    """
    finite = np.isfinite(points).all(axis=1)
    seen = points[(points[:, 2] >= max(min_score, 1e-9)) & finite]
    if len(seen) == 0:
        seen = points[(points[:, 2] > 0) & finite]
    if len(seen) == 0:
        return np.array([0.0, 0.0, max(width, height)], dtype=np.float32)
    lo = seen[:, :2].min(axis=0)
    hi = seen[:, :2].max(axis=0)
    center = (lo + hi) / 2
    side = float(max(hi - lo)) * (1 + 2 * margin)
    side = max(side, 16.0)  # a degenerate box (one point) still gives a usable crop
    return np.array([center[0] - side / 2, center[1] - side / 2, side], dtype=np.float32)


def _pull_inside(head: np.ndarray, target: np.ndarray, size: int) -> np.ndarray:
    """Move ``target`` along head -> target onto the grid [0, size-1]^2 if it lies outside."""
    hi = size - 1.0
    if (0 <= target).all() and (target <= hi).all():
        return target
    head_c = np.clip(head, 0, hi)
    d = target - head_c
    t = 1.0
    for k in range(2):
        if d[k] > 0:
            t = min(t, (hi - head_c[k]) / d[k])
        elif d[k] < 0:
            t = min(t, (0 - head_c[k]) / d[k])
    return head_c + max(t, 0.0) * d


def grid_points(track: TrackFrames, ids: Sequence[int], cfg: ModalityConfig) -> tuple:
    """(T, 135, 3) points in heatmap-grid coordinates and the (x0, y0, side) pixel box."""
    kp = np.stack([track.keypoints[i] for i in ids]).astype(np.float32)  # (T, 133, 3)
    kp[~np.isfinite(kp).all(axis=-1)] = 0.0
    pts = np.zeros((len(ids), N_POINTS, 3), dtype=np.float32)
    pts[:, :N_WHOLEBODY] = kp
    for t, fid in enumerate(ids):
        g = track.gaze.get(fid)
        if g is not None and np.isfinite(g).all():
            pts[t, GAZE_HEAD] = (g[0], g[1], 1.0)
            pts[t, GAZE_TARGET] = (g[2], g[3], 1.0)
        else:  # documented fallback: nose Gaussian as the head, no target
            pts[t, GAZE_HEAD] = kp[t, NOSE]
    # the box follows the person (body, face, hands, gaze head), not the gaze target
    box = union_box(
        pts[:, : GAZE_HEAD + 1].reshape(-1, 3),
        cfg.box_margin,
        track.width,
        track.height,
        cfg.box_min_score,
    )
    out = pts.copy()
    _to_grid(out, pts, box, cfg.heatmap_size, slice(None))
    if cfg.heatmap_frame == "part":
        for idx in PART_GROUPS.values():
            _part_to_grid(out, pts, list(idx), float(box[2]), cfg)
    for t in range(len(ids)):
        if out[t, GAZE_TARGET, 2] > 0:
            out[t, GAZE_TARGET, :2] = _pull_inside(
                out[t, GAZE_HEAD, :2], out[t, GAZE_TARGET, :2], cfg.heatmap_size
            )
    out[pts[..., 2] <= 0] = 0.0
    return out, box


def _to_grid(out: np.ndarray, pts: np.ndarray, box: np.ndarray, size: int, index) -> None:
    """Map pixel points ``pts[:, index]`` into the ``size`` grid of ``box`` (x0, y0, side)."""
    scale = size / box[2]
    out[:, index, 0] = (pts[:, index, 0] - box[0]) * scale - 0.5
    out[:, index, 1] = (pts[:, index, 1] - box[1]) * scale - 0.5


def _part_to_grid(
    out: np.ndarray, pts: np.ndarray, part: list[int], person_side: float, cfg: ModalityConfig
) -> None:
    """Map one part (face or a hand) into its own box, re-centred on the part in every frame.

    The side is the part's largest extent over the window (one scale for the whole window), so the
    grid shows the part's shape (finger curl, mouth) rather than its path, which the body stream
    already carries. A part box is no smaller than 1/10 of the person box: a hand seen as one
    blob (all fingers on a pixel) must not blow up into the whole grid.
    """
    p = pts[:, part]  # (T, K, 3)
    seen = (p[..., 2] >= max(cfg.box_min_score, 1e-9)) & np.isfinite(p).all(-1)
    frames = np.flatnonzero(seen.any(1))
    if len(frames) == 0:
        return  # no confident point of this part in the window: leave the person-box mapping
    lo = np.stack([p[t, seen[t], :2].min(0) for t in frames])
    hi = np.stack([p[t, seen[t], :2].max(0) for t in frames])
    side = max(float((hi - lo).max()) * (1 + 2 * cfg.part_margin), person_side / 10, 4.0)
    # a frame without confident points of the part takes the nearest earlier (else later) centre
    centres = ((lo + hi) / 2)[
        np.maximum(np.searchsorted(frames, np.arange(len(p)), "right") - 1, 0)
    ]
    origin = (centres - side / 2).astype(np.float32)  # (T, 2) top-left corner per frame
    scale = cfg.heatmap_size / np.float32(side)
    out[:, part, :2] = (pts[:, part, :2] - origin[:, None]) * scale - 0.5
