"""Parameters of the inference nodes (intent node, behaviour node, REP-155 bridge), declared
from these tables, and the table of every SocialEgo node by node name.

``live=True``: a running node applies a change at once; the others are read at configure.
"""

from __future__ import annotations

from socialego_core.model_loader import RUNTIMES
from socialego_perception.params import GAZE_PARAMS, POSE_PARAMS
from socialego_ros.params import (
    CAMERA_INPUT_PARAMS,
    COMMON_PARAMS,
    RELIABILITIES,
    ParamSpec,
    device_param,
)

INTENT_PARAMS: tuple[ParamSpec, ...] = COMMON_PARAMS + (
    ParamSpec(
        "model_path",
        "",
        "student model: a .pt artifact (PyTorch) or a .onnx export (ONNX Runtime); empty = the "
        "one installed with socialego_inference for the runtime",
    ),
    ParamSpec(
        "runtime",
        "auto",
        "what runs the student: onnx (ONNX Runtime, no torch in the process), torch (PyTorch), "
        "auto (the model file's type; with no model_path ONNX Runtime, measured faster)",
        choices=RUNTIMES,
    ),
    device_param("cpu"),
    ParamSpec("threads", 1, "CPU threads of the runtime", low=1, high=256),
    ParamSpec(
        "inference_rate_hz",
        10.0,
        "forward passes per second over all tracks (with tick_on_pose: the heartbeat rate "
        "while no poses arrive)",
        low=0.1,
        high=200.0,
        live=True,
    ),
    ParamSpec(
        "tick_on_pose",
        True,
        "answer each pose array at once (one forward pass over its people); the timer then "
        "only ticks when no pose array came within its period (heartbeats, staleness)",
        live=True,
    ),
    ParamSpec(
        "max_track_gap_s",
        1.0,
        "drop a track not seen for this long (s)",
        low=0.01,
        high=600.0,
        live=True,
    ),
    ParamSpec("max_tracks", 64, "most tracks buffered at once", low=1, high=10000),
    ParamSpec(
        "min_frames", 3, "fewer observed frames in the window -> stale", low=0, high=1000, live=True
    ),
    ParamSpec(
        "stale_after_s",
        0.5,
        "newest pose older than this -> stale (s)",
        low=0.01,
        high=600.0,
        live=True,
    ),
    ParamSpec(
        "max_stamp_offset_s",
        5.0,
        "refuse a pose stamped farther than this from the node clock, past or future (s)",
        low=0.01,
        high=1e6,
        live=True,
    ),
    ParamSpec(
        "use_coasting", False, "feed coasting (unmatched) tracker poses to the buffers", live=True
    ),
    ParamSpec(
        "poses_reliability", "reliable", "pose subscription QoS reliability", choices=RELIABILITIES
    ),
    ParamSpec(
        "hysteresis_alpha", 0.5, "EMA weight of the newest window", low=0.01, high=1.0, live=True
    ),
    ParamSpec(
        "hysteresis_enter", 0.6, "probability to adopt a decision", low=0.0, high=1.0, live=True
    ),
    ParamSpec(
        "hysteresis_exit",
        0.4,
        "probability below which a decision may change",
        low=0.0,
        high=1.0,
        live=True,
    ),
    ParamSpec(
        "hysteresis_min_steps", 2, "consecutive updates before a change", low=1, high=100, live=True
    ),
)

