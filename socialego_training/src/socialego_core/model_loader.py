"""Load the student for a runtime: PyTorch (``.pt`` artifact) or ONNX Runtime (``.onnx``).

The runtime modules are imported only when chosen, so that a process running the ONNX model
never imports torch (the intent node's memory on the robot: ~100 MB less).
"""

from __future__ import annotations

import os
from pathlib import Path

from socialego_core.predictor_base import ArtifactError, PredictorBase

RUNTIMES = ("auto", "torch", "onnx")
SUFFIX_RUNTIME = {".pt": "torch", ".onnx": "onnx"}
# 'auto' with no model file named: the runtime measured faster for the engine's forward pass
# (docs/benchmarks.md, "Runtimes"): ONNX Runtime
AUTO_RUNTIME = "onnx"


def model_runtime(path: str | os.PathLike, runtime: str = "auto") -> str:
    """The runtime that runs ``path`` ('torch' or 'onnx'); ValueError for an unknown runtime,
    an unknown file type or a runtime that cannot read the file."""
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime {runtime!r} is unknown; known: {RUNTIMES}")
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIX_RUNTIME:
        raise ValueError(
            f"model file {path}: unknown type {suffix!r}; expected a .pt artifact or a .onnx model"
        )
    needed = SUFFIX_RUNTIME[suffix]
    if runtime not in ("auto", needed):
        other = "socialego-train export --format onnx" if runtime == "onnx" else "the .pt artifact"
        raise ValueError(
            f"runtime {runtime!r} cannot run {Path(path).name} (a {suffix} file runs on "
            f"{needed!r}); use {other}"
        )
    return needed


def load_predictor(
    path: str | os.PathLike,
    runtime: str = "auto",
    device: str = "cpu",
    threads: int | None = None,
) -> PredictorBase:
    """The predictor of ``path`` on its runtime (``model_runtime``); ArtifactError or
    ValueError naming the file and the problem."""
    chosen = model_runtime(path, runtime)
    if chosen == "onnx":
        from socialego_core.onnx_predictor import OnnxStudentPredictor

        return OnnxStudentPredictor(path, device=device, threads=threads)
    try:
        from socialego_core.artifact import StudentPredictor
    except ImportError as exc:
        raise ArtifactError(f"{path}: the PyTorch runtime is not installed ({exc})") from exc
    return StudentPredictor(path, device=device, threads=threads)
