"""The teacher's data: the student's windows (same split, same order) plus their modality
arrays (RGB crops and heatmaps), built once and cached."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from socialego_training.modalities import ModalityArrays, ModalityConfig, build_modalities
from socialego_training.teacher_config import TeacherTrainConfig
from socialego_training.train import TrainConfig
from socialego_training.train_data import load_datasets


@dataclass
class TeacherData:
    """Everything the teacher (and distillation) needs about a dataset."""

    train_set: Any  # PoseWindowDataset (same windows and order as the student's)
    val_set: Any
    train_modalities: ModalityArrays
    val_modalities: ModalityArrays
    summary: dict[str, Any]


def student_train_config(cfg: Any, **changes: Any) -> TrainConfig:
    """A student TrainConfig sharing the data fields of ``cfg`` (same split, same windows)."""
    fields = {
        name: getattr(cfg, name)
        for name in (
            "data_root",
            "dataset",
            "train_split",
            "val_split",
            "val_fraction",
            "skip_bad",
            "window_length",
            "window_stride",
            "source_fps",
            "seed",
            "progress",
        )
        if hasattr(cfg, name)
    }
    fields.update(changes)
    return TrainConfig(**fields)


def load_teacher_data(
    cfg: TeacherTrainConfig, modality_cfg: ModalityConfig, log: Callable[[str], None] = print
) -> TeacherData:
    train_set, val_set, summary = load_datasets(student_train_config(cfg), log)
    videos = cfg.resolved_videos_dir()
    cache = cfg.resolved_cache_dir()
    mods = []
    for dataset in (train_set, val_set):
        files = [t.path for t in dataset.tracks]
        mods.append(
            build_modalities(dataset.tracks, videos, modality_cfg, files, cache, cfg.progress)
        )
    return TeacherData(train_set, val_set, mods[0], mods[1], summary)
