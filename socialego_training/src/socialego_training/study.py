"""The robustness study (method.md sections 6-7) in one command.

``socialego-train study``: (optionally) generate a synthetic dataset, train the SocialC3D teacher
once (clean input), cache its representations, then for every corruption setting x seed x method
train a student at that setting's rate (train rate = test rate) and evaluate it on the test split
corrupted with a fixed seed. Writes ``results.jsonl`` (one line per run, with the test accuracy
of the best-validation epoch and, as ``final_*``, of the final epoch; a rerun skips finished runs
and resumes unfinished ones), ``study.md`` (mean +- std over seeds), ``study.png`` and
``study_final.png`` (grouped bars in the style of the paper's robustness figure, best and final
epoch) and ``cost.json`` (teacher vs student size, MACs, CPU latency).

``methods`` are study arms ``method[+u][@weight]`` (study_config.parse_arm): ``infonce+u@1`` adds
the unlabelled transfer set (``unlabelled``) at distillation weight 1.0; ``mean_teacher+u`` is the
same loss against the student's own moving average, the control without a teacher.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from socialego_core.corruption import CORRUPTION_SETTINGS
from socialego_core.labels import TASKS, get_label_table
from tqdm import tqdm

from socialego_training.checkpoint import load_checkpoint
from socialego_training.cost import cost_report
from socialego_training.data import load_split
from socialego_training.datasets import PoseWindowDataset
from socialego_training.distill import (
    METHODS,
    TEACHER_METHODS,
    DistillConfig,
    DistillSetup,
    prepare_distillation,
    run_distillation,
)
from socialego_training.evaluate import predict_dataset
from socialego_training.metrics import task_metrics
from socialego_training.modalities import ModalityConfig, build_modalities
from socialego_training.study_config import StudyConfig, parse_arm
from socialego_training.study_report import (
    aggregate,
    paired_gains,
    plot_study,
    study_markdown,
)
from socialego_training.synthetic import GENERATOR_VERSION, generate_dataset
from socialego_training.teacher_config import TeacherTrainConfig
from socialego_training.teacher_io import load_teacher
from socialego_training.teacher_train import evaluate_teacher, stream_reliance, train_teacher
from socialego_training.train import build_model
from socialego_training.train_data import load_datasets
from socialego_training.unlabelled import load_unlabelled


def ensure_data(cfg: StudyConfig, log) -> Path:
    if cfg.data_root:
        return Path(cfg.data_root)
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


def _student_cfg(cfg: StudyConfig, root: Path, setting: str, arm: str, seed: int, teacher: str):
    joint_rate, frame_rate = CORRUPTION_SETTINGS[setting]
    parsed = parse_arm(arm)
    weight = cfg.distill_weight if parsed.weight is None else parsed.weight
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
        out_dir=str(Path(cfg.out_dir) / "runs" / setting / arm / f"seed{seed}"),
        progress=cfg.progress,
        teacher=teacher,
        method=parsed.method,
        distill_weight=weight,
        unlabelled=cfg.unlabelled if parsed.unlabelled else "",
        unlabelled_batch_size=cfg.unlabelled_batch_size,
        cache_dir=str(Path(cfg.out_dir) / "cache"),
    )


def final_epoch_model(run_dir: Path, name: str, n_action: int, spec) -> torch.nn.Module:
    """The student as the last epoch left it (``last.pt``, BatchNorm as validated), eval mode."""
    state = load_checkpoint(run_dir)
    if state is None:
        raise ValueError(f"{run_dir} has no last.pt to read the final epoch from")
    model = build_model(name, n_action, spec)
    model.load_state_dict(state["model"])
    return model.eval()


def _read_results(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_study(cfg: StudyConfig, log=None) -> dict[str, Any]:
    """Run (or resume) the whole study; returns the aggregated results."""
    log = log or (lambda msg: tqdm.write(msg))
    for s in cfg.settings:
        if s not in CORRUPTION_SETTINGS:
            raise ValueError(f"unknown setting {s!r}; known: {list(CORRUPTION_SETTINGS)}")
    arms = {m: parse_arm(m) for m in cfg.methods}
    for m, arm in arms.items():
        if arm.method not in METHODS:
            raise ValueError(f"unknown method {arm.method!r} in arm {m!r}; known: {METHODS}")
        if arm.unlabelled and not cfg.unlabelled:
            raise ValueError(f"study arm {m!r} needs unlabelled tracks (--unlabelled DIR)")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    root = ensure_data(cfg, log)
    (out / "study_config.json").write_text(json.dumps(asdict(cfg), indent=1, default=list))

    needs_teacher = any(a.method in TEACHER_METHODS for a in arms.values())
    teacher_path, teacher_info = ensure_teacher(cfg, root, log) if needs_teacher else ("", {})
    table = get_label_table(cfg.dataset)
    results_path = out / "results.jsonl"
    done = {(r["setting"], r["method"], r["seed"]) for r in _read_results(results_path)}

    # datasets and teacher representations once (every run uses the same split and windows)
    # (the teacher codes of the unlabelled set follow those of the train set, so one setup
    # serves the arms with and without it)
    any_u = any(a.unlabelled for a in arms.values())
    base_arm = "infonce+u" if any_u else "infonce"
    base = _student_cfg(cfg, root, cfg.settings[0], base_arm, cfg.seeds[0], teacher_path)
    data = load_datasets(base, log)
    u_set = None
    if any_u:
        u_set = load_unlabelled(cfg.unlabelled, data[0].spec, cfg.dataset, log=log)
        log(f"unlabelled transfer set: {len(u_set)} tracks from {cfg.unlabelled}")
    setup = prepare_distillation(base, log, data, u_set) if needs_teacher else None
    test_tracks = load_split(root, "test", cfg.dataset, progress=False).tracks
    test_set = PoseWindowDataset(test_tracks, data[0].spec)
    n_action = table.num_classes("action")

    runs = [(s, m, k) for s in cfg.settings for k in cfg.seeds for m in cfg.methods]
    for setting, method, seed in tqdm(runs, desc="study runs", disable=not cfg.progress):
        if (setting, method, seed) in done:
            continue
        scfg = _student_cfg(cfg, root, setting, method, seed, teacher_path)
        scfg.progress = False
        tick = time.perf_counter()
        arm = arms[method]
        reps, meta = (setup.representations, setup.teacher_meta) if setup else (None, {})
        if arm.method not in TEACHER_METHODS:
            reps, meta = None, {}
        run_setup = DistillSetup(
            data[0], data[1], data[2], reps, meta, u_set if arm.unlabelled else None
        )
        result = run_distillation(scfg, log=lambda m: None, setup=run_setup)
        joint_rate, frame_rate = CORRUPTION_SETTINGS[setting]
        rates = (joint_rate, frame_rate, cfg.eval_seed)
        pred = predict_dataset(result.model, test_set, *rates)
        metrics = task_metrics(pred.labels, pred.predictions, table)
        last = final_epoch_model(result.run_dir, scfg.model, n_action, data[0].spec)
        final_pred = predict_dataset(last, test_set, *rates)
        final = task_metrics(final_pred.labels, final_pred.predictions, table)
        row = {
            "setting": setting,
            "method": method,
            "seed": seed,
            "best_epoch": result.best_epoch,
            "seconds": round(time.perf_counter() - tick, 1),
            **{k: v for k, v in metrics.items() if isinstance(v, int | float)},
            **{f"final_{k}": v for k, v in final.items() if isinstance(v, int | float)},
        }
        with results_path.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        log(
            f"{setting:7s} {method:8s} seed {seed}: test acc "
            + " / ".join(f"{100 * row[f'{t}_acc']:.1f}" for t in TASKS)
            + "  final epoch "
            + " / ".join(f"{100 * row[f'final_{t}_acc']:.1f}" for t in TASKS)
            + f"  ({row['seconds']:.0f} s)"
        )

    rows = [
        r
        for r in _read_results(results_path)
        if r["setting"] in cfg.settings and r["method"] in cfg.methods and r["seed"] in cfg.seeds
    ]
    summary = aggregate(rows, cfg.settings, cfg.methods)
    final_summary = aggregate(rows, cfg.settings, cfg.methods, prefix="final_")
    cost = cost_report(teacher_path, cfg.latency_runs) if teacher_path else {}
    (out / "cost.json").write_text(json.dumps(cost, indent=1))
    paired = tuple(paired_gains(rows, cfg.settings, cfg.methods, p) for p in ("", "final_"))
    markdown = study_markdown(
        summary, cfg, teacher_info, cost, time.perf_counter() - started, final_summary, paired
    )
    (out / "study.md").write_text(markdown)
    plot_study(summary, cfg.settings, cfg.methods, out / "study.png", len(cfg.seeds))
    plot_study(final_summary, cfg.settings, cfg.methods, out / "study_final.png", len(cfg.seeds))
    (out / "summary.json").write_text(
        json.dumps({"best_epoch": summary, "final_epoch": final_summary}, indent=1)
    )
    log(markdown)
    log(f"wrote {out / 'study.md'} and {out / 'study.png'}")
    return summary


def ensure_teacher(cfg: StudyConfig, root: Path, log) -> tuple[str, dict]:
    """The teacher artifact (trained here unless given) and its clean test accuracy."""
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
