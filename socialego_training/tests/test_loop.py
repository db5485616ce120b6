"""The shared training loop (loop.fit) on a tiny linear model: run folder, resume, best epoch."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml
from socialego_core.labels import TASKS
from socialego_training.loop import TrainingInterrupted, TrainingTask, fit, start_run
from torch import nn

torch.set_num_threads(1)


@dataclass
class TinyConfig:
    out_dir: str
    epochs: int = 3
    batch_size: int = 8
    lr: float = 0.1
    seed: int = 0
    checkpoint_every: int = 1
    resume: bool = True
    progress: bool = False
    max_steps: int = 0
    threads: int = 1
    device: str = "cpu"


def tiny_data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=gen)
    return x, (x[:, 0] > 0).long()


def run_tiny(cfg: TinyConfig, log: list[str]) -> tuple[dict, nn.Module, list[int]]:
    """fit() on a linear classifier; the one label stands in for all three tasks."""
    run_dir, device = start_run(cfg, log.append)
    x, y = tiny_data(30, 0)
    val_x, val_y = tiny_data(12, 1)
    torch.manual_seed(cfg.seed)
    model = nn.Linear(4, 2).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9)
    saved: list[int] = []

    def train_step(epoch: int, step: int, index: torch.Tensor):
        logits = model(x[index])
        loss = F.cross_entropy(logits, y[index])
        correct = int((logits.argmax(1) == y[index]).sum())
        return loss, {"loss": float(loss.detach()) * len(index), "n": len(index), "ok": correct}

    @torch.no_grad()
    def evaluate():
        logits = model(val_x)
        acc = float((logits.argmax(1) == val_y).float().mean())
        metrics = {"intent_acc": acc, "attitude_acc": acc, "action_acc": acc, "mean_acc": acc}
        return float(F.cross_entropy(logits, val_y)), {**metrics, "n": len(val_y)}

    def save_best(epoch: int, best: dict, path: Path) -> None:
        saved.append(epoch)
        torch.save({"epoch": epoch, "state_dict": model.state_dict()}, path)

    task = TrainingTask(
        train_step=train_step,
        new_stats=lambda: {"loss": 0.0, "n": 0, "ok": 0},
        train_columns=lambda epoch, s: {"train_loss": s["loss"] / s["n"], "ok": s["ok"] / s["n"]},
        evaluate=evaluate,
        save_best=save_best,
        resume_keys=("epochs", "lr"),
        name="tiny ",
    )
    state = fit(cfg, model, optimizer, len(x), task, run_dir, log.append)
    return state, model, saved


def test_fit_writes_the_run_folder_and_selects_the_best_epoch(tmp_path: Path) -> None:
    log: list[str] = []
    state, _, saved = run_tiny(TinyConfig(out_dir=str(tmp_path / "run")), log)
    run = tmp_path / "run"
    assert {p.name for p in run.iterdir()} >= {"config.yaml", "last.pt", "best.pt", "log.csv"}
    assert yaml.safe_load((run / "config.yaml").read_text())["epochs"] == 3
    rows = list(csv.DictReader((run / "log.csv").open()))
    assert list(rows[0]) == ["epoch", "lr", "train_loss", "ok", "val_loss"] + [
        f"val_{t}_acc" for t in (*TASKS, "mean")
    ]  # "n" of the metrics is not logged; no speed column unless asked
    assert json.loads((run / "log.json").read_text()) == state["history"]
    best_row = max(state["history"], key=lambda r: (r["val_mean_acc"], -r["val_loss"]))
    assert state["best"]["epoch"] == best_row["epoch"] == saved[-1]
    assert torch.load(run / "best.pt")["epoch"] == saved[-1]
    # 30 windows / batch 8: 4 steps per epoch, the last batch of 6 kept
    assert state["global_step"] == 12 and state["train_windows"] == 90
    epoch_lines = [m for m in log if m.startswith("tiny epoch")]
    assert len(epoch_lines) == 3 and epoch_lines[0].startswith("tiny epoch   1  loss ")
    assert sum("*best" in m for m in epoch_lines) == len(saved)


def test_fit_resumes_after_a_kill_bit_identically(tmp_path: Path) -> None:
    straight, straight_model, _ = run_tiny(TinyConfig(out_dir=str(tmp_path / "a")), [])
    with pytest.raises(TrainingInterrupted):
        run_tiny(TinyConfig(out_dir=str(tmp_path / "b"), max_steps=6), [])
    saved = torch.load(tmp_path / "b" / "last.pt", weights_only=False)
    assert (saved["epoch"], saved["step"], saved["global_step"]) == (1, 2, 6)
    log: list[str] = []
    resumed, resumed_model, _ = run_tiny(TinyConfig(out_dir=str(tmp_path / "b")), log)
    assert "resuming" in log[0]
    for key, value in straight_model.state_dict().items():
        assert torch.equal(resumed_model.state_dict()[key], value)
    assert resumed["history"] == straight["history"]


def test_fit_refuses_changed_resume_keys_and_resumes_old_checkpoints(tmp_path: Path) -> None:
    with pytest.raises(TrainingInterrupted):
        run_tiny(TinyConfig(out_dir=str(tmp_path / "c"), max_steps=2), [])
    with pytest.raises(ValueError, match=r"different settings \['lr'\]"):
        run_tiny(TinyConfig(out_dir=str(tmp_path / "c"), lr=0.5), [])
    # checkpoints written before the loop was shared (teacher runs) lack the speed counters
    last = tmp_path / "c" / "last.pt"
    state = torch.load(last, weights_only=False)
    del state["train_seconds"], state["train_windows"]
    torch.save(state, last)
    resumed, _, _ = run_tiny(TinyConfig(out_dir=str(tmp_path / "c")), [])
    assert len(resumed["history"]) == 3 and resumed["train_windows"] == 90 - 16
