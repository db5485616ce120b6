"""Calibration of the probabilities recorded in a bag: measures and the report's section (the
report draws the reliability diagrams from ``variant_probabilities``).

Scores what the intent node published against the truth of the matched person, per task, in up
to three variants:

- ``uncalibrated``: the model's plain softmax behind the published probabilities, recovered by
  inverting the calibration recorded in ``ModelInfo.metadata_json`` (temperature and vector
  scaling invert; isotonic does not, and a model without a calibration published its softmax);
- ``published``: as published (calibrated when the model artifact has a calibration);
- ``quality``: published, discounted by each message's ``input_quality`` and ``stale`` flag
  (``socialego_core.calibration.quality_adjusted``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from socialego_core.calibration import Calibration, quality_adjusted
from socialego_core.calibration_measures import calibration_measures
from socialego_core.labels import TASKS, get_label_table

from .evaluation import Forecast, TruthTrack


def pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:.1f}"


def published_labels(model: dict[str, Any], truth: dict[str, TruthTrack]) -> dict[str, list[str]]:
    """The label order of the published probabilities: the model info's tables, else the
    truth's dataset's (as scoring decodes the decisions)."""
    dataset = next(iter(truth.values())).dataset if truth else ""
    table = get_label_table(dataset or "jpl_social")
    return {t: list(model.get(t) or table.labels(t)) for t in TASKS}


def model_calibration(model: dict[str, Any]) -> tuple[Calibration | None, str]:
    """The calibration the recorded model applied (None: unknown) and a line saying which."""
    if not model:
        return None, "no model info in the bag: whether the model was calibrated is unknown"
    entry = model.get("calibration")
    if entry is None:
        return Calibration.identity(), "the model has no calibration: it published its softmax"
    try:
        calibration = Calibration.from_metadata({"calibration": entry})
    except ValueError as exc:
        return None, f"the model's recorded calibration could not be read ({exc})"
    fitted = calibration.fitted_on
    where = f" fitted on {fitted.get('dataset', '?')} {fitted.get('split', '?')}" if fitted else ""
    return calibration, f"the model's calibration: {calibration.method}{where}"


def variant_probabilities(
    forecasts: list[Forecast],
    truth: dict[str, TruthTrack],
    labels: dict[str, list[str]],
    calibration: Calibration | None,
) -> dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]:
    """{task: (true class indices (N,), {variant: (N, C) probabilities})} over every matched
    message that published probabilities for the task and whose person's label is known."""
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
        probs = np.array([r[0] for r in rows], dtype=np.float64).reshape(len(rows), len(names))
        y = np.array([r[1] for r in rows], dtype=np.int64)
        quality = np.array([r[2].input_quality for r in rows], dtype=np.float64)
        stale = np.array([r[2].stale for r in rows], dtype=bool)
        variants: dict[str, np.ndarray] = {}
        if calibration is not None and not calibration.is_identity:
            raw = calibration.uncalibrate_probabilities(task, probs)
            if raw is not None:
                variants["uncalibrated"] = raw
        variants["published"] = probs
        variants["quality"] = quality_adjusted(probs, quality, stale)
        out[task] = (y, variants)
    return out


def published_calibration(
    forecasts: list[Forecast],
    truth: dict[str, TruthTrack],
    labels: dict[str, list[str]],
    calibration: Calibration | None,
) -> dict[str, dict[str, Any]]:
    """{task: {variant: ECE / NLL / Brier / accuracy / n}} (see the module docstring)."""
    return {
        task: {v: calibration_measures(p, y) for v, p in variants.items()}
        for task, (y, variants) in variant_probabilities(
            forecasts, truth, labels, calibration
        ).items()
    }


def calibration_lines(calibration: dict[str, Any] | None, note: str = "") -> list[str]:
    """Markdown section of the bag report (empty without measures)."""
    if not calibration:
        return []
    lines = [
        "",
        "## Calibration of the published probabilities",
        "",
        "Every matched message. `published`: as published; `uncalibrated`: the model's softmax "
        "behind them (the recorded calibration inverted; absent when the model has none or it "
        "cannot be inverted); `quality`: published, discounted by the message's `input_quality` "
        "and `stale` (see docs/calibration.md; a stale message becomes uniform, so its arg-max "
        "means nothing and the row has no accuracy). ECE / NLL / Brier: lower is better."
        + (f" Here {note}." if note else ""),
        "",
        "| task | variant | messages | accuracy % | ECE | NLL | Brier |",
        "|---|---|---|---|---|---|---|",
    ]
    for task, variants in calibration.items():
        for variant, m in variants.items():
            cells = [f"{m[k]:.4f}".replace("nan", "-") for k in ("ece", "nll", "brier")]
            accuracy = "-" if variant == "quality" else pct(m["accuracy"])
            lines.append(
                f"| {task} | {variant} | {m['n']} | {accuracy} | " + " | ".join(cells) + " |"
            )
    drawn = [t for t, variants in calibration.items() if variants["published"]["n"]]
    lines += ["", *(f"![reliability {t}](reliability_{t}.png)" for t in drawn), ""]
    return lines
