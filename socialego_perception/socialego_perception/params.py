"""Parameters of the perception nodes (pose node, gaze node), declared from these tables.

``live=True``: a running node applies a change at once; the others are read at configure.
"""

from __future__ import annotations

from socialego_ros.params import (
    CAMERA_INPUT_PARAMS,
    COMMON_PARAMS,
    ParamSpec,
    device_param,
)

POSE_PARAMS: tuple[ParamSpec, ...] = COMMON_PARAMS + (
    ParamSpec(
        "backend",
        "mediapipe",
        "pose estimator: mediapipe (Apache-2.0), yolo_onnx (AGPL-3.0 weights, opt-in), "
        "onnx_wholebody (your RTMPose/RTMW/DWPose ONNX)",
        choices=("mediapipe", "yolo_onnx", "onnx_wholebody"),
    ),
    device_param("auto"),
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
    *CAMERA_INPUT_PARAMS,
    ParamSpec(
        "max_image_pixels",
        40_000_000,
        "drop an image that declares more pixels than this (raw size, or a compressed image's "
        "header, checked before decoding)",
        low=256,
        high=1_000_000_000,
        live=True,
    ),
    ParamSpec("image_qos_depth", 1, "image subscription queue depth", low=1, high=100),
    ParamSpec(
        "max_rate_hz",
        0.0,
        "process at most this many images per second (0 = all)",
        low=0.0,
        high=1000.0,
        live=True,
    ),
    ParamSpec("tracker_iou_threshold", 0.3, "box IoU to join a track", low=0.01, high=0.99),
    ParamSpec("tracker_hit_counter_max", 15, "images a track survives unmatched", low=1, high=1000),
    ParamSpec(
        "tracker_initialization_delay", 2, "matches before a track is confirmed", low=0, high=999
    ),
    ParamSpec(
        "publish_coasting", False, "also publish tracks not matched in this image", live=True
    ),
)

GAZE_PARAMS: tuple[ParamSpec, ...] = COMMON_PARAMS + (
    ParamSpec(
        "min_keypoint_score",
        0.3,
        "face keypoints below this are ignored",
        low=0.0,
        high=1.0,
        live=True,
    ),
    ParamSpec(
        "use_face_landmarks",
        True,
        "head pose from the 68 face keypoints (solvePnP on a generic face) when a pose has "
        "them; otherwise, or if false, the geometric estimate from nose/eyes/ears",
        live=True,
    ),
    ParamSpec(
        "mutual_gaze_yaw_deg",
        20.0,
        "head yaw at which mutual gaze probability is 0.5",
        low=1.0,
        high=90.0,
        live=True,
    ),
    ParamSpec(
        "gaze_distance_px_per_face",
        4.0,
        "gaze target distance from the head point, in face widths",
        low=0.0,
        high=100.0,
        live=True,
    ),
)
