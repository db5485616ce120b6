"""The robustness study (method.md sections 6-7) in one command, and the teacher/distill CLIs.

``socialego-train study``: (optionally) generate a synthetic dataset, train the SocialC3D teacher
once (clean input), cache its representations, then for every corruption setting x seed x method
train a student at that setting's rate (train rate = test rate) and evaluate it on the test split
corrupted with a fixed seed. Writes ``results.jsonl`` (one line per run; a rerun skips finished
runs and resumes unfinished ones), ``study.md`` (mean +- std over seeds), ``study.png`` (grouped
bars in the style of the paper's robustness figure) and ``cost.json`` (teacher vs student size,
MACs, CPU latency).

Only the standard library is imported at module level: ``socialego-train --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

TASKS = ("intent", "attitude", "action")
METHOD_TITLES = {
    "none": "without distillation",
    "kd": "logit KD",
    "infonce": "InfoNCE distillation",
}


@dataclass
class StudyConfig:
    out_dir: str = "runs/study"
    data_root: str = ""  # empty: generate a synthetic set into <out>/data
    generate: int = 1500  # tracks to generate when data_root is empty
    generate_seed: int = 0
    dataset: str = "jpl_social"
    settings: tuple[str, ...] = ("full", "both30", "both60")
    seeds: tuple[int, ...] = (0, 1, 2)
    methods: tuple[str, ...] = ("none", "infonce")
    teacher: str = ""  # a trained teacher artifact; empty: train one
    teacher_size: str = "small"
    teacher_crop: int = 0
    teacher_streams: str = "rgb,body,face,hand,gaze"
    teacher_heatmap_frame: str = "part"
    teacher_epochs: int = 30
    teacher_batch_size: int = 32
    teacher_lr: float = 0.01
    student_epochs: int = 30
    warmup_epochs: int = 10
    batch_size: int = 96
    lr: float = 0.01
    distill_weight: float = 0.2
    eval_seed: int = 1234
    threads: int = 1
    device: str = "cpu"
    progress: bool = True
    latency_runs: int = 50


# ----------------------------------------------------------------------------- data


def ensure_data(cfg: StudyConfig, log) -> Path:
    if cfg.data_root:
        return Path(cfg.data_root)
    from socialego_training.synthetic import GENERATOR_VERSION, generate_dataset

    root = Path(cfg.out_dir) / "data"
    marker = root / "dataset.json"
    if marker.is_file():
        info = json.loads(marker.read_text())
        wanted = (cfg.generate_seed, cfg.generate, GENERATOR_VERSION)
        found = (info.get("seed"), info.get("n_tracks"), info.get("generator_version"))
        if found == wanted:
            log(f"using the synthetic dataset already in {root}")
            return root
        raise ValueError(
            f"{root} holds a different synthetic dataset ({marker}: seed, tracks, generator "
            f"{found}, wanted {wanted}); remove it or use another --out"
        )

    log(f"generating {cfg.generate} synthetic tracks (seed {cfg.generate_seed}) into {root}")
    generate_dataset(
        root, n_tracks=cfg.generate, seed=cfg.generate_seed, render=True, progress=cfg.progress
    )
    return root


# ----------------------------------------------------------------------------- runs


def _student_cfg(cfg: StudyConfig, root: Path, setting: str, method: str, seed: int, teacher: str):
    from socialego_core.corruption import CORRUPTION_SETTINGS

    from socialego_training.distill import DistillConfig

    joint_rate, frame_rate = CORRUPTION_SETTINGS[setting]
    return DistillConfig(
        data_root=str(root),
        dataset=cfg.dataset,
        epochs=cfg.student_epochs,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        joint_rate=joint_rate,
        frame_rate=frame_rate,
        # the same warm-up for both arms, so a difference comes from the teacher alone
        corruption_warmup_epochs=cfg.warmup_epochs,
        eval_corruption_seed=cfg.eval_seed,
        seed=seed,
        device=cfg.device,
        threads=cfg.threads,
        out_dir=str(Path(cfg.out_dir) / "runs" / setting / method / f"seed{seed}"),
        progress=cfg.progress,
        teacher=teacher,
        method=method,
        distill_weight=cfg.distill_weight,
        cache_dir=str(Path(cfg.out_dir) / "cache"),
    )


def _read_results(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_study(cfg: StudyConfig, log=None) -> dict[str, Any]:
    """Run (or resume) the whole study; returns the aggregated results."""
    import torch
    from socialego_core.corruption import CORRUPTION_SETTINGS
    from socialego_core.labels import get_label_table
    from tqdm import tqdm

    from socialego_training.data import load_split
    from socialego_training.datasets import PoseWindowDataset
    from socialego_training.distill import METHODS, prepare_distillation, run_distillation
    from socialego_training.evaluate import predict_dataset
    from socialego_training.metrics import task_metrics

    log = log or (lambda msg: tqdm.write(msg))
    for s in cfg.settings:
        if s not in CORRUPTION_SETTINGS:
            raise ValueError(f"unknown setting {s!r}; known: {list(CORRUPTION_SETTINGS)}")
    for m in cfg.methods:
        if m not in METHODS:
            raise ValueError(f"unknown method {m!r}; known: {METHODS}")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    root = ensure_data(cfg, log)
    (out / "study_config.json").write_text(json.dumps(asdict(cfg), indent=1, default=list))

    teacher_path, teacher_info = ensure_teacher(cfg, root, log)
    table = get_label_table(cfg.dataset)
    results_path = out / "results.jsonl"
    done = {(r["setting"], r["method"], r["seed"]) for r in _read_results(results_path)}

    # datasets and teacher representations once (every run uses the same split and windows)
    base = _student_cfg(cfg, root, cfg.settings[0], "infonce", cfg.seeds[0], teacher_path)
    from socialego_training.train import load_datasets

    data = load_datasets(base, log)
    needs_teacher = any(m != "none" for m in cfg.methods)
    setup = prepare_distillation(base, log, data) if needs_teacher else None
    test_tracks = load_split(root, "test", cfg.dataset, progress=False).tracks
    test_set = PoseWindowDataset(test_tracks, data[0].spec)

    runs = [(s, m, k) for s in cfg.settings for k in cfg.seeds for m in cfg.methods]
    for setting, method, seed in tqdm(runs, desc="study runs", disable=not cfg.progress):
        if (setting, method, seed) in done:
            continue
        scfg = _student_cfg(cfg, root, setting, method, seed, teacher_path)
        scfg.progress = False
        tick = time.perf_counter()
        if method == "none":
            from socialego_training.distill import DistillSetup

            run_setup = DistillSetup(data[0], data[1], data[2], None, {})
        else:
            run_setup = setup
        result = run_distillation(scfg, log=lambda m: None, setup=run_setup)
        joint_rate, frame_rate = CORRUPTION_SETTINGS[setting]
        pred = predict_dataset(result.model, test_set, joint_rate, frame_rate, cfg.eval_seed)
        metrics = task_metrics(pred.labels, pred.predictions, table)
        row = {
            "setting": setting,
            "method": method,
            "seed": seed,
            "best_epoch": result.best_epoch,
            "seconds": round(time.perf_counter() - tick, 1),
            **{k: v for k, v in metrics.items() if isinstance(v, int | float)},
        }
        with results_path.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        log(
            f"{setting:7s} {method:8s} seed {seed}: test acc "
            + " / ".join(f"{100 * row[f'{t}_acc']:.1f}" for t in TASKS)
            + f"  ({row['seconds']:.0f} s)"
        )

    rows = [
        r
        for r in _read_results(results_path)
        if r["setting"] in cfg.settings and r["method"] in cfg.methods and r["seed"] in cfg.seeds
    ]
    summary = aggregate(rows, cfg.settings, cfg.methods)
    cost = cost_report(teacher_path, cfg.latency_runs)
    (out / "cost.json").write_text(json.dumps(cost, indent=1))
    markdown = study_markdown(summary, cfg, teacher_info, cost, time.perf_counter() - started)
    (out / "study.md").write_text(markdown)
    plot_study(summary, cfg.settings, cfg.methods, out / "study.png", len(cfg.seeds))
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    log(markdown)
    log(f"wrote {out / 'study.md'} and {out / 'study.png'}")
    return summary


def ensure_teacher(cfg: StudyConfig, root: Path, log) -> tuple[str, dict]:
    """The teacher artifact (trained here unless given) and its clean test accuracy."""
    import numpy as np
    from socialego_core.labels import get_label_table

    from socialego_training.data import load_split
    from socialego_training.datasets import PoseWindowDataset
    from socialego_training.metrics import task_metrics
    from socialego_training.modalities import ModalityConfig, build_modalities
    from socialego_training.teacher_config import TeacherTrainConfig
    from socialego_training.teacher_io import load_teacher
    from socialego_training.teacher_train import evaluate_teacher, stream_reliance, train_teacher

    out = Path(cfg.out_dir)
    path = cfg.teacher
    training_seconds = None
    if not path:
        tcfg = TeacherTrainConfig(
            data_root=str(root),
            dataset=cfg.dataset,
            size=cfg.teacher_size,
            crop_size=cfg.teacher_crop,
            streams=cfg.teacher_streams,
            heatmap_frame=cfg.teacher_heatmap_frame,
            epochs=cfg.teacher_epochs,
            batch_size=cfg.teacher_batch_size,
            lr=cfg.teacher_lr,
            device=cfg.device,
            threads=cfg.threads,
            out_dir=str(out / "teacher"),
            cache_dir=str(out / "cache"),
            progress=cfg.progress,
        )
        tick = time.perf_counter()
        best = Path(tcfg.out_dir) / "best.pt"
        summary_file = Path(tcfg.out_dir) / "summary.json"
        if not (best.is_file() and summary_file.is_file()):
            train_teacher(tcfg)
            training_seconds = round(time.perf_counter() - tick, 1)
        path = str(best)
    model, meta = load_teacher(path)
    modality_cfg = ModalityConfig.from_dict(meta["modality_config"])
    tracks = load_split(root, "test", cfg.dataset, progress=False).tracks
    test = PoseWindowDataset(tracks, modality_cfg.window)
    mods = build_modalities(
        tracks, root / "videos", modality_cfg, [t.path for t in tracks], out / "cache", False
    )
    preds, _ = evaluate_teacher(model, mods, test.labels)
    metrics = task_metrics(test.labels.numpy(), np.asarray(preds), get_label_table(cfg.dataset))
    info = {
        "path": path,
        "version": meta.get("version"),
        "streams": meta["model_kwargs"].get("streams"),
        "test": {f"{t}_acc": metrics[f"{t}_acc"] for t in TASKS},
        "training_seconds": training_seconds,
        "stream_reliance": stream_reliance(model, mods, test.labels),
    }
    (out / "teacher_test.json").write_text(json.dumps(info, indent=1))
    log(
        "teacher (clean test) accuracy "
        + " / ".join(f"{100 * info['test'][f'{t}_acc']:.1f}" for t in TASKS)
    )
    return path, info


# ----------------------------------------------------------------------------- aggregation


def _mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, std


def aggregate(rows: list[dict], settings, methods) -> dict[str, Any]:
    """{setting: {method: {task: (mean, std), "mean": (mean, std), "n": seeds}}} in percent."""
    out: dict[str, Any] = {}
    for s in settings:
        out[s] = {}
        for m in methods:
            sel = [r for r in rows if r["setting"] == s and r["method"] == m]
            entry: dict[str, Any] = {"n": len(sel)}
            for t in TASKS:
                entry[t] = _mean_std([100 * r[f"{t}_acc"] for r in sel])
            entry["mean"] = _mean_std(
                [100 * statistics.fmean(r[f"{t}_acc"] for t in TASKS) for r in sel]
            )
            out[s][m] = entry
    return out


def study_markdown(summary, cfg: StudyConfig, teacher: dict, cost: dict, seconds: float) -> str:
    from socialego_core.corruption import SETTING_TITLES

    lines = [
        f"Student test accuracy (%), mean +- std over seeds {list(cfg.seeds)}; "
        f"train rate = test rate; test corruption seed {cfg.eval_seed}.",
        "",
        "| setting | method | intent | attitude | action | mean of tasks |",
        "|---|---|---|---|---|---|",
    ]
    for s, per_method in summary.items():
        for m, e in per_method.items():
            cells = [f"{e[t][0]:.1f} +- {e[t][1]:.1f}" for t in (*TASKS, "mean")]
            lines.append(
                f"| {SETTING_TITLES[s]} | {METHOD_TITLES[m]} | " + " | ".join(cells) + " |"
            )
    if "none" in cfg.methods and len(cfg.methods) > 1:
        lines += ["", "Gain over no distillation (points, mean of seeds):", ""]
        lines += ["| setting | method | intent | attitude | action | mean of tasks |"]
        lines += ["|---|---|---|---|---|---|"]
        for s, per_method in summary.items():
            base = per_method["none"]
            for m, e in per_method.items():
                if m == "none":
                    continue
                cells = [f"{e[t][0] - base[t][0]:+.1f}" for t in (*TASKS, "mean")]
                lines.append(
                    f"| {SETTING_TITLES[s]} | {METHOD_TITLES[m]} | " + " | ".join(cells) + " |"
                )
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
        cost_markdown(cost),
        "",
        f"Settings: student {cfg.student_epochs} epochs (corruption warm-up {cfg.warmup_epochs} "
        f"epochs in both arms), batch {cfg.batch_size}, Adam lr {cfg.lr}; InfoNCE weight "
        f"{cfg.distill_weight}, tau 0.1; teacher {cfg.teacher_size} config, "
        f"{cfg.teacher_epochs} epochs. Study wall time {seconds / 60:.1f} min "
        f"({cfg.threads} thread(s), {cfg.device}).",
    ]
    return "\n".join(lines) + "\n"


def plot_study(summary, settings, methods, path: Path, n_seeds: int) -> None:
    """Grouped bars: one panel per task, settings on x, one bar per method with std error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from socialego_core.corruption import SETTING_TITLES

    colours = {"none": "#9aa5b1", "kd": "#f0a35e", "infonce": "#2e7bcf"}
    fig, axes = plt.subplots(1, 3, figsize=(4.2 * 3, 4.2), sharey=True)
    x = np.arange(len(settings))
    width = 0.8 / len(methods)
    for ax, task in zip(axes, TASKS, strict=True):
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
                color=colours.get(m),
                label=METHOD_TITLES[m],
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
        ax.set_title(task)
        ax.set_xticks(x, [SETTING_TITLES[s] for s in settings], rotation=20, ha="right")
        ax.set_ylim(0, 105)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel(f"test accuracy (%), mean +- std of {n_seeds} seeds")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.suptitle("Student robustness to pose corruption, without vs with distillation")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ----------------------------------------------------------------------------- cost


