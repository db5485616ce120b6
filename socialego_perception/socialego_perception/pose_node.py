"""Pose node: camera image in, tracked whole-body poses out (header copied from the image).

With ``face_hands: mediapipe`` each tracked person matched in the image (at most
``face_hands_max_persons``, the largest first) also gets face and hand keypoints from
MediaPipe's landmark models run on that person's crop (backends/face_hands.py).

Subscribes ``image`` (sensor_msgs/Image) or ``image/compressed`` (CompressedImage), publishes
``socialego/poses`` (WholeBodyPoseArray, one per processed image, empty as a heartbeat).
A thin adapter around socialego_perception.backends / tracking / conversions.
"""

from __future__ import annotations

import time

import numpy as np
from rclpy.lifecycle import State, TransitionCallbackReturn
from sensor_msgs.msg import CompressedImage, Image
from socialego_core import topics
from socialego_ros.main import run_lifecycle_node
from socialego_ros.node import SocialEgoLifecycleNode, floats
from socialego_ros.qos import RELIABLE_OUT, qos_profile
from socialego_ros.stamps import stamp_seconds

from socialego_msgs.msg import WholeBodyPose, WholeBodyPoseArray
from socialego_perception.backends import OUTPUT_LAYOUT, BackendError, create_backend
from socialego_perception.backends.face_hands import MediaPipeFaceHands
from socialego_perception.conversions import (
    ImageConversionError,
    compressed_to_rgb,
    image_to_rgb,
)
from socialego_perception.params import POSE_PARAMS
from socialego_perception.tracking import CONFIRMED, PoseTracker, TrackerConfig


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


