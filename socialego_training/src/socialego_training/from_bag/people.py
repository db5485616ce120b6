"""The people of one recorded frame: from its image through the pose node's own pipeline, or
from a recorded WholeBodyPoseArray as it is.

Images run ``socialego_perception.pipeline.PosePipeline`` (the pose node's backend, tracker and
face/hand crops, configured from the pose node's parameter table, defaults included) and the
keypoints are taken as the node publishes them. Both paths then pass through the checks of the
one pose reader (``socialego_core.pose_reader``), as the intent node does on the robot, so
training poses and their confidence scores are those the model sees at run time.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import yaml
from PIL import Image
from socialego_core.layouts import COCO_WHOLEBODY133, Layout
from socialego_core.pose_reader import Problem, clean_keypoints, read_pose_array

from .sources import InputError, Item

ROS_ONLY_PARAMS = ("use_sim_time", "qos_overrides", "start_type_description_service")
TRACK_STATE_COASTING = 3  # WholeBodyPose.TRACK_STATE_COASTING
PERCEPTION_MISSING = (
    "reading images needs the pose node's code (socialego_perception: pose backends, tracker), "
    "which is not importable here: {error}. Run from the ROS workspace (source setup.env after "
    "scripts/setup.sh), or turn recorded poses into a dataset with --poses-topic"
)


@dataclass
class Person:
    track_id: str
    keypoints: np.ndarray  # (133, 3) float32 pixels (x, y, score), after the reader's checks
    box: tuple[float, float, float, float]  # x, y, w, h
    score: float


@dataclass
class Frame:
    """One kept frame of a recording."""

    size: tuple[int, int]  # (W, H)
    people: list[Person]
    problems: list[Problem] = field(default_factory=list)
    jpeg: bytes | None = None  # the frame as JPEG (image sources)


def _perception():
    """socialego_perception's modules, or a RuntimeError saying what is missing and why."""
    try:
        from socialego_perception import conversions, params, pipeline
    except ImportError as error:
        raise RuntimeError(PERCEPTION_MISSING.format(error=error)) from error
    return conversions, params, pipeline


