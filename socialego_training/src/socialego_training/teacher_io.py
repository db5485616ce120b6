"""Save and load a trained SocialC3D as a model artifact (socialego_core.artifact)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from socialego_core.artifact import build_model, load_artifact, save_artifact
from socialego_core.labels import get_label_table

from socialego_training.modalities import ModalityConfig
from socialego_training.teacher_model import SocialC3D


def save_teacher(
    model: SocialC3D,
    path: Path,
    modality_cfg: ModalityConfig,
    dataset: str,
    extra: dict[str, Any],
) -> dict:
    """Write ``model`` as an artifact at ``path``; ``extra`` adds metadata (metrics, training)."""
    metadata = {
        "model": "SocialC3D",
        "model_kwargs": model.config.to_dict(),
        "window_spec": modality_cfg.window.to_dict(),
        "modality_config": modality_cfg.to_dict(),
        "labels": get_label_table(dataset).to_dict(),
        "input": "dict of streams; see socialego_training.modalities",
        **extra,
    }
    return save_artifact(path, model, metadata)


def load_teacher(path: str | Path) -> tuple[SocialC3D, dict]:
    """A trained teacher artifact -> (model in eval mode, metadata)."""
    payload = load_artifact(path)
    model = build_model(payload, path, registry={"SocialC3D": SocialC3D})
    return model, payload["metadata"]
