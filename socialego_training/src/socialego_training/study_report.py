"""The study's results: mean +- std over seeds, the markdown summary and the grouped-bar PNG."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from socialego_core.corruption import SETTING_TITLES
from socialego_core.labels import TASKS

from socialego_training.cost import cost_markdown
from socialego_training.study_config import StudyConfig, parse_arm

METHOD_TITLES = {
    "none": "without distillation",
    "kd": "logit KD",
    "infonce": "InfoNCE distillation",
    "mean_teacher": "mean teacher (no teacher)",
}


def arm_title(name: str) -> str:
    """``infonce+u@1`` -> "InfoNCE distillation + unlabelled, w 1"."""
    arm = parse_arm(name)
    title = METHOD_TITLES.get(arm.method, arm.method)
    if arm.unlabelled:
        title += " + unlabelled"
    if arm.weight is not None:
        title += f", w {arm.weight:g}"
    return title


def _mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, std


def aggregate(rows: list[dict], settings, methods, prefix: str = "") -> dict[str, Any]:
    """{setting: {method: {task: (mean, std), "mean": (mean, std), "n": seeds}}} in percent;
    ``prefix`` "final_" reads the final epoch's accuracies instead of the best epoch's."""
    out: dict[str, Any] = {}
    for s in settings:
        out[s] = {}
        for m in methods:
            sel = [
                r
                for r in rows
                if r["setting"] == s and r["method"] == m and f"{prefix}intent_acc" in r
            ]
            entry: dict[str, Any] = {"n": len(sel)}
            for t in TASKS:
                entry[t] = _mean_std([100 * r[f"{prefix}{t}_acc"] for r in sel])
            entry["mean"] = _mean_std(
                [100 * statistics.fmean(r[f"{prefix}{t}_acc"] for t in TASKS) for r in sel]
            )
            out[s][m] = entry
    return out


def paired_gains(rows: list[dict], settings, methods, prefix: str = "") -> dict[str, Any]:
    """{setting: {arm: [per-seed gain in mean-of-tasks points over "none", seed order]}}: the
    arms share seeds with "none" (model init, batch order, corruption), so the per-seed
    difference has less noise than the difference of the means."""

    def mean_acc(r: dict) -> float:
        return 100 * statistics.fmean(r[f"{prefix}{t}_acc"] for t in TASKS)

    index = {(r["setting"], r["method"], r["seed"]): r for r in rows if f"{prefix}mean_acc" in r}
    out: dict[str, Any] = {}
    for s in settings:
        out[s] = {}
        for m in methods:
            seeds = sorted(k for (s2, m2, k) in index if s2 == s and m2 == m)
            out[s][m] = [
                mean_acc(index[(s, m, k)]) - mean_acc(index[(s, "none", k)])
                for k in seeds
                if (s, "none", k) in index
            ]
    return out


def paired_markdown(best: dict, final: dict, methods) -> list[str]:
    lines = [
        "Paired gain over no distillation, mean of tasks (points; mean +- std over seeds, then "
        "each seed):",
        "",
        "| setting | method | best-validation epoch | final epoch |",
        "|---|---|---|---|",
    ]
    for s in best:
        for m in methods:
            if m == "none" or not best[s].get(m):
                continue
            cells = []
            for gains in (best[s][m], final[s].get(m, [])):
                mean, std = _mean_std(gains)
                each = ", ".join(f"{g:+.1f}" for g in gains)
                cells.append(f"{mean:+.1f} +- {std:.1f} ({each})" if gains else "-")
            lines.append(f"| {SETTING_TITLES[s]} | {arm_title(m)} | " + " | ".join(cells) + " |")
    return lines


def _accuracy_tables(summary, cfg: StudyConfig, which: str) -> list[str]:
    lines = [
        f"Student test accuracy (%) at the {which}, mean +- std over seeds {list(cfg.seeds)}; "
        f"train rate = test rate; test corruption seed {cfg.eval_seed}.",
        "",
        "| setting | method | intent | attitude | action | mean of tasks |",
        "|---|---|---|---|---|---|",
    ]
    for s, per_method in summary.items():
        for m, e in per_method.items():
            cells = [f"{e[t][0]:.1f} +- {e[t][1]:.1f}" for t in (*TASKS, "mean")]
            lines.append(f"| {SETTING_TITLES[s]} | {arm_title(m)} | " + " | ".join(cells) + " |")
    if "none" in cfg.methods and len(cfg.methods) > 1:
        lines += ["", f"Gain over no distillation at the {which} (points, mean of seeds):", ""]
        lines += ["| setting | method | intent | attitude | action | mean of tasks |"]
        lines += ["|---|---|---|---|---|---|"]
        for s, per_method in summary.items():
            base = per_method["none"]
            for m, e in per_method.items():
                if m == "none":
                    continue
                cells = [f"{e[t][0] - base[t][0]:+.1f}" for t in (*TASKS, "mean")]
                lines.append(
                    f"| {SETTING_TITLES[s]} | {arm_title(m)} | " + " | ".join(cells) + " |"
                )
    return lines


def study_markdown(
    summary,
    cfg: StudyConfig,
    teacher: dict,
    cost: dict,
    seconds: float,
    final_summary=None,
    paired: tuple[dict, dict] | None = None,
) -> str:
    lines = _accuracy_tables(summary, cfg, "best-validation epoch")
    if final_summary is not None:
        lines += ["", *_accuracy_tables(final_summary, cfg, "final epoch")]
    if paired is not None and "none" in cfg.methods and len(cfg.methods) > 1:
        lines += ["", *paired_markdown(paired[0], paired[1], cfg.methods)]
    if cfg.unlabelled:
        lines += [
            "",
            f"Arms marked '+ unlabelled' add the unlabelled transfer tracks of {cfg.unlabelled} "
            f"({cfg.unlabelled_batch_size or cfg.batch_size} per step) to the distillation loss.",
        ]
    if not teacher:  # no arm used the SocialC3D teacher
        return "\n".join(lines) + "\n"
    t = teacher["test"]
    lines += [
        "",
        f"Teacher (SocialC3D, streams {','.join(teacher['streams'] or [])}) on the clean test "
        f"split: intent {100 * t['intent_acc']:.1f}, attitude {100 * t['attitude_acc']:.1f}, "
        f"action {100 * t['action_acc']:.1f}.",
        "",
        "Teacher reliance on each stream (clean test accuracy % with that stream blanked):",
        "",
        "| blanked stream | intent | attitude | action |",
        "|---|---|---|---|",
        *[
            f"| {name} | " + " | ".join(f"{100 * acc[f'{k}_acc']:.1f}" for k in TASKS) + " |"
            for name, acc in teacher.get("stream_reliance", {}).items()
        ],
        "",
        cost_markdown(cost) if cost else "",
        "",
        f"Settings: student {cfg.student_epochs} epochs (corruption warm-up {cfg.warmup_epochs} "
        f"epochs in both arms), batch {cfg.batch_size}, Adam lr {cfg.lr}; InfoNCE weight "
        f"{cfg.distill_weight} (unless the arm names one), tau 0.1; "
        + (
            f"teacher given (--teacher {cfg.teacher}). "
            if cfg.teacher
            else f"teacher {cfg.teacher_size} config, {cfg.teacher_epochs} epochs. "
        )
        + f"Study wall time {seconds / 60:.1f} min "
        f"({cfg.threads} thread(s), {cfg.device}).",
    ]
    return "\n".join(lines) + "\n"


def plot_study(summary, settings, methods, path: Path, n_seeds: int) -> None:
    """Grouped bars: one panel per task, settings on x, one bar per method with std error bars."""
    colours = {"none": "#9aa5b1", "kd": "#f0a35e", "infonce": "#2e7bcf"}
    palette = ["#2e7bcf", "#f0a35e", "#5aa469", "#c0504d", "#8064a2", "#4bacc6"]
    fig = Figure(figsize=(4.2 * 4, 4.4))
    axes = fig.subplots(1, 4, sharey=True)
    x = np.arange(len(settings))
    width = 0.8 / len(methods)
    for ax, task in zip(axes, (*TASKS, "mean"), strict=True):
        for i, m in enumerate(methods):
            means = [summary[s][m][task][0] for s in settings]
            stds = [summary[s][m][task][1] for s in settings]
            pos = x - 0.4 + width * (i + 0.5)
            bars = ax.bar(
                pos,
                means,
                width,
                yerr=stds,
                capsize=3,
                color=colours.get(m, palette[i % len(palette)]),
                label=arm_title(m),
            )
            for bar, value, std in zip(bars, means, stds, strict=True):
                ax.text(
                    bar.get_x() + bar.get_width() / 2,
                    value + std + 1,
                    f"{value:.1f}",
                    ha="center",
                    va="bottom",
                    fontsize=7,
                )
        ax.set_title(task if task != "mean" else "mean of tasks")
        ax.set_xticks(x, [SETTING_TITLES[s] for s in settings], rotation=20, ha="right")
        ax.set_ylim(0, 105)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel(f"test accuracy (%), mean +- std of {n_seeds} seeds")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.suptitle("Student robustness to pose corruption, without vs with distillation")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