class PoseNode(SocialEgoLifecycleNode):
    PARAMS = POSE_PARAMS

    def __init__(self, **kwargs) -> None:
        super().__init__("pose_node", **kwargs)
        self.backend = None
        self.face_hands = None
        self.tracker: PoseTracker | None = None
        self.pub = None
        self._last_processed = -1e18
        self.images_in = 0
        self.images_done = 0
        self.active_tracks = 0
        self.face_hands_people = 0
        self.image_topic = "image"

    # -- lifecycle ----------------------------------------------------------------------------
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        cfg = self.validated_params()
        if cfg is None:
            return TransitionCallbackReturn.FAILURE
        try:
            tracker_cfg = TrackerConfig(
                iou_threshold=cfg["tracker_iou_threshold"],
                hit_counter_max=cfg["tracker_hit_counter_max"],
                initialization_delay=cfg["tracker_initialization_delay"],
            )
        except ValueError as exc:
            self.configure_error(f"invalid configuration: {exc}")
            return TransitionCallbackReturn.FAILURE
        device, note = resolve_onnx_device(cfg["device"])
        if note:
            self.get_logger().warning(note)
        if cfg["backend"] == "mediapipe" and cfg["device"].startswith("cuda"):
            self.get_logger().warning(
                f"device {cfg['device']}: the mediapipe wheel runs on the CPU only; using CPU"
            )
            device = "cpu"
        try:
            self.backend = create_backend(
                cfg["backend"],
                device=device,
                threads=cfg["threads"],
                max_persons=cfg["max_persons"],
                min_detection_confidence=cfg["min_detection_confidence"],
                mediapipe_mode=cfg["mediapipe_mode"],
                yolo_model_path=cfg["yolo_model_path"],
                wholebody_model_path=cfg["wholebody_model_path"],
                box_source=cfg["box_source"],
            )
        except BackendError as exc:
            self.configure_error(f"cannot set up pose backend '{cfg['backend']}': {exc}")
            return TransitionCallbackReturn.FAILURE
        provides = list(self.backend.provides)
        if cfg["face_hands"] == "mediapipe":
            try:
                self.face_hands = MediaPipeFaceHands(max_persons=cfg["face_hands_max_persons"])
            except BackendError as exc:
                self.configure_error(f"cannot set up face_hands 'mediapipe': {exc}")
                self.backend.close()
                self.backend = None
                return TransitionCallbackReturn.FAILURE
            provides += [part for part in ("face", "hands") if part not in provides]
        self.cfg = cfg
        self.tracker = PoseTracker(tracker_cfg)
        self.pub = self.create_lifecycle_publisher(WholeBodyPoseArray, topics.POSES, RELIABLE_OUT)
        self.get_logger().info(
            f"configured: backend {cfg['backend']} ({', '.join(provides)}), "
            f"device {device}, input {cfg['input_type']}"
        )
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        qos = qos_profile(self.cfg["image_reliability"], self.cfg["image_qos_depth"])
        if self.cfg["input_type"] == "compressed":
            sub = self.create_subscription(
                CompressedImage, "image/compressed", self.on_compressed, qos
            )
        else:
            sub = self.create_subscription(Image, "image", self.on_image, qos)
        self.inputs.append(sub)
        self.image_topic = sub.topic_name  # resolved (namespace, remaps): named in warnings
        self.input_name = self.image_topic
        self.start_diagnostics(self.cfg["diagnostics_period_s"])
        self.active = True
        return super().on_activate(state)

    def release(self) -> None:
        if self.backend is not None:
            self.backend.close()
            self.backend = None
        if self.face_hands is not None:
            self.face_hands.close()
            self.face_hands = None
        if self.pub is not None:
            self.destroy_lifecycle_publisher(self.pub)
            self.pub = None
        self.tracker = None

    # -- processing ---------------------------------------------------------------------------
    def on_image(self, msg: Image) -> None:
        self._process(msg.header, lambda: image_to_rgb(msg, self.cfg["max_image_pixels"]))

    def on_compressed(self, msg: CompressedImage) -> None:
        self._process(msg.header, lambda: compressed_to_rgb(msg, self.cfg["max_image_pixels"]))

    def _process(self, header, decode) -> None:
        if not self.active or self.backend is None:
            return
        self.images_in += 1
        self.note_input()
        rate = self.cfg["max_rate_hz"]
        stamp = stamp_seconds(header.stamp)
        if rate > 0 and 0 <= stamp - self._last_processed < 1.0 / rate:
            return  # rate limit on the image stamps (works with sim time and bags)
        t0 = time.perf_counter()
        try:
            rgb = decode()
        except ImageConversionError as exc:
            self.warn_throttled(exc.kind, f"image on {self.image_topic} dropped: {exc}")
            return
        try:
            people = self.backend.infer(rgb)
        except Exception as exc:  # a backend failure on one image must not kill the node
            self.warn_throttled(
                "backend_error", f"pose backend failed on an image on {self.image_topic}: {exc!r}"
            )
            return
        tracked = self.tracker.update(people)
        self._last_processed = stamp
        if self.face_hands is not None:
            # only people matched in this image: a coasting track keeps its last face/hands
            seen_now = [p for p in tracked if p.state == CONFIRMED]
            try:
                self.face_hands_people = self.face_hands.refine(
                    rgb, [p.pose for p in seen_now], [p.track_id for p in seen_now]
                )
            except Exception as exc:  # the bodies are still worth publishing
                self.warn_throttled("face_hands_error", f"face/hand crops failed: {exc!r}")
        out = WholeBodyPoseArray()
        out.header = header
        height, width = rgb.shape[:2]
        for person in tracked:
            if person.state != CONFIRMED and not self.cfg["publish_coasting"]:
                continue
            out.poses.append(self._pose_msg(header, person, width, height))
        self.active_tracks = len(out.poses)
        self.pub.publish(out)
        self.images_done += 1
        self.note_processing((time.perf_counter() - t0) * 1000.0)
        self.note_latency(header.stamp)

    @staticmethod
    def _pose_msg(header, person, width: int, height: int) -> WholeBodyPose:
        kp = np.nan_to_num(person.pose.keypoints, nan=0.0, posinf=0.0, neginf=0.0)
        msg = WholeBodyPose()
        msg.header = header
        msg.track_id = person.track_id
        msg.layout = OUTPUT_LAYOUT.code
        msg.image_width = int(width)
        msg.image_height = int(height)
        msg.x = floats(kp[:, 0])
        msg.y = floats(kp[:, 1])
        msg.score = floats(kp[:, 2])
        x, y, w, h = person.pose.bbox
        msg.bbox_x, msg.bbox_y, msg.bbox_width, msg.bbox_height = (
            float(x),
            float(y),
            float(w),
            float(h),
        )
        msg.detection_score = float(np.clip(person.pose.score, 0.0, 1.0))
        msg.track_state = int(person.state)
        msg.track_age = int(person.age)
        return msg

    def diagnostic_values(self) -> dict[str, str]:
        values = super().diagnostic_values()
        values.update(
            {
                "backend": str(self.cfg.get("backend", "")),
                "images_received": str(self.images_in),
                "images_processed": str(self.images_done),
                "active_tracks": str(self.active_tracks),
                "face_hands": str(self.cfg.get("face_hands", "")),
                "face_hands_people_last_image": str(self.face_hands_people),
            }
        )
        return values


def main(args=None) -> None:
    run_lifecycle_node(PoseNode, args)


if __name__ == "__main__":
    main()
