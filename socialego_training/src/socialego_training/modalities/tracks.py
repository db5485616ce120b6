"""Track access for the teacher's inputs: any loader's track (or a raw JSON dict) as
``TrackFrames``, and the real frame ids a student window shows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from socialego_core.layouts import COCO_WHOLEBODY133
from socialego_core.window import WindowSpec, frame_ids_for_window

N_WHOLEBODY = COCO_WHOLEBODY133.num_joints


@dataclass
class TrackFrames:
    """What the modalities need from one track, whatever loader produced it."""

    video_name: str
    width: float
    height: float
    keypoints: dict[int, np.ndarray]  # frame id -> (133, 3) pixels
    gaze: dict[int, np.ndarray]  # frame id -> (4,) head_x, head_y, target_x, target_y (pixels)
    source: str = ""  # file the track came from (for error messages)


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if isinstance(obj, Mapping) and name in obj:
            return obj[name]
        if not isinstance(obj, Mapping) and hasattr(obj, name):
            return getattr(obj, name)
    return default


def track_frames(track: Any) -> TrackFrames:
    """Adapt a raw JSON dict (method.md section 2) or a loader's track object."""
    source = str(_get(track, "path", "source", "file", default="") or "")
    frames = _get(track, "frames")
    if frames is None:
        raise ValueError(f"track {source or '?'} has no 'frames'")
    video_name = _get(track, "video_name")
    if video_name is None:
        raise ValueError(f"track {source or '?'} has no 'video_name'")
    size = _get(track, "frame_size")
    if size is None:
        width, height = _get(track, "width"), _get(track, "height")
    else:
        width, height = size
    keypoints: dict[int, np.ndarray] = {}
    gaze: dict[int, np.ndarray] = {}
    if isinstance(frames, Mapping):  # already frame id -> keypoints
        for fid, kp in frames.items():
            keypoints[int(fid)] = np.asarray(kp, dtype=np.float32)
        for fid, g in (_get(track, "gaze", default={}) or {}).items():
            if g is not None:
                gaze[int(fid)] = np.asarray(g, dtype=np.float32)
    else:
        for frame in frames:
            fid = int(_get(frame, "frame_id"))
            kp = _get(frame, "keypoints", "key points")
            keypoints[fid] = np.asarray(kp, dtype=np.float32)
            g = _get(frame, "gaze")
            if g is not None and len(g) == 4:
                gaze[fid] = np.asarray(g, dtype=np.float32)
    for fid, kp in keypoints.items():
        if kp.shape != (N_WHOLEBODY, 3):
            raise ValueError(
                f"track {source or video_name}: frame {fid} keypoints must be ({N_WHOLEBODY}, 3) "
                f"COCO-WholeBody for the teacher, got {kp.shape}"
            )
    if not keypoints:
        raise ValueError(f"track {source or video_name} has no frames")
    return TrackFrames(str(video_name), float(width), float(height), keypoints, gaze, source)


def window_source_ids(frame_ids: Iterable[int], spec: WindowSpec) -> list[int]:
    """The real frame id each window slot shows, with ``build_window``'s repetition rules."""
    ids = sorted(frame_ids)
    present = set(ids)
    out: list[int] = []
    previous = ids[0]
    for fid in frame_ids_for_window(ids[0], spec):
        if fid in present:
            previous = fid
        # else: a gap or past the end repeats the previous window slot, as build_window does
        out.append(previous)
    return out
