"""The one training loop shared by the student, distillation and teacher runs, nanoGPT-style.

``fit`` owns everything the runs have in common: the run folder (``config.yaml``, ``last.pt``,
``best.pt``, ``log.csv``/``log.json``), resume from ``last.pt`` (refusing changed settings), the
seeded per-epoch batch order, the per-step cosine learning rate, the optimiser step, the progress
bar, the per-epoch validation, the best-epoch selection (mean validation accuracy of the three
tasks, ties broken by lower loss) and the epoch log line. What differs between models comes in as
a ``TrainingTask``: a few small functions (a batch's loss, validation, the log columns, saving the
best artifact).

Every random draw is derived from (seed, epoch, step), and the checkpoint holds the model, the
optimiser, the position in the epoch and the running epoch statistics, so a run killed mid-epoch
and resumed from ``last.pt`` ends with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from socialego_core.artifact import resolve_device
from socialego_core.heads import SocialOutputs
from socialego_core.labels import TASKS
from torch import nn

from socialego_training.checkpoint import BEST, load_checkpoint, save_checkpoint, write_history
from socialego_training.config import config_to_dict, save_yaml

StepStats = dict[str, float]


class TrainingInterrupted(RuntimeError):
    """Raised when ``max_steps`` is reached (simulates a kill: nothing is saved at that moment)."""


def step_seed(seed: int, epoch: int, step: int) -> int:
    """The seed of one step's random draws (corruption); step -1 seeds the epoch's batch order."""
    return (seed * 1_000_003 + epoch) * 1_000_003 + step


def split_batches(items: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    """``items`` cut into batches of ``batch_size``; a final batch of one joins the batch before
    it (BatchNorm in train mode cannot normalise a single sample), so every item is used and any
    dataset size trains. A dataset of one sample stays one batch of one."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    batches = list(items.split(batch_size))
    if len(batches) > 1 and len(batches[-1]) == 1:
        tail = batches.pop()
        batches[-1] = torch.cat([batches[-1], tail])
    return batches


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[torch.Tensor]:
    """The epoch's shuffled index batches (``split_batches``: no final batch of one)."""
    gen = torch.Generator().manual_seed(step_seed(seed, epoch, -1))
    order = torch.randperm(n, generator=gen)
    return split_batches(order, batch_size)


def cosine_lr(base_lr: float, step: int, total_steps: int) -> float:
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / max(total_steps, 1)))


def task_loss(
    outputs: SocialOutputs, labels: torch.Tensor, label_smoothing: float = 0.0
) -> torch.Tensor:
    """CE_int + CE_att + CE_act, the mean over the labelled rows of the batch (each
    cross-entropy with ``label_smoothing``).

    Rows whose labels are -1 (unlabelled tracks, ``socialego_training.data.UNLABELLED``) add no
    supervised term; a batch without a labelled row gives a zero that still belongs to the graph.
    """
    unlabelled = labels[:, 0] < 0
    if bool(unlabelled.any()):
        keep = ~unlabelled
        if not bool(keep.any()):
            return outputs.z.sum() * 0.0
        outputs = SocialOutputs(*(t[keep] for t in outputs))
        labels = labels[keep]
    return (
        F.cross_entropy(outputs.intent, labels[:, 0], label_smoothing=label_smoothing)
        + F.cross_entropy(outputs.attitude, labels[:, 1], label_smoothing=label_smoothing)
        + F.cross_entropy(outputs.action, labels[:, 2], label_smoothing=label_smoothing)
    )