def pose_settings(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The pose node's parameters (its defaults, then ``overrides``), validated by its table;
    ValueError lists every problem."""
    _, params, pipeline = _perception()
    from socialego_ros.params import validate_all

    values = dict(overrides or {})
    specs = {s.name: s for s in params.POSE_PARAMS}
    values = {k: specs[k].coerce(v) if k in specs else v for k, v in values.items()}
    problems = validate_all(params.POSE_PARAMS, values)
    if problems:
        raise ValueError("pose node parameters: " + "; ".join(problems))
    return pipeline.default_pose_config() | values


def node_params_file(path: str) -> dict[str, Any]:
    """Parameter values from a ROS parameter YAML (``pose_node: ros__parameters: ...``, in any
    namespace or wildcard; a file of one node may name it otherwise) or a flat mapping."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"pose parameters file {path}: {error}") from error
    if not isinstance(data, dict):
        raise ValueError(f"pose parameters file {path}: not a mapping")

    blocks: dict[str, dict] = {}  # node name (as written) -> its ros__parameters

    def collect(node: Any, name: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("ros__parameters"), dict):
                blocks[name] = node["ros__parameters"]
            for key, value in node.items():
                if key != "ros__parameters":
                    collect(value, f"{name}/{key}" if name else str(key))

    collect(data, "")
    if not blocks:
        values = data  # a flat mapping of parameter values
    else:
        ours = [n for n in blocks if n.rstrip("/").endswith("pose_node")]
        if len(ours) != 1 and len(blocks) != 1:
            raise ValueError(
                f"pose parameters file {path}: cannot tell which node is the pose node among "
                f"{sorted(blocks)}"
            )
        values = blocks[ours[0]] if len(ours) == 1 else next(iter(blocks.values()))
    return {k: v for k, v in values.items() if k not in ROS_ONLY_PARAMS}


class ImagePeople:
    """Images -> people, through the pose node's pipeline built from ``settings``."""

    def __init__(self, settings: Mapping[str, Any], jpeg_quality: int = 90) -> None:
        self.conversions, _, self._module = _perception()
        self.settings = dict(settings)
        self.pipeline = self._module.PosePipeline(self.settings)
        self._published = self._module.published_pose
        self.jpeg_quality = jpeg_quality

    @property
    def description(self) -> dict[str, Any]:
        """Backend, device and what it fills (stored in dataset.json)."""
        return {
            "backend": self.settings["backend"],
            "device": self.pipeline.device,
            "provides": list(self.pipeline.provides),
        }

    def reset(self) -> None:
        """A new recording: a fresh pipeline (tracks, and any state a backend keeps from image
        to image), so a recording's output does not depend on the recordings before it."""
        self.pipeline.close()
        self.pipeline = self._module.PosePipeline(self.settings)

    def frame(self, item: Item, kind: str, bag, topic: str) -> Frame:
        """InputError (bag, topic, index) for an image that cannot be used or a backend error."""
        max_pixels = self.settings["max_image_pixels"]
        jpeg = None
        try:
            if kind == "compressed":
                rgb = self.conversions.compressed_to_rgb(item.message, max_pixels)
                data = bytes(item.message.data)
                if data[:2] == b"\xff\xd8":
                    jpeg = data  # already a JPEG: stored as recorded
            else:
                rgb = self.conversions.image_to_rgb(item.message, max_pixels)
        except self.conversions.ImageConversionError as error:
            raise InputError(bag, f"image dropped: {error}", topic, item.index) from error
        try:
            result = self.pipeline.process(
                rgb, self.settings["publish_coasting"], stamp_s=item.stamp_ns / 1e9
            )
        except Exception as error:  # noqa: BLE001 - as the node: one image, named
            raise InputError(
                bag, f"pose backend failed on the image: {error!r}", topic, item.index
            ) from error
        height, width = rgb.shape[:2]
        frame = Frame((int(width), int(height)), [])
        if result.face_hands_error is not None:
            text = f"face/hand crops failed: {result.face_hands_error!r}"
            frame.problems.append(Problem("face_hands_error", text))
        for person in result.people:
            keypoints, box, score = self._published(person)
            try:
                problems = clean_keypoints(keypoints, float(width), float(height))
            except ValueError as error:  # no finite keypoint: not an observation
                frame.problems.append(Problem("no_finite_keypoints", str(error)))
                continue
            frame.problems += problems
            frame.people.append(Person(person.track_id, keypoints, box, score))
        if jpeg is None:
            buffer = io.BytesIO()
            Image.fromarray(np.ascontiguousarray(rgb)).save(
                buffer, format="JPEG", quality=self.jpeg_quality
            )
            jpeg = buffer.getvalue()
        frame.jpeg = jpeg
        return frame

    def close(self) -> None:
        self.pipeline.close()


def to_wholebody(keypoints: np.ndarray, layout: Layout) -> np.ndarray:
    """(N, 3) keypoints of ``layout`` -> (133, 3) COCO-WholeBody by joint name (missing: 0)."""
    if layout.code == COCO_WHOLEBODY133.code:
        return keypoints
    out = np.zeros((COCO_WHOLEBODY133.num_joints, 3), dtype=np.float32)
    for i, name in enumerate(layout.joint_names):
        if name in COCO_WHOLEBODY133.joint_names:
            out[COCO_WHOLEBODY133.index(name)] = keypoints[i]
    return out


def recorded_people(item: Item) -> Frame:
    """A recorded WholeBodyPoseArray -> its people, through the pose reader's checks.

    Poses the reader refuses are left out (and reported); COASTING poses are left out as the
    intent node leaves them out by default (they repeat the last observation).
    """
    message = item.message
    readings, problems = read_pose_array(
        message, skip=lambda pose: pose.track_state == TRACK_STATE_COASTING
    )
    sizes = {(int(r.pose.image_width), int(r.pose.image_height)) for r in readings}
    frame = Frame(max(sizes) if sizes else (0, 0), [], list(problems))
    for reading in readings:
        pose = reading.pose
        frame.people.append(
            Person(
                reading.track_id,
                to_wholebody(reading.keypoints, reading.layout),
                (
                    float(pose.bbox_x),
                    float(pose.bbox_y),
                    float(pose.bbox_width),
                    float(pose.bbox_height),
                ),
                float(pose.detection_score),
            )
        )
    return frame
