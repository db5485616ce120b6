"""Optional REP-155 (ROS4HRI) bridge: our poses and intents, republished for ROS4HRI stacks.

Subscribes ``socialego/poses`` (WholeBodyPoseArray) and ``socialego/intents``
(SocialIntentArray); publishes, under ``hri_namespace`` (default /humans):

- ``bodies/tracked`` (hri_msgs/IdsList): body ids of the poses of each frame (``b<track_id>``)
- ``bodies/<body_id>/skeleton2d`` (hri_msgs/Skeleton2D): 18 points mapped by joint NAME,
  normalised image coordinates
- ``bodies/<body_id>/roi`` (hri_msgs/NormalizedRegionOfInterest2D): the body's box, normalised,
  c = the detector's score
- ``persons/tracked`` (IdsList): person ids (our person_id, else ``anonymous_<body_id>``)
- ``persons/<person_id>/body_id`` (std_msgs/String, latched), ``persons/<person_id>/anonymous``
  (std_msgs/Bool, latched)
- ``persons/<person_id>/engagement_status`` (hri_msgs/EngagementLevel) from the smoothed intent
- ``intents_topic`` (default /intents, hri_actions_msgs/Intent): ENGAGE_WITH when a person
  becomes ENGAGED (only if hri_actions_msgs is installed)

Several cameras (``camera_namespaces``, e.g. "front,back"): the bridge subscribes each camera's
``<ns>/socialego/poses`` and ``<ns>/socialego/intents``, body ids carry the camera
(``bfront_7``), and ``bodies/tracked`` / ``persons/tracked`` list the people of every camera
seen within ``forget_after_s``.

The message packages are imported at configure, not at start: without hri_msgs, configure fails
with what to install. The mapping itself lives in hri_bridge_mapping (ROS-free, unit-tested).
"""

from __future__ import annotations

import os
import time

from rclpy.lifecycle import State, TransitionCallbackReturn
from socialego_core import topics
from socialego_core.pose_reader import read_pose_array, short_id
from socialego_ros.main import run_lifecycle_node
from socialego_ros.node import SocialEgoLifecycleNode
from socialego_ros.qos import LATCHED, RELIABLE_OUT, qos_profile
from std_msgs.msg import Bool, String

from socialego_inference.hri_bridge_mapping import (
    ENGAGEMENT_LEVELS,
    INTENT_INTERACTING,
    SKELETON2D_INDEX,
    CameraFrames,
    EngagementTracker,
    LastSeen,
    body_id,
    camera_name,
    camera_namespaces,
    camera_track,
    constant_problems,
    engage_with_data,
    level_name,
    normalised_roi,
    person_ref,
    skeleton2d_points,
)
from socialego_inference.params import HRI_BRIDGE_PARAMS
from socialego_msgs.msg import SocialIntentArray, WholeBodyPoseArray


def install_hint(package: str, organisation: str = "ros4hri") -> str:
    """How to install a ROS message package that has no pip wheel (apt, or from source)."""
    distro = os.environ.get("ROS_DISTRO") or "<distro>"
    apt = package.replace("_", "-")
    return (
        f"install ros-{distro}-{apt} (apt) or build {package} from "
        f"github.com/{organisation}/{package}"
    )


def missing_hri_msgs_message(exc: ImportError) -> str:
    """What to tell a user whose ROS install lacks hri_msgs (the node and socialego_all)."""
    return (
        f"the REP-155 bridge needs the ROS4HRI message package hri_msgs ({exc}): "
        f"{install_hint('hri_msgs')}"
    )


