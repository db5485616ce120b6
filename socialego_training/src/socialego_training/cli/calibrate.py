"""``socialego-train calibrate``: add a fitted calibration to an existing model artifact.

Fits on the data's validation split (by default at the corruption rates the model was trained
at, from its metadata), writes the artifact with ``metadata["calibration"]`` (weights and
version unchanged) and, with ``--report``, compares every method on another split under every
corruption setting of the sweep.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

FIT_CORRUPTION = ("model", "sweep")


def add_calibrate(subparsers) -> None:
    p = subparsers.add_parser(
        "calibrate", help="fit the probability calibration of a model artifact on held-out data"
    )
    p.add_argument("--model", required=True, help="model artifact (.pt) or a training run folder")
    p.add_argument("--data-root", required=True, help="JPL-Social-schema dataset root")
    p.add_argument("--split", default="validation", help="split to fit on (default validation)")
    p.add_argument("--dataset", default=None, help="jpl_social | harper (default: model's)")
    p.add_argument("--skip-bad", action="store_true", help="skip and list broken files")
    p.add_argument("--out", required=True, help="calibrated artifact (.pt); may equal --model")
    p.add_argument(
        "--method",
        default="temperature",
        help="temperature | vector | isotonic (default temperature)",
    )
    p.add_argument(
        "--fit-corruption",
        default="model",
        choices=FIT_CORRUPTION,
        help="model: the corruption rates the model was trained at (clean if unknown); "
        "sweep: the split under all 7 sweep settings, pooled",
    )
    p.add_argument("--seed", type=int, default=1234, help="corruption seed")
    p.add_argument(
        "--report", help="also compare every method on --compare-split, per sweep setting, here"
    )
    p.add_argument("--compare-split", default="test")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:N] (default auto)")
    p.set_defaults(func=run_calibrate)


def _fit_settings(kind: str, meta: dict) -> list[tuple[float, float]]:
    from socialego_core.corruption import CORRUPTION_SETTINGS

    if kind == "sweep":
        return list(CORRUPTION_SETTINGS.values())
    config = meta.get("training", {}).get("config", {})
    return [(float(config.get("joint_rate", 0.0)), float(config.get("frame_rate", 0.0)))]


def run_calibrate(args: argparse.Namespace) -> int:
    # heavy imports here, so that `socialego-train --help` stays fast
    from socialego_core.artifact import resolve_device
    from socialego_core.calibration import METHODS

    from socialego_training.calibrate import calibrate_artifact, calibrate_model, data_record

    from .student import _load_eval_data, _load_model_and_meta

    if args.method not in METHODS:
        raise ValueError(f"--method {args.method!r} is unknown; known: {', '.join(METHODS)}")
    model, meta, spec, labels, path = _load_model_and_meta(args.model)
    device = resolve_device(args.device)
    model = model.to(device)
    dataset = _load_eval_data(args, spec, args.dataset or labels.dataset)
    settings = _fit_settings(args.fit_corruption, meta)
    record = data_record(args.data_root, args.split, dataset, settings, args.seed)
    calibration = calibrate_model(model, dataset, args.method, record, settings, args.seed, device)
    calibrate_artifact(path, args.out, calibration)
    print(f"wrote {args.out} (version {meta['version']}, calibration {calibration.method})")
    for task, entry in calibration.to_metadata()["tasks"].items():
        fit = calibration.extra["fit_measures"][task]
        params = {k: v for k, v in entry.items() if k not in ("method", "x", "y")}
        print(
            f"  {task}: {params or entry['method']}  NLL on the fit data "
            f"{fit['before']['nll']:.4f} -> {fit['after']['nll']:.4f}, "
            f"ECE {fit['before']['ece']:.4f} -> {fit['after']['ece']:.4f}"
        )
    if args.report:
        _write_method_report(args, model, spec, labels, settings, device)
    return 0


def _write_method_report(args, model, spec, labels, settings, device) -> None:
    from socialego_core.corruption import CORRUPTION_SETTINGS, SETTING_TITLES

    from socialego_training.calibrate import compare_methods, split_logits

    from .student import _load_eval_data

    fit_data = split_logits(model, _load_eval_data(args, spec, labels.dataset), settings,
                            args.seed, device)  # fmt: skip
    compare_args = argparse.Namespace(**{**vars(args), "split": args.compare_split})
    test_set = _load_eval_data(compare_args, spec, args.dataset or labels.dataset)
    results = {}
    for name, rates in CORRUPTION_SETTINGS.items():
        test_data = split_logits(model, test_set, [rates], args.seed, device)
        results[SETTING_TITLES[name]] = compare_methods(fit_data, test_data)
    out = Path(args.report)
    out.mkdir(parents=True, exist_ok=True)
    (out / "methods.json").write_text(json.dumps(results, indent=1))
    text = _methods_table(results)
    (out / "methods.md").write_text(
        f"Calibration methods fitted on {args.split} ({args.fit_corruption} corruption) and "
        f"measured on {args.compare_split} ({len(test_set)} windows) under each sweep setting. "
        "ECE / NLL / Brier, lower is better.\n\n" + text + "\n"
    )
    print(text)


def _methods_table(results: dict) -> str:
    from socialego_core.labels import TASKS

    methods = list(next(iter(results.values())))
    header = ["setting", "task"] + [f"{m} ECE / NLL / Brier" for m in methods]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for setting, per_method in results.items():
        for task in TASKS:
            cells = [
                " / ".join(f"{per_method[m][task][k]:.3f}" for k in ("ece", "nll", "brier"))
                for m in methods
            ]
            lines.append(f"| {setting} | {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
