"""``socialego-train compare``: the new model beside the shipped one and the baselines, on the
user's test split, and which one to deploy.

Every model is evaluated on the same tracks (each with its own window spec and calibration, as
the intent node runs it); the baselines (majority class, linear model on the mean pose) are fitted
on the dataset's training split. Writes ``compare.md`` (table, decision, the ``model_path:=``
line), ``compare.json`` and ``compare.png`` (accuracy per task, grouped bars).

The decision: the model with the highest mean accuracy over the three tasks; when it does not
beat the linear baseline on every task the report says so (more or better-labelled data is the
fix, not deployment).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from socialego_core.artifact import WindowSpec, load_artifact
from socialego_core.calibration import Calibration
from socialego_core.labels import TASKS, LabelTable, get_label_table

from socialego_training.baseline import linear_baseline, majority_baseline
from socialego_training.data import load_split
from socialego_training.datasets import STUDENT_SPEC, PoseWindowDataset
from socialego_training.evaluate import predict_dataset
from socialego_training.metrics import metrics_table, task_metrics
from socialego_training.train import load_model

SHIPPED_NAME = "socialego_student_synthetic.pt"
BASELINES = ("majority class", "linear (mean pose)")


def shipped_model_path() -> Path | None:
    """The student installed with socialego_inference (or in this source tree), if found."""
    candidates = []
    try:
        from ament_index_python.packages import get_package_share_directory

        share = Path(get_package_share_directory("socialego_inference"))
        candidates.append(share / "models" / SHIPPED_NAME)
    except Exception:  # ament not available or the package not installed: the source tree
        pass
    candidates.append(
        Path(__file__).resolve().parents[3] / "socialego_inference" / "models" / SHIPPED_NAME
    )
    return next((c for c in candidates if c.is_file()), None)


def resolve_model(path: str | Path) -> Path:
    """A model artifact path, or a training run folder's ``best.pt``."""
    target = Path(path)
    return target / "best.pt" if target.is_dir() else target


@dataclass
class Candidate:
    name: str
    path: Path
    metrics: dict[str, Any]
    version: str


def evaluate_model(
    path: Path, name: str, data_root: str, split: str, label_table: LabelTable, skip_bad: bool
) -> Candidate:
    payload = load_artifact(path)
    meta = payload["metadata"]
    theirs = LabelTable.from_dict(meta["labels"])
    if theirs.to_dict() != label_table.to_dict():
        raise ValueError(
            f"{path}: its label table ({theirs.dataset}) is not the dataset's "
            f"({label_table.dataset}); models of other label sets cannot be compared here"
        )
    spec = WindowSpec.from_dict(meta["window_spec"])
    tracks = load_split(data_root, split, label_table.dataset, skip_bad).tracks
    pred = predict_dataset(
        load_model(path),
        PoseWindowDataset(tracks, spec),
        calibration=Calibration.from_metadata(meta),
    )
    metrics = task_metrics(pred.labels, pred.predictions, label_table)
    return Candidate(name, path, metrics, str(meta.get("version", "?")))


def decide(candidates: Sequence[Candidate], linear: dict[str, Any]) -> tuple[Candidate, str]:
    """The model to deploy and a sentence why."""
    best = max(candidates, key=lambda c: c.metrics["mean_acc"])
    behind = [t for t in TASKS if best.metrics[f"{t}_acc"] <= linear[f"{t}_acc"]]
    why = f"highest mean accuracy over the three tasks ({100 * best.metrics['mean_acc']:.1f} %)"
    others = [c for c in candidates if c is not best]
    if others:
        runner = max(others, key=lambda c: c.metrics["mean_acc"])
        why += f"; next: {runner.name} ({100 * runner.metrics['mean_acc']:.1f} %)"
    if behind:
        why += (
            f". Caution: it does not beat the linear mean-pose baseline on {', '.join(behind)}: "
            "more (or more consistently labelled) data would help more than deploying it"
        )
    return best, why


def plot_comparison(rows: dict[str, dict[str, Any]], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(rows)
    x = np.arange(len(TASKS))
    width = 0.8 / max(len(names), 1)
    fig, ax = plt.subplots(figsize=(3 + 1.4 * len(names), 4.2))
    for i, name in enumerate(names):
        values = [100 * rows[name][f"{t}_acc"] for t in TASKS]
        bars = ax.bar(x + (i - (len(names) - 1) / 2) * width, values, width, label=name)
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.set_xticks(x, list(TASKS))
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 105)
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def compare_models(
    models: Sequence[str | Path],
    data_root: str,
    out_dir: str | Path,
    split: str = "test",
    train_split: str = "train",
    shipped: str | Path | None = "auto",
    dataset: str | None = None,
    skip_bad: bool = False,
) -> dict[str, Any]:
    """Evaluate ``models`` (+ the shipped one, + baselines) on ``split``; write the report."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [resolve_model(m) for m in models]
    if shipped == "auto":
        shipped = shipped_model_path()
    if shipped and all(Path(shipped).resolve() != p.resolve() for p in paths):
        paths.append(Path(shipped))
    if not paths:
        raise ValueError("no model to compare (give MODEL paths; the shipped one was not found)")
    first = load_artifact(paths[0])["metadata"]
    label_table = get_label_table(dataset) if dataset else LabelTable.from_dict(first["labels"])
    names: list[str] = []
    candidates = []
    for path in paths:
        is_shipped = path.name == SHIPPED_NAME
        name = "shipped model" if is_shipped else f"{path.parent.name}/{path.name}"
        while name in names:
            name += "'"
        names.append(name)
        candidates.append(evaluate_model(path, name, data_root, split, label_table, skip_bad))
    sets = [
        PoseWindowDataset(
            load_split(data_root, s, label_table.dataset, skip_bad).tracks, STUDENT_SPEC
        )
        for s in (train_split, split)
    ]
    baselines = {
        BASELINES[0]: majority_baseline(*sets, label_table),
        BASELINES[1]: linear_baseline(*sets, label_table),
    }
    chosen, why = decide(candidates, baselines[BASELINES[1]])
    rows = {f"{c.name} `{c.version}`": c.metrics for c in candidates} | baselines
    n = candidates[0].metrics["n"]
    title = f"{Path(data_root).name}, split {split} ({n} tracks)"
    plot_comparison(rows, out_dir / "compare.png", title)
    line = f"model_path:={chosen.path.resolve()}"
    text = (
        f"# Model comparison on {title}\n\nAccuracy and weighted F1 in %; each model with its own "
        f"calibration; baselines fitted on split {train_split}.\n\n"
        + metrics_table(rows)
        + f"\n\n![accuracy per task](compare.png)\n\n**Deploy: {chosen.name}** "
        f"(`{chosen.version}`): {why}.\n\n```bash\n"
        f"ros2 launch socialego_bringup robot.launch.py {line}\n```\n"
    )
    (out_dir / "compare.md").write_text(text)
    report = {
        "data": Path(data_root).name,
        "split": split,
        "models": {
            c.name: {"version": c.version, "file": c.path.name, **c.metrics} for c in candidates
        },
        "baselines": baselines,
        "deploy": {"name": chosen.name, "version": chosen.version, "why": why, "launch": line},
    }
    (out_dir / "compare.json").write_text(json.dumps(report, indent=1))
    return report
