"""Train (or resume) the SocialC3D teacher with the shared loop (``loop.fit``), and evaluate it.

Same run-folder behaviour as the student: last.pt every few steps + each epoch (resume), best.pt
artifact, log.csv/log.json, config.yaml.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from socialego_core.labels import TASKS, get_label_table
from tqdm import tqdm

from socialego_training.checkpoint import BEST
from socialego_training.config import artifact_config
from socialego_training.loop import TrainingTask, fit, start_run, task_loss
from socialego_training.metrics import task_metrics
from socialego_training.modalities import ModalityArrays
from socialego_training.posec3d_init import init_teacher_from_posec3d
from socialego_training.teacher_config import TeacherTrainConfig, parse_init_pose
from socialego_training.teacher_data import TeacherData, load_teacher_data
from socialego_training.teacher_io import load_teacher, save_teacher
from socialego_training.teacher_model import SocialC3D


@torch.no_grad()
def evaluate_teacher(
    model: SocialC3D, modalities: ModalityArrays, labels: torch.Tensor, batch_size: int = 64
) -> tuple[np.ndarray, float]:
    """(N, 3) predictions and the mean task loss of the teacher in eval mode."""
    was_training = model.training
    model.eval()
    preds, loss = [], 0.0
    device = next(model.parameters()).device
    for start in range(0, len(modalities), batch_size):
        idx = np.arange(start, min(start + batch_size, len(modalities)))
        batch = {k: v.to(device) for k, v in modalities.batch(idx).items()}
        out = model(batch)
        y = labels[idx].to(device)
        loss += float(task_loss(out, y)) * len(idx)
        preds.append(
            torch.stack([o.argmax(1) for o in (out.intent, out.attitude, out.action)], 1).cpu()
        )
    model.train(was_training)
    return torch.cat(preds).numpy(), loss / max(len(modalities), 1)


@torch.no_grad()
def stream_reliance(
    model: SocialC3D, modalities: ModalityArrays, labels: torch.Tensor, batch_size: int = 64
) -> dict[str, dict[str, float]]:
    """Accuracy per task with all streams, and with each stream blanked (zeros) at test time.

    A diagnostic of how much the trained teacher relies on each modality (not of how much
    information a modality holds: that needs retraining without it, ``--streams``).
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out: dict[str, dict[str, float]] = {}
    y = labels.numpy()
    for blank in ("none", *model.config.streams):
        preds = []
        for start in range(0, len(modalities), batch_size):
            idx = np.arange(start, min(start + batch_size, len(modalities)))
            batch = modalities.batch(idx)
            if blank != "none":
                batch[blank] = torch.zeros_like(batch[blank])
            o = model({k: v.to(device) for k, v in batch.items()})
            preds.append(torch.stack([t.argmax(1) for t in (o.intent, o.attitude, o.action)], 1))
        p = torch.cat(preds).cpu().numpy()
        out[blank] = {f"{t}_acc": float((p[:, i] == y[:, i]).mean()) for i, t in enumerate(TASKS)}
    model.train(was_training)
    return out


@dataclass
class TeacherResult:
    run_dir: Path
    best_path: Path
    best_epoch: int
    best_metrics: dict[str, Any]
    history: list[dict[str, Any]]
    model: SocialC3D
    data: TeacherData


TEACHER_RESUME_KEYS: tuple[str, ...] = (
    "data_root",
    "dataset",
    "size",
    "crop_size",
    "streams",
    "epochs",
    "batch_size",
    "lr",
    "seed",
)


def train_teacher(
    cfg: TeacherTrainConfig,
    data: TeacherData | None = None,
    log: Callable[[str], None] | None = None,
) -> TeacherResult:
    """Train (or resume) a SocialC3D teacher in ``cfg.out_dir`` (the shared loop, ``loop.fit``)."""
    log = log or (lambda msg: tqdm.write(msg))
    run_dir, device = start_run(cfg, log)
    labels_table = get_label_table(cfg.dataset)
    model_cfg = cfg.model_config(labels_table.num_classes("action"))
    modality_cfg = cfg.modality_config(model_cfg)
    if data is None:
        data = load_teacher_data(cfg, modality_cfg, log)
    if data.train_modalities.config != modality_cfg:
        raise ValueError("teacher data was built with a different modality config")

    torch.manual_seed(cfg.seed)
    model = SocialC3D(model_cfg)
    if cfg.init_rgb or cfg.init_pose:
        for report in init_teacher_from_posec3d(
            model, cfg.init_rgb or None, parse_init_pose(cfg.init_pose)
        ):
            log(report.summary())
    model.to(device)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
    )
    labels = data.train_set.labels

    def train_step(epoch: int, step: int, index: torch.Tensor) -> tuple[torch.Tensor, dict]:
        batch = {k: v.to(device) for k, v in data.train_modalities.batch(index).items()}
        loss = task_loss(model(batch), labels[index].to(device))
        return loss, {"loss": float(loss.detach()) * len(index), "n": len(index)}

    def evaluate() -> tuple[float, dict[str, Any]]:
        preds, val_loss = evaluate_teacher(model, data.val_modalities, data.val_set.labels)
        return val_loss, task_metrics(data.val_set.labels.numpy(), preds, labels_table)

    def save_best(epoch: int, best: dict[str, Any], path: Path) -> None:
        save_teacher(
            model,
            path,
            modality_cfg,
            cfg.dataset,
            {
                "metrics": {"validation": best},
                "training": {"config": artifact_config(cfg), "epoch": epoch},
                "training_data": data.summary,
            },
        )

    task = TrainingTask(
        train_step=train_step,
        new_stats=lambda: {"loss": 0.0, "n": 0},
        train_columns=lambda epoch, stats: {"train_loss": stats["loss"] / max(stats["n"], 1)},
        evaluate=evaluate,
        save_best=save_best,
        resume_keys=TEACHER_RESUME_KEYS,
        name="teacher ",
    )
    state = fit(cfg, model, optimizer, len(data.train_modalities), task, run_dir, log)

    best_model, _ = load_teacher(run_dir / BEST)
    (run_dir / "summary.json").write_text(
        json.dumps(
            {"best_epoch": state["best"]["epoch"], "best_validation": state["best"]}, indent=1
        )
    )
    return TeacherResult(
        run_dir,
        run_dir / BEST,
        state["best"]["epoch"],
        state["best"],
        state["history"],
        best_model,
        data,
    )
