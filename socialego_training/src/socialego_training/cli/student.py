"""``socialego-train`` subcommands of the student: train, evaluate, sweep, export, bench, baseline.

Runners import the training modules when they run (CLI edge), so ``socialego-train --help``
stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from socialego_core.onnx_format import QUANTIZE

from .common import (
    INTERRUPTED_EXIT,
    add_config_command,
    best_summary,
    data_args,
    device_arg,
    run_resumable,
)


def _load_eval_data(args, spec, dataset: str):
    from socialego_training.data import load_split
    from socialego_training.datasets import PoseWindowDataset

    loaded = load_split(args.data_root, args.split, dataset, skip_bad=args.skip_bad, progress=True)
    for bad in loaded.bad_files:
        print(f"skipped broken file {bad}", file=sys.stderr)
    if loaded.unlabelled:
        print(f"left out {len(loaded.unlabelled)} unlabelled tracks", file=sys.stderr)
    return PoseWindowDataset(loaded.tracks, spec)


def _load_model_and_meta(path: str):
    from socialego_core.artifact import load_artifact
    from socialego_core.labels import LabelTable
    from socialego_core.window import WindowSpec

    from socialego_training.train import load_model

    target = Path(path)
    if target.is_dir():
        target = target / "best.pt"
    meta = load_artifact(target)["metadata"]
    return (
        load_model(target),
        meta,
        WindowSpec.from_dict(meta["window_spec"]),
        LabelTable.from_dict(meta["labels"]),
        target,
    )


# ----------------------------------------------------------------------------- train


def add_train(subparsers) -> None:
    from socialego_training.train import TrainConfig

    help = "train the student (or SocialEgoNet) without a teacher"
    p = add_config_command(subparsers, "train", help, TrainConfig, run_train)
    p.add_argument(
        "--folds",
        type=int,
        default=0,
        help="instead of one model: K-fold cross-validation grouped by video over the train "
        "(+ validation) tracks; cv.md / cv.json in --out-dir",
    )


def run_train(args) -> int:
    from socialego_training.config import config_from_args
    from socialego_training.train import TrainConfig, train

    cfg = config_from_args(TrainConfig, args)
    if args.folds:
        from socialego_training.crossval import cross_validate

        cross_validate(cfg, args.folds)
        print((Path(cfg.out_dir) / "cv.md").read_text())
        return 0
    result = run_resumable(train, cfg)
    if result is None:
        return INTERRUPTED_EXIT
    print(
        best_summary(result) + "\n"
        f"model: {result.best_path}   log: {result.run_dir / 'log.csv'}\n"
        f"training throughput {result.train_windows_per_s:.0f} windows/s, "
        f"wall time {result.wall_time_s:.1f} s"
    )
    return 0


# ----------------------------------------------------------------------------- evaluate


def add_evaluate(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="accuracy / weighted F1 per task + confusion PNGs")
    p.add_argument("--model", required=True, help="model artifact (.pt) or a training run folder")
    data_args(p)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--joint-rate", type=float, default=0.0)
    p.add_argument("--frame-rate", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=1234, help="test corruption seed")
    device_arg(p)
    p.set_defaults(func=run_evaluate)


def run_evaluate(args) -> int:
    from socialego_core.artifact import resolve_device
    from socialego_core.calibration import Calibration

    from socialego_training.evaluate import evaluate_split

    model, meta, spec, labels, path = _load_model_and_meta(args.model)
    dataset = _load_eval_data(args, spec, args.dataset or labels.dataset)
    device = resolve_device(args.device)
    metrics = evaluate_split(
        model.to(device),
        dataset,
        labels,
        args.out,
        args.joint_rate,
        args.frame_rate,
        args.seed,
        device,
        title=f"{meta['model']} {meta['version']}",
        calibration=Calibration.from_metadata(meta),
    )
    print((Path(args.out) / "metrics.md").read_text())
    print((Path(args.out) / "calibration.md").read_text())
    return 0 if metrics["n"] else 1


# ----------------------------------------------------------------------------- sweep


def add_sweep(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep", help="corruption sweep over the 7 settings (table + bar chart)"
    )
    p.add_argument("--model", help="evaluate this one model under every setting")
    p.add_argument(
        "--train-config",
        help="instead: train one model per setting (train rate = test rate) from this YAML "
        "TrainConfig; runs go to <out>/runs/<setting>",
    )
    p.add_argument("--epochs", type=int, default=None, help="override the config's epochs")
    data_args(p)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=1234, help="test corruption seed")
    device_arg(p)
    p.set_defaults(func=run_sweep)


def run_sweep(args) -> int:
    import dataclasses

    from socialego_core.artifact import load_artifact, resolve_device
    from socialego_core.calibration import Calibration
    from socialego_core.corruption import CORRUPTION_SETTINGS

    from socialego_training.config import load_yaml, make_config
    from socialego_training.evaluate import corruption_sweep
    from socialego_training.train import TrainConfig, train

    device = resolve_device(args.device)
    if bool(args.model) == bool(args.train_config):
        print("give exactly one of --model or --train-config", file=sys.stderr)
        return 2
    if args.model:
        model, meta, spec, labels, _ = _load_model_and_meta(args.model)
        models = model.to(device)
        calibrations = Calibration.from_metadata(meta)
        title = f"{meta['model']} {meta['version']}"
    else:
        base = make_config(TrainConfig, load_yaml(args.train_config), args.train_config)
        base = dataclasses.replace(base, data_root=args.data_root, device=args.device)
        if args.epochs:
            base = dataclasses.replace(base, epochs=args.epochs)
        models, calibrations = {}, {}
        for name, (joint_rate, frame_rate) in CORRUPTION_SETTINGS.items():
            cfg = dataclasses.replace(
                base,
                joint_rate=joint_rate,
                frame_rate=frame_rate,
                out_dir=str(Path(args.out) / "runs" / name),
            )
            print(f"== training for setting {name} (joint {joint_rate}, frame {frame_rate})")
            result = train(cfg)
            models[name] = result.model.to(device)
            calibrations[name] = Calibration.from_metadata(
                load_artifact(result.best_path)["metadata"]
            )
        spec = base.window_spec()
        from socialego_core.labels import get_label_table

        labels = get_label_table(base.dataset)
        title = f"{base.model}, trained per setting"
    dataset = _load_eval_data(args, spec, args.dataset or labels.dataset)
    corruption_sweep(models, dataset, labels, args.out, args.seed, device, title, calibrations)
    print((Path(args.out) / "sweep.md").read_text())
    print((Path(args.out) / "calibration.md").read_text())
    return 0


# ----------------------------------------------------------------------------- export


def add_export(subparsers) -> None:
    p = subparsers.add_parser("export", help="write the robot's model artifact from a run")
    p.add_argument("--model", required=True, help="training run folder, its best.pt or an artifact")
    p.add_argument("--out", required=True, help="artifact path (.pt, or .onnx with --format onnx)")
    p.add_argument(
        "--format",
        choices=("pt", "onnx"),
        help="pt: the PyTorch artifact; onnx: ONNX with the same metadata inside "
        "(default: from the --out suffix)",
    )
    p.add_argument(
        "--quantize",
        choices=QUANTIZE,
        default="none",
        help="onnx only: int8 runs the Bi-LSTM recurrence's products in int8 (faster with "
        "several people; with --data-root the file's own metrics and its agreement with the "
        "float model are measured)",
    )
    p.add_argument("--data-root", help="if given, evaluate on --split and store the metrics")
    p.add_argument("--split", default="test")
    p.add_argument("--skip-bad", action="store_true")
    p.add_argument("--notes", help="free text stored in the metadata (e.g. the exact command)")
    p.set_defaults(func=run_export, dataset=None)


def run_export(args) -> int:
    from socialego_core.artifact import save_artifact
    from socialego_core.calibration import Calibration

    from socialego_training.evaluate import predict_dataset
    from socialego_training.export import export_onnx, onnx_agreement, without_data_location
    from socialego_training.metrics import task_metrics

    suffix = Path(args.out).suffix.lower()
    fmt = args.format or ("onnx" if suffix == ".onnx" else "pt")
    if suffix != f".{fmt}":
        print(f"--out {args.out}: a {fmt} export must end in .{fmt}", file=sys.stderr)
        return 2
    if args.quantize != "none" and fmt != "onnx":
        print(f"--quantize {args.quantize} needs --format onnx", file=sys.stderr)
        return 2
    model, meta, spec, labels, path = _load_model_and_meta(args.model)
    meta = {k: v for k, v in meta.items() if k not in ("version", "num_parameters", "created")}
    meta = without_data_location(meta)  # artifacts of older versions recorded the data's path
    meta["exported_from"] = Path(path).name  # the file, not where it lay on this machine
    dataset = _load_eval_data(args, spec, labels.dataset) if args.data_root else None
    if dataset is not None:
        pred = predict_dataset(model, dataset, calibration=Calibration.from_metadata(meta))
        metrics = task_metrics(pred.labels, pred.predictions, labels)
        meta.setdefault("metrics", {})[args.split] = metrics
    if args.notes:
        meta["notes"] = args.notes
    if fmt == "onnx":
        written = export_onnx(model, meta, args.out, args.quantize)
        if args.quantize != "none" and dataset is not None:
            # the file's own metrics (its products are not the float model's), and how often
            # its decisions agree with the float model's
            check = onnx_agreement(args.out, dataset.windows.numpy(), pred, labels)
            meta["metrics"][args.split] = check["metrics"]
            meta["quantization_check"] = {"split": args.split, **check["agreement"]}
            written = export_onnx(model, meta, args.out, args.quantize)
            print(json.dumps({"quantization_check": meta["quantization_check"]}))
    else:
        written = save_artifact(args.out, model, meta)
    print(json.dumps({k: written[k] for k in ("model", "version", "trained", "window_spec")}))
    print(f"wrote {args.out}")
    return 0


# ----------------------------------------------------------------------------- bench


def add_bench(subparsers) -> None:
    p = subparsers.add_parser("bench", help="latency (student vs SocialEgoNet), MACs, throughput")
    p.add_argument("--runs", type=int, default=300, help="timed runs per measurement (median)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--train-data", help="also time a full student training on this dataset")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--out", default="runs/bench", help="run folder for the timed training")
    p.set_defaults(func=run_bench)


def run_bench(args) -> int:
    from socialego_training.bench import format_latency_report, latency_report

    print(format_latency_report(latency_report(args.runs, args.threads)))
    if args.train_data:
        import shutil
        import time

        from socialego_training.train import TrainConfig, train

        shutil.rmtree(args.out, ignore_errors=True)
        start = time.perf_counter()
        result = train(
            TrainConfig(
                data_root=args.train_data,
                epochs=args.epochs,
                min_steps=0,  # exactly --epochs: the timing is per epoch count
                out_dir=args.out,
                threads=args.threads,
                device="cpu",
            )
        )
        wall = time.perf_counter() - start
        print(
            f"full training: {len(result.history)} epochs, "
            f"{result.train_windows_per_s:.0f} training windows/s (forward+backward, "
            f"{args.threads} thread(s)), wall time {wall:.1f} s including loading and validation"
        )
    return 0


# ----------------------------------------------------------------------------- baseline


def add_baseline(subparsers) -> None:
    p = subparsers.add_parser("baseline", help="majority class + linear model on mean pose")
    p.add_argument("--data-root", required=True)
    p.add_argument("--dataset", default="jpl_social")
    p.add_argument("--train-split", default="train")
    p.add_argument("--split", default="test")
    p.add_argument("--skip-bad", action="store_true")
    p.add_argument("--out", help="write baseline.json / baseline.md here")
    p.set_defaults(func=run_baseline)


def run_baseline(args) -> int:
    from socialego_core.labels import get_label_table

    from socialego_training.baseline import linear_baseline, majority_baseline
    from socialego_training.data import load_split
    from socialego_training.datasets import STUDENT_SPEC, PoseWindowDataset
    from socialego_training.metrics import metrics_table

    table = get_label_table(args.dataset)
    sets = []
    for split in (args.train_split, args.split):
        loaded = load_split(args.data_root, split, args.dataset, skip_bad=args.skip_bad)
        sets.append(PoseWindowDataset(loaded.tracks, STUDENT_SPEC))
    rows = {
        "majority class": majority_baseline(*sets, table),
        "linear (mean pose)": linear_baseline(*sets, table),
    }
    text = metrics_table(rows)
    print(text)
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "baseline.json").write_text(json.dumps(rows, indent=1))
        (Path(args.out) / "baseline.md").write_text(text + "\n")
    return 0
