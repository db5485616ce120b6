"""Replay a bag through the running SocialEgo nodes under simulated time; record and score them.

A small ``ros2 bag play --clock`` + ``ros2 bag record`` in one rclpy process (neither is needed):
- publishes ``/clock`` (the bag's time, at ``--rate``) and every input topic of the bag at its
  recorded time, as raw CDR (no decoding);
- waits first until the nodes listen (an image or pose topic has a subscriber and
  ``/socialego/intents`` a publisher), so no frame is lost to discovery;
- records the nodes' outputs (``/socialego/intents``, ``/socialego/model_info``, and
  ``/socialego/poses`` for camera bags) into a new MCAP bag, stamped with the simulated receive
  time, and copies the ground-truth topics into it so the result is self-contained;
- optionally shows a live per-person table (``--show``), writes the annotated camera stream as
  a video file (``--video out.mp4``, camera bags) and scores the result (``--score DIR``).
The nodes must run with ``use_sim_time:=true``. ``--start-nodes`` starts them for you.

Any camera bag: the camera is the bag's one image topic, raw (sensor_msgs/Image) or compressed
(CompressedImage); ``--image-topic`` / ``--input-type`` choose it when there are several, and
``--start-nodes`` points the pose node at it. ``--namespace`` runs against nodes in a namespace:
their ``<ns>/socialego/...`` topics are recorded and scored, and the bag's own ``/socialego/...``
topics (poses, ground truth) are played into the namespace.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import rclpy
from rclpy.utilities import remove_ros_args
from socialego_core import topics
from socialego_core.labels import TASKS

from socialego_inference.pipeline import NodeError, NodeProcesses, camera_of_bag
from socialego_inference.replay_player import BagReplay, ReplayError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bag_replay", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("bag", type=Path, help="input bag (folder or .mcap)")
    parser.add_argument("--out", type=Path, default=None, help="new bag for the recorded outputs")
    parser.add_argument("--rate", type=float, default=1.0, help="playback speed factor")
    parser.add_argument(
        "--image-topic",
        default=None,
        help="the bag's camera topic (default: its only image topic); for compressed images "
        "the topic itself or the raw name without /compressed",
    )
    parser.add_argument(
        "--input-type",
        choices=topics.INPUT_TYPES,
        default=None,
        help="raw (sensor_msgs/Image) or compressed (CompressedImage); default: the bag's",
    )
    parser.add_argument(
        "--namespace",
        default="",
        help="namespace of the nodes: record <ns>/socialego/...; the bag's /socialego/... "
        "topics are played into it",
    )
    parser.add_argument("--record", nargs="+", default=None, help="topics to record")
    parser.add_argument(
        "--wait-timeout", type=float, default=120.0, help="seconds to wait for the nodes"
    )
    parser.add_argument(
        "--tail", type=float, default=2.0, help="simulated seconds after the last message"
    )
    parser.add_argument("--show", action="store_true", help="live per-person table in the terminal")
    parser.add_argument(
        "--lockstep",
        action="store_true",
        help="camera bags: publish each image only after the pose node answered the previous "
        "one (simulated time paused meanwhile), so no frame is lost on a slow machine",
    )
    parser.add_argument(
        "--video",
        type=Path,
        default=None,
        help="camera bags: write the annotated stream (boxes, skeletons, decisions) to this "
        "video file (.mp4, .mkv, .avi or .mov); with --lockstep every image is in it",
    )
    parser.add_argument("--score", type=Path, default=None, help="score the outputs, report here")
    parser.add_argument("--title", default=None, help="report title")
    parser.add_argument(
        "--start-nodes",
        action="store_true",
        help="start the pose (camera bags) and intent nodes with use_sim_time",
    )
    parser.add_argument("--model", default="", help="student artifact for --start-nodes")
    parser.add_argument("--params-file", default="", help="ROS parameter YAML for --start-nodes")
    parser.add_argument(
        "--node-log", type=Path, default=None, help="node output file (--start-nodes)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    args = _parser().parse_args(remove_ros_args(argv)[1:])
    if args.score is not None and args.out is None:
        print("bag_replay: error: --score needs --out (the recorded bag to score)", file=sys.stderr)
        return 2
    if not args.bag.exists():
        print(f"bag_replay: error: bag {args.bag} does not exist", file=sys.stderr)
        return 2
    if args.out is not None and args.out.exists():
        print(f"bag_replay: error: {args.out} exists already; choose a new --out", file=sys.stderr)
        return 2
    try:
        namespace = topics.namespace_of(args.namespace)
        camera = camera_of_bag(args.bag, args.image_topic, args.input_type)
    except ValueError as error:
        print(f"bag_replay: error: {error}", file=sys.stderr)
        return 2
    nodes = None
    rclpy.init(args=argv)
    try:
        if args.start_nodes:
            nodes = NodeProcesses(
                ["pose", "intent"] if camera else ["intent"],
                sim_time=True,
                image_topic=camera[0] if camera else topics.CAMERA_IMAGE,
                input_type=camera[1] if camera else "raw",
                namespace=namespace,
                model_path=args.model,
                params_file=args.params_file,
                log_path=args.node_log,
            )
            nodes.start()
        replay = BagReplay(
            args.bag,
            args.out,
            rate=args.rate,
            record=args.record,
            wait_timeout_s=args.wait_timeout,
            tail_s=args.tail,
            show=args.show,
            lockstep=args.lockstep,
            namespace=namespace,
            camera=camera[0] if camera else None,
            video=args.video,
        )
        t0 = time.monotonic()
        recorded = replay.run()
        print(
            f"replayed {sum(replay.published.values())} messages of {args.bag} in "
            f"{time.monotonic() - t0:.1f} s; recorded "
            + (", ".join(f"{t} {n}" for t, n in sorted(recorded.items())) or "nothing")
        )
        if nodes is not None:
            nodes.check_alive()
        empty = [t for t in replay.wait_for_publishers if recorded[t] == 0]
        if empty:
            raise ReplayError(f"no messages recorded on {', '.join(empty)}")
    except (ReplayError, NodeError, ValueError) as error:
        print(f"bag_replay: error: {error}", file=sys.stderr)
        if nodes is not None:
            nodes.print_log_tail()
        return 1
    except KeyboardInterrupt:
        print("bag_replay: interrupted", file=sys.stderr)
        return 130
    finally:
        if nodes is not None:
            nodes.stop()
        if rclpy.ok():
            rclpy.shutdown()
    if args.out is not None:
        print(f"outputs: {args.out}")
    if args.score is not None:
        # scoring pulls scikit-learn and matplotlib: only when asked (start-up time)
        from socialego_core.bags.report import write_report
        from socialego_core.bags.scoring import score_bag

        evaluation = score_bag(args.out, namespace=namespace)
        report = write_report(
            evaluation, args.score, title=args.title or f"Replay of {args.bag.name}"
        )
        final = evaluation.metrics["final"]
        print(
            "scores (final decision per person): "
            + ", ".join(
                f"{task} accuracy {100 * final[task].get('accuracy', 0):.1f}% "
                f"wF1 {100 * final[task].get('weighted_f1', 0):.1f}%"
                for task in TASKS
            )
        )
        print(f"report: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
