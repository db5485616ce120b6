"""Fitting the student's mean-pose head (``socialego_core.mean_pose_head``) in closed form.

The head is the linear baseline's model (``baseline.mean_pose_classifier``) fitted on the first
window of each training track, as the baseline is, with its standardisation folded into the
weights: coef (x - mean) / scale + intercept = (coef / scale) x + intercept - (coef / scale) mean.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from socialego_core.mean_pose_head import MeanPoseHead
from socialego_core.window import WindowSpec

from socialego_training.baseline import mean_pose_classifier, mean_pose_features
from socialego_training.data import Track
from socialego_training.datasets import PoseWindowDataset

# logit of a class the training split never shows: the head gives it no probability
ABSENT_CLASS_LOGIT = -30.0


def task_logit_map(
    x: np.ndarray, y: np.ndarray, n_classes: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(W (K, F), b (K,)) with x @ W.T + b the linear model's logits over all ``n_classes``
    classes (log-probabilities up to a constant per row), fitted on (x, y)."""
    features = x.shape[1]
    weight = np.zeros((n_classes, features))
    bias = np.full(n_classes, ABSENT_CLASS_LOGIT)
    classes = np.unique(y)
    if len(classes) == 1:  # nothing to fit: the one class seen
        bias[classes[0]] = 0.0
        return weight, bias
    pipeline = mean_pose_classifier(seed).fit(x, y)
    scaler, logistic = pipeline[0], pipeline[-1]
    coef = logistic.coef_ / scaler.scale_[None, :]
    intercept = logistic.intercept_ - coef @ scaler.mean_
    if len(classes) == 2:  # binary: one decision function d, softmax([0, d]) = sigmoid(d)
        coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
        intercept = np.array([0.0, intercept[0]])
    weight[classes] = coef
    bias[classes] = intercept
    return weight, bias


def fit_mean_pose_head(
    head: MeanPoseHead, tracks: Sequence[Track], spec: WindowSpec, fusion: float, seed: int = 0
) -> None:
    """Fit ``head`` on the first window of each of ``tracks`` (their labels) and set its fusion
    weight; tasks whose labels are all unknown (-1) get a flat head."""
    first_windows = PoseWindowDataset(tracks, spec)
    x = mean_pose_features(first_windows).astype(np.float64)
    y = first_windows.labels.numpy()
    weights, biases = [], []
    for i, n_classes in enumerate(head.classes):
        known = y[:, i] >= 0
        if known.any():
            w, b = task_logit_map(x[known], y[known, i], n_classes, seed)
        else:
            w, b = np.zeros((n_classes, x.shape[1])), np.zeros(n_classes)
        weights.append(w)
        biases.append(b)
    with torch.no_grad():
        dtype = head.weight.dtype
        head.weight.copy_(torch.as_tensor(np.concatenate(weights), dtype=dtype))
        head.bias.copy_(torch.as_tensor(np.concatenate(biases), dtype=dtype))
        head.fusion.fill_(float(fusion))
