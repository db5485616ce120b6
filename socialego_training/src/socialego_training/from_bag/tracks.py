"""Collect one recording's people frame by frame into JPL-Social track records (method.md
section 2): one JSON object per person track, labels ``null`` (unlabelled, see data.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .people import Frame


def exact_floats(values: np.ndarray) -> list[float]:
    """float32 values as the shortest decimals that read back to the same float32 (exact, and
    about half the JSON of float64 digits)."""
    return [float(str(v)) for v in np.asarray(values, dtype=np.float32).ravel()]


def _frame_record(
    frame_id: int, keypoints: np.ndarray, score: np.float32, box: np.ndarray, stamp_ns: int
) -> dict[str, Any]:
    values = exact_floats(keypoints)
    return {
        "frame_id": frame_id,
        "keypoints": [values[i : i + 3] for i in range(0, len(values), 3)],
        "score": float(str(score)),
        "box": exact_floats(box),
        "stamp_ns": stamp_ns,
    }


@dataclass
class _Track:
    track_id: str
    frame_size: tuple[int, int] = (0, 0)
    frames: list[tuple] = field(default_factory=list)  # (frame_id, kp, score, box, stamp_ns)


class TrackCollector:
    """Frames in (frame id = position of the kept frame in the recording, from 0), tracks out."""

    def __init__(self, video_name: str) -> None:
        self.video_name = video_name
        self.frames_seen = 0
        self._tracks: dict[str, _Track] = {}

    def add(self, frame_id: int, stamp_ns: int, frame: Frame) -> None:
        self.frames_seen = max(self.frames_seen, frame_id + 1)
        for person in frame.people:
            track = self._tracks.setdefault(person.track_id, _Track(person.track_id))
            track.frame_size = frame.size
            # kept as float32 arrays (a few KB a frame) until the track is written
            track.frames.append(
                (
                    int(frame_id),
                    np.asarray(person.keypoints, dtype=np.float32).copy(),
                    np.float32(person.score),
                    np.asarray(person.box, dtype=np.float32),
                    int(stamp_ns),
                )
            )

    def finish(self, min_frames: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(track records of at least ``min_frames`` frames, person ids from 0 in order of first
        appearance; the dropped short tracks as {track_id, frames})."""
        kept, dropped = [], []
        for track in self._tracks.values():  # insertion order = first appearance
            if len(track.frames) < min_frames:
                dropped.append({"track_id": track.track_id, "frames": len(track.frames)})
                continue
            kept.append(
                {
                    "video_name": self.video_name,
                    "frame_size": list(track.frame_size),
                    "video_frames_number": self.frames_seen,
                    "detected_frames_number": len(track.frames),
                    "person_id": len(kept),
                    "track_id": track.track_id,
                    "intention_class": None,
                    "attitude_class": None,
                    "action_class": None,
                    "frames": [_frame_record(*frame) for frame in track.frames],
                }
            )
        return kept, dropped
