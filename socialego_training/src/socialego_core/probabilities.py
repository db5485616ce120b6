"""PyTorch logits -> the probabilities the nodes publish (the artifact's calibration applied).

Its own module so that the artifact (``StudentPredictor``) and the cached forward pass
(``fast_forward``), which the artifact builds, both use it without importing each other."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from socialego_core.calibration import Calibration


def class_probabilities(
    logits: Mapping[str, torch.Tensor], calibration: Calibration
) -> dict[str, np.ndarray]:
    """{task: (B, C) logits} -> {task: (B, C) float32 probabilities}: the artifact's calibration
    applied, torch's softmax for a task without one (older artifacts: as always).

    The one place logits become published probabilities: ``StudentPredictor.predict`` and the
    runtime's ``fast_forward.CachedStudentForward`` both call it."""
    out = {}
    for task, value in logits.items():
        if task in calibration.tasks:
            out[task] = calibration.apply(task, value.detach().float().cpu().numpy())
        else:
            out[task] = torch.softmax(value, dim=1).cpu().numpy()
    return out
