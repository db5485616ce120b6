"""``socialego-train train --folds K``: stratified K-fold cross-validation grouped by video.

One split of a small dataset (a 30 % test split of 290 tracks) is noisy, so the tracks of the
training and validation splits are pooled and cut into K folds with sklearn's
``StratifiedGroupKFold`` (stratified by action, every video in one fold only). Each fold is the
test set once; the model trains on the other folds, with a validation share of them (again whole
videos) held out for validation and calibration, under the same recipe as a plain run. The test
split of the dataset is not touched. Reported: mean +- std over the folds per task (accuracy and
weighted F1, ``metrics.task_metrics``), beside the linear mean-pose baseline on the same folds;
``cv.md`` and ``cv.json`` in the output folder, one run folder per fold.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold
from socialego_core.artifact import load_artifact
from socialego_core.calibration import Calibration
from socialego_core.labels import TASKS, get_label_table

from socialego_training.baseline import linear_baseline
from socialego_training.data import DatasetError, Track, dataset_name, load_split, summarise
from socialego_training.datasets import PoseWindowDataset
from socialego_training.evaluate import predict_dataset
from socialego_training.metrics import task_metrics
from socialego_training.recipe import small_set_hop
from socialego_training.train import config_with, load_model, train
from socialego_training.train_data import read_dataset_json

METRIC_KEYS: tuple[str, ...] = tuple(f"{t}_{m}" for t in TASKS for m in ("acc", "f1"))


def fold_indices(
    tracks: Sequence[Track], folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index arrays of ``folds`` folds, stratified by action, grouped by video."""
    if folds < 2:
        raise ValueError(f"--folds needs at least 2 folds, got {folds}")
    videos = np.array([t.video_name for t in tracks])
    if len(np.unique(videos)) < folds:
        raise ValueError(
            f"--folds {folds}: the data has only {len(np.unique(videos))} videos; every video "
            "lies in one fold, so use at most that many folds"
        )
    actions = np.array([t.action for t in tracks])
    largest = int(np.bincount(actions).max())
    if largest < folds:
        raise ValueError(
            f"--folds {folds}: no action class has {folds} tracks (the largest has {largest}); "
            "use fewer folds"
        )
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(tracks)), actions, groups=videos))


