"""Pose node: camera image in, tracked whole-body poses out (header copied from the image).

With ``face_hands: mediapipe`` each tracked person matched in the image (at most
``face_hands_max_persons``, the largest first) also gets face and hand keypoints from
MediaPipe's landmark models run on that person's crop (backends/face_hands.py).

Subscribes ``image`` (sensor_msgs/Image) or ``image/compressed`` (CompressedImage), publishes
``socialego/poses`` (WholeBodyPoseArray, one per processed image, empty as a heartbeat).
A thin adapter around socialego_perception.pipeline (backend, tracker, face/hands; the same code
``socialego-train from-bag`` runs offline) and conversions.
"""

from __future__ import annotations

import time

from rclpy.lifecycle import State, TransitionCallbackReturn
from sensor_msgs.msg import CompressedImage, Image
from socialego_core import topics
from socialego_ros.main import run_lifecycle_node
from socialego_ros.node import SocialEgoLifecycleNode, floats
from socialego_ros.qos import RELIABLE_OUT, qos_profile
from socialego_ros.stamps import stamp_seconds

from socialego_msgs.msg import WholeBodyPose, WholeBodyPoseArray
from socialego_perception.backends import OUTPUT_LAYOUT, BackendError
from socialego_perception.conversions import (
    ImageConversionError,
    compressed_to_rgb,
    image_to_rgb,
)
from socialego_perception.params import POSE_PARAMS
from socialego_perception.pipeline import PosePipeline, published_pose


class PoseNode(SocialEgoLifecycleNode):
    PARAMS = POSE_PARAMS

    def __init__(self, **kwargs) -> None:
        super().__init__("pose_node", **kwargs)
        self.pipeline: PosePipeline | None = None
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
            pipeline = PosePipeline(cfg)
        except ValueError as exc:
            self.configure_error(f"invalid configuration: {exc}")
            return TransitionCallbackReturn.FAILURE
        except BackendError as exc:
            self.configure_error(str(exc))
            return TransitionCallbackReturn.FAILURE
        for note in pipeline.notes:
            self.get_logger().warning(note)
        self.cfg = cfg
        self.pipeline = pipeline
        self.pub = self.create_lifecycle_publisher(WholeBodyPoseArray, topics.POSES, RELIABLE_OUT)
        self.get_logger().info(
            f"configured: backend {cfg['backend']} ({', '.join(pipeline.provides)}), "
            f"device {pipeline.device}, input {cfg['input_type']}"
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
        if self.pipeline is not None:
            self.pipeline.close()
            self.pipeline = None
        if self.pub is not None:
            self.destroy_lifecycle_publisher(self.pub)
            self.pub = None

    # -- processing ---------------------------------------------------------------------------
    def on_image(self, msg: Image) -> None:
        self._process(msg.header, lambda: image_to_rgb(msg, self.cfg["max_image_pixels"]))

    def on_compressed(self, msg: CompressedImage) -> None:
        self._process(msg.header, lambda: compressed_to_rgb(msg, self.cfg["max_image_pixels"]))

    def _process(self, header, decode) -> None:
        if not self.active or self.pipeline is None:
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
            result = self.pipeline.process(rgb, self.cfg["publish_coasting"])
        except Exception as exc:  # a backend failure on one image must not kill the node
            self.warn_throttled(
                "backend_error", f"pose backend failed on an image on {self.image_topic}: {exc!r}"
            )
            return
        self._last_processed = stamp
        self.face_hands_people = result.face_hands_people
        if result.face_hands_error is not None:  # the bodies are still worth publishing
            self.warn_throttled(
                "face_hands_error", f"face/hand crops failed: {result.face_hands_error!r}"
            )
        out = WholeBodyPoseArray()
        out.header = header
        height, width = rgb.shape[:2]
        for person in result.people:
            out.poses.append(self._pose_msg(header, person, width, height))
        self.active_tracks = len(out.poses)
        self.pub.publish(out)
        self.images_done += 1
        self.note_processing((time.perf_counter() - t0) * 1000.0)
        self.note_latency(header.stamp)

    @staticmethod
    def _pose_msg(header, person, width: int, height: int) -> WholeBodyPose:
        kp, (x, y, w, h), score = published_pose(person)
        msg = WholeBodyPose()
        msg.header = header
        msg.track_id = person.track_id
        msg.layout = OUTPUT_LAYOUT.code
        msg.image_width = int(width)
        msg.image_height = int(height)
        msg.x = floats(kp[:, 0])
        msg.y = floats(kp[:, 1])
        msg.score = floats(kp[:, 2])
        msg.bbox_x, msg.bbox_y, msg.bbox_width, msg.bbox_height = x, y, w, h
        msg.detection_score = score
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
