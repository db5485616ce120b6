"""Command line of the synthetic data generator (``socialego-train synth`` / ``synth-check``,
or ``python -m socialego_training.synthetic``). Only argparse at import time."""

from __future__ import annotations

import argparse
import json
import sys


def _frame_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"frame size must look like 320x240, got {text!r}"
        ) from None
    return width, height


def _fractions(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"splits must be 3 numbers like 0.6,0.1,0.3, got {text!r}")
    return values  # type: ignore[return-value]


def add_synth_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="output folder (dataset root)")
    p.add_argument("--tracks", type=int, default=300, help="number of person tracks (default 300)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-render", action="store_true", help="skip the video frames (pose only)")
    p.add_argument("--fps", type=float, default=10.0)
    p.add_argument("--frame-size", type=_frame_size, default=(320, 240), help="WxH (320x240)")
    p.add_argument(
        "--splits", type=_fractions, default=(0.6, 0.1, 0.3), help="train,val,test (0.6,0.1,0.3)"
    )
    p.add_argument("--workers", type=int, default=1, help="processes (same output for any value)")
    p.add_argument("--overwrite", action="store_true", help="replace a dataset already in --out")
    p.add_argument("--check", action="store_true", help="then run the learnability check")


def run_synth(args: argparse.Namespace) -> int:
    from socialego_training.synthetic import generate_dataset

    try:
        summary = generate_dataset(
            args.out,
            args.tracks,
            seed=args.seed,
            render=not args.no_render,
            fps=args.fps,
            frame_size=args.frame_size,
            splits=args.splits,
            workers=args.workers,
            overwrite=args.overwrite,
        )
    except FileExistsError as exc:
        print(f"synth: error: {exc}", file=sys.stderr)
        return 1
    counts = {s: v["tracks"] for s, v in summary["splits"].items()}
    print(f"wrote {summary['n_tracks']} tracks in {summary['n_videos']} videos to {args.out}")
    print(f"tracks per split: {json.dumps(counts)}")
    if args.check:
        from socialego_training.synthetic.check import format_results, run_check

        print(format_results(run_check(args.out)))
    return 0


def run_check_cmd(args: argparse.Namespace) -> int:
    from socialego_core.window import WindowSpec

    from socialego_training.synthetic.check import format_results, run_check

    spec = WindowSpec(length=args.length, stride=args.stride)
    results = run_check(args.data_root, args.train_split, args.split, spec)
    print(format_results(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)
    if args.png:
        from socialego_training.synthetic.check import plot_results

        plot_results(results, args.png)
    return 0


def add_check_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-root", required=True)
    p.add_argument("--train-split", default="train")
    p.add_argument("--split", default="test")
    p.add_argument("--length", type=int, default=10, help="window length T (default 10)")
    p.add_argument("--stride", type=int, default=1)
    p.add_argument("--json", help="also write the results as JSON here")
    p.add_argument("--png", help="also write a bar chart (PNG) here")


def add_synth(subparsers) -> None:
    """Register ``synth`` and ``synth-check`` on a subparsers object (used by socialego-train)."""
    p = subparsers.add_parser("synth", help="generate a synthetic JPL-Social-format dataset")
    add_synth_arguments(p)
    p.set_defaults(func=run_synth)
    c = subparsers.add_parser(
        "synth-check", help="is a dataset learnable? trivial / pose-only / pose+face+hands+gaze"
    )
    add_check_arguments(c)
    c.set_defaults(func=run_check_cmd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m socialego_training.synthetic", description="synthetic JPL-Social data"
    )
    add_synth_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_synth(args)
    except ValueError as exc:
        print(f"synth: error: {exc}", file=sys.stderr)
        return 1
