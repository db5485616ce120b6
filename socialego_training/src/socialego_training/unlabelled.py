"""The unlabelled transfer set of distillation (``distill --unlabelled DIR``).

Distillation needs no labels: the student gets the supervised loss on the labelled tracks and the
distillation loss on the labelled and the unlabelled tracks. ``DIR`` holds tracks in the dataset
schema (data.py); a track whose three labels are null is unlabelled (data.py's definition), and
any labels a track in ``DIR`` does carry are ignored, so a labelled set can serve as transfer data.
``DIR`` is either a folder of track files (or its ``pose_features/``) or a dataset root whose
``train`` split is used.

Each training step draws a batch of unlabelled windows (``unlabelled_batch``, seeded by
(seed, epoch, step) like the rest of the step) and appends it to the labelled batch in one forward
pass; the teacher codes of the unlabelled tracks are computed like those of the labelled ones
(frozen teacher, clean input) and the distillation loss looks them up after the labelled ones.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from socialego_core.window import WindowSpec

from socialego_training.data import UNLABELLED, DatasetError, load_split
from socialego_training.datasets import PoseWindowDataset
from socialego_training.loop import step_seed

UNLABELLED_SEED_OFFSET = 0x5EED  # the unlabelled draw's generator differs from the corruption's


def unlabelled_location(path: str | Path) -> tuple[Path, str]:
    """(dataset root, split name) of ``path``: a dataset root with a ``train`` split or a folder
    of track files."""
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(path, "unlabelled data folder does not exist or is not a folder")
    if (path / "train").is_dir():
        return path, "train"
    return path.parent, path.name


def load_unlabelled(
    path: str | Path,
    spec: WindowSpec,
    dataset: str = "jpl_social",
    skip_bad: bool = False,
    progress: bool = False,
    log: Callable[[str], None] = print,
) -> PoseWindowDataset:
    """The windows of every track under ``path``, all with labels -1 (unlabelled)."""
    root, split = unlabelled_location(path)
    result = load_split(root, split, dataset, skip_bad, progress, unlabelled="keep")
    for item in result.bad_files:
        log(f"skipped broken file {item}")
    labelled = sum(t.labelled for t in result.tracks)
    if labelled:
        log(f"{labelled} of {len(result.tracks)} tracks in {path} carry labels: used unlabelled")
    data = PoseWindowDataset(result.tracks, spec)
    data.labels = torch.full_like(data.labels, UNLABELLED)
    return data


def unlabelled_batch(n: int, batch_size: int, seed: int, epoch: int, step: int) -> torch.Tensor:
    """One step's unlabelled window indices: ``batch_size`` distinct draws (all if fewer)."""
    gen = torch.Generator().manual_seed(step_seed(seed, epoch, step) ^ UNLABELLED_SEED_OFFSET)
    return torch.randperm(n, generator=gen)[: min(batch_size, n)]
