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
import importlib
import shutil
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from rclpy.utilities import remove_ros_args
from rosgraph_msgs.msg import Clock
from socialego_core import topics
from socialego_core.bags.io import BagWriter
from socialego_core.labels import TASKS
from socialego_core.topics import IMAGE_TYPES
from socialego_ros.qos import LATCHED

from socialego_inference.pipeline import NodeError, NodeProcesses, camera_of_bag

# message types of the topics recorded, by relative name (socialego_core.topics)
KNOWN_TYPES = {
    topics.INTENTS: "socialego_msgs/msg/SocialIntentArray",
    topics.POSES: "socialego_msgs/msg/WholeBodyPoseArray",
    topics.MODEL_INFO: "socialego_msgs/msg/ModelInfo",
    topics.DIAGNOSTICS: "diagnostic_msgs/msg/DiagnosticArray",
}
NS = 1_000_000_000

RELIABLE = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=100, reliability=ReliabilityPolicy.RELIABLE
)


class ReplayError(RuntimeError):
    pass


def message_class(msgtype: str) -> Any:
    """``pkg/msg/Name`` -> the rclpy message class (the package must be built and sourced)."""
    package, _, name = msgtype.split("/")
    try:
        return getattr(importlib.import_module(f"{package}.msg"), name)
    except (ImportError, AttributeError) as error:
        raise ReplayError(
            f"message type {msgtype} is not available to rclpy ({error}); build and source the "
            "workspace (source setup.env)"
        ) from error


