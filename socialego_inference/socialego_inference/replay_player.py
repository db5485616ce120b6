"""The bag player behind ``bag_replay``: plays a bag's inputs and ``/clock`` under simulated
time into the running nodes and records their outputs (see ``bag_replay`` for the command)."""

from __future__ import annotations

import importlib
import shutil
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from rosgraph_msgs.msg import Clock
from socialego_core import topics
from socialego_core.bags.io import BagWriter
from socialego_core.topics import IMAGE_TYPES
from socialego_ros.qos import LATCHED

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
