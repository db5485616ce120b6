"""The one reader of socialego_msgs/WholeBodyPose: message -> (N, 3) keypoint array.

ROS-free (reads the message's fields by name), shared by the intent node, the gaze node and the
REP-155 bridge so that every consumer refuses the same malformed poses with the same words.
"""

from __future__ import annotations

import numpy as np
from socialego_core.layouts import LAYOUTS_BY_CODE, Layout


class PoseError(ValueError):
    """A malformed pose; ``kind`` names the problem class (throttled warnings, diagnostics)."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(text)
        self.kind = kind


def pose_layout(pose) -> Layout:
    """The pose's keypoint layout; PoseError for an unknown layout code."""
    layout = LAYOUTS_BY_CODE.get(pose.layout)
    if layout is None:
        known = ", ".join(f"{lay.name}={code}" for code, lay in LAYOUTS_BY_CODE.items())
        raise PoseError("unknown_layout", f"unknown layout code {pose.layout} (known: {known})")
    return layout


def pose_keypoints(pose) -> tuple[np.ndarray, Layout]:
    """(N, 3) float32 pixels (x, y, score) in the pose's layout, and that layout.

    PoseError names the malformed field (unknown layout, wrong number of keypoints).
    """
    layout = pose_layout(pose)
    n = layout.num_joints
    if not (len(pose.x) == len(pose.y) == len(pose.score) == n):
        raise PoseError(
            "wrong_length",
            f"layout {layout.name} needs {n} keypoints, got "
            f"x={len(pose.x)} y={len(pose.y)} score={len(pose.score)}",
        )
    keypoints = np.stack(
        [
            np.asarray(pose.x, dtype=np.float32),
            np.asarray(pose.y, dtype=np.float32),
            np.asarray(pose.score, dtype=np.float32),
        ],
        axis=1,
    )
    return keypoints, layout