def inner_validation(tracks: Sequence[Track], fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of a validation share of ``tracks`` (whole videos, stratified by action)."""
    parts = max(2, round(1.0 / max(fraction, 1e-6)))
    videos = np.array([t.video_name for t in tracks])
    actions = np.array([t.action for t in tracks])
    # small sets: fewer, larger parts (StratifiedGroupKFold needs a class with `parts` members)
    parts = min(parts, len(np.unique(videos)), int(np.bincount(actions).max()))
    if parts < 2:
        raise ValueError("cross-validation needs at least 2 videos in every training part")
    splitter = StratifiedGroupKFold(n_splits=parts, shuffle=True, random_state=seed)
    _, held = next(splitter.split(np.zeros(len(tracks)), actions, groups=videos))
    mask = np.zeros(len(tracks), dtype=bool)
    mask[held] = True
    return mask


def pooled_tracks(cfg: Any, log: Callable[[str], None]) -> list[Track]:
    """The labelled tracks of the training split and, when present, the validation split."""
    tracks = list(load_split(cfg.data_root, cfg.train_split, cfg.dataset, cfg.skip_bad).tracks)
    try:
        tracks += load_split(cfg.data_root, cfg.val_split, cfg.dataset, cfg.skip_bad).tracks
    except DatasetError as exc:
        if "missing" not in exc.reason:
            raise
        log(f"no '{cfg.val_split}' split: folds over '{cfg.train_split}' only")
    return tracks


def summary_rows(per_fold: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """metric -> {"mean", "std"} over the folds (std: sample standard deviation, ddof 1)."""
    out = {}
    for key in METRIC_KEYS:
        values = np.array([m[key] for m in per_fold], dtype=float)
        std = float(values.std(ddof=1)) if len(values) > 1 else math.nan
        out[key] = {"mean": float(values.mean()), "std": std}
    return out


def cv_table(rows: dict[str, dict[str, dict[str, float]]]) -> str:
    """Markdown: one row per model, mean +- std in % per task (accuracy and weighted F1)."""
    header = " | ".join(f"{t} {m}" for t in TASKS for m in ("acc", "F1"))
    lines = [f"| model | {header} |", "|---|" + "---|" * len(METRIC_KEYS)]
    for name, summary in rows.items():
        cells = [
            f"{100 * summary[k]['mean']:.1f} +- {100 * summary[k]['std']:.1f}" for k in METRIC_KEYS
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cross_validate(cfg: Any, folds: int, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train one model per fold under ``cfg``'s recipe; writes cv.md / cv.json in
    ``cfg.out_dir`` and returns the summary."""
    if not cfg.data_root:
        raise ValueError("no data_root given (--data-root)")
    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = get_label_table(cfg.dataset)
    tracks = pooled_tracks(cfg, log)
    info = read_dataset_json(cfg.data_root, log)
    spec = cfg.window_spec(info.get("fps") if info else None)
    splits = fold_indices(tracks, folds, cfg.seed)
    per_fold: list[dict[str, Any]] = []
    baseline: list[dict[str, Any]] = []
    for k, (train_idx, test_idx) in enumerate(splits):
        pool = [tracks[i] for i in train_idx]
        test = [tracks[i] for i in test_idx]
        held = inner_validation(pool, cfg.val_fraction, cfg.seed + k)
        fit_tracks = [t for t, h in zip(pool, held, strict=True) if not h]
        val_tracks = [t for t, h in zip(pool, held, strict=True) if h]
        log(
            f"fold {k + 1}/{folds}: train {len(fit_tracks)}, validation {len(val_tracks)}, "
            f"test {len(test)} tracks"
        )
        hop = small_set_hop(cfg.train_window_hop, len(fit_tracks), bool(cfg.init_from))
        train_set = PoseWindowDataset(fit_tracks, spec, hop=hop)
        val_set = PoseWindowDataset(val_tracks, spec)
        test_set = PoseWindowDataset(test, spec)
        summary = {
            "name": dataset_name(cfg.data_root),
            "train": summarise(fit_tracks, cfg.dataset),
            "validation": summarise(val_tracks, cfg.dataset),
            "validation_source": f"fold {k + 1} of {folds}: held-out videos of the training part",
        }
        fold_cfg = config_with(cfg, out_dir=str(out_dir / f"fold{k + 1}"))
        result = train(fold_cfg, train_set=train_set, val_set=val_set, data_summary=summary)
        model = load_model(result.best_path)
        calibration = Calibration.from_metadata(load_artifact(result.best_path)["metadata"])
        pred = predict_dataset(model, test_set, calibration=calibration)
        metrics = task_metrics(pred.labels, pred.predictions, table)
        metrics["fold"] = k + 1
        metrics["best_epoch"] = result.best_epoch
        per_fold.append(metrics)
        baseline.append(linear_baseline(train_set, test_set, table, seed=cfg.seed))
        log(
            f"fold {k + 1}: test acc int/att/act "
            + "/".join(f"{metrics[f'{t}_acc']:.3f}" for t in TASKS)
            + "  (linear baseline "
            + "/".join(f"{baseline[-1][f'{t}_acc']:.3f}" for t in TASKS)
            + ")"
        )
    rows = {
        f"{cfg.model} (this recipe)": summary_rows(per_fold),
        "linear (mean pose)": summary_rows(baseline),
    }
    report = {
        "folds": folds,
        "tracks": len(tracks),
        "videos": int(len({t.video_name for t in tracks})),
        "seed": cfg.seed,
        "config": {k: v for k, v in dataclasses.asdict(cfg).items() if k != "data_root"},
        "summary": rows,
        "per_fold": per_fold,
        "baseline_per_fold": baseline,
    }
    (out_dir / "cv.json").write_text(json.dumps(report, indent=1, default=list))
    text = (
        f"{folds}-fold cross-validation (stratified by action, grouped by video; seed "
        f"{cfg.seed}) over {len(tracks)} tracks of {report['videos']} videos of "
        f"{dataset_name(cfg.data_root)}; test accuracy and weighted F1 in %, mean +- std over "
        "the folds.\n\n" + cv_table(rows) + "\n"
    )
    (out_dir / "cv.md").write_text(text)
    return report
