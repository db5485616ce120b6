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

import torch
from socialego_core.calibration import METHODS
from socialego_core.corruption import augment_scores, corrupt, curriculum_rate
from socialego_core.heads import SocialOutputs
from socialego_core.labels import TASKS, get_label_table
from torch import nn
from torch.optim.swa_utils import update_bn

from socialego_training.augment import mirror, mirror_permutation, mirrorable
from socialego_training.checkpoint import BEST
from socialego_training.config import artifact_config
from socialego_training.datasets import PoseWindowDataset
from socialego_training.finetune import (
    load_init_model,
    start_model_input_norm,
    start_model_mean_pose_head,
)
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
from socialego_training.mean_pose_fit import fit_mean_pose_head
from socialego_training.model_factory import build_model, load_model, model_registry
from socialego_training.recipe import (
    Schedule,
    plan_schedule,
    small_set_input_norm,
    small_set_label_smoothing,
    small_set_mean_pose_head,
    small_set_min_steps,
    small_set_mirror,
)
from socialego_training.train_config import MODEL_DEFAULTS, RESUME_KEYS, TrainConfig
from socialego_training.train_data import load_datasets
from socialego_training.unlabelled import unlabelled_batch

__all__ = [
    "MODEL_DEFAULTS",
    "TrainConfig",
    "TrainResult",
    "TrainingInterrupted",
    "build_model",
    "config_with",
    "cosine_lr",
    "epoch_batches",
    "load_model",
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
    unlabelled_set: PoseWindowDataset | None = None,
    unlabelled_batch_size: int = 0,
) -> TrainResult:
    """Train (or resume) a run in ``cfg.out_dir``; returns the best model and the history.

    ``unlabelled_set`` (labels -1): each step appends ``unlabelled_batch_size`` (default
    ``batch_size``) of its windows, corrupted like the labelled ones, to the labelled batch; they
    get no supervised loss, and ``aux_loss`` sees them as indices ``len(train_set) + i``.
    """
    from tqdm import tqdm

    from socialego_training.calibrate import (
        MIN_CALIBRATION_SAMPLES,
        calibrate_artifact,
        calibrate_model,
        data_record,
    )
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
    calibration_method = cfg.calibration
    if calibration_method != "none" and len(val_set) < MIN_CALIBRATION_SAMPLES:
        # said now, not after the whole run: the model is kept uncalibrated
        log(
            f"calibration off: {len(val_set)} validation window(s), at least "
            f"{MIN_CALIBRATION_SAMPLES} needed to fit {calibration_method}"
        )
        calibration_method = "none"

    n_tracks, fine_tuning = len(train_set.tracks), bool(cfg.init_from)
    mirror_share = small_set_mirror(
        cfg.mirror, n_tracks, mirrorable(spec.joints) and not fine_tuning
    )
    min_steps = small_set_min_steps(cfg.min_steps, n_tracks, fine_tuning)
    label_smoothing = small_set_label_smoothing(cfg.label_smoothing, n_tracks, fine_tuning)

    # the student's options: auto (-1) only for the student (SocialEgoNet has none;
    # build_model refuses an explicit value); when fine-tuning, the start model decides (an
    # explicit value must agree with it)
    def student_option(value: float) -> float:
        return value if cfg.model == "SocialEgoMobile" or value != -1 else 0

    input_norm = small_set_input_norm(student_option(cfg.input_norm), n_tracks, fine_tuning)
    corrupted = cfg.joint_rate > 0 or cfg.frame_rate > 0
    mean_pose = small_set_mean_pose_head(
        student_option(cfg.mean_pose_head), n_tracks, fine_tuning, corrupted
    )
    init_model, init_record = None, None
    if cfg.init_from:
        init_model, init_record = load_init_model(
            cfg.init_from, cfg.model, spec, labels_table, registry=model_registry()
        )
        input_norm = start_model_input_norm(init_model, cfg.input_norm, cfg.init_from)
        mean_pose = start_model_mean_pose_head(init_model, cfg.mean_pose_head, cfg.init_from)
    schedule = plan_schedule(
        tracks=n_tracks,
        windows=len(train_set),
        validation_windows=len(val_set),
        batch_size=cfg.batch_size,
        epochs=cfg.epochs,
        min_steps=min_steps,
        select=cfg.select,
        average_share=cfg.average_share,
        window_hop=train_set.hop,
        mirror=mirror_share,
        label_smoothing=label_smoothing,
        input_norm=input_norm,
        mean_pose_head=mean_pose,
    )
    log(f"recipe: {schedule.message()}")
    # what the loop runs (and resumes): the planned epochs, the resolved small-set settings
    # (fine-tuning: the learning rate scaled by init_lr_scale, so the start is not forgotten)
    lr = cfg.lr * cfg.init_lr_scale if cfg.init_from else cfg.lr
    planned = config_with(
        cfg,
        epochs=schedule.epochs,
        min_steps=min_steps,
        label_smoothing=label_smoothing,
        input_norm=int(input_norm),
        mean_pose_head=mean_pose,
        train_window_hop=train_set.hop,
        mirror=mirror_share,
        lr=lr,
    )

    torch.manual_seed(cfg.seed)
    if init_model is not None:
        model = init_model.to(device)
        log(
            f"fine-tuning from {cfg.init_from} (version {init_record['version']}), lr {lr:g} "
            f"(lr {cfg.lr:g} x init_lr_scale {cfg.init_lr_scale:g})"
        )
    else:
        model = build_model(cfg.model, n_action, spec, input_norm, mean_pose > 0).to(device)
    if mean_pose > 0:
        # closed form, before training (no random numbers drawn): the head joins the output
        # in eval mode only, so validation sees the model as it will be deployed
        fit_mean_pose_head(model.mean_pose_head, train_set.tracks, spec, mean_pose, cfg.seed)
        log(f"mean-pose head fitted on the first windows of {n_tracks} training tracks")
    if hasattr(aux_loss, "bind"):
        aux_loss.bind(model)  # a loss whose teacher follows the student (mean teacher)
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
        aux_index = index
        if unlabelled_set is not None:
            u_index = unlabelled_batch(
                len(unlabelled_set), unlabelled_batch_size or cfg.batch_size, cfg.seed, epoch, step
            )
            u_gen = torch.Generator().manual_seed(step_seed(cfg.seed, epoch, step) + 1)
            xu = augment_scores(unlabelled_set.windows[u_index], cfg.score_augment, u_gen)
            xu = corrupt(xu, joint_rate, frame_rate, u_gen).to(device)
            x = torch.cat([x, xu])
            y = torch.cat([y, unlabelled_set.labels[u_index].to(device)])
            aux_index = torch.cat([index, len(train_set) + u_index])
        outputs = model(x)
        loss = task_loss(outputs, y, label_smoothing)
        aux = aux_loss(outputs, aux_index, epoch) if aux_loss is not None else None
        total = loss + aux if aux is not None else loss
        n = len(index)  # the labelled rows come first
        predictions = (outputs.intent[:n], outputs.attitude[:n], outputs.action[:n])
        y = y[:n]
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
    if calibration_method != "none":
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
