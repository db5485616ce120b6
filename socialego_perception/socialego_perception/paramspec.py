"""ROS-free parameter tables of every SocialEgo node: name, default, range, choices, description.

The nodes declare their parameters from these tables (with ParameterDescriptors carrying the
ranges); the launch checks and config/socialego.yaml are validated against the same tables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
RELIABILITIES = ("best_effort", "reliable")


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: bool | int | float | str
    description: str
    low: float | None = None  # inclusive range for numbers
    high: float | None = None
    choices: tuple[str, ...] | None = None
    pattern: str | None = None  # regular expression a string must match

    @property
    def kind(self) -> type:
        return type(self.default)

    def validate(self, value) -> str | None:
        """None if ``value`` is acceptable, else a message naming the parameter and problem."""
        kind = self.kind
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return f"parameter '{self.name}' must be {kind.__name__}, got {value!r}"
        if kind in (int, float):
            if self.low is not None and value < self.low:
                return f"parameter '{self.name}' must be >= {self.low}, got {value}"
            if self.high is not None and value > self.high:
                return f"parameter '{self.name}' must be <= {self.high}, got {value}"
        if kind is str:
            if self.choices is not None and value not in self.choices:
                return f"parameter '{self.name}' must be one of {self.choices}, got {value!r}"
            if self.pattern is not None and not re.match(self.pattern, value):
                return f"parameter '{self.name}' {value!r} does not match {self.pattern}"
        return None


def validate_all(specs: tuple[ParamSpec, ...], values: Mapping[str, object]) -> list[str]:
    """Problems with ``values`` (unknown names, wrong types or ranges); empty if all is well."""
    by_name = {s.name: s for s in specs}
    problems = [f"unknown parameter '{name}'" for name in values if name not in by_name]
    for name, value in values.items():
        if name in by_name:
            problem = by_name[name].validate(value)
            if problem:
                problems.append(problem)
    return problems


COMMON_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("autostart", True, "configure and activate the lifecycle node at start"),
    ParamSpec(
        "diagnostics_period_s", 1.0, "period of /diagnostics messages (s)", low=0.1, high=60.0
    ),
)

POSE_PARAMS: tuple[ParamSpec, ...] = COMMON_PARAMS + (
    ParamSpec(
        "backend",
        "mediapipe",
        "pose estimator: mediapipe (Apache-2.0), yolo_onnx (AGPL-3.0 weights, opt-in), "
        "onnx_wholebody (your RTMPose/RTMW/DWPose ONNX)",
        choices=("mediapipe", "yolo_onnx", "onnx_wholebody"),
    ),
    ParamSpec(
        "device",
        "auto",
        "auto | cpu | cuda:N (falls back to CPU, logged)",
        pattern=DEVICE_PATTERN.pattern,
    ),
    ParamSpec("threads", 0, "CPU threads for onnxruntime (0 = library default)", low=0, high=256),
    ParamSpec("max_persons", 5, "most people estimated per image", low=1, high=100),
    ParamSpec("min_detection_confidence", 0.5, "person detection threshold", low=0.0, high=1.0),
    ParamSpec(
        "mediapipe_mode",
        "pose",
        "mediapipe: pose (multi-person body) or holistic (one person, body + hands)",
        choices=("pose", "holistic"),
    ),
    ParamSpec(
        "face_hands",
        "none",
        "face (68) and hand (2 x 21) keypoints per tracked person: none, or mediapipe "
        "(MediaPipe's face/hand landmark models on each person's crop, placed from its body "
        "keypoints; works with any backend)",
        choices=("none", "mediapipe"),
    ),
    ParamSpec(
        "face_hands_max_persons",
        2,
        "most tracked people per image that get face/hand crops, largest first "
        "(cost about N x the per-person time)",
        low=1,
        high=100,
    ),
    ParamSpec("yolo_model_path", "", "YOLO-pose .onnx file (backend yolo_onnx / box_source)"),
    ParamSpec("wholebody_model_path", "", "whole-body SimCC .onnx file (onnx_wholebody)"),
    ParamSpec(
        "box_source",
        "mediapipe",
        "person boxes for onnx_wholebody",
        choices=("mediapipe", "yolo_onnx", "full_image"),
    ),
    ParamSpec(
        "input_type",
        "raw",
        "raw: sensor_msgs/Image on 'image'; compressed: "
        "sensor_msgs/CompressedImage on 'image/compressed'",
        choices=("raw", "compressed"),
    ),
    ParamSpec(
        "image_reliability",
        "best_effort",
        "image subscription QoS reliability",
        choices=RELIABILITIES,
    ),
    ParamSpec("image_qos_depth", 1, "image subscription queue depth", low=1, high=100),
    ParamSpec(
        "max_rate_hz",
        0.0,
        "process at most this many images per second (0 = all)",
        low=0.0,
        high=1000.0,
    ),
    ParamSpec("tracker_iou_threshold", 0.3, "box IoU to join a track", low=0.01, high=0.99),
    ParamSpec("tracker_hit_counter_max", 15, "images a track survives unmatched", low=1, high=1000),
    ParamSpec(
        "tracker_initialization_delay", 2, "matches before a track is confirmed", low=0, high=999
    ),
    ParamSpec("publish_coasting", False, "also publish tracks not matched in this image"),
)

GAZE_PARAMS: tuple[ParamSpec, ...] = COMMON_PARAMS + (
    ParamSpec(
        "min_keypoint_score", 0.3, "face keypoints below this are ignored", low=0.0, high=1.0
    ),
    ParamSpec(
        "use_face_landmarks",
        True,
        "head pose from the 68 face keypoints (solvePnP on a generic face) when a pose has "
        "them; otherwise, or if false, the geometric estimate from nose/eyes/ears",
    ),
    ParamSpec(
        "mutual_gaze_yaw_deg",
        20.0,
        "head yaw at which mutual gaze probability is 0.5",
        low=1.0,
        high=90.0,
    ),
    ParamSpec(
        "gaze_distance_px_per_face",
        4.0,
        "gaze target distance from the head point, in face widths",
        low=0.0,
        high=100.0,
    ),
)

INTENT_PARAMS: tuple[ParamSpec, ...] = COMMON_PARAMS + (
    ParamSpec(
        "model_path",
        "",
        "student artifact (.pt); empty = the one installed with socialego_inference",
    ),
    ParamSpec(
        "device",
        "cpu",
        "auto | cpu | cuda:N (falls back to CPU, logged)",
        pattern=DEVICE_PATTERN.pattern,
    ),
    ParamSpec("threads", 1, "torch CPU threads", low=1, high=256),
    ParamSpec(
        "inference_rate_hz", 10.0, "forward passes per second over all tracks", low=0.1, high=200.0
    ),
    ParamSpec(
        "max_track_gap_s", 1.0, "drop a track not seen for this long (s)", low=0.01, high=600.0
    ),
    ParamSpec("max_tracks", 64, "most tracks buffered at once", low=1, high=10000),
    ParamSpec("min_frames", 3, "fewer observed frames in the window -> stale", low=0, high=1000),
    ParamSpec(
        "stale_after_s", 0.5, "newest pose older than this -> stale (s)", low=0.01, high=600.0
    ),
    ParamSpec("use_coasting", False, "feed coasting (unmatched) tracker poses to the buffers"),
    ParamSpec(
        "poses_reliability", "reliable", "pose subscription QoS reliability", choices=RELIABILITIES
    ),
    ParamSpec("hysteresis_alpha", 0.5, "EMA weight of the newest window", low=0.01, high=1.0),
    ParamSpec("hysteresis_enter", 0.6, "probability to adopt a decision", low=0.0, high=1.0),
    ParamSpec(
        "hysteresis_exit", 0.4, "probability below which a decision may change", low=0.0, high=1.0
    ),
    ParamSpec("hysteresis_min_steps", 2, "consecutive updates before a change", low=1, high=100),
)

BEHAVIOUR_PARAMS: tuple[ParamSpec, ...] = COMMON_PARAMS + (
    ParamSpec("greet_intent", "Interested", "intent label that triggers a greeting"),
    ParamSpec("alert_attitude", "Negative", "attitude label that raises an alert"),
    ParamSpec("alert_actions", "Punch,Kick,Throw", "comma-separated action labels that alert"),
    ParamSpec(
        "alert_probability", 0.6, "action probability that raises an alert", low=0.0, high=1.0
    ),
    ParamSpec(
        "min_input_quality", 0.3, "ignore intents with less observed input", low=0.0, high=1.0
    ),
    ParamSpec(
        "greet_cooldown_s",
        10.0,
        "do not greet the same track again within this (s)",
        low=0.0,
        high=3600.0,
    ),
)

HRI_BRIDGE_PARAMS: tuple[ParamSpec, ...] = COMMON_PARAMS + (
    ParamSpec(
        "hri_namespace",
        "/humans",
        "REP-155 namespace of the bodies/ and persons/ topics",
        pattern=r"^(?!.*__)/?[A-Za-z][A-Za-z0-9_]*(/[A-Za-z][A-Za-z0-9_]*)*$",
    ),
    ParamSpec(
        "intents_topic",
        "/intents",
        "topic of hri_actions_msgs/Intent (ENGAGE_WITH when a person becomes interacting)",
        pattern=r"^(?!.*__)/?[A-Za-z][A-Za-z0-9_]*(/[A-Za-z][A-Za-z0-9_]*)*$",
    ),
    ParamSpec(
        "body_id_prefix",
        "b",
        "prefix that turns a track_id into a valid REP-155 body id (track ids are digits)",
        pattern=r"^[A-Za-z][A-Za-z0-9]*$",
    ),
    ParamSpec(
        "person_id_prefix",
        "p",
        "prefix for person ids that are not valid ROS name tokens as they are",
        pattern=r"^[A-Za-z][A-Za-z0-9]*$",
    ),
    ParamSpec(
        "anonymous_persons",
        True,
        "tracks without a person_id become anonymous persons (anonymous_<body id>); "
        "false: only tracks with a person_id are published as persons",
    ),
    ParamSpec("publish_skeletons", True, "publish <hri_namespace>/bodies/<id>/skeleton2d"),
    ParamSpec("publish_intents", True, "publish ENGAGE_WITH intents (needs hri_actions_msgs)"),
    ParamSpec("intent_priority", 128, "priority of the published intents", low=0, high=255),
    ParamSpec(
        "forget_after_s",
        2.0,
        "drop a body's/person's topics and engagement state when unseen this long (s)",
        low=0.1,
        high=3600.0,
    ),
    ParamSpec(
        "poses_reliability", "reliable", "pose subscription QoS reliability", choices=RELIABILITIES
    ),
)

NODE_PARAMS: dict[str, tuple[ParamSpec, ...]] = {
    "pose_node": POSE_PARAMS,
    "gaze_node": GAZE_PARAMS,
    "intent_node": INTENT_PARAMS,
    "behaviour_node": BEHAVIOUR_PARAMS,
    "hri_bridge": HRI_BRIDGE_PARAMS,
}
