"""``socialego-bag`` (or ``python -m socialego_training.bags``): make bags and score them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from socialego_core.bags.io import bag_topics
from socialego_core.bags.report import write_report
from socialego_core.bags.scoring import score_bag
from socialego_core.bags.typestore import IMAGE_TOPIC
from socialego_core.labels import TASKS

from .convert import split_to_bag, video_to_bag


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="socialego-bag", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    split = sub.add_parser("from-split", help="convert a labelled dataset split into an MCAP bag")
    split.add_argument("root", type=Path, help="dataset root (holds <split>/ and videos/)")
    split.add_argument("--split", default="test")
    split.add_argument("--out", type=Path, required=True, help="new bag folder")
    split.add_argument("--poses-only", action="store_true", help="poses instead of images")
    split.add_argument("--dataset", default=None, help="label table (default: dataset.json)")
    split.add_argument("--fps", type=float, default=None, help="default: dataset.json or 30")
    split.add_argument("--gap", type=float, default=1.0, help="seconds between videos")
    split.add_argument("--max-videos", type=int, default=None)
    split.add_argument("--max-width", type=int, default=None, help="downscale wider images")
    split.add_argument("--image-topic", default=IMAGE_TOPIC)
    split.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap")
    split.add_argument(
        "--compressed", action="store_true", help="JPEG CompressedImage on <image-topic>/compressed"
    )

    video = sub.add_parser("from-video", help="convert a video file into a camera bag")
    video.add_argument("video", type=Path)
    video.add_argument("--out", type=Path, required=True, help="new bag folder")
    video.add_argument("--max-width", type=int, default=640, help="downscale wider frames")
    video.add_argument("--fps", type=float, default=None, help="drop frames down to this rate")
    video.add_argument("--max-seconds", type=float, default=None)
    video.add_argument("--image-topic", default=IMAGE_TOPIC)
    video.add_argument(
        "--compressed", action="store_true", help="JPEG CompressedImage on <image-topic>/compressed"
    )

    score = sub.add_parser("score", help="score recorded outputs against the ground truth")
    score.add_argument("bag", type=Path, help="bag with /socialego/intents (and the truth)")
    score.add_argument("--truth", type=Path, default=None, help="separate ground-truth bag")
    score.add_argument("--out", type=Path, required=True, help="report folder")
    score.add_argument(
        "--min-overlap", type=float, default=0.5, help="box intersection over the smaller box"
    )
    score.add_argument("--tolerance-ms", type=float, default=20.0)
    score.add_argument("--title", default="SocialEgo bag evaluation")
    score.add_argument(
        "--namespace", default="", help="the nodes' namespace (<ns>/socialego/... in the bag)"
    )

    info = sub.add_parser("info", help="list a bag's topics")
    info.add_argument("bag", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "from-split":
            summary = split_to_bag(
                args.root,
                args.split,
                args.out,
                images=False if args.poses_only else None,
                fps=args.fps,
                gap_s=args.gap,
                dataset=args.dataset,
                max_videos=args.max_videos,
                max_width=args.max_width,
                image_topic=args.image_topic,
                storage=args.storage,
                compressed=args.compressed,
            )
            print(
                f"wrote {summary.path}: {summary.tracks} tracks in {summary.videos} videos, "
                f"{summary.duration_s:.1f} s, {'images' if summary.images else 'poses'}, "
                f"messages {summary.messages}"
            )
        elif args.command == "from-video":
            summary = video_to_bag(
                args.video,
                args.out,
                max_width=args.max_width,
                fps=args.fps,
                max_seconds=args.max_seconds,
                image_topic=args.image_topic,
                compressed=args.compressed,
            )
            print(f"wrote {summary.path}: {summary.duration_s:.1f} s, messages {summary.messages}")
        elif args.command == "score":
            evaluation = score_bag(
                args.bag,
                args.truth,
                min_overlap=args.min_overlap,
                tolerance_ms=args.tolerance_ms,
                namespace=args.namespace,
            )
            report = write_report(evaluation, args.out, title=args.title)
            final = evaluation.metrics["final"]
            print(json.dumps({t: final[t] for t in TASKS}, indent=None))
            print(f"report: {report}")
        elif args.command == "info":
            for topic, (msgtype, count) in sorted(bag_topics(args.bag).items()):
                print(f"{topic}\t{msgtype}\t{count}")
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"socialego-bag: error: {error}", file=sys.stderr)
        return 2
    return 0