def start_run(cfg: Any, log: Callable[[str], None]) -> tuple[Path, torch.device]:
    """Thread count, the run folder (created) and the device of a run configured by ``cfg``."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    run_dir = Path(cfg.out_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    device = resolve_device(cfg.device)
    if cfg.device.startswith("cuda") and device.type != "cuda":
        log(f"warning: device {cfg.device!r} requested but CUDA is not available; using CPU")
    return run_dir, device


@dataclass
class TrainingTask:
    """The model-specific parts of a run; ``fit`` does the rest.

    - ``train_step(epoch, step, batch_indices)`` -> (loss to minimise, epoch-statistic
      increments): the forward pass and loss of one batch of training-set indices (the model is
      in train mode, the learning rate set; ``fit`` does the backward pass and optimiser step).
    - ``new_stats()``: the zeroed epoch statistics (summed by ``fit``, kept in ``last.pt``).
    - ``train_columns(epoch, stats)``: the log columns of the finished epoch's training part,
      between ``lr`` and ``val_loss``; must include ``train_loss``.
    - ``evaluate()`` -> (validation loss, ``metrics.task_metrics`` dict).
    - ``save_best(epoch_number, best, path)``: write the model artifact ``path`` (the run's
      ``best.pt``) for a new best epoch; ``best`` is ``{"epoch", "val_loss", **metrics}``.
    - ``resume_keys``: config fields that must not change between a run and its resume.
    - ``name``: prefix of the progress bar and log line ("teacher " -> "teacher epoch 3/70").
    - ``log_speed``: add ``train_windows_per_s`` as the last log column.
    """

    train_step: Callable[[int, int, torch.Tensor], tuple[torch.Tensor, StepStats]]
    new_stats: Callable[[], StepStats]
    train_columns: Callable[[int, StepStats], dict[str, Any]]
    evaluate: Callable[[], tuple[float, dict[str, Any]]]
    save_best: Callable[[int, dict[str, Any], Path], None]
    resume_keys: tuple[str, ...]
    name: str = ""
    log_speed: bool = False


def fit(
    cfg: Any,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    n_train: int,
    task: TrainingTask,
    run_dir: Path,
    log: Callable[[str], None],
    select: str = "best",
    average_from: int = 0,
    patience: int = 0,
) -> dict[str, Any]:
    """Train (or resume) ``model`` for ``cfg.epochs`` epochs in ``run_dir``; returns the final
    loop state (``history``, ``best``, ``global_step``, ``train_seconds``, ``train_windows``).

    ``cfg`` supplies epochs, batch_size, lr, seed, checkpoint_every, resume, progress, max_steps
    (and is saved as config.yaml / in last.pt). The weights saved as ``best.pt``: ``select``
    ``best`` (best validation epoch), ``last`` (the final epoch) or ``swa`` (the mean of the
    weights after epochs ``average_from``..``cfg.epochs``, validated and saved at the end; the
    running mean is part of ``last.pt``). ``patience`` > 0 stops after that many epochs without
    a better validation epoch (``select best`` only).
    """
    if select not in ("best", "last", "swa"):
        raise ValueError(f"select {select!r} is unknown; known: best, last, swa")
    if select == "swa" and not 1 <= average_from <= cfg.epochs:
        raise ValueError(f"swa needs 1 <= average_from <= epochs, got {average_from}")
    if patience and select != "best":
        raise ValueError(f"patience (early stopping) needs select best, not {select}")
    from tqdm import tqdm

    steps_per_epoch = len(epoch_batches(n_train, cfg.batch_size, cfg.seed, 0))
    total_steps = cfg.epochs * steps_per_epoch
    config_dict = config_to_dict(cfg)

    state = load_checkpoint(run_dir) if cfg.resume else None
    if state is not None:
        changed = [k for k in task.resume_keys if state["config"].get(k) != config_dict.get(k)]
        if changed:
            raise ValueError(
                f"{run_dir / 'last.pt'} was written with different settings {changed}; use "
                "another --out-dir or --resume false to start over"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        log(f"resuming {run_dir} at epoch {state['epoch']} step {state['step']}")
    else:
        state = {
            "epoch": 0,
            "step": 0,
            "global_step": 0,
            "history": [],
            "best": None,
            "stats": task.new_stats(),
            "train_seconds": 0.0,
            "train_windows": 0,
            "average": None,
            "stopped_early": False,
        }
        save_yaml(cfg, run_dir / "config.yaml")
    # checkpoints of teacher runs written before the loop was shared have no speed counters
    state.setdefault("train_seconds", 0.0)
    state.setdefault("train_windows", 0)
    state.setdefault("average", None)
    state.setdefault("stopped_early", False)

    def checkpoint() -> None:
        save_checkpoint(
            run_dir,
            {
                **state,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "config": config_dict,
            },
        )

    for epoch in range(state["epoch"], cfg.epochs):
        if state["stopped_early"]:
            break
        batches = epoch_batches(n_train, cfg.batch_size, cfg.seed, epoch)
        stats = state["stats"]
        model.train()
        bar = tqdm(
            range(state["step"], len(batches)),
            total=len(batches),
            initial=state["step"],
            desc=f"{task.name}epoch {epoch + 1}/{cfg.epochs}",
            disable=not cfg.progress,
            leave=False,
            dynamic_ncols=True,
        )
        for step in bar:
            if cfg.max_steps and state["global_step"] >= cfg.max_steps:
                raise TrainingInterrupted(f"stopped after max_steps={cfg.max_steps}")
            tick = time.perf_counter()
            index = batches[step]
            lr = cosine_lr(cfg.lr, state["global_step"], total_steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss, increments = task.train_step(epoch, step, index)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

            for key, value in increments.items():
                stats[key] += value
            state["train_seconds"] += time.perf_counter() - tick
            state["train_windows"] += len(index)
            state["step"] = step + 1
            state["global_step"] += 1
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}", lr=f"{lr:.2e}")
            if cfg.checkpoint_every and state["step"] % cfg.checkpoint_every == 0:
                checkpoint()
        bar.close()

        val_loss, val_metrics = task.evaluate()
        row: dict[str, Any] = {
            "epoch": epoch + 1,
            "lr": cosine_lr(cfg.lr, state["global_step"], total_steps),
            **task.train_columns(epoch, stats),
            "val_loss": val_loss,
            **{f"val_{k}": v for k, v in val_metrics.items() if k != "n"},
        }
        if task.log_speed:
            row["train_windows_per_s"] = state["train_windows"] / max(state["train_seconds"], 1e-9)
        state["history"].append(row)
        best = state["best"]
        if select == "best":
            improved = best is None or (val_metrics["mean_acc"], -val_loss) > (
                best["mean_acc"],
                -best["val_loss"],
            )
        else:
            improved = select == "last" and epoch + 1 == cfg.epochs
        if improved:
            state["best"] = {"epoch": epoch + 1, "val_loss": val_loss, **val_metrics}
            task.save_best(epoch + 1, state["best"], run_dir / BEST)
        if select == "swa" and epoch + 1 >= average_from:
            state["average"] = running_mean(state["average"], model)
        log(
            f"{task.name}epoch {epoch + 1:3d}  loss {row['train_loss']:.3f}  "
            f"val loss {val_loss:.3f}  val acc int/att/act "
            + "/".join(f"{val_metrics[f'{t}_acc']:.3f}" for t in TASKS)
            + ("  *best" if improved else "")
        )
        state["epoch"] = epoch + 1
        state["step"] = 0
        state["stats"] = task.new_stats()
        if patience and epoch + 1 - state["best"]["epoch"] >= patience and epoch + 1 < cfg.epochs:
            state["stopped_early"] = True
            log(
                f"{task.name}early stop after epoch {epoch + 1}: no better validation epoch in "
                f"{patience} epochs (best: epoch {state['best']['epoch']})"
            )
        write_history(run_dir, state["history"])
        checkpoint()
    if select == "swa" and state["best"] is None:
        # the averaged weights, validated (BatchNorm recomputed by evaluate when the task does)
        model.load_state_dict(state["average"]["weights"])
        val_loss, val_metrics = task.evaluate()
        state["best"] = {"epoch": cfg.epochs, "val_loss": val_loss, **val_metrics}
        task.save_best(cfg.epochs, state["best"], run_dir / BEST)
        log(
            f"{task.name}average of epochs {average_from}-{cfg.epochs}  val loss {val_loss:.3f}  "
            "val acc int/att/act " + "/".join(f"{val_metrics[f'{t}_acc']:.3f}" for t in TASKS)
        )
        checkpoint()
    return state


def running_mean(average: dict[str, Any] | None, model: nn.Module) -> dict[str, Any]:
    """The running mean of the model's floating-point weights and buffers over the epochs seen
    (integer buffers, e.g. BatchNorm's batch counter, are taken from the latest epoch)."""
    current = {k: v.detach().clone().cpu() for k, v in model.state_dict().items()}
    if average is None:
        return {"count": 1, "weights": current}
    count = average["count"] + 1
    weights = average["weights"]
    for key, value in current.items():
        if value.is_floating_point():
            weights[key] += (value - weights[key]) / count
        else:
            weights[key] = value
    return {"count": count, "weights": weights}
