"""Reliability diagrams (PNG) of probabilities against labels, drawn with matplotlib's Figure
API (no pyplot, no backend switching): used by the offline evaluation, the sweep and the bag
scoring report. Imported only by code that draws, so applying a calibration never loads
matplotlib."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from socialego_core.calibration_measures import (
    DEFAULT_BINS,
    calibration_measures,
    reliability_bins,
)

# variant name -> (legend title, colour, marker); other names get the default style
VARIANT_STYLES = {
    "before": ("uncalibrated", "tab:red", "o"),
    "uncalibrated": ("uncalibrated", "tab:red", "o"),
    "after": ("calibrated", "tab:blue", "s"),
    "published": ("published", "tab:blue", "s"),
    "quality": ("x input quality", "tab:green", "^"),
}


def plot_reliability(
    panels: Mapping[str, tuple[np.ndarray, Mapping[str, np.ndarray]]],
    path: str | Path,
    title: str,
    bins: int = DEFAULT_BINS,
) -> Path:
    """One reliability diagram per panel: panels = {name: (labels (N,), {variant: (N, C)
    probabilities})}; accuracy against mean top-label confidence per confidence bin (marker
    area ~ samples in the bin), the diagonal being perfect calibration."""
    if not panels:
        raise ValueError(f"{path}: no panels to draw")
    count = len(panels)
    cols = min(count, 4)
    rows = (count + cols - 1) // cols
    fig = Figure(figsize=(3.4 * cols, 3.4 * rows + 0.3))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, (name, (labels, variants)) in zip(axes, panels.items()):
        labels = np.asarray(labels)
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
        for variant, probs in variants.items():
            legend, colour, marker = VARIANT_STYLES.get(variant, (variant, None, "o"))
            if not len(labels):
                continue
            r = reliability_bins(probs, labels, bins)
            used = r["count"] > 0
            ece = calibration_measures(probs, labels, bins)["ece"]
            x, y = r["confidence"][used], r["accuracy"][used]
            ax.plot(x, y, color=colour, lw=1.2, label=f"{legend} (ECE {ece:.3f})")
            size = 8 + 120 * r["count"][used] / max(len(labels), 1)
            ax.scatter(x, y, s=size, color=colour, marker=marker)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_title(f"{name} (n={len(labels)})", fontsize=9)
        ax.set_xlabel("confidence (top probability)", fontsize=8)
        ax.set_ylabel("accuracy", fontsize=8)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6, loc="upper left")
    for ax in axes[count:]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=80)
    return path
