"""Annotator node (opt-in): what SocialEgo sees and decides, for people and for RViz.

Subscribes ``image`` (or ``image/compressed``), ``socialego/poses``, ``socialego/intents`` and
the latched ``socialego/model_info`` (label names) -- the first three only while one of its
outputs has a subscriber, the camera only while an annotated image has one; publishes

- ``socialego/annotated`` (sensor_msgs/Image, rgb8) and ``socialego/annotated/compressed``
  (JPEG): the camera image with each person's box, skeleton, track id and decided intent /
  attitude / next action with probabilities, grey when stale or low quality; header copied from
  the image. Each image is paired with the pose array of the same stamp and the latest forecast
  of each track, and is decoded and drawn only while one of the two has a subscriber;
- ``socialego/markers`` (visualization_msgs/MarkerArray): per person a box and a text label
  coloured by intent, in the poses' frame, DELETE when the track goes (socialego_core.markers);
- ``socialego/detections`` (vision_msgs/Detection2DArray, ``publish_detections``): box,
  id = track_id, one hypothesis per intent class with its probability. vision_msgs is imported
  at configure: without it configure fails naming the package.

Drawing is socialego_core.annotate (ROS-free); this node is a thin adapter.
"""

from __future__ import annotations

import time

import cv2
import numpy as np
from rclpy.lifecycle import State, TransitionCallbackReturn
from sensor_msgs.msg import CompressedImage, Image
from socialego_core import topics
from socialego_core.annotate import IntentValues
from socialego_core.labels import JPL_SOCIAL, LabelTable
from socialego_core.markers import MarkerIds
from socialego_core.pose_reader import read_pose_array
from socialego_core.stamp_pairing import StampPairer
from socialego_perception.conversions import (
    ImageConversionError,
    compressed_to_rgb,
    fill_image_msg,
    image_to_rgb,
)
from socialego_ros.main import run_lifecycle_node
from socialego_ros.node import SocialEgoLifecycleNode
from socialego_ros.qos import LATCHED, RELIABLE_OUT, qos_profile
from visualization_msgs.msg import MarkerArray

from socialego_inference.hri_bridge import install_hint
from socialego_inference.overlay_messages import (
    PersonBox,
    annotate,
    detection_array,
    intent_values,
    label_table,
    marker_array,
    people_of,
)
from socialego_inference.params import ANNOTATOR_PARAMS
from socialego_msgs.msg import ModelInfo, SocialIntentArray, WholeBodyPoseArray


def missing_vision_msgs_message(exc: ImportError) -> str:
    """What to tell a user who asked for Detection2DArray output without vision_msgs."""
    return (
        f"publish_detections needs the message package vision_msgs ({exc}): "
        f"{install_hint('vision_msgs', 'ros-perception')}"
    )


WATCH_PERIOD_S = 0.5


def stamp_key(stamp) -> tuple[int, int]:
    return int(stamp.sec), int(stamp.nanosec)


