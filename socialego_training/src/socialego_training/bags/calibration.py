"""Calibration of the probabilities recorded in a bag: measures and the report's section.

Scores what the intent node published (calibrated when its model artifact has a calibration),
as published and discounted by each message's input quality and stale flag
(``socialego_core.calibration.quality_adjusted``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from socialego_core.calibration import quality_adjusted
from socialego_core.calibration_measures import calibration_measures
from socialego_core.labels import TASKS

if TYPE_CHECKING:  # scoring imports this module
    from .scoring import Forecast, TruthTrack


def pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:.1f}"


def published_calibration(
    forecasts: list[Forecast], truth: dict[str, TruthTrack], labels: dict[str, list[str]]
) -> dict[str, dict[str, Any]]:
    """ECE / NLL / Brier of the published probabilities of every matched message, as published
    ("published") and discounted by the message's input quality and stale flag ("quality")."""
    out = {}
    for task in TASKS:
        names = labels[task]
        rows = [
            (f.probabilities[task], names.index(truth[f.truth_id].labels[task]), f)
            for f in forecasts
            if f.truth_id is not None
            and len(f.probabilities.get(task, ())) == len(names)
            and truth[f.truth_id].labels[task] in names
        ]
        probs = np.array([r[0] for r in rows]).reshape(len(rows), len(names))
        y = np.array([r[1] for r in rows], dtype=np.int64)
        quality = np.array([r[2].input_quality for r in rows])
        stale = np.array([r[2].stale for r in rows], dtype=bool)
        out[task] = {
            "published": calibration_measures(probs, y),
            "quality": calibration_measures(quality_adjusted(probs, quality, stale), y),
        }
    return out


def calibration_lines(calibration: dict[str, Any] | None) -> list[str]:
    """Markdown section of the bag report (empty without measures)."""
    if not calibration:
        return []
    lines = [
        "",
        "## Calibration of the published probabilities",
        "",
        "Every matched message; `quality` = the probabilities discounted by the message's "
        "`input_quality` and `stale` (see docs/calibration.md). ECE / NLL / Brier: lower is "
        "better.",
        "",
        "| task | messages | accuracy % | ECE | NLL | Brier | ECE quality | NLL quality "
        "| Brier quality |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for task, variants in calibration.items():
        p, q = variants["published"], variants["quality"]
        cells = [f"{v[k]:.4f}" for v in (p, q) for k in ("ece", "nll", "brier")]
        cells = [c.replace("nan", "-") for c in cells]
        lines.append(f"| {task} | {p['n']} | {pct(p['accuracy'])} | " + " | ".join(cells) + " |")
    return lines
