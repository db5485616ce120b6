"""The self-describing model artifact and the runtime predictor used on the robot.

One ``.pt`` file loadable with ``torch.load(weights_only=True)``::

    {"format": "socialego-model", "format_version": 1, "metadata": {...}, "state_dict": {...}}

Metadata holds the model name and constructor kwargs, keypoint layout, WindowSpec, label table,
training data summary, metrics, creation time, ``trained``, ``version`` (sha256 of the
weights, 12 hex) and, when fitted, ``calibration`` (``socialego_core.calibration``; it changes
the probabilities, not the weights, so not the version). Loading needs only this module, the
student and torch: never the training package.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from socialego_core.calibration import Calibration
from socialego_core.labels import TASKS
from socialego_core.predictor_base import ArtifactError, PredictorBase, WindowForward
from socialego_core.probabilities import class_probabilities

FORMAT = "socialego-model"
FORMAT_VERSION = 1


def _model_registry() -> dict[str, type[nn.Module]]:
    from socialego_core.student import SocialEgoMobile

    return {"SocialEgoMobile": SocialEgoMobile}


def weights_version(state_dict: Mapping[str, torch.Tensor]) -> str:
    """sha256 over the parameter names and bytes, in name order; the first 12 hex digits."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().to("cpu").contiguous()
        digest.update(name.encode())
        digest.update(str(tensor.dtype).encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()[:12]


def _plain(value: Any) -> Any:
    """Metadata as plain JSON types (weights_only loading accepts nothing else we may need)."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray | tuple | range | set):
        return list(value.tolist() if isinstance(value, np.ndarray) else value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"metadata value {value!r} of type {type(value).__name__} is not JSON-able")


def save_artifact(path: str | os.PathLike, model: nn.Module, metadata: Mapping[str, Any]) -> dict:
    """Write model weights + metadata atomically; returns the metadata written.

    ``metadata`` should hold at least ``window_spec`` (dict) and ``labels`` (label table dict).
    ``model`` (name) and ``model_kwargs`` default to the model's class and its ``config``.
    """
    path = Path(path)
    state_dict = {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()}
    meta = complete_metadata(model, metadata, path)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "metadata": meta,
        "state_dict": state_dict,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_torch_save(payload, path)
    return meta


def complete_metadata(
    model: nn.Module, metadata: Mapping[str, Any], path: str | os.PathLike = "<artifact>"
) -> dict:
    """The metadata an artifact of ``model`` stores (``.pt`` or ``.onnx``): ``metadata`` with
    the model's name, kwargs, parameter count, creation time and weights ``version``, as JSON."""
    meta = dict(metadata)
    meta.setdefault("model", type(model).__name__)
    if "model_kwargs" not in meta:
        if not hasattr(model, "config"):
            raise ArtifactError(f"{path}: model has no .config; pass metadata['model_kwargs']")
        meta["model_kwargs"] = model.config
    for key in ("window_spec", "labels"):
        if key not in meta:
            raise ArtifactError(f"{path}: metadata lacks {key!r}")
    meta.setdefault("trained", True)
    meta.setdefault("created", _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    meta["num_parameters"] = int(sum(p.numel() for p in model.parameters()))
    meta["version"] = weights_version(model.state_dict())
    return _plain(meta)


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """torch.save to a temporary file in the same folder, then rename: never a half-written file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; artifacts and checkpoints are shareable
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_artifact(path: str | os.PathLike, check_version: bool = True) -> dict:
    """Read and validate an artifact: {"format", "format_version", "metadata", "state_dict"}."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"model artifact {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for broken files
        raise ArtifactError(f"model artifact {path} could not be read: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ArtifactError(f"{path} is not a SocialEgo model artifact (format != {FORMAT!r})")
    if payload.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: artifact format_version {payload.get('format_version')!r} is not supported "
            f"(this code reads {FORMAT_VERSION})"
        )
    for key in ("metadata", "state_dict"):
        if not isinstance(payload.get(key), dict):
            raise ArtifactError(f"{path}: artifact lacks {key!r}")
    meta = payload["metadata"]
    for key in ("model", "model_kwargs", "window_spec", "labels", "version"):
        if key not in meta:
            raise ArtifactError(f"{path}: artifact metadata lacks {key!r}")
    if check_version and weights_version(payload["state_dict"]) != meta["version"]:
        raise ArtifactError(
            f"{path}: weights do not match the recorded version {meta['version']} (file corrupted?)"
        )
    return payload


def write_calibration(
    source: str | os.PathLike, out: str | os.PathLike, calibration: Mapping[str, Any]
) -> dict:
    """Copy the artifact ``source`` to ``out`` (may be the same file) with its metadata's
    ``calibration`` replaced; weights, version and every other field are kept. Returns the
    metadata written."""
    payload = load_artifact(source)
    try:
        Calibration.from_metadata({"calibration": calibration})
    except ValueError as exc:
        raise ArtifactError(f"{source}: calibration not stored: {exc}") from exc
    payload["metadata"] = _plain({**payload["metadata"], "calibration": dict(calibration)})
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    atomic_torch_save(payload, out)
    return payload["metadata"]


def build_model(
    payload: Mapping[str, Any],
    path: str | os.PathLike = "<artifact>",
    registry: Mapping[str, type[nn.Module]] | None = None,
) -> nn.Module:
    """Instantiate the artifact's model, load its weights, and put it in eval mode."""
    meta = payload["metadata"]
    registry = registry or _model_registry()
    if meta["model"] not in registry:
        raise ArtifactError(
            f"{path}: model {meta['model']!r} cannot run here; known: {sorted(registry)}"
        )
    try:
        model = registry[meta["model"]](**meta["model_kwargs"])
        model.load_state_dict(payload["state_dict"])
    except (TypeError, RuntimeError) as exc:
        raise ArtifactError(f"{path}: weights do not fit {meta['model']}: {exc}") from exc
    return model.eval()


def resolve_device(device: str = "cpu") -> torch.device:
    """'auto' picks CUDA when available; 'cuda' without CUDA falls back to CPU (never crashes)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device(device)


class StudentPredictor(PredictorBase):
    """Loads an artifact and turns (B, T, J, 3) normalised windows into class probabilities,
    calibrated when the artifact carries a calibration (plain softmax otherwise)."""

    runtime = "torch"

    def __init__(self, path: str | os.PathLike, device: str = "cpu", threads: int | None = None):
        path = Path(path)
        if threads is not None:
            torch.set_num_threads(int(threads))
        self.requested_device = device
        self.device = resolve_device(device)
        payload = load_artifact(path)
        self._read_metadata(path, payload["metadata"])
        self.model = build_model(payload, self.path).to(self.device)

    def predict_logits(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """(B, T, J, 3) float32 (a single (T, J, 3) window also works) -> raw logits
        {"intent": (B, 3), "attitude": (B, 3), "action": (B, A)}."""
        x = self.check_input(batch)
        if x.shape[0] == 0:
            return {
                task: np.zeros((0, self.labels.num_classes(task)), dtype=np.float32)
                for task in TASKS
            }
        with torch.inference_mode():
            out = self.model(torch.from_numpy(x).to(self.device))
        return {task: getattr(out, task).float().cpu().numpy() for task in TASKS}

    def predict(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """(B, T, J, 3) float32 (a single (T, J, 3) window also works) -> probabilities
        {"intent": (B, 3), "attitude": (B, 3), "action": (B, A)}, calibrated when the artifact
        has a calibration."""
        logits = self.predict_logits(batch)
        return class_probabilities(
            {t: torch.from_numpy(v) for t, v in logits.items()}, self.calibration
        )

    def cached_forward(self) -> WindowForward | None:
        # imported here: fast_forward imports this module (class_probabilities)
        from socialego_core.fast_forward import CachedStudentForward, supports_cached_forward

        if not supports_cached_forward(self.model):
            return None
        return CachedStudentForward(self.model, calibration=self.calibration)