class AnnotatorNode(SocialEgoLifecycleNode):
    PARAMS = ANNOTATOR_PARAMS

    def __init__(self, **kwargs) -> None:
        super().__init__("annotator_node", **kwargs)
        self.image_pub = self.compressed_pub = self.markers_pub = self.detections_pub = None
        self.image_sub = None  # created while someone watches the annotated image
        self.pose_subs: list | None = None  # poses + intents, while any output has a viewer
        self.vision = None  # vision_msgs.msg, imported at configure when asked for
        self.labels: LabelTable = JPL_SOCIAL
        self.intents: dict[str, tuple[IntentValues, float]] = {}  # track -> (values, wall s)
        self.pairer: StampPairer | None = None
        self.marker_ids = None
        self.frames = 0
        self.annotated = 0

    # -- lifecycle ----------------------------------------------------------------------------
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        cfg = self.validated_params()
        if cfg is None:
            return TransitionCallbackReturn.FAILURE
        self.vision = None
        if cfg["publish_detections"]:
            try:
                import vision_msgs.msg as vision
            except ImportError as exc:
                self.get_logger().error(missing_vision_msgs_message(exc))
                return TransitionCallbackReturn.FAILURE
            self.vision = vision
        self.cfg = cfg
        self.pairer = StampPairer(cfg["pair_queue"])
        self.marker_ids = MarkerIds()
        outputs = []
        if cfg["annotate_image"]:
            self.image_pub = self.create_lifecycle_publisher(Image, topics.ANNOTATED, RELIABLE_OUT)
            self.compressed_pub = self.create_lifecycle_publisher(
                CompressedImage, topics.ANNOTATED_COMPRESSED, RELIABLE_OUT
            )
            outputs += [self.image_pub.topic_name, self.compressed_pub.topic_name]
        if cfg["publish_markers"]:
            self.markers_pub = self.create_lifecycle_publisher(
                MarkerArray, topics.MARKERS, RELIABLE_OUT
            )
            outputs.append(self.markers_pub.topic_name)
        if self.vision is not None:
            self.detections_pub = self.create_lifecycle_publisher(
                self.vision.Detection2DArray, topics.DETECTIONS, RELIABLE_OUT
            )
            outputs.append(self.detections_pub.topic_name)
        self.get_logger().info(f"annotator configured: {', '.join(outputs) or 'no outputs'}")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        # inputs are subscribed only while an output has a subscriber (checked every
        # WATCH_PERIOD_S): nobody watching, no camera image, pose or intent reaches this node
        self.inputs += [
            self.create_timer(WATCH_PERIOD_S, self._follow_viewers),
            self.create_subscription(ModelInfo, topics.MODEL_INFO, self.on_model_info, LATCHED),
        ]
        self.start_diagnostics(self.cfg["diagnostics_period_s"])
        self.active = True
        self._follow_viewers()
        return super().on_activate(state)

    def _follow_viewers(self) -> None:
        """(Un)subscribe the inputs as viewers come and go: poses and intents while any output
        has a subscriber, the camera while an annotated image has one."""
        cfg = self.cfg
        image = self._watched()
        anything = image or self._has_viewer(self.markers_pub)
        anything = anything or self._has_viewer(self.detections_pub)
        if anything and self.pose_subs is None:
            self.pose_subs = [
                self.create_subscription(
                    WholeBodyPoseArray,
                    topics.POSES,
                    self.on_poses,
                    qos_profile(cfg["poses_reliability"], 10),
                ),
                self.create_subscription(
                    SocialIntentArray, topics.INTENTS, self.on_intents, RELIABLE_OUT
                ),
            ]
            self.get_logger().info("a viewer subscribed: reading poses and intents")
        elif not anything and self.pose_subs is not None:
            self._drop_subscriptions()
            self.get_logger().info("no viewer left: inputs unsubscribed")
        if image and self.image_sub is None:
            qos = qos_profile(cfg["image_reliability"], 5)
            if cfg["input_type"] == "compressed":
                self.image_sub = self.create_subscription(
                    CompressedImage, "image/compressed", self.on_compressed, qos
                )
            else:
                self.image_sub = self.create_subscription(Image, "image", self.on_image, qos)
            self.get_logger().info(
                f"an image viewer subscribed: reading {self.image_sub.topic_name}"
            )
        elif not image and self.image_sub is not None:
            self._drop_image_subscription()
            self.get_logger().info("no image viewer left: camera unsubscribed")

    def _drop_image_subscription(self) -> None:
        if self.image_sub is not None:
            self.destroy_subscription(self.image_sub)
            self.image_sub = None
        if self.pairer is not None:
            self.pairer.clear()

    def _drop_subscriptions(self) -> None:
        self._drop_image_subscription()
        for sub in self.pose_subs or ():
            self.destroy_subscription(sub)
        self.pose_subs = None
        self.intents.clear()
        if self.marker_ids is not None:
            self.marker_ids.clear()  # nobody saw them: no DELETE to send

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        if self.markers_pub is not None and self.marker_ids is not None:
            deleted = self.marker_ids.clear()
            if deleted:
                self.markers_pub.publish(marker_array([], deleted, None, self.cfg, self.labels))
        self._drop_subscriptions()
        return super().on_deactivate(state)

    def release(self) -> None:
        for pub in (self.image_pub, self.compressed_pub, self.markers_pub, self.detections_pub):
            if pub is not None:
                self.destroy_lifecycle_publisher(pub)
        self.image_pub = self.compressed_pub = self.markers_pub = self.detections_pub = None
        self.intents.clear()
        self.pairer = None

    # -- inputs -------------------------------------------------------------------------------
    def _watched(self) -> bool:
        """True while someone subscribes to an annotated image (otherwise nothing is drawn)."""
        return self._has_viewer(self.image_pub) or self._has_viewer(self.compressed_pub)

    def on_image(self, msg: Image) -> None:
        self._on_any_image(msg, lambda: image_to_rgb(msg))

    def on_compressed(self, msg: CompressedImage) -> None:
        self._on_any_image(msg, lambda: compressed_to_rgb(msg))

    def _on_any_image(self, msg, decode) -> None:
        if not self.active or self.pairer is None:
            return
        self.note_input()
        pair = self.pairer.add_a(stamp_key(msg.header.stamp), (msg.header, decode))
        if pair is not None:
            self._annotate(*pair)

    def on_model_info(self, msg: ModelInfo) -> None:
        self.labels = label_table(msg) or self.labels

    def on_intents(self, msg: SocialIntentArray) -> None:
        if not self.active:
            return
        now = time.monotonic()
        for intent in msg.intents:
            if not intent.track_id:
                self.warn_throttled("bad_intent", "intent without track_id skipped")
                continue
            self.intents[intent.track_id] = (intent_values(intent), now)

    def _intent_of(self, track_id: str, now: float) -> IntentValues | None:
        entry = self.intents.get(track_id)
        if entry is None:
            return None
        if now - entry[1] > self.cfg["max_intent_age_s"]:
            del self.intents[track_id]
            return None
        return entry[0]

    @staticmethod
    def _has_viewer(pub) -> bool:
        return pub is not None and pub.get_subscription_count() > 0

    def on_poses(self, msg: WholeBodyPoseArray) -> None:
        if not self.active or self.pairer is None:
            return
        t0 = time.perf_counter()
        self.frames += 1
        markers = self._has_viewer(self.markers_pub)
        detections = self._has_viewer(self.detections_pub)
        self.note_latency(msg.header.stamp)
        readings, problems = read_pose_array(msg)
        for problem in problems:
            self.warn_throttled(problem.kind, problem.text)
        now = time.monotonic()
        people = people_of(readings, lambda track: self._intent_of(track, now))
        update = self.marker_ids.update(p.track_id for p in people)
        if markers:
            self.markers_pub.publish(
                marker_array(people, update.deleted, msg.header, self.cfg, self.labels, update.ids)
            )
        if detections:
            out = detection_array(self.vision, msg.header, people, self.labels)
            self.detections_pub.publish(out)
        if self.image_sub is not None:
            pair = self.pairer.add_b(stamp_key(msg.header.stamp), people)
            if pair is not None:
                self._annotate(*pair)
        self.processing_ms.add((time.perf_counter() - t0) * 1000.0)

    # -- output -------------------------------------------------------------------------------
    def _annotate(self, image, people: list[PersonBox]) -> None:
        header, decode = image
        try:
            rgb = decode()
        except ImageConversionError as exc:
            self.warn_throttled(exc.kind, f"image not annotated: {exc}")
            return
        cfg = self.cfg
        drawn = annotate(
            rgb, people, self.labels, cfg["min_input_quality"], cfg["min_keypoint_score"]
        )
        if self.image_pub.get_subscription_count() > 0:
            out = fill_image_msg(Image(), drawn, "rgb8")
            out.header = header
            self.image_pub.publish(out)
        if self.compressed_pub.get_subscription_count() > 0:
            ok, jpeg = cv2.imencode(
                ".jpg",
                np.ascontiguousarray(drawn[..., ::-1]),
                [cv2.IMWRITE_JPEG_QUALITY, int(cfg["jpeg_quality"])],
            )
            if ok:
                out = CompressedImage(format="rgb8; jpeg compressed bgr8")
                out.header = header
                out.data = jpeg.tobytes()
                self.compressed_pub.publish(out)
        self.annotated += 1

    def diagnostic_values(self) -> dict[str, str]:
        values = super().diagnostic_values()
        values.update(
            {
                "pose_frames": str(self.frames),
                "annotated_images": str(self.annotated),
                "unpaired_dropped": str(self.pairer.dropped if self.pairer else 0),
            }
        )
        return values


def main(args=None) -> None:
    run_lifecycle_node(AnnotatorNode, args)


if __name__ == "__main__":
    main()