class BagReplay:
    """Plays one bag and records the outputs; ``run()`` returns the recorded message counts."""

    def __init__(
        self,
        bag: Path,
        out: Path | None,
        *,
        rate: float = 1.0,
        record: list[str] | None = None,
        wait_for_subscribers: list[str] | None = None,
        wait_for_publishers: list[str] | None = None,
        wait_timeout_s: float = 120.0,
        warmup_s: float = 1.0,
        tail_s: float = 2.0,
        clock_hz: float = 100.0,
        show: bool = False,
        quiet: bool = False,
        lockstep: bool = False,
        lockstep_timeout_s: float = 5.0,
        namespace: str = "",
        camera: str | None = None,
        video: Path | None = None,
    ) -> None:
        if rate <= 0:
            raise ReplayError(f"--rate must be positive, got {rate}")
        from rosbags.rosbag2 import Reader

        if not bag.exists():
            raise ReplayError(f"bag {bag} does not exist")
        ns = topics.namespace_of(namespace)  # ValueError names a bad namespace
        self.intents, self.poses, self.model_info = (
            topics.absolute(t, ns) for t in (topics.INTENTS, topics.POSES, topics.MODEL_INFO)
        )
        self.ground_truth = {
            topics.absolute(t, ns) for t in (topics.GROUND_TRUTH, topics.GROUND_TRUTH_POSES)
        }
        self.known_types = {topics.absolute(t, ns): ty for t, ty in KNOWN_TYPES.items()}
        self.reader = Reader(bag)
        self.reader.open()
        self.bag = bag
        self.rate = rate
        self.warmup_s, self.tail_s, self.clock_hz = warmup_s, tail_s, clock_hz
        self.wait_timeout_s = wait_timeout_s
        self.quiet = quiet
        # lockstep: the next image waits until the pose node answered the previous one, with
        # simulated time paused meanwhile, so scores do not depend on how fast this machine is
        self.lockstep, self.lockstep_timeout_s = lockstep, lockstep_timeout_s
        # the bag's topics by the name they are played under (its /socialego/... ones moved
        # into the namespace), and the name each has in the bag
        self.bag_name = {topics.in_namespace(c.topic, ns): c.topic for c in self.reader.connections}
        in_bag = {topics.in_namespace(c.topic, ns): c.msgtype for c in self.reader.connections}
        cameras = [t for t, ty in in_bag.items() if ty in IMAGE_TYPES]
        if camera is not None and camera not in cameras:
            raise ReplayError(f"bag {bag} has no image topic {camera} (image topics: {cameras})")
        self.cameras = [camera] if camera is not None else cameras
        if record is None:
            record = [self.intents, self.model_info] + ([self.poses] if cameras else [])
        self.record_topics = record
        # topics the nodes produce are recorded, not played; /clock is ours
        self.play_topics = {t: ty for t, ty in in_bag.items() if t not in record and t != "/clock"}
        if not self.play_topics:
            raise ReplayError(f"bag {bag} has nothing to play (topics: {sorted(in_bag)})")
        if wait_for_subscribers is None:
            wait_for_subscribers = [t for t in self.cameras if t in self.play_topics]
            if not wait_for_subscribers and self.poses in self.play_topics:
                wait_for_subscribers = [self.poses]
        self.wait_for_subscribers = wait_for_subscribers
        self.wait_for_publishers = (
            [self.intents]
            if wait_for_publishers is None and self.intents in record
            else wait_for_publishers or []
        )
        self.node = rclpy.create_node("socialego_bag_replay")
        self.clock_pub = self.node.create_publisher(Clock, "/clock", 10)
        self.publishers = {
            t: self.node.create_publisher(message_class(ty), t, RELIABLE)
            for t, ty in self.play_topics.items()
        }
        self.writer = BagWriter(out).__enter__() if out is not None else None
        if self.writer is not None:
            self.writer.set_custom_data("socialego.replay_rate", str(rate))
            self.writer.set_custom_data("socialego.input_bag", str(bag))
        self.lock = threading.Lock()
        self.recorded: Counter[str] = Counter()
        self.published: Counter[str] = Counter()
        self.t_first = self.reader.start_time
        self.t_last = self.reader.end_time
        self.wall0: float | None = None
        self.last_clock = 0
        self.table = None
        if show:
            from socialego_inference.intent_table import IntentTable

            self.table = IntentTable()
        self.video = None
        if video is not None:
            if not self.cameras or self.poses not in record:
                raise ReplayError(f"--video needs a camera bag and {self.poses} recorded")
            from socialego_inference.annotated_video import AnnotatedVideo, VideoError

            camera_topics = {self.bag_name[t] for t in self.cameras}
            images = sum(c.msgcount for c in self.reader.connections if c.topic in camera_topics)
            seconds = max((self.reader.end_time - self.reader.start_time) / NS, 1e-3)
            try:
                self.video = AnnotatedVideo(video, fps=min(max(images / seconds, 1.0), 60.0))
            except VideoError as error:
                raise ReplayError(str(error)) from error
        self.subscriptions = []
        self._pending_types = list(record)

    # -- time ----------------------------------------------------------------------------------
    def sim_now(self) -> int:
        if self.wall0 is None:
            return self.t_first
        return self.t_first + round((time.monotonic() - self.wall0) * self.rate * NS)

    def publish_clock(self, t_ns: int) -> None:
        t_ns = max(t_ns, self.last_clock)
        self.last_clock = t_ns
        msg = Clock()
        msg.clock.sec, msg.clock.nanosec = divmod(t_ns, NS)
        self.clock_pub.publish(msg)

    # -- recording -----------------------------------------------------------------------------
    def _subscribe(self, topic: str, msgtype: str) -> None:
        cls = message_class(msgtype)
        qos = LATCHED if topic == self.model_info else RELIABLE

        def on_message(data: bytes, topic: str = topic, msgtype: str = msgtype) -> None:
            t = self.sim_now()
            with self.lock:
                if self.writer is not None:
                    self.writer.write_raw(topic, msgtype, data, t)
                self.recorded[topic] += 1
                if self.video is not None and topic in (self.poses, self.intents, self.model_info):
                    self._to_video(topic, deserialize_message(data, cls))
                if self.table is not None:
                    if topic == self.intents:
                        self.table.update(deserialize_message(data, cls))
                    elif topic == self.model_info:
                        self.table.set_model_info(deserialize_message(data, cls))

        self.subscriptions.append(
            self.node.create_subscription(cls, topic, on_message, qos, raw=True)
        )

    def _to_video(self, topic: str, msg: Any) -> None:
        """Feed the video writer (called with the lock held)."""
        if topic == self.poses:
            self.video.poses(msg)
        elif topic == self.intents:
            self.video.intents_array(msg)
        else:
            self.video.model_info(msg)

    def _resolve_record_types(self) -> None:
        graph = dict(self.node.get_topic_names_and_types())
        still = []
        for topic in self._pending_types:
            msgtype = self.known_types.get(topic) or next(iter(graph.get(topic, [])), None)
            if msgtype is None:
                still.append(topic)
            else:
                self._subscribe(topic, msgtype)
        self._pending_types = still

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.wait_timeout_s
        self._resolve_record_types()
        while True:
            self.publish_clock(self.t_first)  # nodes under sim time start at the bag's first stamp
            if self._pending_types:
                self._resolve_record_types()
            missing = [
                f"a subscriber on {t}"
                for t in self.wait_for_subscribers
                if self.node.count_subscribers(t) == 0
            ] + [
                f"a publisher on {t}"
                for t in self.wait_for_publishers
                if self.node.count_publishers(t) == 0
            ]
            if not missing and not self._pending_types:
                break
            if time.monotonic() > deadline:
                raise ReplayError(
                    f"gave up after {self.wait_timeout_s:.0f} s waiting for "
                    f"{', '.join(missing + [f'the type of {t}' for t in self._pending_types])}: "
                    "are the nodes running (use_sim_time:=true), with matching topic names?"
                )
            time.sleep(0.1)
        # both ends of each new connection need a moment to match
        settle = time.monotonic() + self.warmup_s
        while time.monotonic() < settle:
            self.publish_clock(self.t_first)
            time.sleep(0.05)

    # -- playing -------------------------------------------------------------------------------
    def _copy_ground_truth(self, topic: str, msgtype: str, t_ns: int, data: bytes) -> None:
        if (
            self.writer is not None
            and topic in self.ground_truth
            and topic not in self.record_topics
        ):
            with self.lock:
                self.writer.write_raw(topic, msgtype, data, t_ns)

    def _sleep_until(self, wall_target: float) -> None:
        period = 1.0 / self.clock_hz
        while True:
            now = time.monotonic()
            if now >= wall_target:
                return
            self.publish_clock(self.sim_now())
            time.sleep(min(period, wall_target - now))

    def _wait_for_poses(self, count_before: int) -> None:
        """Hold simulated time until a new pose array is recorded (or the timeout passes)."""
        paused = time.monotonic()
        deadline = paused + self.lockstep_timeout_s
        # no /clock while waiting: time stands still, and fewer clock callbacks leave the
        # nodes' executors free for the image
        while self.recorded[self.poses] == count_before and time.monotonic() < deadline:
            time.sleep(0.002)
        self.wall0 += time.monotonic() - paused  # simulated time did not run while waiting

    def play(self) -> None:
        played = {bag_topic: topic for topic, bag_topic in self.bag_name.items()}
        connections = [c for c in self.reader.connections if played.get(c.topic) in self.publishers]
        self.wall0 = time.monotonic()
        for connection, t_ns, data in self.reader.messages(connections=connections):
            topic = played[connection.topic]
            self._sleep_until(self.wall0 + (t_ns - self.t_first) / (self.rate * NS))
            self.publish_clock(max(self.sim_now(), t_ns))
            poses_before = self.recorded[self.poses]
            if self.video is not None and topic in self.cameras:
                image = deserialize_message(bytes(data), message_class(connection.msgtype))
                with self.lock:
                    self.video.image(image)
            self.publishers[topic].publish(bytes(data))
            if self.lockstep and topic in self.cameras and self.poses in self.record_topics:
                self._wait_for_poses(poses_before)
            self.published[topic] += 1
            self._copy_ground_truth(topic, connection.msgtype, t_ns, bytes(data))
        # let the nodes finish: simulated time runs on past the last message
        self._sleep_until(
            self.wall0 + (self.t_last - self.t_first + self.tail_s * NS) / (self.rate * NS)
        )

    def run(self) -> Counter[str]:
        executor = SingleThreadedExecutor()
        executor.add_node(self.node)
        spinner = threading.Thread(target=executor.spin, daemon=True)
        spinner.start()
        live = None
        try:
            self.wait_until_ready()
            if self.table is not None:
                from rich.live import Live

                from socialego_inference.intent_table import table_console

                def renderable() -> Any:
                    with self.lock:
                        seconds = max(0.0, (self.sim_now() - self.t_first) / NS)
                        self.table.caption = (
                            f"{self.bag.name}: {seconds:5.1f} s of "
                            f"{(self.t_last - self.t_first) / NS:.1f} s  |  "
                            f"{self.table.model or 'waiting for model_info'}"
                        )
                        return self.table.render()

                live = Live(
                    get_renderable=renderable, console=table_console(), refresh_per_second=4
                )
                live.start()
            self.play()
            time.sleep(0.3)  # the last outputs in flight
        finally:
            if live is not None:
                live.stop()
            executor.shutdown(timeout_sec=1.0)
            spinner.join(timeout=2.0)  # a thread still in spin() at exit aborts the process
            self.node.destroy_node()
            self.reader.close()
            if self.video is not None:
                with self.lock:
                    frames = self.video.close()
                if not self.quiet:
                    print(f"video: {frames} annotated frames in {self.video.path}")
            if self.writer is not None:
                with self.lock:
                    self.writer.__exit__(None, None, None)
                if self.wall0 is None:  # never started playing: leave no empty bag behind
                    shutil.rmtree(self.writer.path, ignore_errors=True)
        return self.recorded


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
