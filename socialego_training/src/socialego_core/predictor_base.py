"""What every runtime's predictor shares: the artifact metadata it reads and the input check.

``artifact.StudentPredictor`` (PyTorch) and ``onnx_predictor.OnnxStudentPredictor`` (ONNX
Runtime) both derive from ``PredictorBase``; the intent engine, the node and the message builder
use only what is defined here, so the ONNX path never imports torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from socialego_core.calibration import Calibration
from socialego_core.labels import LabelTable
from socialego_core.window import WindowSpec


class ArtifactError(RuntimeError):
    """A model artifact could not be saved or loaded; the message names the file."""


class WindowForward(Protocol):
    """A forward pass over checked (B, T, J, C) windows giving calibrated probabilities."""

    def predict(self, windows: np.ndarray) -> dict[str, np.ndarray]: ...


class PredictorBase:
    """Model metadata (window spec, labels, calibration, version) and the input check."""

    runtime = "base"
    quantize = "none"  # onnx_format.QUANTIZE: an ONNX model may run its recurrence in int8

    def _read_metadata(self, path: Path, metadata: dict[str, Any]) -> None:
        self.path = path
        self.metadata: dict = metadata
        self.version: str = metadata["version"]
        try:
            self.window_spec = WindowSpec.from_dict(metadata["window_spec"])
            self.labels = LabelTable.from_dict(metadata["labels"])
        except (TypeError, KeyError, ValueError) as exc:
            raise ArtifactError(f"{path}: bad window_spec or labels: {exc}") from exc
        try:
            self.calibration = Calibration.from_metadata(metadata)
        except ValueError as exc:
            raise ArtifactError(f"{path}: bad calibration: {exc}") from exc
        kwargs = metadata.get("model_kwargs") or {}
        self.num_joints = int(kwargs.get("num_joints", self.window_spec.num_joints))
        self.in_channels = int(kwargs.get("in_channels", 3))
        if self.num_joints != self.window_spec.num_joints:
            raise ArtifactError(
                f"{path}: model has {self.num_joints} joints but the window spec "
                f"selects {self.window_spec.num_joints}"
            )

    @property
    def trained(self) -> bool:
        return bool(self.metadata.get("trained", True))

    def check_input(self, batch: np.ndarray) -> np.ndarray:
        """``batch`` as the (B, T, J, 3) float32 array the model takes (a single (T, J, 3)
        window becomes B = 1); ValueError naming the file and the problem otherwise."""
        x = np.asarray(batch, dtype=np.float32)
        if x.ndim == 3:
            x = x[None]
        expected = (self.window_spec.length, self.num_joints, self.in_channels)
        if x.ndim != 4 or x.shape[1:] != expected:
            raise ValueError(
                f"{self.path.name}: expected input (B, {expected[0]}, {expected[1]}, "
                f"{expected[2]}), got {x.shape}"
            )
        if not np.isfinite(x).all():
            raise ValueError(f"{self.path.name}: input holds NaN or infinite values")
        return x

    def predict(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """(B, T, J, 3) float32 -> probabilities {"intent": (B, 3), ...}."""
        raise NotImplementedError

    def cached_forward(self) -> WindowForward | None:
        """A forward pass that embeds each distinct frame once (the online engine's), or None
        when this model has none."""
        return None
