"""Export a trained student as the self-describing artifact the robot loads (``.pt``), or as
an ONNX model carrying the same metadata (``.onnx``, ``socialego_core.onnx_format``)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import torch
from socialego_core.artifact import complete_metadata, save_artifact
from socialego_core.labels import TASKS, LabelTable, get_label_table
from socialego_core.onnx_predictor import OnnxStudentPredictor
from socialego_core.student import SocialEgoMobile
from socialego_core.window import WindowSpec

from socialego_training.config import DATA_LOCATION_FIELDS
from socialego_training.evaluate import Predictions
from socialego_training.metrics import task_metrics
from socialego_training.onnx_graph import student_onnx


def git_revision(path: str | Path = ".") -> str | None:
    """The code revision the model came from (None outside a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=Path(path).resolve() if Path(path).is_dir() else Path(path).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def without_data_location(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Artifact metadata without where the training data lay (for artifacts of older versions).

    Older artifacts recorded ``training_data.root``, the dataset's absolute path on the training
    machine, and the data-location fields in ``training.config``. Here the root becomes the
    dataset's name (its last part; the content hash of those files is not known any more) and
    the location fields are dropped. Metadata without them comes back unchanged.
    """
    meta = dict(metadata)
    data = dict(meta.get("training_data") or {})
    if "root" in data:
        root = data.pop("root")
        data.setdefault("name", PurePath(str(root)).name)
        meta["training_data"] = data
    training = dict(meta.get("training") or {})
    config = training.get("config")
    if isinstance(config, Mapping) and any(k in config for k in DATA_LOCATION_FIELDS):
        training["config"] = {k: v for k, v in config.items() if k not in DATA_LOCATION_FIELDS}
        meta["training"] = training
    return meta


def export_student(
    model: SocialEgoMobile,
    path: str | Path,
    spec: WindowSpec,
    dataset: str = "jpl_social",
    trained: bool = True,
    data_summary: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    notes: str | None = None,
) -> dict:
    """Write the artifact; returns its metadata (with ``version``)."""
    labels = get_label_table(dataset)
    if model.classifier.action_head[-1].out_features != labels.num_classes("action"):
        raise ValueError(
            f"model predicts {model.classifier.action_head[-1].out_features} actions but the "
            f"{dataset} label table has {labels.num_classes('action')}"
        )
    metadata: dict[str, Any] = {
        "model": type(model).__name__,
        "model_kwargs": model.config,
        "layout": "COCO17" if spec.joints == tuple(range(17)) else spec.layout,
        "source_layout": spec.layout,
        "joint_indices": list(spec.joints),
        "input": "(B, T, J, 3) normalised (x, y, score); see window_spec",
        "window_spec": spec.to_dict(),
        "labels": labels.to_dict(),
        "trained": bool(trained),
        "training_data": data_summary or {},
        "metrics": metrics or {},
        "training": training or {},
        "code_revision": git_revision(Path(__file__).parent),
        "torch_version": torch.__version__,
    }
    if notes:
        metadata["notes"] = notes
    return save_artifact(path, model, metadata)


def export_onnx(
    model: SocialEgoMobile, metadata: Mapping[str, Any], path: str | Path, quantize: str = "none"
) -> dict:
    """Write ``model`` as ONNX with the artifact ``metadata`` (completed as ``save_artifact``
    completes it: same ``version``) inside, atomically; returns the metadata written.
    ``quantize``: ``onnx_format.QUANTIZE``."""
    path = Path(path)
    meta = complete_metadata(model.eval(), metadata, path)
    proto = student_onnx(model, meta, quantize)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(proto.SerializeToString())
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return meta


def onnx_agreement(
    path: str | Path, windows: np.ndarray, reference: Predictions, labels: LabelTable
) -> dict:
    """The ONNX model at ``path`` on ``windows``, beside the float model's ``reference``
    predictions of the same windows (``evaluate.predict_dataset``): its ``metrics``
    (``metrics.task_metrics``) and its ``agreement``: per task the share of equal decisions and
    the largest change of a probability."""
    predictor = OnnxStudentPredictor(path)
    probabilities = predictor.predict(np.asarray(windows, dtype=np.float32))
    predictions = np.stack([probabilities[t].argmax(1) for t in TASKS], axis=1)
    agreement: dict[str, float] = {}
    for i, task in enumerate(TASKS):
        agreement[f"{task}_decisions_equal"] = float(
            (predictions[:, i] == reference.predictions[:, i]).mean()
        )
        change = np.abs(probabilities[task] - reference.probabilities[task]).max()
        agreement[f"{task}_max_probability_change"] = float(change)
    agreement["n"] = int(len(predictions))
    return {
        "metrics": task_metrics(reference.labels, predictions, labels),
        "agreement": agreement,
    }
