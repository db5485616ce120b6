"""``socialego-train from-bag``: robot recordings (rosbag2 bags) -> an unlabelled dataset."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from socialego_core.bags.typestore import POSES_TOPIC

from .common import INTERRUPTED_EXIT


def _fractions(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        msg = f"expected 3 fractions like 0.7,0.15,0.15: {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"expected 3 fractions (train,val,test), got {text!r}")
    return values


def _assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def add_from_bag(subparsers) -> None:
    p = subparsers.add_parser(
        "from-bag",
        help="turn recordings (rosbag2 bags: camera images or /socialego/poses) into an "
        "unlabelled dataset (docs/own-data.md)",
        description="Each bag is one recording (one video of the dataset). Images run the pose "
        "node's own backend and tracker with its parameter defaults; recorded poses are used as "
        "they are. Rerun the same command to resume an interrupted run.",
    )
    p.add_argument("bags", nargs="+", type=Path, help="bag folders (sqlite3 or MCAP) or files")
    p.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    topic = p.add_mutually_exclusive_group()
    topic.add_argument(
        "--image-topic",
        help="sensor_msgs/Image or CompressedImage topic (default: the bag's only image topic)",
    )
    topic.add_argument(
        "--poses-topic",
        nargs="?",
        const=POSES_TOPIC,
        help=f"use recorded WholeBodyPoseArray poses instead of images (default {POSES_TOPIC})",
    )
    p.add_argument("--fps", type=float, help="keep at most this many frames a second")
    p.add_argument("--min-frames", type=int, default=10, help="drop shorter tracks (default 10)")
    p.add_argument(
        "--split",
        type=_fractions,
        default=[0.7, 0.15, 0.15],
        help="train,validation,test fractions of the recordings (default 0.7,0.15,0.15)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the split by recording")
    p.add_argument("--dataset", default="jpl_social", help="label set: jpl_social | harper")
    p.add_argument("--backend", help="pose backend (the pose node's 'backend' parameter)")
    p.add_argument(
        "--pose-param",
        type=_assignment,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any pose node parameter (repeatable), e.g. min_detection_confidence=0.6",
    )
    p.add_argument(
        "--pose-params",
        metavar="YAML",
        help="the pose node's ROS parameter file (pose_node: ros__parameters: ...)",
    )
    p.add_argument("--jpeg-quality", type=int, default=90, help="of re-encoded frames")
    p.add_argument("--skip-bad", action="store_true", help="skip and list broken input")
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run_from_bag)


def _pose_params(args: argparse.Namespace) -> dict[str, Any]:
    from socialego_training.from_bag.people import node_params_file

    params: dict[str, Any] = node_params_file(args.pose_params) if args.pose_params else {}
    params.update({name: _yaml_scalar(value) for name, value in args.pose_param})
    if args.backend:
        params["backend"] = args.backend
    return params


def _yaml_scalar(text: str) -> Any:
    import yaml

    return yaml.safe_load(text) if text else ""


def run_from_bag(args: argparse.Namespace) -> int:
    from socialego_training.from_bag.dataset import FromBagConfig, build_dataset

    params = _pose_params(args)
    if args.poses_topic and params:
        print("from-bag: pose node parameters are not used with --poses-topic", file=sys.stderr)
        params = {}
    cfg = FromBagConfig(
        bags=args.bags,
        out=args.out,
        image_topic=args.image_topic,
        poses_topic=args.poses_topic,
        fps=args.fps,
        min_frames=args.min_frames,
        split=args.split,
        seed=args.seed,
        dataset=args.dataset,
        pose_params=params,
        jpeg_quality=args.jpeg_quality,
        skip_bad=args.skip_bad,
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )
    try:
        info = build_dataset(cfg)
    except KeyboardInterrupt:
        print(
            f"interrupted: finished recordings are kept in {args.out}; rerun the same command "
            "to resume",
            file=sys.stderr,
        )
        return INTERRUPTED_EXIT
    print(summary_text(info, args.out))
    return 0


def summary_text(info: dict[str, Any], out: Path) -> str:
    """What a run made, in a few lines."""
    splits = info["splits"]
    lines = [
        f"wrote {out}: {info['n_tracks']} unlabelled tracks from {info['n_videos']} recordings "
        f"at {info['fps']:g} fps ({info['source']['kind']})",
        "  by split (recordings / tracks): "
        + ", ".join(f"{s} {v['videos']} / {v['tracks']}" for s, v in splits.items()),
        f"  dropped {info['dropped_short_tracks']} tracks shorter than {info['min_frames']} frames",
    ]
    if info["bad_input"]:
        lines.append(f"  skipped {info['bad_input']} broken inputs (listed in dataset.json)")
    if info["resumed_recordings"]:
        lines.append(
            f"  resumed: {len(info['resumed_recordings'])} recordings were already done and kept"
        )
    empty = [s for s, v in splits.items() if v["tracks"] == 0]
    if empty:
        lines.append(f"  note: no tracks in {', '.join(empty)} (record more bags, or --split)")
    if info["n_tracks"]:
        lines.append(f"  next: label them (socialego-label {out})")
    else:
        lines.append("  no tracks: see the recordings in dataset.json (topics, frames, bad input)")
    return "\n".join(lines)
