"""Student training (method.md section 5 defaults, without distillation).

The student's parts of the shared loop (``socialego_training.loop.fit``): seeded model init;
per step a seeded corruption of the batch (rates ramped linearly over
``corruption_warmup_epochs``); CE_int + CE_att + CE_act (+ the optional
``aux_loss(outputs, batch_indices, epoch)`` hook used by distillation); Adam; validation each
epoch at the target corruption rates with a fixed seed; the best epoch is written as a student
model artifact ``best.pt``. The loop does the rest (batch order, cosine learning rate, resume
from ``last.pt``, logs, best-epoch selection).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from socialego_core.artifact import build_model as build_artifact_model
from socialego_core.artifact import load_artifact
from socialego_core.calibration import METHODS
from socialego_core.corruption import augment_scores, corrupt, curriculum_rate
from socialego_core.heads import SocialOutputs
from socialego_core.labels import TASKS, get_label_table
from socialego_core.student import SocialEgoMobile
from socialego_core.window import WindowSpec
from torch import nn
from torch.optim.swa_utils import update_bn

from socialego_training.augment import mirror, mirror_permutation, mirrorable
from socialego_training.checkpoint import BEST
from socialego_training.config import artifact_config
from socialego_training.data import (
    DatasetError,
    content_sha256,
    dataset_name,
    load_split,
    relative_to_root,
    summarise,
)
from socialego_training.datasets import PoseWindowDataset
from socialego_training.finetune import load_init_model
from socialego_training.loop import (
    TrainingInterrupted,  # raised by train(); callers catch it from here
    TrainingTask,
    cosine_lr,  # re-exported (lived here before the loop was shared)
    epoch_batches,  # re-exported
    fit,
    split_batches,
    start_run,
    step_seed,
    task_loss,
)
from socialego_training.recipe import Schedule, plan_schedule, small_set_hop, small_set_mirror
from socialego_training.train_config import MODEL_DEFAULTS, RESUME_KEYS, TrainConfig

__all__ = [
    "MODEL_DEFAULTS",
    "TrainConfig",
    "TrainResult",
    "TrainingInterrupted",
    "build_model",
    "config_with",
    "cosine_lr",
    "epoch_batches",
    "load_datasets",
    "load_model",
    "stratified_holdout",
    "task_loss",
    "train",
]

AuxLoss = Callable[[SocialOutputs, torch.Tensor, int], torch.Tensor]


@dataclass
class TrainResult:
    run_dir: Path
    best_path: Path
    best_epoch: int
    best_metrics: dict[str, Any]
    history: list[dict[str, Any]]
    model: nn.Module
    wall_time_s: float
    train_windows_per_s: float
    schedule: Schedule | None = None  # the recipe: epochs, steps, selection and why


def build_model(name: str, n_action: int, spec: WindowSpec) -> nn.Module:
    if name == "SocialEgoMobile":
        return SocialEgoMobile(num_joints=spec.num_joints, n_action=n_action)
    if name == "SocialEgoNet":
        from socialego_training.socialegonet import SocialEgoNet

        if spec.joints != tuple(range(133)):
            raise ValueError("SocialEgoNet needs all 133 whole-body joints (joints 0-132)")
        return SocialEgoNet(n_action=n_action)
    raise ValueError(f"unknown model {name!r}; known: {sorted(MODEL_DEFAULTS)}")


def model_registry() -> dict[str, type[nn.Module]]:
    from socialego_training.socialegonet import SocialEgoNet

    return {"SocialEgoMobile": SocialEgoMobile, "SocialEgoNet": SocialEgoNet}


def load_model(path: str | Path) -> nn.Module:
    """Any model artifact this package can train (student or SocialEgoNet), in eval mode."""
    payload = load_artifact(path)
    return build_artifact_model(payload, path, registry=model_registry())


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


def _new_epoch_stats() -> dict[str, float]:
    return {"loss": 0.0, "aux": 0.0, "n": 0, **{f"correct_{t}": 0 for t in TASKS}}


def train(
    cfg: TrainConfig,
    aux_loss: AuxLoss | None = None,
    train_set: PoseWindowDataset | None = None,
    val_set: PoseWindowDataset | None = None,
    data_summary: dict[str, Any] | None = None,
    extra_metadata: dict[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train (or resume) a run in ``cfg.out_dir``; returns the best model and the history."""
    from tqdm import tqdm

    from socialego_training.calibrate import calibrate_artifact, calibrate_model, data_record
    from socialego_training.evaluate import predict_dataset
    from socialego_training.export import export_student
    from socialego_training.metrics import task_metrics

    if cfg.calibration != "none" and cfg.calibration not in METHODS:
        # refused before training, not after it
        raise ValueError(
            f"calibration {cfg.calibration!r} is unknown; known: none, {', '.join(METHODS)}"
        )
    log = log or (lambda msg: tqdm.write(msg))
    run_dir, device = start_run(cfg, log)
    if train_set is None or val_set is None:
        train_set, val_set, data_summary = load_datasets(cfg, log)
    spec = train_set.spec
    labels_table = get_label_table(cfg.dataset)
    n_action = labels_table.num_classes("action")

    mirror_share = small_set_mirror(
        cfg.mirror, len(train_set.tracks), mirrorable(spec.joints) and not cfg.init_from
    )
    schedule = plan_schedule(
        tracks=len(train_set.tracks),
        windows=len(train_set),
        validation_windows=len(val_set),
        batch_size=cfg.batch_size,
        epochs=cfg.epochs,
        min_steps=cfg.min_steps,
        select=cfg.select,
        average_share=cfg.average_share,
        window_hop=train_set.hop,
        mirror=mirror_share,
    )
    log(f"recipe: {schedule.message()}")
    # what the loop runs (and resumes): the planned epochs, the resolved small-set settings
    # (fine-tuning: the learning rate scaled by init_lr_scale, so the start is not forgotten)
    lr = cfg.lr * cfg.init_lr_scale if cfg.init_from else cfg.lr
    planned = config_with(
        cfg, epochs=schedule.epochs, train_window_hop=train_set.hop, mirror=mirror_share, lr=lr
    )

    torch.manual_seed(cfg.seed)
    init_record = None
    if cfg.init_from:
        model, init_record = load_init_model(
            cfg.init_from, cfg.model, spec, labels_table, registry=model_registry()
        )
        model = model.to(device)
        log(
            f"fine-tuning from {cfg.init_from} (version {init_record['version']}), lr {lr:g} "
            f"(lr {cfg.lr:g} x init_lr_scale {cfg.init_lr_scale:g})"
        )
    else:
        model = build_model(cfg.model, n_action, spec).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=cfg.weight_decay)
    windows_x, windows_y = train_set.windows, train_set.labels
    flip = mirror_permutation(spec.joints) if mirror_share > 0 else []

    def corruption_rates(epoch: int) -> tuple[float, float]:
        return (
            curriculum_rate(cfg.joint_rate, epoch, cfg.corruption_warmup_epochs),
            curriculum_rate(cfg.frame_rate, epoch, cfg.corruption_warmup_epochs),
        )

    def train_step(epoch: int, step: int, index: torch.Tensor) -> tuple[torch.Tensor, dict]:
        joint_rate, frame_rate = corruption_rates(epoch)
        gen = torch.Generator().manual_seed(step_seed(cfg.seed, epoch, step))
        x = augment_scores(windows_x[index], cfg.score_augment, gen)
        x = mirror(x, mirror_share, flip, gen)
        x = corrupt(x, joint_rate, frame_rate, gen).to(device)
        y = windows_y[index].to(device)
        outputs = model(x)
        loss = task_loss(outputs, y)
        aux = aux_loss(outputs, index, epoch) if aux_loss is not None else None
        total = loss + aux if aux is not None else loss
        n = len(index)
        predictions = (outputs.intent, outputs.attitude, outputs.action)
        return total, {
            "loss": float(loss.detach()) * n,
            "aux": float(aux.detach()) * n if aux is not None else 0.0,
            "n": n,
            **{
                f"correct_{task}": int((predictions[i].argmax(1) == y[:, i]).sum())
                for i, task in enumerate(TASKS)
            },
        }

    def train_columns(epoch: int, stats: dict) -> dict[str, Any]:
        joint_rate, frame_rate = corruption_rates(epoch)
        n = max(stats["n"], 1)
        return {
            "joint_rate": joint_rate,
            "frame_rate": frame_rate,
            "train_loss": stats["loss"] / n,
            "train_aux_loss": stats["aux"] / n,
            **{f"train_{t}_acc": stats[f"correct_{t}"] / n for t in TASKS},
        }

    bn_batches: list[torch.Tensor] = []  # the same every epoch: built once, on the CPU

    def recompute_batchnorm() -> None:
        # Training normalises with batch statistics; eval uses running averages that, with the
        # weights moving fast, can sit far from them (validation accuracy near chance while the
        # training accuracy is 0.8). Recompute them over the training windows as the model sees
        # them at the final corruption rates (those of validation), with a fixed generator.
        if not bn_batches:
            gen = torch.Generator().manual_seed(cfg.eval_corruption_seed + 1)
            for x in split_batches(windows_x, cfg.batch_size):
                x = augment_scores(x, cfg.score_augment, gen)
                bn_batches.append(corrupt(x, cfg.joint_rate, cfg.frame_rate, gen))
        update_bn(bn_batches, model, device=device)

    def evaluate() -> tuple[float, dict[str, Any]]:
        if cfg.recompute_bn:
            recompute_batchnorm()
        val = predict_dataset(
            model, val_set, cfg.joint_rate, cfg.frame_rate, cfg.eval_corruption_seed, device
        )
        return val.loss, task_metrics(val.labels, val.predictions, labels_table)

    def save_best(epoch: int, best: dict[str, Any], path: Path) -> None:
        export_student(
            model,
            path,
            spec,
            dataset=cfg.dataset,
            trained=True,
            data_summary=data_summary,
            metrics={"validation": best},
            training={
                "config": artifact_config(planned),  # epochs: as run (recipe: why)
                "epoch": epoch,
                "recipe": schedule.to_dict(),
                "selection": schedule.selection(epoch),
                "init_from": init_record,
                "distillation": aux_loss is not None,
                **(extra_metadata or {}),
            },
        )

    task = TrainingTask(
        train_step=train_step,
        new_stats=_new_epoch_stats,
        train_columns=train_columns,
        evaluate=evaluate,
        save_best=save_best,
        resume_keys=RESUME_KEYS,
        log_speed=True,
    )
    wall_start = time.perf_counter()
    state = fit(
        planned,
        model,
        optimizer,
        len(train_set),
        task,
        run_dir,
        log,
        select=schedule.select,
        average_from=schedule.average_from,
        patience=cfg.patience,
    )

    best_state = state["best"]
    best_model = load_model(run_dir / BEST)
    if cfg.calibration != "none":
        # on the validation windows as validated (target rates, fixed seed): what best.pt saw
        rates = ((cfg.joint_rate, cfg.frame_rate),)
        split = (data_summary or {}).get("validation_source", cfg.val_split)
        record = data_record(cfg.data_root, split, val_set, rates, cfg.eval_corruption_seed)
        calibration = calibrate_model(
            best_model, val_set, cfg.calibration, record, rates, cfg.eval_corruption_seed, device
        )
        calibrate_artifact(run_dir / BEST, run_dir / BEST, calibration)
        log(f"calibration ({calibration.method}) fitted on {len(val_set)} validation windows")
    result = TrainResult(
        run_dir=run_dir,
        best_path=run_dir / BEST,
        best_epoch=best_state["epoch"],
        best_metrics=best_state,
        history=state["history"],
        model=best_model,
        wall_time_s=time.perf_counter() - wall_start,
        train_windows_per_s=state["train_windows"] / max(state["train_seconds"], 1e-9),
        schedule=schedule,
    )
    summary = {
        "best_epoch": result.best_epoch,
        "best_validation": best_state,
        "train_windows_per_s": result.train_windows_per_s,
        "train_seconds": state["train_seconds"],
        "wall_time_s_this_process": result.wall_time_s,
        "epochs": schedule.epochs,
        "steps": state["global_step"],
        "recipe": schedule.to_dict(),
        "selection": schedule.selection(result.best_epoch),
        "stopped_early": state["stopped_early"],
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    return result


def config_with(cfg: TrainConfig, **changes: Any) -> TrainConfig:
    return dataclasses.replace(cfg, **changes)
