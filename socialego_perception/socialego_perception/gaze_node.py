"""Gaze/face feature node (optional): head and gaze features per tracked person.

Subscribes ``socialego/poses`` and publishes ``socialego/gaze`` (GazeFeaturesArray) with the
poses' header, which is the source image's header: consumers match gaze, poses and images
exactly on it. Features come from socialego_perception.gaze_features: the head pose is solved
from the 68 face keypoints when the pose has them (pose node ``face_hands: mediapipe``) and
``use_face_landmarks`` is true, else estimated geometrically from nose/eyes/ears. GazeFeatures
has no field for the method, so the diagnostics count both (``from_face_landmarks``,
``from_geometry``); face-landmark estimates also come with a face_score from the 68 points.
"""

from __future__ import annotations

import math
import time

import numpy as np
from rclpy.lifecycle import State, TransitionCallbackReturn
from socialego_core import topics
from socialego_core.layouts import LAYOUTS_BY_CODE
from socialego_core.pose_reader import PoseReading, read_pose_array, short_id
from socialego_ros.main import run_lifecycle_node
from socialego_ros.node import SocialEgoLifecycleNode
from socialego_ros.qos import RELIABLE_OUT

from socialego_msgs.msg import GazeFeatures, GazeFeaturesArray, WholeBodyPoseArray
from socialego_perception.backends.base import OUTPUT_LAYOUT, name_index_map, to_output_layout
from socialego_perception.gaze_features import estimate_gaze, quaternion_from_yaw_pitch
from socialego_perception.params import GAZE_PARAMS

_MAPS = {code: name_index_map(layout.joint_names) for code, layout in LAYOUTS_BY_CODE.items()}


def output_keypoints(reading: PoseReading) -> np.ndarray:
    """A checked pose (shared reader) -> (133, 3) in OUTPUT_LAYOUT."""
    if reading.layout.code == OUTPUT_LAYOUT.code:
        return reading.keypoints
    return to_output_layout(reading.keypoints, _MAPS[reading.layout.code])


def all_finite(est) -> bool:
    """Every number the gaze message would carry is finite."""
    values = [
        *est.face_bbox,
        est.face_score,
        est.yaw_rad,
        est.pitch_rad,
        est.head_confidence,
        *est.gaze_direction,
        est.gaze_confidence,
        est.mutual_gaze_probability,
        *est.head_point,
        *est.gaze_target,
    ]
    return bool(np.isfinite(np.asarray(values, dtype=np.float64)).all())


class GazeNode(SocialEgoLifecycleNode):
    PARAMS = GAZE_PARAMS

    def __init__(self, **kwargs) -> None:
        super().__init__("gaze_node", **kwargs)
        self.pub = None
        self.method_counts = {"face_landmarks": 0, "geometric": 0}

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        cfg = self.validated_params()
        if cfg is None:
            return TransitionCallbackReturn.FAILURE
        self.cfg = cfg
        self.pub = self.create_lifecycle_publisher(GazeFeaturesArray, topics.GAZE, RELIABLE_OUT)
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        sub = self.create_subscription(
            WholeBodyPoseArray, topics.POSES, self.on_poses, RELIABLE_OUT
        )
        self.inputs.append(sub)
        self.input_name = sub.topic_name
        self.start_diagnostics(self.cfg["diagnostics_period_s"])
        self.active = True
        return super().on_activate(state)

    def release(self) -> None:
        if self.pub is not None:
            self.destroy_lifecycle_publisher(self.pub)
            self.pub = None

    def on_poses(self, msg: WholeBodyPoseArray) -> None:
        if not self.active:
            return
        t0 = time.perf_counter()
        self.note_input()
        out = GazeFeaturesArray()
        out.header = msg.header
        readings, problems = read_pose_array(msg)
        for problem in problems:
            self.warn_throttled(problem.kind, problem.text)
        for reading in readings:
            pose = reading.pose
            est = estimate_gaze(
                output_keypoints(reading),
                self.cfg["min_keypoint_score"],
                self.cfg["mutual_gaze_yaw_deg"],
                self.cfg["gaze_distance_px_per_face"],
                use_face_landmarks=self.cfg["use_face_landmarks"],
                image_size=(int(pose.image_width), int(pose.image_height)),
            )
            if est is None:
                continue
            if not all_finite(est):
                self.warn_throttled(
                    "non_finite_output",
                    f"track {short_id(reading.track_id)}: gaze estimate not finite; skipped",
                )
                continue
            self.method_counts[est.method] = self.method_counts.get(est.method, 0) + 1
            g = GazeFeatures()
            g.header.stamp = reading.source.stamp  # the header of this pose's own image
            g.header.frame_id = reading.source.frame_id
            g.track_id = pose.track_id
            g.face_bbox = [float(v) for v in est.face_bbox]
            g.face_score = est.face_score
            qx, qy, qz, qw = quaternion_from_yaw_pitch(est.yaw_rad, est.pitch_rad)
            g.head_orientation.x, g.head_orientation.y = qx, qy
            g.head_orientation.z, g.head_orientation.w = qz, qw
            g.head_orientation_confidence = est.head_confidence
            g.gaze_direction.x, g.gaze_direction.y, g.gaze_direction.z = est.gaze_direction
            g.gaze_confidence = est.gaze_confidence
            g.mutual_gaze_probability = est.mutual_gaze_probability
            g.head_point = [float(v) for v in est.head_point]
            g.gaze_target = [float(v) for v in est.gaze_target]
            g.valence = math.nan
            g.arousal = math.nan
            out.people.append(g)
        self.pub.publish(out)
        self.note_processing((time.perf_counter() - t0) * 1000.0)
        for reading in readings:
            self.note_latency(reading.source.stamp)

    def diagnostic_values(self) -> dict[str, str]:
        values = super().diagnostic_values()
        values["from_face_landmarks"] = str(self.method_counts.get("face_landmarks", 0))
        values["from_geometry"] = str(self.method_counts.get("geometric", 0))
        return values


def main(args=None) -> None:
    run_lifecycle_node(GazeNode, args)


if __name__ == "__main__":
    main()
