"""Probability calibration stored in the model artifact and applied wherever it is used.

A network trained with cross-entropy is usually over-confident. A ``Calibration`` maps one task's
logits to probabilities that mean what they say (fitted on held-out data by
``socialego_training.calibrate``). Pure numpy: applying it needs no torch.

Every method works on the log-probabilities ``log_softmax(logits)``; softmax is unchanged when a
constant is added to all logits of a sample, so the result is the same whether it is given the
logits (``apply``) or the softmax probabilities (``apply_probabilities``, for code paths that
only keep probabilities):

- ``temperature``: softmax(log p / T), one T > 0 per task (never changes the arg-max);
- ``vector``: softmax(w * log p + b), a weight and a bias per class;
- ``isotonic``: one monotone piecewise-linear map per class (one-vs-rest), then renormalised.

Artifact metadata (plain JSON)::

    "calibration": {"format": 1, "method": "temperature",
                    "tasks": {"intent": {"method": "temperature", "temperature": 1.4}, ...},
                    "fitted_on": {"dataset": ..., "split": "validation", "n": 300, ...}, ...}

An artifact without the key (older artifacts) gets the identity: plain softmax.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CALIBRATION_FORMAT = 1
METHODS = ("temperature", "vector", "isotonic")
# Smallest probability fed to a logarithm: float32 softmax outputs underflow to exactly 0.
MIN_PROBABILITY = 1e-30


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax of (B, C) logits in float64."""
    x = np.asarray(logits, dtype=np.float64)
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (B, C) logits in float64."""
    return np.exp(log_softmax(logits))


@dataclass(frozen=True)
class TaskCalibration:
    """One task's map from log-probabilities to calibrated probabilities."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"calibration method {self.method!r} is unknown; known: {METHODS}")
        if self.method == "temperature":
            t = self.params.get("temperature")
            if not isinstance(t, int | float) or not np.isfinite(t) or t <= 0:
                raise ValueError(f"temperature must be a finite number > 0, got {t!r}")
        elif self.method == "vector":
            w, b = self.params.get("weight"), self.params.get("bias")
            if not isinstance(w, list) or not isinstance(b, list) or len(w) != len(b) or not w:
                raise ValueError("vector calibration needs equally long 'weight' and 'bias' lists")
            if not np.isfinite(np.asarray(w + b, dtype=np.float64)).all():
                raise ValueError("vector calibration 'weight'/'bias' hold non-finite values")
        else:
            xs, ys = self.params.get("x"), self.params.get("y")
            if not isinstance(xs, list) or not isinstance(ys, list) or len(xs) != len(ys) or not xs:
                raise ValueError("isotonic calibration needs per-class 'x' and 'y' lists")
            for c, (x, y) in enumerate(zip(xs, ys)):
                if not x or len(x) != len(y) or np.any(np.diff(x) < 0):
                    raise ValueError(
                        f"isotonic calibration of class {c}: 'x' must be non-empty, sorted and as "
                        "long as 'y'"
                    )

    @property
    def num_classes(self) -> int | None:
        if self.method == "vector":
            return len(self.params["weight"])
        if self.method == "isotonic":
            return len(self.params["x"])
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, **self.params}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskCalibration:
        if not isinstance(data, Mapping) or "method" not in data:
            raise ValueError(f"task calibration must be a mapping with a 'method', got {data!r}")
        return cls(str(data["method"]), {k: v for k, v in data.items() if k != "method"})

    def apply_log_probabilities(self, log_p: np.ndarray) -> np.ndarray:
        """(B, C) log-probabilities -> (B, C) calibrated probabilities (float64)."""
        if self.num_classes is not None and log_p.shape[1] != self.num_classes:
            raise ValueError(
                f"{self.method} calibration is fitted for {self.num_classes} classes, "
                f"got {log_p.shape[1]}"
            )
        if self.method == "temperature":
            return softmax(log_p / float(self.params["temperature"]))
        if self.method == "vector":
            w = np.asarray(self.params["weight"], dtype=np.float64)
            b = np.asarray(self.params["bias"], dtype=np.float64)
            return softmax(log_p * w + b)
        p = np.exp(log_p)
        mapped = np.stack(
            [
                np.interp(p[:, c], self.params["x"][c], self.params["y"][c])
                for c in range(p.shape[1])
            ],
            axis=1,
        )
        # a class all of whose maps give 0 would divide by zero: keep every class possible
        mapped = np.clip(mapped, 1e-6, None)
        return mapped / mapped.sum(axis=1, keepdims=True)


