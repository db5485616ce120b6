"""Fit the probability calibration of a trained model on held-out data (per task).

Methods (applied by ``socialego_core.calibration``; all take ``log_softmax(logits)``):

- ``temperature``: one T per task minimising the NLL (scipy's bounded scalar search over log T,
  T in [0.05, 20]); keeps every arg-max, so accuracy and decisions are unchanged;
- ``vector``: a weight and a bias per class (torch L-BFGS on the NLL, with a small L2 pull
  towards the identity so that a class absent from the fitting data keeps a finite bias);
- ``isotonic``: scikit-learn's ``IsotonicRegression`` per class (one-vs-rest), renormalised.

``fit_calibration`` fits one method; ``compare_methods`` fits each on one split and measures them
on another. The artifact records what the calibration was fitted on.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import minimize_scalar
from sklearn.isotonic import IsotonicRegression
from socialego_core.artifact import write_calibration
from socialego_core.calibration import (
    METHODS,
    Calibration,
    TaskCalibration,
    log_softmax,
    softmax,
)
from socialego_core.calibration_measures import calibration_measures
from socialego_core.labels import TASKS
from torch import nn

from socialego_training.calibration_metrics import measure_calibration
from socialego_training.data import content_sha256, dataset_name
from socialego_training.datasets import PoseWindowDataset
from socialego_training.evaluate import DEFAULT_EVAL_SEED, predict_dataset

TEMPERATURE_BOUNDS = (0.05, 20.0)
VECTOR_L2 = 1e-3
MIN_CALIBRATION_SAMPLES = 2  # windows a calibration needs to be fitted at all


def _nll(log_p: np.ndarray, labels: np.ndarray) -> float:
    return float(-log_p[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> TaskCalibration:
    log_p = log_softmax(logits)
    y = np.asarray(labels, dtype=np.int64)
    bounds = tuple(np.log(TEMPERATURE_BOUNDS))

    def loss(log_t: float) -> float:
        return _nll(log_softmax(log_p / np.exp(log_t)), y)

    best = minimize_scalar(loss, bounds=bounds, method="bounded", options={"xatol": 1e-5})
    return TaskCalibration("temperature", {"temperature": float(np.exp(best.x))})


def fit_vector(logits: np.ndarray, labels: np.ndarray, l2: float = VECTOR_L2) -> TaskCalibration:
    log_p = torch.from_numpy(log_softmax(logits))
    y = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    classes = log_p.shape[1]
    weight = torch.ones(classes, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [weight, bias], lr=1.0, max_iter=500, tolerance_grad=1e-9, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(log_p * weight + bias, y)
        loss = loss + l2 * (((weight - 1.0) ** 2).sum() + (bias**2).sum())
        loss.backward()
        return loss

    optimizer.step(closure)
    return TaskCalibration(
        "vector", {"weight": weight.detach().tolist(), "bias": bias.detach().tolist()}
    )


def fit_isotonic(logits: np.ndarray, labels: np.ndarray) -> TaskCalibration:
    p = softmax(logits)
    y = np.asarray(labels, dtype=np.int64)
    xs, ys = [], []
    for c in range(p.shape[1]):
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        iso.fit(p[:, c], (y == c).astype(np.float64))
        xs.append(iso.X_thresholds_.tolist())
        ys.append(iso.y_thresholds_.tolist())
    return TaskCalibration("isotonic", {"x": xs, "y": ys})


FITTERS = {"temperature": fit_temperature, "vector": fit_vector, "isotonic": fit_isotonic}


def fit_calibration(
    logits: Mapping[str, np.ndarray],
    labels: np.ndarray,
    method: str = "temperature",
    fitted_on: Mapping[str, Any] | None = None,
) -> Calibration:
    """Fit ``method`` per task on (N, C) logits and (N, 3) labels; the fitting data's measures
    before and after go into the calibration's record (``fit_measures``)."""
    if method not in FITTERS:
        raise ValueError(f"calibration method {method!r} is unknown; known: {METHODS}")
    labels = np.asarray(labels)
    if len(labels) < MIN_CALIBRATION_SAMPLES:
        raise ValueError(
            f"calibration needs at least {MIN_CALIBRATION_SAMPLES} samples to fit on, "
            f"got {len(labels)}"
        )
    tasks = {task: FITTERS[method](logits[task], labels[:, i]) for i, task in enumerate(TASKS)}
    record = {"method": method, "n": int(len(labels)), **(fitted_on or {})}
    calibration = Calibration(
        tasks,
        record,
        {"created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")},
    )
    calibration.extra["fit_measures"] = measure_calibration(logits, labels, calibration)
    return calibration


def split_logits(
    model: nn.Module,
    dataset: PoseWindowDataset,
    settings: Sequence[tuple[float, float]] = ((0.0, 0.0),),
    seed: int = DEFAULT_EVAL_SEED,
    device: torch.device | str = "cpu",
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Raw logits and labels of a split under each (joint_rate, frame_rate) setting, pooled."""
    parts = [predict_dataset(model, dataset, j, f, seed, device) for j, f in settings]
    logits = {t: np.concatenate([p.logits[t] for p in parts]) for t in TASKS}
    return logits, np.concatenate([p.labels for p in parts])


def data_record(
    data_root: str | Path, split: str, dataset: PoseWindowDataset, settings, seed: int
) -> dict[str, Any]:
    """What a calibration was fitted on: the data by name and content hash (as the artifact's
    training data), never by where it lies on this machine."""
    return {
        "dataset": dataset_name(data_root),
        "content_sha256": content_sha256(data_root, [t.path for t in dataset.tracks]),
        "split": split,
        "windows": len(dataset),
        "corruption": [{"joint_rate": float(j), "frame_rate": float(f)} for j, f in settings],
        "corruption_seed": int(seed),
    }


def calibrate_model(
    model: nn.Module,
    dataset: PoseWindowDataset,
    method: str,
    record: Mapping[str, Any],
    settings: Sequence[tuple[float, float]] = ((0.0, 0.0),),
    seed: int = DEFAULT_EVAL_SEED,
    device: torch.device | str = "cpu",
) -> Calibration:
    logits, labels = split_logits(model, dataset, settings, seed, device)
    return fit_calibration(logits, labels, method, record)


def calibrate_artifact(source: str | Path, out: str | Path, calibration: Calibration) -> None:
    """Write the artifact ``source`` with ``calibration`` to ``out`` (weights kept)."""
    write_calibration(source, out, calibration.to_metadata())


def compare_methods(
    fit: tuple[Mapping[str, np.ndarray], np.ndarray],
    test: tuple[Mapping[str, np.ndarray], np.ndarray],
    methods: Sequence[str] = METHODS,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Fit each method on ``fit`` (logits, labels) and measure it on ``test``:
    {method: {task: measures}} plus "uncalibrated"."""
    test_logits, test_labels = test
    out = {"uncalibrated": {}}
    for i, task in enumerate(TASKS):
        out["uncalibrated"][task] = calibration_measures(
            softmax(test_logits[task]), test_labels[:, i]
        )
    for method in methods:
        calibration = fit_calibration(*fit, method=method)
        out[method] = {}
        for i, task in enumerate(TASKS):
            probabilities = calibration.apply(task, test_logits[task])
            out[method][task] = calibration_measures(probabilities, test_labels[:, i])
    return out
