"""Start and stop the SocialEgo nodes as a child process (for bag replays, the demo and tests).

Runs the installed ``socialego_all`` executable (pose + intent nodes in one process; ``--no-pose``
for pose bags) with ``use_sim_time``, the camera topic remapped (raw or compressed) and an
optional namespace, its output to a log file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from socialego_core import topics
from socialego_core.bags.io import bag_topics
from socialego_core.topics import IMAGE_TYPES


class NodeError(RuntimeError):
    pass


def executable(package: str, name: str) -> str:
    """Path of an installed ROS executable (``lib/<package>/<name>`` under its prefix)."""
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    try:
        prefix = get_package_prefix(package)
    except PackageNotFoundError as error:
        raise NodeError(
            f"ROS package {package} is not installed; run scripts/setup.sh and source setup.env"
        ) from error
    path = Path(prefix) / "lib" / package / name
    if not path.exists():
        raise NodeError(f"{path} does not exist: rebuild the workspace (scripts/setup.sh)")
    return str(path)


def default_params_file() -> str:
    """The installed ``socialego_bringup/config/socialego.yaml`` ("" when not installed)."""
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

    try:
        path = Path(get_package_share_directory("socialego_bringup")) / "config" / "socialego.yaml"
    except PackageNotFoundError:
        return ""
    return str(path) if path.is_file() else ""


def camera_of_bag(
    bag: str | Path, image_topic: str | None = None, input_type: str | None = None
) -> tuple[str, str] | None:
    """(image topic as ``--image-topic`` takes it, input type) of a bag's camera; None for a
    bag without images. ``image_topic`` / ``input_type`` choose among several cameras or check
    the choice; ValueError names a topic the bag lacks or a type it does not hold."""
    cameras = {t: ty for t, (ty, _) in bag_topics(bag).items() if ty in IMAGE_TYPES}
    if not cameras:
        if image_topic:
            raise ValueError(f"bag {bag} holds no camera images (asked for {image_topic})")
        return None
    candidates = sorted(cameras)
    if image_topic:
        names = (image_topic, image_topic + topics.COMPRESSED_SUFFIX)
        candidates = [t for t in candidates if t in names]
    if input_type is not None:
        wanted = IMAGE_TYPES[topics.INPUT_TYPES.index(input_type)]
        candidates = [t for t in candidates if cameras[t] == wanted]
    if not candidates:
        asked = " ".join(x for x in (input_type or "camera", "image topic", image_topic) if x)
        held = ", ".join(f"{t} ({ty})" for t, ty in sorted(cameras.items()))
        raise ValueError(f"bag {bag} has no {asked} (its image topics: {held})")
    if len(candidates) > 1:
        raise ValueError(
            f"bag {bag} has several image topics ({', '.join(candidates)}): choose one with "
            "--image-topic"
        )
    topic = candidates[0]
    kind = topics.INPUT_TYPES[IMAGE_TYPES.index(cameras[topic])]
    return topic, kind


class NodeProcesses:
    def __init__(
        self,
        nodes: list[str],
        *,
        sim_time: bool = True,
        model_path: str = "",
        params_file: str = "",
        image_topic: str = topics.CAMERA_IMAGE,
        input_type: str = "raw",
        namespace: str = "",
        log_path: Path | None = None,
        extra_ros_args: list[str] | None = None,
        all_frames: bool = True,
        threads: int = 1,
    ) -> None:
        unknown = set(nodes) - {"pose", "intent"}
        if unknown or "intent" not in nodes:
            raise NodeError(f"nodes must be ['intent'] or ['pose', 'intent'], got {nodes}")
        self.nodes = nodes
        self.sim_time = sim_time
        self.model_path = model_path
        self.params_file = params_file or default_params_file()
        # a replay should process every image (reliable, queued) rather than drop to keep up
        self.all_frames = all_frames
        self.image_topic = image_topic
        topics.camera_topics(image_topic, input_type)  # ValueError names a bad input type
        self.input_type = input_type
        self.namespace = topics.namespace_of(namespace)
        self.extra_ros_args = list(extra_ros_args or [])
        self.threads = threads  # socialego_all --threads (1: the single-threaded executor)
        if log_path is None:
            handle, name = tempfile.mkstemp(prefix="socialego_nodes_", suffix=".log")
            os.close(handle)
            log_path = Path(name)
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        cmd = [executable("socialego_inference", "socialego_all")]
        if "pose" not in self.nodes:
            cmd.append("--no-pose")
        else:
            cmd += ["--image-topic", self.image_topic, "--input-type", self.input_type]
        if self.threads != 1:
            cmd += ["--threads", str(self.threads)]
        cmd += ["--ros-args", "-p", f"use_sim_time:={'true' if self.sim_time else 'false'}"]
        if self.params_file:
            cmd += ["--params-file", self.params_file]
        if self.model_path or self.all_frames:
            # a later params file beats the node-specific entries of the first (-p would not)
            cmd += ["--params-file", str(self._override_params())]
        if self.namespace != "/":
            cmd += ["-r", f"__ns:={self.namespace}"]
        cmd += self.extra_ros_args
        return cmd

    def _override_params(self) -> Path:
        text = ""
        if self.all_frames:
            text += (
                "/**/pose_node:\n  ros__parameters:\n    image_reliability: reliable\n"
                "    image_qos_depth: 30\n"
            )
        if self.model_path:
            model = json.dumps(self.model_path)  # a JSON string is a valid YAML scalar
            text += f"/**/intent_node:\n  ros__parameters:\n    model_path: {model}\n"
        path = self.log_path.with_suffix(".params.yaml")
        path.write_text(text, encoding="utf-8")
        return path

    def start(self) -> None:
        env = dict(os.environ)
        env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115 (lives as long as the child)
        self.process = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        log.close()

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise NodeError(
                f"the nodes exited with code {self.process.returncode}; log: {self.log_path}\n"
                + self.log_tail()
            )

    def log_tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8").splitlines()[-lines:])
        except OSError:
            return ""

    def print_log_tail(self) -> None:
        print(f"--- last lines of the node log {self.log_path} ---\n{self.log_tail()}")

    def stop(self, timeout_s: float = 10.0) -> int | None:
        """SIGINT (clean lifecycle shutdown), then SIGTERM, then SIGKILL; returns the exit code."""
        if self.process is None:
            return None
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            if self.process.poll() is not None:
                break
            try:
                self.process.send_signal(sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + timeout_s / 2
            while self.process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
        return self.process.wait()