class Calibration:
    """Per-task calibration of an artifact; the identity (plain softmax) when it has none."""

    def __init__(
        self,
        tasks: Mapping[str, TaskCalibration] | None = None,
        fitted_on: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.tasks: dict[str, TaskCalibration] = dict(tasks or {})
        self.fitted_on: dict[str, Any] = dict(fitted_on or {})
        self.extra: dict[str, Any] = dict(extra or {})  # e.g. validation measures

    @classmethod
    def identity(cls) -> Calibration:
        return cls()

    @property
    def is_identity(self) -> bool:
        return not self.tasks

    @property
    def method(self) -> str:
        methods = sorted({c.method for c in self.tasks.values()})
        return "none" if not methods else "+".join(methods)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> Calibration:
        """From an artifact's metadata; ValueError naming the problem for a malformed entry."""
        data = metadata.get("calibration")
        if data is None:
            return cls.identity()
        if not isinstance(data, Mapping):
            raise ValueError(f"metadata 'calibration' must be a mapping, got {type(data).__name__}")
        if data.get("format") != CALIBRATION_FORMAT:
            raise ValueError(
                f"calibration format {data.get('format')!r} is not supported "
                f"(this code reads {CALIBRATION_FORMAT})"
            )
        tasks = data.get("tasks")
        if not isinstance(tasks, Mapping):
            raise ValueError("metadata 'calibration' lacks its 'tasks' mapping")
        parsed = {}
        for task, entry in tasks.items():
            try:
                parsed[str(task)] = TaskCalibration.from_dict(entry)
            except ValueError as exc:
                raise ValueError(f"calibration of task {task!r}: {exc}") from exc
        extra = {k: v for k, v in data.items() if k not in ("format", "tasks", "fitted_on")}
        return cls(parsed, data.get("fitted_on") or {}, extra)

    def to_metadata(self) -> dict[str, Any]:
        """The artifact's ``metadata["calibration"]`` entry (plain JSON types)."""
        return {
            "format": CALIBRATION_FORMAT,
            "method": self.method,
            "tasks": {task: c.to_dict() for task, c in self.tasks.items()},
            "fitted_on": dict(self.fitted_on),
            **self.extra,
        }

    def apply(self, task: str, logits: np.ndarray) -> np.ndarray:
        """(B, C) logits of ``task`` -> (B, C) float32 calibrated probabilities."""
        x = np.asarray(logits, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"{task} logits must be (B, C), got shape {x.shape}")
        calibration = self.tasks.get(task)
        if calibration is None:
            return softmax(x).astype(np.float32)
        return calibration.apply_log_probabilities(log_softmax(x)).astype(np.float32)

    def apply_probabilities(self, task: str, probabilities: np.ndarray) -> np.ndarray:
        """(B, C) softmax probabilities of ``task`` -> calibrated ones (float32).

        Equal to ``apply`` on the logits (log p is the logits less a per-row constant), up to
        float32 rounding of p and for classes whose p underflowed to 0."""
        p = np.asarray(probabilities, dtype=np.float64)
        if p.ndim != 2:
            raise ValueError(f"{task} probabilities must be (B, C), got shape {p.shape}")
        calibration = self.tasks.get(task)
        if calibration is None:
            return p.astype(np.float32)
        log_p = np.log(np.clip(p, MIN_PROBABILITY, None))
        return calibration.apply_log_probabilities(log_p).astype(np.float32)

    def uncalibrate_probabilities(self, task: str, probabilities: np.ndarray) -> np.ndarray | None:
        """The model's plain softmax behind calibrated probabilities of ``task`` (float64), for
        measuring recorded outputs before calibration; None when the map cannot be inverted
        (isotonic, or a vector weight of 0). Without a calibration: the probabilities."""
        p = np.asarray(probabilities, dtype=np.float64)
        if p.ndim != 2:
            raise ValueError(f"{task} probabilities must be (B, C), got shape {p.shape}")
        calibration = self.tasks.get(task)
        if calibration is None:
            return p
        log_q = np.log(np.clip(p, MIN_PROBABILITY, None))
        if calibration.method == "temperature":
            # log q = log p / T - c  =>  log p = T log q + c'
            return softmax(log_q * float(calibration.params["temperature"]))
        if calibration.method == "vector":
            w = np.asarray(calibration.params["weight"], dtype=np.float64)
            b = np.asarray(calibration.params["bias"], dtype=np.float64)
            if w.shape != (p.shape[1],) or np.any(w == 0):
                return None
            return softmax((log_q - b) / w)
        return None

    def __repr__(self) -> str:
        return f"Calibration({self.method}, tasks={sorted(self.tasks)})"


def quality_adjusted(
    probabilities: np.ndarray, input_quality: float | np.ndarray, stale: bool | np.ndarray = False
) -> np.ndarray:
    """Discount calibrated probabilities by how much of the window was observed.

    p' = q * p + (1 - q) / C, with q = input_quality in [0, 1] (the share of (frame, joint)
    cells really observed); a stale forecast (q treated as 0) becomes uniform. A behaviour node
    compares p' with its threshold: evidence it could not see moves it towards "no idea", never
    towards another class. Works on one (C,) vector or a (B, C) batch with (B,) q and stale.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    q = np.clip(np.asarray(input_quality, dtype=np.float64), 0.0, 1.0)
    if np.any(~np.isfinite(q)):
        raise ValueError("input_quality must be finite")
    q = np.where(np.asarray(stale, dtype=bool), 0.0, q)
    if p.ndim == 2:
        q = np.broadcast_to(q, (p.shape[0],))[:, None]
    return q * p + (1.0 - q) / p.shape[-1]
