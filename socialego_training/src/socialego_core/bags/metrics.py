"""Per-person decisions from the published forecasts, and their accuracy and timing."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from .evaluation import UNKNOWN, Forecast, TruthTrack
from .io import NS_PER_S


def track_decision(forecasts: list[Forecast], task: str, rule: str, window_length: int = 0) -> str:
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


def task_metrics(y_true: list[str], y_pred: list[str]) -> dict[str, float | int]:
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


def timing_summary(
    truth: dict[str, TruthTrack], by_truth: dict[str, list[Forecast]]
) -> dict[str, Any]:
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
