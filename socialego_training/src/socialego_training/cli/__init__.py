"""``socialego-train``: SocialEgo training, evaluation and export, one small function per
subcommand.

To add a subcommand: write ``add_<name>(subparsers)`` that creates its parser and sets
``func=<runner>`` (import heavy modules inside the runner, so ``--help`` stays fast), then list it
in ``SUBCOMMANDS``. Student commands are in ``student.py``, calibrating an artifact in
``calibrate.py``, the teacher's, distillation and the robustness study in ``teacher.py``,
synthetic data in ``socialego_training.synthetic.cli``.
"""

from __future__ import annotations

import argparse
import sys

from socialego_training.synthetic.cli import add_synth

from .calibrate import add_calibrate
from .compare import add_compare
from .student import add_baseline, add_bench, add_evaluate, add_export, add_sweep, add_train
from .teacher import add_distill, add_study, add_train_teacher

SUBCOMMANDS = [
    add_train,
    add_evaluate,
    add_compare,
    add_sweep,
    add_export,
    add_bench,
    add_baseline,
    add_train_teacher,
    add_distill,
    add_study,
    add_synth,
    add_calibrate,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="socialego-train", description="SocialEgo training, evaluation and export"
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        # DatasetError / ArtifactError / config errors: one clear line, no traceback
        print(f"socialego-train {args.command}: error: {exc}", file=sys.stderr)
        return 1
