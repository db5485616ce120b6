"""Helpers shared by the ``socialego-train`` subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

# Exit status of a training command stopped early (kill, Ctrl-C): rerunning it resumes.
INTERRUPTED_EXIT = 3


def device_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda[:N] (default auto)")


def data_args(parser: argparse.ArgumentParser, split: str = "test") -> None:
    parser.add_argument("--data-root", required=True, help="JPL-Social-schema dataset root")
    parser.add_argument("--split", default=split, help=f"split to use (default {split})")
    parser.add_argument("--dataset", default=None, help="jpl_social | harper (default: model's)")
    parser.add_argument("--skip-bad", action="store_true", help="skip and list broken files")


def add_config_command(
    subparsers, name: str, help: str, config_cls: type, func: Callable[[Any], int]
) -> argparse.ArgumentParser:
    """A subcommand configured by a config dataclass: ``--config YAML`` plus one flag per field
    (defaults < YAML < flags)."""
    from socialego_training.config import add_config_args

    p = subparsers.add_parser(name, help=help)
    p.add_argument(
        "--config", help=f"YAML file with {config_cls.__name__} fields (flags override it)"
    )
    add_config_args(p, config_cls)
    p.set_defaults(func=func)
    return p


def run_resumable(train_fn: Callable[[Any], Any], cfg: Any) -> Any | None:
    """``train_fn(cfg)``; None (after saying how to resume) when the run was interrupted."""
    # imported when a command runs (CLI edge): the training loop pulls in torch
    from socialego_training.train import TrainingInterrupted

    try:
        return train_fn(cfg)
    except TrainingInterrupted as exc:
        print(f"interrupted: {exc}; rerun the same command to resume", file=sys.stderr)
        return None


def best_summary(result: Any, prefix: str = "") -> str:
    """One line: the best epoch and its validation accuracy per task."""
    m = result.best_metrics
    return (
        f"{prefix}best epoch {result.best_epoch}: validation accuracy intent "
        f"{m['intent_acc']:.3f} attitude {m['attitude_acc']:.3f} action {m['action_acc']:.3f}"
    )
