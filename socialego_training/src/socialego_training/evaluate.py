"""Evaluation: accuracy and weighted F1 per task, confusion matrices (PNG), corruption sweep.

Test-time corruption is applied to the whole split at once from one fixed seed, so the numbers do
not depend on the batch size or the device.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from socialego_core.calibration import Calibration
from socialego_core.corruption import CORRUPTION_SETTINGS, SETTING_TITLES, corrupt
from socialego_core.labels import TASKS, LabelTable
from socialego_core.probabilities import class_probabilities
from torch import nn

from socialego_training.calibration_metrics import write_calibration_report
from socialego_training.datasets import PoseWindowDataset
from socialego_training.metrics import confusion_matrices, metrics_table, task_metrics

DEFAULT_EVAL_SEED = 1234


@dataclass
class Predictions:
    labels: np.ndarray  # (N, 3)
    predictions: np.ndarray  # (N, 3)
    probabilities: dict[str, np.ndarray]  # task -> (N, C), calibrated when a calibration is given
    z: np.ndarray  # (N, D)
    loss: float  # mean CE_int + CE_att + CE_act
    logits: dict[str, np.ndarray]  # task -> (N, C) raw logits
    input_quality: np.ndarray  # (N,) share of (frame, joint) cells with a score > 0


@torch.no_grad()
def predict_dataset(
    model: nn.Module,
    dataset: PoseWindowDataset,
    joint_rate: float = 0.0,
    frame_rate: float = 0.0,
    seed: int = DEFAULT_EVAL_SEED,
    device: torch.device | str = "cpu",
    batch_size: int = 256,
    calibration: Calibration | None = None,
) -> Predictions:
    """Run a model in eval mode over a dataset corrupted at the given rates (fixed seed);
    probabilities (and predictions) through ``calibration`` when given."""
    was_training = model.training
    model.eval()
    x_all = dataset.windows
    if joint_rate or frame_rate:
        x_all = corrupt(x_all, joint_rate, frame_rate, torch.Generator().manual_seed(seed))
    y_all = dataset.labels
    outs: dict[str, list[torch.Tensor]] = {"intent": [], "attitude": [], "action": [], "z": []}
    total_loss = 0.0
    for start in range(0, len(dataset), batch_size):
        x = x_all[start : start + batch_size].to(device)
        y = y_all[start : start + batch_size].to(device)
        out = model(x)
        total_loss += float(
            F.cross_entropy(out.intent, y[:, 0], reduction="sum")
            + F.cross_entropy(out.attitude, y[:, 1], reduction="sum")
            + F.cross_entropy(out.action, y[:, 2], reduction="sum")
        )
        for key in outs:
            outs[key].append(getattr(out, key).float().cpu())
    model.train(was_training)
    logits = {t: torch.cat(outs[t]) for t in TASKS}
    # the function the robot's StudentPredictor and cached forward use
    probs = class_probabilities(logits, calibration or Calibration.identity())
    preds = np.stack([probs[t].argmax(1) for t in TASKS], axis=1)
    return Predictions(
        labels=y_all.numpy(),
        predictions=preds,
        probabilities=probs,
        z=torch.cat(outs["z"]).numpy(),
        loss=total_loss / max(len(dataset), 1),
        logits={t: v.numpy() for t, v in logits.items()},
        input_quality=(x_all[..., 2] > 0).double().mean(dim=(1, 2)).numpy(),
    )


def plot_confusion_matrices(
    labels: np.ndarray, predictions: np.ndarray, label_table: LabelTable, out_dir: Path, title: str
) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    paths = []
    for task, matrix in confusion_matrices(labels, predictions, label_table).items():
        names = label_table.labels(task)
        size = 3.0 + 0.45 * len(names)
        fig, ax = plt.subplots(figsize=(size + 1.0, size))
        ConfusionMatrixDisplay(matrix, display_labels=names).plot(
            ax=ax, cmap="Blues", colorbar=False, xticks_rotation=45
        )
        ax.set_title(f"{title}: {task}")
        fig.tight_layout()
        path = out_dir / f"confusion_{task}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def evaluate_split(
    model: nn.Module,
    dataset: PoseWindowDataset,
    label_table: LabelTable,
    out_dir: str | Path,
    joint_rate: float = 0.0,
    frame_rate: float = 0.0,
    seed: int = DEFAULT_EVAL_SEED,
    device: str | torch.device = "cpu",
    title: str = "model",
    calibration: Calibration | None = None,
) -> dict[str, Any]:
    """metrics.json, metrics.md, confusion_{task}.png and the calibration measures
    (calibration.md/json, reliability_{task}.png) in out_dir; returns the metrics. Decisions
    come from the calibrated probabilities when a calibration is given."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = predict_dataset(
        model, dataset, joint_rate, frame_rate, seed, device, calibration=calibration
    )
    metrics = task_metrics(result.labels, result.predictions, label_table)
    metrics.update(
        {"loss": result.loss, "joint_rate": joint_rate, "frame_rate": frame_rate, "seed": seed}
    )
    metrics["confusion"] = {
        t: m.tolist()
        for t, m in confusion_matrices(result.labels, result.predictions, label_table).items()
    }
    setting = f"joint {joint_rate:.0%}, frame {frame_rate:.0%}, seed {seed}"
    metrics["calibration"] = write_calibration_report(
        out_dir,
        {setting: (result.logits, result.labels, result.input_quality)},
        calibration,
        title,
    )[setting]
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    (out_dir / "metrics.md").write_text(
        f"Evaluation of {title} on {metrics['n']} windows ({setting}); accuracy and weighted F1 "
        "in %.\n\n" + metrics_table({title: metrics}) + "\n"
    )
    plot_confusion_matrices(result.labels, result.predictions, label_table, out_dir, title)
    return metrics


