"""onnxruntime session creation shared by the ONNX backends (device fallback, clear errors)."""

from __future__ import annotations

from pathlib import Path

from socialego_perception.backends.base import BackendError


def open_session(path: str, device: str = "cpu", threads: int = 0, what: str = "model"):
    """An onnxruntime InferenceSession; BackendError names the file or the missing package."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise BackendError(
            f"the {what} needs onnxruntime: pip install onnxruntime (requirements/runtime.txt)"
        ) from exc
    if not path:
        raise BackendError(f"no {what} file given (parameter is empty)")
    if not Path(path).is_file():
        raise BackendError(f"{what} file {path} does not exist")
    options = ort.SessionOptions()
    if threads > 0:
        options.intra_op_num_threads = int(threads)
    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
        index = int(device.split(":")[1]) if ":" in device else 0
        providers.insert(0, ("CUDAExecutionProvider", {"device_id": index}))
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own exception types
        raise BackendError(f"cannot load {what} file {path}: {exc}") from exc
