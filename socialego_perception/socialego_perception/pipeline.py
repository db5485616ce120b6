"""The pose node's work on one image without ROS: pose backend, tracker, face/hand crops.

Built from the pose node's parameter values (``params.POSE_PARAMS``), so the node and the offline
tools (``socialego-train from-bag`` turning a recording into training data) run the same code
with the same settings, and training poses carry the confidence scores the robot sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from socialego_perception.backends import BackendError, create_backend
from socialego_perception.backends.face_hands import MediaPipeFaceHands
from socialego_perception.params import POSE_PARAMS
from socialego_perception.tracking import CONFIRMED, PoseTracker, TrackedPerson, TrackerConfig


def default_pose_config() -> dict[str, Any]:
    """The pose node's parameter defaults (name -> value)."""
    return {spec.name: spec.default for spec in POSE_PARAMS}


def resolve_onnx_device(device: str) -> tuple[str, str | None]:
    """(device to use, fallback note or None). CUDA needs onnxruntime's CUDA provider."""
    if device == "cpu":
        return "cpu", None
    try:
        import onnxruntime as ort

        has_cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    except ImportError:
        has_cuda = False
    if device == "auto":
        return ("cuda:0" if has_cuda else "cpu"), None
    if not has_cuda:
        return "cpu", f"device {device} requested but no CUDA provider in onnxruntime: using CPU"
    return device, None


def tracker_config(cfg: Mapping[str, Any]) -> TrackerConfig:
    """The tracker settings of a pose-node configuration; ValueError names a bad combination."""
    return TrackerConfig(
        iou_threshold=cfg["tracker_iou_threshold"],
        hit_counter_max=cfg["tracker_hit_counter_max"],
        initialization_delay=cfg["tracker_initialization_delay"],
    )


def backend_device(cfg: Mapping[str, Any]) -> tuple[str, list[str]]:
    """(device the backend runs on, notes on any fallback to log as warnings)."""
    device, note = resolve_onnx_device(cfg["device"])
    notes = [note] if note else []
    if cfg["backend"] == "mediapipe" and cfg["device"].startswith("cuda"):
        notes.append(f"device {cfg['device']}: the mediapipe wheel runs on the CPU only; using CPU")
        device = "cpu"
    return device, notes


def published_pose(
    person: TrackedPerson,
) -> tuple[np.ndarray, tuple[float, float, float, float], float]:
    """What the pose node publishes of a person: (133, 3) float32 keypoints (NaN/inf -> 0),
    its box (x, y, w, h) and its detection score clipped to [0, 1]."""
    keypoints = np.nan_to_num(person.pose.keypoints, nan=0.0, posinf=0.0, neginf=0.0)
    x, y, w, h = person.pose.bbox
    score = float(np.clip(person.pose.score, 0.0, 1.0))
    return keypoints.astype(np.float32), (float(x), float(y), float(w), float(h)), score


@dataclass
class ImageResult:
    """The people of one image to publish, and how the face/hand crops went."""

    people: list[TrackedPerson]
    face_hands_people: int = 0
    face_hands_error: Exception | None = None


class PosePipeline:
    """Backend + tracker (+ face/hands) configured from pose-node parameter values.

    ``ValueError``: invalid tracker settings; ``BackendError``: the backend or the face/hand
    models cannot be set up (the text names which).
    """

    def __init__(self, cfg: Mapping[str, Any]) -> None:
        self.cfg = dict(cfg)
        self.tracker_config = tracker_config(cfg)
        self.device, self.notes = backend_device(cfg)
        try:
            self.backend = create_backend(
                cfg["backend"],
                device=self.device,
                threads=cfg["threads"],
                max_persons=cfg["max_persons"],
                min_detection_confidence=cfg["min_detection_confidence"],
                mediapipe_mode=cfg["mediapipe_mode"],
                yolo_model_path=cfg["yolo_model_path"],
                wholebody_model_path=cfg["wholebody_model_path"],
                box_source=cfg["box_source"],
            )
        except BackendError as exc:
            raise BackendError(f"cannot set up pose backend '{cfg['backend']}': {exc}") from exc
        self.provides = list(self.backend.provides)
        self.face_hands = None
        if cfg["face_hands"] == "mediapipe":
            try:
                self.face_hands = MediaPipeFaceHands(max_persons=cfg["face_hands_max_persons"])
            except BackendError as exc:
                self.backend.close()
                raise BackendError(f"cannot set up face_hands 'mediapipe': {exc}") from exc
            self.provides += [part for part in ("face", "hands") if part not in self.provides]
        self.tracker = PoseTracker(self.tracker_config)

    def process(
        self, rgb: np.ndarray, publish_coasting: bool = False, stamp_s: float | None = None
    ) -> ImageResult:
        """Estimate, track and (if configured) add face/hands; the people to publish.

        ``stamp_s``: the image's time for backends that follow people over time (None: the
        machine's clock, as a live node; offline tools give the recording's stamps).
        A backend failure raises (the caller decides: the node warns and drops the image); a
        face/hand failure is returned in ``face_hands_error`` (the bodies are still good).
        """
        tracked = self.tracker.update(self.backend.infer(rgb, stamp_s))
        result = ImageResult([])
        if self.face_hands is not None:
            # only people matched in this image: a coasting track keeps its last face/hands
            seen_now = [p for p in tracked if p.state == CONFIRMED]
            try:
                result.face_hands_people = self.face_hands.refine(
                    rgb, [p.pose for p in seen_now], [p.track_id for p in seen_now]
                )
            except Exception as exc:  # noqa: BLE001 - reported to the caller, bodies kept
                result.face_hands_error = exc
        result.people = [p for p in tracked if p.state == CONFIRMED or publish_coasting]
        return result

    def close(self) -> None:
        self.backend.close()
        if self.face_hands is not None:
            self.face_hands.close()
            self.face_hands = None