def corruption_sweep(
    models: dict[str, nn.Module] | nn.Module,
    dataset: PoseWindowDataset,
    label_table: LabelTable,
    out_dir: str | Path,
    seed: int = DEFAULT_EVAL_SEED,
    device: str | torch.device = "cpu",
    title: str = "model",
    calibration: Calibration | dict[str, Calibration | None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Evaluate under the seven settings of method.md section 6.

    ``models`` is one model (tested under every setting) or a dict setting -> model (one model
    per setting, trained at that setting's rates); ``calibration`` likewise. Writes sweep.json,
    sweep.md, sweep.png and the calibration measures of every setting (calibration.md/json,
    reliability_{task}.png).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    raw: dict[str, tuple] = {}
    calibrations: dict[str, Calibration | None] = {}
    for name, (joint_rate, frame_rate) in CORRUPTION_SETTINGS.items():
        model = models[name] if isinstance(models, dict) else models
        if model is None:
            continue
        cal = calibration.get(name) if isinstance(calibration, dict) else calibration
        pred = predict_dataset(
            model, dataset, joint_rate, frame_rate, seed, device, calibration=cal
        )
        metrics = task_metrics(pred.labels, pred.predictions, label_table)
        metrics.update({"joint_rate": joint_rate, "frame_rate": frame_rate, "loss": pred.loss})
        results[name] = metrics
        raw[SETTING_TITLES[name]] = (pred.logits, pred.labels, pred.input_quality)
        calibrations[SETTING_TITLES[name]] = cal
    measures = write_calibration_report(out_dir, raw, calibrations, title)
    for name in results:
        results[name]["calibration"] = measures[SETTING_TITLES[name]]
    (out_dir / "sweep.json").write_text(json.dumps({"seed": seed, "results": results}, indent=1))
    per = "one model per setting" if isinstance(models, dict) else "one model, all settings"
    table = metrics_table({SETTING_TITLES[k]: v for k, v in results.items()})
    (out_dir / "sweep.md").write_text(
        f"Corruption sweep of {title} ({per}; test corruption seed {seed}; "
        f"{next(iter(results.values()))['n']} windows). Accuracy and weighted F1 in %.\n\n"
        + table
        + "\n"
    )
    plot_sweep(results, out_dir / "sweep.png", title)
    return results


def plot_sweep(results: dict[str, dict[str, Any]], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    x = np.arange(len(names))
    width = 0.26
    fig, ax = plt.subplots(figsize=(10, 4.2))
    for i, task in enumerate(TASKS):
        values = [100 * results[n][f"{task}_acc"] for n in names]
        bars = ax.bar(x + (i - 1) * width, values, width, label=task)
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.set_xticks(x, [SETTING_TITLES[n] for n in names], rotation=15)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 105)
    ax.set_title(f"Corruption sweep: {title}")
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
