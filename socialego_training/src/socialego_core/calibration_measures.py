"""How well probabilities mean what they say: ECE, NLL, Brier score and reliability bins.

Pure numpy (shared by the offline evaluation and the bag scoring). For (N, C) probabilities
and (N,) integer labels:

- ECE (expected calibration error, top label): the N samples are binned by their highest
  probability (``bins`` equal-width bins over [0, 1]); ECE = sum over bins of
  |bin| / N * |accuracy(bin) - mean confidence(bin)|. 0 is perfect.
- NLL: mean of -log p(true class) (p clipped at 1e-12). Lower is better; the uniform guess
  scores log C.
- Brier: mean over samples of sum over classes (p_c - [c = true])^2, in [0, 2]. Lower is better.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_BINS = 15
MEASURES = ("ece", "nll", "brier")


def _check(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels).astype(np.int64)
    if p.ndim != 2 or y.shape != (p.shape[0],):
        raise ValueError(f"need (N, C) probabilities and (N,) labels, got {p.shape} and {y.shape}")
    if len(y) and (y.min() < 0 or y.max() >= p.shape[1]):
        raise ValueError(f"labels must be in [0, {p.shape[1]}), got {y.min()}..{y.max()}")
    return p, y


def reliability_bins(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = DEFAULT_BINS
) -> dict[str, np.ndarray]:
    """Per equal-width confidence bin: ``count``, mean ``confidence`` and ``accuracy`` (NaN when
    empty), and the bin ``edges`` (bins + 1)."""
    p, y = _check(probabilities, labels)
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # bin b holds (edges[b], edges[b + 1]]; a confidence of exactly 0 goes to the first bin
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    count = np.bincount(index, minlength=bins).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(index, confidence, minlength=bins) / count
        accuracy = np.bincount(index, correct, minlength=bins) / count
    return {"edges": edges, "count": count, "confidence": mean_conf, "accuracy": accuracy}


def expected_calibration_error(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = DEFAULT_BINS
) -> float:
    r = reliability_bins(probabilities, labels, bins)
    n = r["count"].sum()
    if n == 0:
        return float("nan")
    used = r["count"] > 0
    gaps = np.abs(r["accuracy"][used] - r["confidence"][used])
    return float((r["count"][used] * gaps).sum() / n)


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    p, y = _check(probabilities, labels)
    if not len(y):
        return float("nan")
    return float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None)).mean())


def brier_score(probabilities: np.ndarray, labels: np.ndarray) -> float:
    p, y = _check(probabilities, labels)
    if not len(y):
        return float("nan")
    onehot = np.eye(p.shape[1])[y]
    return float(((p - onehot) ** 2).sum(axis=1).mean())


def calibration_measures(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = DEFAULT_BINS
) -> dict[str, Any]:
    """{"ece", "nll", "brier", "accuracy", "confidence" (mean top probability), "n"}."""
    p, y = _check(probabilities, labels)
    n = len(y)
    return {
        "ece": expected_calibration_error(p, y, bins),
        "nll": negative_log_likelihood(p, y),
        "brier": brier_score(p, y),
        "accuracy": float((p.argmax(axis=1) == y).mean()) if n else float("nan"),
        "confidence": float(p.max(axis=1).mean()) if n else float("nan"),
        "n": int(n),
    }