class HriBridgeNode(SocialEgoLifecycleNode):
    PARAMS = HRI_BRIDGE_PARAMS

    def __init__(self, **kwargs) -> None:
        super().__init__("hri_bridge", **kwargs)
        self.hri = None  # hri_msgs.msg module, imported at configure
        self.Intent = None  # hri_actions_msgs.msg.Intent when installed
        self.bodies_pub = self.persons_pub = self.intents_pub = None
        self.skeleton_pubs: dict[str, object] = {}
        self.roi_pubs: dict[str, object] = {}
        self.cameras: list[str] = [""]
        self.camera_frames: CameraFrames | None = None  # the tracked lists of every camera
        self.engagement_pubs: dict[str, object] = {}
        self.person_info_pubs: dict[str, tuple] = {}  # person -> (body_id pub, anonymous pub)
        self.person_body: dict[str, str] = {}
        self.engagement: EngagementTracker | None = None
        self.bodies_seen: LastSeen | None = None
        self.persons_seen: LastSeen | None = None
        self.frames = 0
        self.engage_intents = 0

    # -- lifecycle ----------------------------------------------------------------------------
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        cfg = self.validated_params()
        if cfg is None:
            return TransitionCallbackReturn.FAILURE
        try:
            import hri_msgs.msg as hri
        except ImportError as exc:
            self.configure_error(missing_hri_msgs_message(exc))
            return TransitionCallbackReturn.FAILURE
        problems = constant_problems(hri.Skeleton2D, SKELETON2D_INDEX) + constant_problems(
            hri.EngagementLevel, ENGAGEMENT_LEVELS
        )
        for problem in problems:
            self.configure_error(f"installed hri_msgs differs from REP-155: {problem}")
        if problems:
            return TransitionCallbackReturn.FAILURE
        try:
            self.cameras = camera_namespaces(cfg["camera_namespaces"])
        except ValueError as exc:
            self.get_logger().error(f"invalid configuration: {exc}")
            return TransitionCallbackReturn.FAILURE
        self.camera_frames = CameraFrames(cfg["forget_after_s"])
        self.hri = hri
        self.Intent = None
        if cfg["publish_intents"]:
            try:
                from hri_actions_msgs.msg import Intent

                self.Intent = Intent
            except ImportError:
                self.get_logger().warning(
                    f"hri_actions_msgs is not installed: no ENGAGE_WITH intents on "
                    f"{cfg['intents_topic']} ({install_hint('hri_actions_msgs')})"
                )
        self.cfg = cfg
        self.ns = "/" + cfg["hri_namespace"].strip("/")
        self.engagement = EngagementTracker(cfg["forget_after_s"])
        self.bodies_seen = LastSeen(cfg["forget_after_s"])
        self.persons_seen = LastSeen(cfg["forget_after_s"])
        self.bodies_pub = self.create_lifecycle_publisher(
            hri.IdsList, f"{self.ns}/bodies/tracked", RELIABLE_OUT
        )
        self.persons_pub = self.create_lifecycle_publisher(
            hri.IdsList, f"{self.ns}/persons/tracked", RELIABLE_OUT
        )
        if self.Intent is not None:
            self.intents_pub = self.create_lifecycle_publisher(
                self.Intent, cfg["intents_topic"], RELIABLE_OUT
            )
        self.get_logger().info(
            f"REP-155 bridge configured: {self.ns}/bodies, {self.ns}/persons"
            + (f", {cfg['intents_topic']}" if self.intents_pub is not None else "")
        )
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        result = super().on_activate(state)
        for namespace in self.cameras:
            camera = camera_name(namespace)
            poses = topics.absolute(topics.POSES, namespace) if namespace else topics.POSES
            intents = topics.absolute(topics.INTENTS, namespace) if namespace else topics.INTENTS
            self.inputs += [
                self.create_subscription(
                    WholeBodyPoseArray,
                    poses,
                    lambda msg, camera=camera: self.on_poses(msg, camera),
                    qos_profile(self.cfg["poses_reliability"], 10),
                ),
                self.create_subscription(
                    SocialIntentArray,
                    intents,
                    lambda msg, camera=camera: self.on_intents(msg, camera),
                    RELIABLE_OUT,
                ),
            ]
        self.input_name = self.inputs[0].topic_name
        self.start_diagnostics(self.cfg["diagnostics_period_s"])
        self.active = True
        return result

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        result = super().on_deactivate(state)
        for body in list(set(self.skeleton_pubs) | set(self.roi_pubs)):
            self._drop_body(body)
        if self.camera_frames is not None:
            self.camera_frames.frames.clear()
        for person in list(set(self.engagement_pubs) | set(self.person_info_pubs)):
            self._drop_person(person)
        return result

    def release(self) -> None:
        for pub in (self.bodies_pub, self.persons_pub, self.intents_pub):
            if pub is not None:
                self.destroy_lifecycle_publisher(pub)
        self.bodies_pub = self.persons_pub = self.intents_pub = None

    # -- per-id topics ------------------------------------------------------------------------
    def _drop_body(self, body: str) -> None:
        for pubs in (self.skeleton_pubs, self.roi_pubs):
            pub = pubs.pop(body, None)
            if pub is not None:
                self.destroy_publisher(pub)

    def _drop_person(self, person: str) -> None:
        for pub in (self.engagement_pubs.pop(person, None), *self.person_info_pubs.pop(person, ())):
            if pub is not None:
                self.destroy_publisher(pub)
        self.person_body.pop(person, None)

    def _now_s(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _expire(self, now_s: float) -> None:
        for body in self.bodies_seen.expire(now_s):
            self._drop_body(body)
        gone = set(self.persons_seen.expire(now_s)) | set(self.engagement.forget_expired(now_s))
        for person in gone:
            if person not in self.persons_seen.times and person not in self.engagement.levels:
                self._drop_person(person)

    def _note_person(self, person, body: str) -> None:
        """Latched body_id / anonymous topics of a person, (re)sent when its body changes."""
        pid = person.person_id
        if pid not in self.person_info_pubs:
            base = f"{self.ns}/persons/{pid}"
            self.person_info_pubs[pid] = (
                self.create_publisher(String, f"{base}/body_id", LATCHED),
                self.create_publisher(Bool, f"{base}/anonymous", LATCHED),
            )
            self.person_info_pubs[pid][1].publish(Bool(data=person.anonymous))
        if self.person_body.get(pid) != body:
            self.person_body[pid] = body
            self.person_info_pubs[pid][0].publish(String(data=body))

    # -- callbacks ----------------------------------------------------------------------------
    def _publish_roi(self, body: str, reading) -> None:
        pose = reading.pose
        box = (pose.bbox_x, pose.bbox_y, pose.bbox_width, pose.bbox_height)
        try:
            xmin, ymin, xmax, ymax = normalised_roi(box, pose.image_width, pose.image_height)
        except ValueError as exc:
            self.warn_throttled("bad_box", f"no roi for body {body}: {exc}")
            return
        pub = self.roi_pubs.get(body)
        if pub is None:
            pub = self.create_publisher(
                self.hri.NormalizedRegionOfInterest2D, f"{self.ns}/bodies/{body}/roi", RELIABLE_OUT
            )
            self.roi_pubs[body] = pub
        roi = self.hri.NormalizedRegionOfInterest2D(xmin=xmin, ymin=ymin, xmax=xmax, ymax=ymax)
        roi.c = float(min(max(pose.detection_score, 0.0), 1.0))
        roi.header.stamp = reading.source.stamp
        roi.header.frame_id = reading.source.frame_id
        pub.publish(roi)

    def on_poses(self, msg: WholeBodyPoseArray, camera: str = "") -> None:
        if not self.active:
            return
        t0 = time.perf_counter()
        self.note_input()
        self.note_latency(msg.header.stamp)
        cfg, hri = self.cfg, self.hri
        bodies: list[str] = []
        persons: list[str] = []
        readings, problems = read_pose_array(msg)
        for problem in problems:
            self.warn_throttled(problem.kind, problem.text)
        for reading in readings:
            pose = reading.pose
            try:
                track = camera_track(camera, pose.track_id)
                body = body_id(track, cfg["body_id_prefix"])
                if cfg["publish_skeletons"]:
                    points = skeleton2d_points(
                        reading.keypoints, reading.layout.code, pose.image_width, pose.image_height
                    )
            except ValueError as exc:
                kind = getattr(exc, "kind", "bad_pose")
                self.warn_throttled(kind, f"pose of track {short_id(pose.track_id)} skipped: {exc}")
                continue
            if body in bodies:
                self.warn_throttled(
                    "duplicate_track", f"track {short_id(pose.track_id)} twice in a frame"
                )
                continue
            bodies.append(body)
            if cfg["publish_skeletons"]:
                pub = self.skeleton_pubs.get(body)
                if pub is None:
                    pub = self.create_publisher(
                        hri.Skeleton2D, f"{self.ns}/bodies/{body}/skeleton2d", RELIABLE_OUT
                    )
                    self.skeleton_pubs[body] = pub
                skeleton = hri.Skeleton2D()
                skeleton.header.stamp = reading.source.stamp
                skeleton.header.frame_id = reading.source.frame_id
                skeleton.skeleton = [
                    hri.NormalizedPointOfInterest2D(x=float(x), y=float(y), c=float(c))
                    for x, y, c in points.tolist()
                ]
                pub.publish(skeleton)
            if cfg["publish_roi"]:
                self._publish_roi(body, reading)
            person = person_ref(
                track,
                pose.person_id,
                cfg["body_id_prefix"],
                cfg["person_id_prefix"],
                cfg["anonymous_persons"],
            )
            if person is not None and person.person_id not in persons:
                persons.append(person.person_id)
                self._note_person(person, body)
        now_s = self._now_s()
        self.bodies_seen.note(bodies, now_s)
        self.persons_seen.note(persons, now_s)
        all_bodies, all_persons = self.camera_frames.update(camera, bodies, persons, now_s)
        self.bodies_pub.publish(hri.IdsList(header=msg.header, ids=all_bodies))
        self.persons_pub.publish(hri.IdsList(header=msg.header, ids=all_persons))
        self._expire(now_s)
        self.frames += 1
        self.note_processing((time.perf_counter() - t0) * 1000.0)

    def on_intents(self, msg: SocialIntentArray, camera: str = "") -> None:
        if not self.active:
            return
        cfg, hri = self.cfg, self.hri
        now_s = self._now_s()
        for intent in msg.intents:
            try:
                person = person_ref(
                    camera_track(camera, intent.track_id),
                    intent.person_id,
                    cfg["body_id_prefix"],
                    cfg["person_id_prefix"],
                    cfg["anonymous_persons"],
                )
            except ValueError as exc:
                self.warn_throttled("bad_intent", f"intent skipped: {exc}")
                continue
            if person is None:
                continue
            pid = person.person_id
            update = self.engagement.update(pid, intent.intent, intent.stale, now_s)
            pub = self.engagement_pubs.get(pid)
            if pub is None:
                pub = self.create_publisher(
                    hri.EngagementLevel, f"{self.ns}/persons/{pid}/engagement_status", RELIABLE_OUT
                )
                self.engagement_pubs[pid] = pub
            pub.publish(hri.EngagementLevel(header=intent.header, level=update.level))
            if update.level != update.previous:
                self.get_logger().debug(
                    f"{pid}: {level_name(update.previous)} -> {level_name(update.level)}"
                )
            if update.became_engaged and self.intents_pub is not None:
                self._publish_engage_with(pid, intent)
        self._expire(now_s)

    def _publish_engage_with(self, person: str, intent) -> None:
        Intent = self.Intent
        probabilities = list(intent.intent_probabilities)
        index = INTENT_INTERACTING - 1  # decisions are label index + 1
        confidence = probabilities[index] if len(probabilities) > index else 1.0
        out = Intent(
            intent=Intent.ENGAGE_WITH,
            data=engage_with_data(person),
            source=person,
            modality=Intent.MODALITY_MOTION,
            priority=int(self.cfg["intent_priority"]),
            confidence=float(min(max(confidence, 0.0), 1.0)),
        )
        self.intents_pub.publish(out)
        self.engage_intents += 1
        self.get_logger().info(f"ENGAGE_WITH {person}")

    def diagnostic_values(self) -> dict[str, str]:
        values = super().diagnostic_values()
        values.update(
            {
                "frames": str(self.frames),
                "bodies": str(len(self.skeleton_pubs)),
                "persons_engagement": str(len(self.engagement_pubs)),
                "engage_with_intents": str(self.engage_intents),
            }
        )
        return values


def main(args=None) -> None:
    run_lifecycle_node(HriBridgeNode, args)


if __name__ == "__main__":
    main()
