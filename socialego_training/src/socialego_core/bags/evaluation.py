"""The result of scoring a bag: the labelled people, the decoded forecasts, and their scores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from socialego_core.labels import ATTITUDE_LABELS, TASKS

UNKNOWN = "UNKNOWN"
NOT_INTERACTING = ATTITUDE_LABELS[2]
# final: the last published decision; majority: the most frequent one; first_full: the first
# one made on a fully observed window (as the offline protocol: one window from the track start)
DECISION_RULES: tuple[str, ...] = ("final", "majority", "first_full")

Boxes = dict[int, dict[str, tuple]]  # stamp (ns) -> track id -> (x, y, width, height)


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
    probabilities: dict[str, np.ndarray] = field(default_factory=dict)  # task -> as published


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