BEHAVIOUR_PARAMS: tuple[ParamSpec, ...] = COMMON_PARAMS + (
    ParamSpec("greet_intent", "Interested", "intent label that triggers a greeting", live=True),
    ParamSpec("alert_attitude", "Negative", "attitude label that raises an alert", live=True),
    ParamSpec(
        "alert_actions", "Punch,Kick,Throw", "comma-separated action labels that alert", live=True
    ),
    ParamSpec(
        "alert_probability",
        0.6,
        "action probability that raises an alert",
        low=0.0,
        high=1.0,
        live=True,
    ),
    ParamSpec(
        "min_input_quality",
        0.3,
        "ignore intents with less observed input",
        low=0.0,
        high=1.0,
        live=True,
    ),
    ParamSpec(
        "min_probability",
        0.5,
        "ignore intents whose decided intent's quality-adjusted probability is lower",
        low=0.0,
        high=1.0,
        live=True,
    ),
    ParamSpec(
        "max_age_s",
        1.0,
        "ignore intents stamped longer ago than this by the node clock (s)",
        low=0.01,
        high=3600.0,
        live=True,
    ),
    ParamSpec(
        "greet_cooldown_s",
        10.0,
        "do not greet the same track again within this (s)",
        low=0.0,
        high=3600.0,
        live=True,
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
    ParamSpec(
        "publish_roi",
        True,
        "publish <hri_namespace>/bodies/<id>/roi (hri_msgs/NormalizedRegionOfInterest2D)",
    ),
    ParamSpec(
        "camera_namespaces",
        "",
        "comma-separated namespaces of the cameras to merge (their socialego/poses and "
        "socialego/intents); body ids then carry the camera (b<camera>_<track>); "
        "empty: one camera, the node's own namespace",
    ),
    ParamSpec("publish_intents", True, "publish ENGAGE_WITH intents (needs hri_actions_msgs)"),
    ParamSpec(
        "intent_priority", 128, "priority of the published intents", low=0, high=255, live=True
    ),
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

ANNOTATOR_PARAMS: tuple[ParamSpec, ...] = COMMON_PARAMS + (
    *CAMERA_INPUT_PARAMS,
    ParamSpec(
        "annotate_image",
        True,
        "subscribe to the camera image and publish socialego/annotated (+ /compressed); "
        "images are drawn only while someone subscribes",
    ),
    ParamSpec(
        "jpeg_quality",
        80,
        "JPEG quality of socialego/annotated/compressed",
        low=1,
        high=100,
        live=True,
    ),
    ParamSpec(
        "min_input_quality",
        0.3,
        "grey a person whose forecast has less observed input (stale ones are grey too)",
        low=0.0,
        high=1.0,
        live=True,
    ),
    ParamSpec(
        "min_keypoint_score",
        0.3,
        "joints scored below this are not drawn",
        low=0.0,
        high=1.0,
        live=True,
    ),
    ParamSpec(
        "max_intent_age_s",
        2.0,
        "a track's latest forecast older than this (node clock) is not shown (s)",
        low=0.01,
        high=3600.0,
        live=True,
    ),
    ParamSpec(
        "pair_queue",
        30,
        "images and pose arrays kept while waiting for the other of the same stamp",
        low=1,
        high=1000,
    ),
    ParamSpec("publish_markers", True, "publish socialego/markers (visualization_msgs)"),
    ParamSpec(
        "marker_depth_m",
        2.0,
        "distance from the camera at which markers are placed (monocular: no depth) (m)",
        low=0.1,
        high=100.0,
        live=True,
    ),
    ParamSpec(
        "camera_hfov_deg",
        60.0,
        "horizontal field of view of the camera, to place markers (deg)",
        low=1.0,
        high=179.0,
        live=True,
    ),
    ParamSpec(
        "publish_detections",
        False,
        "publish socialego/detections (vision_msgs/Detection2DArray; needs vision_msgs)",
    ),
    ParamSpec(
        "poses_reliability", "reliable", "pose subscription QoS reliability", choices=RELIABILITIES
    ),
)

# Every SocialEgo node's parameters by node name (the generated YAML and docs follow this order).
NODE_PARAMS: dict[str, tuple[ParamSpec, ...]] = {
    "pose_node": POSE_PARAMS,
    "gaze_node": GAZE_PARAMS,
    "intent_node": INTENT_PARAMS,
    "behaviour_node": BEHAVIOUR_PARAMS,
    "hri_bridge": HRI_BRIDGE_PARAMS,
    "annotator_node": ANNOTATOR_PARAMS,
}