def cost_report(teacher_path: str, latency_runs: int = 50) -> dict[str, Any]:
    """Params, MACs per window and CPU latency (1 thread, batch 1, median) of teacher and student.

    The full-size teacher's MACs are counted on the meta device (no compute); its CPU latency is
    not measured here (seconds per window), the trained (small) teacher's is.
    """
    import torch
    from socialego_core.student import SocialEgoMobile
    from torch.utils.flop_counter import FlopCounterMode

    from socialego_training.bench import count_macs, median_latency_ms
    from socialego_training.teacher_config import TeacherConfig
    from socialego_training.teacher_io import load_teacher
    from socialego_training.teacher_model import SocialC3D, count_parameters, example_inputs

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        student = SocialEgoMobile().eval()
        window = torch.rand(1, 10, 17, 3) - 0.5
        report: dict[str, Any] = {
            "student": {
                "params": count_parameters(student),
                "macs": count_macs(student, window),
                "latency_ms": median_latency_ms(student, window, latency_runs, warmup=5),
            }
        }
        trained, _ = load_teacher(teacher_path)
        inputs = example_inputs(trained.config, 1)
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            trained(inputs)
        times = []
        with torch.inference_mode():
            trained(inputs)
            for _ in range(max(3, latency_runs // 5)):
                tick = time.perf_counter()
                trained(inputs)
                times.append(1000 * (time.perf_counter() - tick))
        report["teacher_trained"] = {
            "params": count_parameters(trained),
            "macs": counter.get_total_flops() // 2,
            "latency_ms": statistics.median(times),
            "config": trained.config.to_dict(),
        }
        full = SocialC3D(TeacherConfig.full()).to("meta").eval()
        meta_inputs = {k: v.to("meta") for k, v in example_inputs(full.config, 1).items()}
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            full(meta_inputs)
        report["teacher_full"] = {
            "params": count_parameters(full),
            "macs": counter.get_total_flops() // 2,
        }
    finally:
        torch.set_num_threads(threads)
    s = report["student"]
    for key in ("teacher_trained", "teacher_full"):
        t = report[key]
        t["params_ratio"] = t["params"] / s["params"]
        t["macs_ratio"] = t["macs"] / max(s["macs"], 1)
        if "latency_ms" in t:
            t["latency_ratio"] = t["latency_ms"] / s["latency_ms"]
    return report


def cost_markdown(cost: dict) -> str:
    s, t, f = cost["student"], cost["teacher_trained"], cost["teacher_full"]
    return "\n".join(
        [
            "| model | params | MACs / window | CPU latency, batch 1, 1 thread |",
            "|---|---|---|---|",
            f"| student SocialEgoMobile | {s['params'] / 1e6:.3f} M | {s['macs'] / 1e6:.2f} M | "
            f"{s['latency_ms']:.2f} ms |",
            f"| teacher SocialC3D, trained (small) config | {t['params'] / 1e6:.3f} M "
            f"({t['params_ratio']:.1f}x) | {t['macs'] / 1e6:.1f} M ({t['macs_ratio']:.0f}x) | "
            f"{t['latency_ms']:.1f} ms ({t['latency_ratio']:.0f}x) |",
            f"| teacher SocialC3D, full config | {f['params'] / 1e6:.2f} M "
            f"({f['params_ratio']:.0f}x) | {f['macs'] / 1e9:.1f} G ({f['macs_ratio']:.0f}x) | "
            "not measured on CPU |",
        ]
    )


# ----------------------------------------------------------------------------- CLI


def _csv(kind):
    def parse(text: str):
        return tuple(kind(p.strip()) for p in text.split(",") if p.strip())

    return parse


def add_train_teacher(subparsers) -> None:
    from socialego_training.config import add_config_args
    from socialego_training.teacher_config import TeacherTrainConfig

    p = subparsers.add_parser("train-teacher", help="train the SocialC3D teacher (clean input)")
    p.add_argument("--config", help="YAML file with TeacherTrainConfig fields (flags override it)")
    add_config_args(p, TeacherTrainConfig)
    p.set_defaults(func=run_train_teacher)


def run_train_teacher(args) -> int:
    from socialego_training.config import config_from_args
    from socialego_training.teacher_config import TeacherTrainConfig
    from socialego_training.teacher_train import train_teacher
    from socialego_training.train import TrainingInterrupted

    cfg = config_from_args(TeacherTrainConfig, args)
    try:
        result = train_teacher(cfg)
    except TrainingInterrupted as exc:
        print(f"interrupted: {exc}; rerun the same command to resume", file=sys.stderr)
        return 3
    m = result.best_metrics
    print(
        f"best epoch {result.best_epoch}: validation accuracy intent {m['intent_acc']:.3f} "
        f"attitude {m['attitude_acc']:.3f} action {m['action_acc']:.3f}\n"
        f"teacher: {result.best_path}   log: {result.run_dir / 'log.csv'}"
    )
    return 0


def add_distill(subparsers) -> None:
    from socialego_training.config import add_config_args
    from socialego_training.distill import DistillConfig, distill_defaults

    p = subparsers.add_parser(
        "distill", help="train the student with a frozen teacher (--method none|kd|infonce)"
    )
    p.add_argument("--config", help="YAML file with DistillConfig fields (flags override it)")
    add_config_args(p, DistillConfig)
    p.set_defaults(func=run_distill)
    p.epilog = f"defaults differing from 'train': {distill_defaults()}"


def run_distill(args) -> int:
    import dataclasses

    from socialego_training.config import load_yaml, make_config
    from socialego_training.distill import DistillConfig, distill_defaults, run_distillation
    from socialego_training.train import TrainingInterrupted

    cls = DistillConfig
    values = distill_defaults()  # paper defaults < YAML < flags
    if args.config:
        values.update(load_yaml(args.config))
    for f in dataclasses.fields(cls):
        if getattr(args, f.name, None) is not None:
            values[f.name] = getattr(args, f.name)
    cfg = make_config(cls, values, source=str(args.config or "flags"))
    try:
        result = run_distillation(cfg)
    except TrainingInterrupted as exc:
        print(f"interrupted: {exc}; rerun the same command to resume", file=sys.stderr)
        return 3
    m = result.best_metrics
    print(
        f"[{cfg.method}] best epoch {result.best_epoch}: validation accuracy intent "
        f"{m['intent_acc']:.3f} attitude {m['attitude_acc']:.3f} action {m['action_acc']:.3f}\n"
        f"model: {result.best_path}   log: {result.run_dir / 'log.csv'}"
    )
    return 0


def add_study(subparsers) -> None:
    d = StudyConfig()
    p = subparsers.add_parser(
        "study", help="robustness study: student without vs with distillation over corruptions"
    )
    p.add_argument("--out", default=d.out_dir, help=f"output folder (default {d.out_dir})")
    p.add_argument("--data-root", default="", help="dataset root (default: generate synthetic)")
    p.add_argument("--generate", type=int, default=d.generate, help="synthetic tracks to generate")
    p.add_argument("--generate-seed", type=int, default=d.generate_seed)
    p.add_argument("--dataset", default=d.dataset)
    p.add_argument(
        "--settings",
        type=_csv(str),
        default=d.settings,
        help="full,frame30,joint30,both30,frame60,joint60,both60 (any subset)",
    )
    p.add_argument("--seeds", type=_csv(int), default=d.seeds, help="e.g. 0,1,2")
    p.add_argument("--methods", type=_csv(str), default=d.methods, help="none,kd,infonce")
    p.add_argument("--teacher", default="", help="use this teacher artifact instead of training")
    p.add_argument("--teacher-size", default=d.teacher_size, help="small | full")
    p.add_argument("--teacher-crop", type=int, default=d.teacher_crop, help="0 = size default")
    p.add_argument("--teacher-streams", default=d.teacher_streams)
    p.add_argument(
        "--teacher-heatmap-frame",
        default=d.teacher_heatmap_frame,
        choices=("person", "part"),
        help="part: face and hands re-centred in their own box; person: one union box (paper)",
    )
    p.add_argument("--teacher-epochs", type=int, default=d.teacher_epochs)
    p.add_argument("--teacher-batch-size", type=int, default=d.teacher_batch_size)
    p.add_argument("--teacher-lr", type=float, default=d.teacher_lr)
    p.add_argument("--student-epochs", type=int, default=d.student_epochs)
    p.add_argument("--warmup-epochs", type=int, default=d.warmup_epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--distill-weight", type=float, default=d.distill_weight)
    p.add_argument("--threads", type=int, default=d.threads)
    p.add_argument("--device", default=d.device)
    p.add_argument("--latency-runs", type=int, default=d.latency_runs)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run_study_cli)


def run_study_cli(args) -> int:
    cfg = StudyConfig(
        out_dir=args.out,
        data_root=args.data_root,
        generate=args.generate,
        generate_seed=args.generate_seed,
        dataset=args.dataset,
        settings=tuple(args.settings),
        seeds=tuple(args.seeds),
        methods=tuple(args.methods),
        teacher=args.teacher,
        teacher_size=args.teacher_size,
        teacher_crop=args.teacher_crop,
        teacher_streams=args.teacher_streams,
        teacher_heatmap_frame=args.teacher_heatmap_frame,
        teacher_epochs=args.teacher_epochs,
        teacher_batch_size=args.teacher_batch_size,
        teacher_lr=args.teacher_lr,
        student_epochs=args.student_epochs,
        warmup_epochs=args.warmup_epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        distill_weight=args.distill_weight,
        threads=args.threads,
        device=args.device,
        latency_runs=args.latency_runs,
        progress=not args.no_progress,
    )
    run_study(cfg)
    return 0


def main(argv: list[str] | None = None) -> int:  # python -m socialego_training.study
    parser = argparse.ArgumentParser(prog="socialego-study")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (add_train_teacher, add_distill, add_study):
        add(sub)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
