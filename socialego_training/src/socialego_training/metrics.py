"""Accuracy and weighted F1 per task, masked attitude, confusion matrices (sklearn)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from socialego_core.labels import ATTITUDE_NOT_INTERACTING, TASKS, LabelTable


def task_metrics(
    labels: np.ndarray, predictions: np.ndarray, label_table: LabelTable
) -> dict[str, Any]:
    """labels, predictions: (N, 3) ints [intent, attitude, action].

    Keys: ``{task}_acc``, ``{task}_f1`` (weighted), ``attitude_masked_acc/_f1`` (samples whose
    true attitude is Not_Interacting removed, as the authors' code does), ``mean_acc`` (of the
    three unmasked accuracies), ``n``.
    """
    labels = np.asarray(labels)
    predictions = np.asarray(predictions)
    out: dict[str, Any] = {"n": int(len(labels))}
    for i, task in enumerate(TASKS):
        classes = list(range(label_table.num_classes(task)))
        out[f"{task}_acc"] = float(accuracy_score(labels[:, i], predictions[:, i]))
        out[f"{task}_f1"] = float(
            f1_score(
                labels[:, i], predictions[:, i], labels=classes, average="weighted", zero_division=0
            )
        )
    keep = labels[:, 1] != ATTITUDE_NOT_INTERACTING
    out["attitude_masked_n"] = int(keep.sum())
    if keep.any():
        out["attitude_masked_acc"] = float(accuracy_score(labels[keep, 1], predictions[keep, 1]))
        out["attitude_masked_f1"] = float(
            f1_score(labels[keep, 1], predictions[keep, 1], average="weighted", zero_division=0)
        )
    else:
        out["attitude_masked_acc"] = float("nan")
        out["attitude_masked_f1"] = float("nan")
    out["mean_acc"] = float(np.mean([out[f"{t}_acc"] for t in TASKS]))
    return out


def confusion_matrices(
    labels: np.ndarray, predictions: np.ndarray, label_table: LabelTable
) -> dict[str, np.ndarray]:
    return {
        task: confusion_matrix(
            labels[:, i], predictions[:, i], labels=list(range(label_table.num_classes(task)))
        )
        for i, task in enumerate(TASKS)
    }


def metrics_table(rows: dict[str, dict[str, Any]], percent: bool = True) -> str:
    """Markdown table: one row per named metrics dict (accuracy and weighted F1 per task)."""
    columns = [
        ("intent acc", "intent_acc"),
        ("attitude acc", "attitude_acc"),
        ("attitude acc (masked)", "attitude_masked_acc"),
        ("action acc", "action_acc"),
        ("intent F1", "intent_f1"),
        ("attitude F1", "attitude_f1"),
        ("attitude F1 (masked)", "attitude_masked_f1"),
        ("action F1", "action_f1"),
        ("n", "n"),
    ]
    scale = 100.0 if percent else 1.0
    lines = [
        "| model / setting | " + " | ".join(c for c, _ in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for name, m in rows.items():
        cells = []
        for _, key in columns:
            value = m.get(key, float("nan"))
            cells.append(str(value) if key == "n" else f"{scale * value:.2f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
