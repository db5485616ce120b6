"""Build rosbags message objects of the SocialEgo wire format (socialego_msgs, sensor_msgs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from rosbags.typesys.store import Typestore

from socialego_core.labels import LabelTable

from .io import ns_to_sec_nanosec

# WholeBodyPose constants (socialego_msgs/msg/WholeBodyPose.msg)
LAYOUT_COCO17 = 1
LAYOUT_COCO_WHOLEBODY133 = 2
TRACK_STATE_CONFIRMED = 2


def header(store: Typestore, t_ns: int, frame_id: str) -> Any:
    sec, nanosec = ns_to_sec_nanosec(t_ns)
    time_cls = store.types["builtin_interfaces/msg/Time"]
    return store.types["std_msgs/msg/Header"](
        stamp=time_cls(sec=sec, nanosec=nanosec), frame_id=frame_id
    )


def image_rgb8(store: Typestore, rgb: np.ndarray, t_ns: int, frame_id: str) -> Any:
    """sensor_msgs/Image (rgb8) from an (H, W, 3) uint8 array."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
    height, width = rgb.shape[:2]
    return store.types["sensor_msgs/msg/Image"](
        header=header(store, t_ns, frame_id),
        height=height,
        width=width,
        encoding="rgb8",
        is_bigendian=0,
        step=3 * width,
        data=np.ascontiguousarray(rgb).reshape(-1),
    )


def compressed_image(store: Typestore, data: bytes, fmt: str, t_ns: int, frame_id: str) -> Any:
    """sensor_msgs/CompressedImage from encoded bytes (``fmt``: jpeg or png)."""
    return store.types["sensor_msgs/msg/CompressedImage"](
        header=header(store, t_ns, frame_id),
        format=fmt,
        data=np.frombuffer(bytes(data), dtype=np.uint8),
    )


def whole_body_pose(
    store: Typestore,
    t_ns: int,
    frame_id: str,
    track_id: str,
    keypoints: np.ndarray,
    image_size: tuple[int, int],
    box: Sequence[float] | None,
    detection_score: float,
    track_age: int,
) -> Any:
    """socialego_msgs/WholeBodyPose from (J, 3) pixel keypoints (J = 133 or 17)."""
    kp = np.asarray(keypoints, dtype=np.float32)
    layout = {133: LAYOUT_COCO_WHOLEBODY133, 17: LAYOUT_COCO17}.get(kp.shape[0])
    if layout is None or kp.ndim != 2 or kp.shape[1] != 3:
        raise ValueError(f"track {track_id}: keypoints must be (133|17, 3), got {kp.shape}")
    if box is None or len(box) != 4:
        seen = kp[kp[:, 2] > 0]
        if len(seen):
            x0, y0 = seen[:, 0].min(), seen[:, 1].min()
            box = (x0, y0, seen[:, 0].max() - x0, seen[:, 1].max() - y0)
        else:
            box = (0.0, 0.0, 0.0, 0.0)
    return store.types["socialego_msgs/msg/WholeBodyPose"](
        header=header(store, t_ns, frame_id),
        track_id=track_id,
        person_id=track_id,
        layout=layout,
        image_width=int(image_size[0]),
        image_height=int(image_size[1]),
        x=np.ascontiguousarray(kp[:, 0]),
        y=np.ascontiguousarray(kp[:, 1]),
        score=np.ascontiguousarray(kp[:, 2]),
        bbox_x=float(box[0]),
        bbox_y=float(box[1]),
        bbox_width=float(box[2]),
        bbox_height=float(box[3]),
        detection_score=float(detection_score),
        track_state=TRACK_STATE_CONFIRMED,
        track_age=int(track_age),
    )


def pose_array(store: Typestore, t_ns: int, frame_id: str, poses: list[Any]) -> Any:
    return store.types["socialego_msgs/msg/WholeBodyPoseArray"](
        header=header(store, t_ns, frame_id), poses=poses
    )


def person_labels(
    store: Typestore,
    t_ns: int,
    frame_id: str,
    track_id: str,
    person_id: str,
    video_name: str,
    table: LabelTable,
    intent: int,
    attitude: int,
    action: int,
) -> Any:
    """socialego_msgs/PersonLabels; class indices are 0-based, the wire adds 1 (0 = unknown)."""
    return store.types["socialego_msgs/msg/PersonLabels"](
        header=header(store, t_ns, frame_id),
        track_id=track_id,
        person_id=person_id,
        video_name=video_name,
        dataset=table.dataset,
        intent=intent + 1,
        attitude=attitude + 1,
        action=action + 1,
        intent_label=table.intent[intent],
        attitude_label=table.attitude[attitude],
        action_label=table.action[action],
    )


def labels_array(store: Typestore, t_ns: int, frame_id: str, people: list[Any]) -> Any:
    return store.types["socialego_msgs/msg/PersonLabelsArray"](
        header=header(store, t_ns, frame_id), people=people
    )
