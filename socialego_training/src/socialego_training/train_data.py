"""The training and validation windows of a student run: the splits of ``cfg.data_root``
(validation held out of the training split, stratified by action, when the set has none), the
window hop of small sets, and the data summary the artifact stores (by name and content hash,
never by path)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from socialego_training.data import (
    DatasetError,
    content_sha256,
    dataset_name,
    load_split,
    relative_to_root,
    summarise,
)
from socialego_training.datasets import PoseWindowDataset
from socialego_training.recipe import small_set_hop
from socialego_training.train_config import TrainConfig


def stratified_holdout(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of a held-out share per action class (at least one sample per big class)."""
    rng = np.random.default_rng(seed)
    held = np.zeros(len(labels), dtype=bool)
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        take = int(round(fraction * len(members)))
        if len(members) >= 2:
            take = min(max(take, 1), len(members) - 1)
        held[rng.permutation(members)[:take]] = True
    return held


def load_datasets(
    cfg: TrainConfig, log: Callable[[str], None] = print
) -> tuple[PoseWindowDataset, PoseWindowDataset, dict[str, Any]]:
    """Train and validation window datasets and a data summary for the artifact."""
    if not cfg.data_root:
        raise ValueError("no data_root given (--data-root)")
    dataset_info = read_dataset_json(cfg.data_root, log)
    spec = cfg.window_spec(dataset_info.get("fps") if dataset_info else None)
    train = load_split(cfg.data_root, cfg.train_split, cfg.dataset, cfg.skip_bad, cfg.progress)
    bad = list(train.bad_files)
    val = None
    try:
        val = load_split(cfg.data_root, cfg.val_split, cfg.dataset, cfg.skip_bad, cfg.progress)
        val_tracks, train_tracks = val.tracks, train.tracks
        bad += val.bad_files
        val_source = cfg.val_split
    except DatasetError as exc:
        if not Path(exc.path).name.startswith(cfg.val_split) or "missing" not in exc.reason:
            raise
        held = stratified_holdout(
            np.array([t.action for t in train.tracks]), cfg.val_fraction, cfg.seed
        )
        val_tracks = [t for t, h in zip(train.tracks, held, strict=True) if h]
        train_tracks = [t for t, h in zip(train.tracks, held, strict=True) if not h]
        val_source = f"{cfg.val_fraction:.0%} of {cfg.train_split} (no {cfg.val_split} split)"
        log(f"no '{cfg.val_split}' split in {cfg.data_root}: validating on {val_source}")
    for item in bad:
        log(f"skipped broken file {item}")
    for split, result in ((cfg.train_split, train), (cfg.val_split, val)):
        if result is not None and result.unlabelled:
            log(f"left out {len(result.unlabelled)} unlabelled tracks of '{split}'")
    # the dataset by name and content, never by where it lies on this machine
    summary = {
        "name": dataset_name(cfg.data_root),
        "content_sha256": content_sha256(
            cfg.data_root, [t.path for t in (*train_tracks, *val_tracks)]
        ),
        "train": summarise(train_tracks, cfg.dataset),
        "validation": summarise(val_tracks, cfg.dataset),
        "validation_source": val_source,
        "skipped_files": [f"{relative_to_root(b.path, cfg.data_root)}: {b.reason}" for b in bad],
    }
    if dataset_info:
        summary["dataset_json"] = dataset_info
    # fine-tuning keeps the start model's windows: no extra windows unless asked for
    hop = small_set_hop(cfg.train_window_hop, len(train_tracks), fine_tuning=bool(cfg.init_from))
    train_set = PoseWindowDataset(train_tracks, spec, hop=hop)
    return train_set, PoseWindowDataset(val_tracks, spec), summary


def read_dataset_json(root: str | Path, log: Callable[[str], None] = print) -> dict | None:
    """``<root>/dataset.json`` of generated sets (generator, seed, fps...), if present."""
    path = Path(root) / "dataset.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        log(f"warning: {path} is not valid JSON ({exc}); ignored")
        return None
    return data if isinstance(data, dict) else None
