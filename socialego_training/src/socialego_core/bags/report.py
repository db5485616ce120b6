"""Markdown report, scores.json and PNG plots of a bag evaluation."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from socialego_core.calibration_plot import plot_reliability
from socialego_core.labels import TASKS

from .calibration import (
    calibration_lines,
    model_calibration,
    published_labels,
    variant_probabilities,
)
from .evaluation import UNKNOWN, BagEvaluation, latency_summary
from .typestore import INTENTS_TOPIC, POSES_TOPIC

# Colours of the intent classes in the timeline (UNKNOWN grey); stable across reports.
INTENT_COLOURS = ("tab:green", "tab:orange", "tab:blue", "tab:purple", "tab:brown")
UNKNOWN_COLOUR = "lightgrey"
MAX_TIMELINE_TRACKS = 30


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{100 * value:.1f}"


def _sec(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


def _plot_confusion(evaluation: BagEvaluation, path: Path) -> None:
    fig = Figure(figsize=(6 * len(TASKS), 5.5))
    axes = fig.subplots(1, len(TASKS))
    for ax, task in zip(axes, TASKS):
        labels = evaluation.confusion[task]["labels"]
        matrix = np.asarray(evaluation.confusion[task]["matrix"])
        ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_xlabel("published (final decision)")
        ax.set_ylabel("truth")
        acc = evaluation.metrics["final"][task].get("accuracy")
        ax.set_title(f"{task}: accuracy {_pct(acc)}%")
        top = matrix.max() if matrix.size else 0
        for (i, j), count in np.ndenumerate(matrix):
            if count:
                colour = "white" if count > top / 2 else "black"
                ax.text(j, i, str(count), ha="center", va="center", color=colour, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _plot_timeline(evaluation: BagEvaluation, path: Path) -> None:
    labels = list(evaluation.model.get("intent") or [])
    for track in evaluation.truth.values():
        if track.labels["intent"] not in labels:
            labels.append(track.labels["intent"])
    colour = {label: INTENT_COLOURS[i % len(INTENT_COLOURS)] for i, label in enumerate(labels)}
    colour[UNKNOWN] = UNKNOWN_COLOUR
    ids = sorted(evaluation.truth)[:MAX_TIMELINE_TRACKS]
    by_truth: dict[str, list] = {i: [] for i in ids}
    for forecast in evaluation.forecasts:
        if forecast.truth_id in by_truth:
            by_truth[forecast.truth_id].append(forecast)
    fig = Figure(figsize=(11, 0.5 * len(ids) + 1.6))
    ax = fig.subplots()
    for row, truth_id in enumerate(ids):
        track = evaluation.truth[truth_id]
        duration = (track.last_ns - track.first_ns) / 1e9
        y = len(ids) - 1 - row
        # truth: thin bar on top of the row
        ax.barh(y + 0.28, duration, left=0, height=0.16, color=colour[track.labels["intent"]])
        forecasts = by_truth[truth_id]
        for k, forecast in enumerate(forecasts):
            start = (forecast.stamp_ns - track.first_ns) / 1e9
            end = (
                (forecasts[k + 1].stamp_ns - track.first_ns) / 1e9
                if k + 1 < len(forecasts)
                else max(duration, start + 0.05)
            )
            decided = forecast.decisions["intent"] or UNKNOWN
            ax.barh(
                y - 0.08, max(end - start, 0.02), left=start, height=0.45, color=colour[decided]
            )
    ax.set_yticks(range(len(ids)), list(reversed(ids)), fontsize=7)
    ax.set_xlabel("seconds since the person first appears")
    ax.set_title("published intent (thick) against truth (thin), per labelled person")
    handles = [Patch(color=colour[label], label=label) for label in [*labels, UNKNOWN]]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=len(handles))
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _plot_latency(evaluation: BagEvaluation, path: Path) -> None:
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    for topic, values in evaluation.latency_ms.items():
        if values:
            ax.hist(values, bins=40, alpha=0.6, label=f"{topic} (n={len(values)})")
    ax.set_xlabel("latency: receive time - source image stamp (ms)")
    ax.set_ylabel("messages")
    ax.set_title("end-to-end latency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _plot_reliability(evaluation: BagEvaluation, out: Path) -> None:
    """reliability_{task}.png per task with matched messages (variants as in the table)."""
    per_task = variant_probabilities(
        evaluation.forecasts,
        evaluation.truth,
        published_labels(evaluation.model, evaluation.truth),
        model_calibration(evaluation.model)[0],
    )
    for task, (labels, variants) in per_task.items():
        if len(labels):
            plot_reliability({task: (labels, variants)}, out / f"reliability_{task}.png", task)


def write_report(
    evaluation: BagEvaluation, out_dir: str | Path, *, title: str = "SocialEgo bag evaluation"
) -> Path:
    """Write report.md, scores.json and the PNGs into ``out_dir``; return the report path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = evaluation.to_dict()
    (out / "scores.json").write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    _plot_confusion(evaluation, out / "confusion.png")
    _plot_timeline(evaluation, out / "intent_timeline.png")
    has_latency = any(evaluation.latency_ms.values())
    if has_latency:
        _plot_latency(evaluation, out / "latency.png")
    m = evaluation.metrics
    matched_by = ", ".join(f"{k} {v}" for k, v in m["matched_by"].items()) or "-"
    lines = [f"# {title}", ""]
    if evaluation.model:
        lines += [
            f"Model: {evaluation.model['model_name']} version {evaluation.model['model_version']} "
            f"(labels: {evaluation.model['dataset']}).",
            "",
        ]
    lines += [
        f"Labelled tracks: {m['tracks']}, with forecasts: {m['tracks_with_forecasts']}. "
        f"Forecasts published: {m['forecasts']}, matched to a labelled person: "
        f"{m['forecasts_matched']} (by {matched_by}).",
        "",
        "## Accuracy and weighted F1 (%)",
        "",
        "One decision per labelled person: `final` = the last one published, `majority` = the "
        "most frequent one, `first full window` = the first one made on a fully observed window "
        "(like the offline protocol, one window from the track start); a person with none counts "
        "as UNKNOWN (wrong). `every message` scores each published decision (n = messages). "
        "`attitude masked` leaves out the people whose true attitude is Not_Interacting.",
        "",
        "| decision | n | intent acc | intent wF1 | attitude acc | attitude wF1 | action acc "
        "| action wF1 | attitude masked acc | attitude masked wF1 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows = (
        ("final", "final"),
        ("majority", "majority"),
        ("first_full", "first full window"),
        ("per_message", "every message"),
    )
    for key, name in rows:
        scores = m[key]
        cells = []
        for task in (*TASKS, "attitude_masked"):
            task_scores = scores.get(task, {})
            cells += [_pct(task_scores.get("accuracy")), _pct(task_scores.get("weighted_f1"))]
        n = scores["intent"].get("n", 0)
        lines.append(f"| {name} | {n} | " + " | ".join(cells) + " |")
    if m.get("calibration"):
        _plot_reliability(evaluation, out)
    lines += calibration_lines(m.get("calibration"), m.get("calibration_model", ""))
    timing = data["timing"]
    lines += [
        "",
        "## How early the intent is right",
        "",
        "Seconds from a person's first labelled frame.",
        "",
        "| measure | tracks | mean s | median s | max s |",
        "|---|---|---|---|---|",
    ]
    for key, name in (
        ("first_decision", "first decision"),
        ("first_correct_intent", "first correct intent"),
        ("stable_correct_intent", "correct from then on"),
    ):
        s = timing[key]
        lines.append(
            f"| {name} | {s['tracks']} | {_sec(s.get('mean_s'))} | {_sec(s.get('median_s'))} | "
            f"{_sec(s.get('max_s'))} |"
        )
    lines += [
        "",
        "Share of tracks ever given the correct intent: "
        f"{_pct(timing['share_ever_correct_intent'])}%.",
        "",
    ]
    lines += ["## Latency", ""]
    if has_latency:
        lines += [
            "Receive time minus the source image stamp (the outputs copy the image header).",
            "",
            "| topic | messages | mean ms | median ms | p90 ms | p99 ms | max ms |",
            "|---|---|---|---|---|---|---|",
        ]
        for topic in (POSES_TOPIC, INTENTS_TOPIC):
            s = latency_summary(evaluation.latency_ms.get(topic, []))
            if s["count"]:
                lines.append(
                    f"| {topic} | {s['count']} | {s['mean_ms']:.1f} | {s['median_ms']:.1f} | "
                    f"{s['p90_ms']:.1f} | {s['p99_ms']:.1f} | {s['max_ms']:.1f} |"
                )
        lines += ["", "![latency](latency.png)", ""]
    else:
        lines += ["No timed outputs in the bag.", ""]
    lines += [
        "## Confusion matrices (final decisions)",
        "",
        "![confusion matrices](confusion.png)",
        "",
        "## Per-person intent timeline",
        "",
        "![intent timeline](intent_timeline.png)",
        "",
        "## Per track",
        "",
        "| track | truth intent / attitude / action | final | first correct intent s |",
        "|---|---|---|---|",
    ]
    for row in data["tracks"]:
        truth = " / ".join(row["truth"][t] for t in TASKS)
        final = " / ".join(row["final"][t] for t in TASKS)
        lines.append(
            f"| {row['track_id']} | {truth} | {final} | {_sec(row.get('first_correct_intent_s'))} |"
        )
    if evaluation.notes:
        lines += ["", "## Notes", "", *(f"- {note}" for note in evaluation.notes)]
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return report
