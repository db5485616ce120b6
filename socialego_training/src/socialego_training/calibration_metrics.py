"""Calibration measures of an evaluation: before / after tables and reliability diagrams (PNG).

Used by ``evaluate`` (one setting) and ``sweep`` (every corruption setting). Three variants per
task: ``before`` (plain softmax of the logits), ``after`` (the artifact's calibration; equal to
``before`` for an artifact without one) and ``quality`` (after, then discounted by the window's
input quality with ``socialego_core.calibration.quality_adjusted``; offline the input quality
is the share of (frame, joint) cells whose score is > 0).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from socialego_core.calibration import Calibration, quality_adjusted, softmax
from socialego_core.calibration_measures import MEASURES, calibration_measures
from socialego_core.calibration_plot import plot_reliability
from socialego_core.labels import TASKS

VARIANTS = ("before", "after", "quality")


def variant_probabilities(
    logits: Mapping[str, np.ndarray],
    calibration: Calibration | None,
    input_quality: np.ndarray | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """{variant: {task: (N, C) probabilities}}; ``quality`` only when input_quality is given."""
    calibration = calibration or Calibration.identity()
    out: dict[str, dict[str, np.ndarray]] = {"before": {}, "after": {}}
    for task in TASKS:
        out["before"][task] = softmax(logits[task])
        out["after"][task] = calibration.apply(task, logits[task])
    if input_quality is not None:
        out["quality"] = {t: quality_adjusted(out["after"][t], input_quality) for t in TASKS}
    return out


def measure_calibration(
    logits: Mapping[str, np.ndarray],
    labels: np.ndarray,
    calibration: Calibration | None,
    input_quality: np.ndarray | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """{task: {variant: measures}}; labels (N, 3) in TASKS order."""
    probs = variant_probabilities(logits, calibration, input_quality)
    labels = np.asarray(labels)
    return {
        task: {v: calibration_measures(probs[v][task], labels[:, i]) for v in probs}
        for i, task in enumerate(TASKS)
    }


def calibration_table(rows: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """Markdown: one line per (row name, task); ECE / NLL / Brier for each variant present."""
    first = next(iter(rows.values()))[TASKS[0]]
    variants = [v for v in VARIANTS if v in first]
    header = ["setting", "task", "accuracy %"]
    names = {"ece": "ECE", "nll": "NLL", "brier": "Brier"}
    header += [f"{names[m]} {v}" for m in MEASURES for v in variants]
    header.append("n")
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for name, per_task in rows.items():
        for task in TASKS:
            m = per_task[task]
            cells = [name, task, f"{100 * m['before']['accuracy']:.2f}"]
            cells += [f"{m[v][key]:.4f}" for key in MEASURES for v in variants]
            cells.append(str(m["before"]["n"]))
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_calibration_report(
    out_dir: str | Path,
    settings: Mapping[str, tuple[Mapping[str, np.ndarray], np.ndarray, np.ndarray | None]],
    calibrations: Calibration | Mapping[str, Calibration] | None,
    title: str,
) -> dict[str, Any]:
    """calibration.json, calibration.md and reliability_{task}.png in ``out_dir``.

    ``settings`` = {setting name: (logits per task, labels (N, 3), input quality (N,) or None)};
    ``calibrations`` = one calibration for all, or one per setting name."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    def calibration_of(name: str) -> Calibration | None:
        if isinstance(calibrations, Mapping):
            return calibrations.get(name)
        return calibrations

    results, probabilities = {}, {}
    for name, (logits, labels, quality) in settings.items():
        results[name] = measure_calibration(logits, labels, calibration_of(name), quality)
        probabilities[name] = variant_probabilities(logits, calibration_of(name), quality)
    methods = sorted({(calibration_of(n) or Calibration.identity()).method for n in settings})
    (out / "calibration.json").write_text(
        json.dumps({"calibration": methods, "results": results}, indent=1)
    )
    note = (
        "the model has no calibration: 'calibrated' equals 'uncalibrated'"
        if methods == ["none"]
        else f"calibration: {', '.join(methods)}"
    )
    (out / "calibration.md").write_text(
        f"Calibration of {title} ({note}). ECE (15 bins, top label), NLL and Brier: lower is "
        "better; 'quality' = calibrated probabilities discounted by the input quality.\n\n"
        + calibration_table(results)
        + "\n\n"
        + "\n".join(f"![reliability {t}](reliability_{t}.png)" for t in TASKS)
        + "\n"
    )
    for i, task in enumerate(TASKS):
        panels = {
            name: (np.asarray(settings[name][1])[:, i], {v: p[task] for v, p in probs.items()})
            for name, probs in probabilities.items()
        }
        plot_reliability(panels, out / f"reliability_{task}.png", f"{title}: {task}")
    return results
