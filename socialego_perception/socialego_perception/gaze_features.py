"""ROS-free geometric head and gaze features from 2D face keypoints (nose, eyes, ears, face).

A light, model-free estimator for the teacher's gaze channel (head point + gaze target) and a
mutual-gaze cue: head yaw from the nose's offset between the eyes, pitch from the nose's height
below them, gaze taken along the head direction. Accurate eye-gaze models (MCGaze-style) can
replace it behind the same output; this one needs no weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from socialego_core.layouts import COCO_WHOLEBODY133, FACE

NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR = (
    COCO_WHOLEBODY133.index(n) for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
)
# typical nose drop below the eye line, in eye distances, for a level head
_LEVEL_NOSE_DROP = 0.55


@dataclass
class GazeEstimate:
    face_bbox: tuple[float, float, float, float]
    face_score: float
    yaw_rad: float  # + = face turned towards image right
    pitch_rad: float  # + = looking up
    head_confidence: float
    gaze_direction: tuple[float, float, float]  # unit vector, camera optical frame
    gaze_confidence: float
    mutual_gaze_probability: float
    head_point: tuple[float, float]
    gaze_target: tuple[float, float]


def quaternion_from_yaw_pitch(yaw: float, pitch: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) of a rotation by yaw about the camera y axis, then pitch about x."""
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    # q = q_yaw(y) * q_pitch(x)
    return (cy * sp, sy * cp, -sy * sp, cy * cp)


def estimate_gaze(
    keypoints: np.ndarray,
    min_score: float = 0.3,
    mutual_gaze_yaw_deg: float = 20.0,
    gaze_distance_faces: float = 4.0,
) -> GazeEstimate | None:
    """(133, 3) pixel keypoints -> head/gaze features, or None if no face keypoint is usable."""
    kp = np.nan_to_num(np.asarray(keypoints, dtype=np.float64), nan=0.0)
    ok = kp[:, 2] >= min_score
    head_ids = [i for i in (NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR) if ok[i]]
    if not head_ids:
        return None
    head = kp[head_ids]
    spread = max(np.ptp(head[:, 0]), np.ptp(head[:, 1]), 1.0)
    face_ids = [i for i in FACE if ok[i]]
    if len(face_ids) >= 5:
        pts = kp[face_ids]
        x0, y0 = pts[:, 0].min(), pts[:, 1].min()
        bbox = (x0, y0, pts[:, 0].max() - x0, pts[:, 1].max() - y0)
        face_score = float(pts[:, 2].mean())
    else:
        size = 2.0 * spread
        cx, cy = head[:, 0].mean(), head[:, 1].mean()
        bbox = (cx - size / 2, cy - size / 2, size, size)
        face_score = float(head[:, 2].mean()) * len(head_ids) / 5.0
    eyes_seen = ok[LEFT_EYE] and ok[RIGHT_EYE]
    if eyes_seen and ok[NOSE]:
        left, right, nose = kp[LEFT_EYE, :2], kp[RIGHT_EYE, :2], kp[NOSE, :2]
        mid = (left + right) / 2
        eye_dist = max(float(np.linalg.norm(left - right)), 1.0)
        # the person's left eye is on the image right when they face the camera
        sideways = float(np.clip((nose[0] - mid[0]) / (eye_dist / 2 + 1e-6), -1, 1))
        yaw = math.asin(sideways)
        drop = (nose[1] - mid[1]) / eye_dist
        pitch = float(np.clip(-(drop - _LEVEL_NOSE_DROP), -1, 1)) * (math.pi / 3)
        confidence = float(kp[[LEFT_EYE, RIGHT_EYE, NOSE], 2].mean())
        head_point = (float(mid[0]), float(mid[1]))
    elif ok[NOSE] or ok[LEFT_EYE] or ok[RIGHT_EYE]:
        # profile: turning to their left (image right) hides the left eye, and vice versa
        sign = 1.0 if (ok[RIGHT_EYE] and not ok[LEFT_EYE]) else -1.0
        yaw, pitch = sign * math.pi / 2, 0.0
        confidence = 0.5 * float(head[:, 2].mean())
        head_point = (float(head[:, 0].mean()), float(head[:, 1].mean()))
    else:
        # only ears: the back of the head faces the camera
        yaw, pitch = math.pi, 0.0
        confidence = 0.5 * float(head[:, 2].mean())
        head_point = (float(head[:, 0].mean()), float(head[:, 1].mean()))
    # facing the camera = looking along -z; turn by yaw (about y) and pitch (about x)
    direction = np.array(
        [math.sin(yaw) * math.cos(pitch), -math.sin(pitch), -math.cos(yaw) * math.cos(pitch)]
    )
    direction /= np.linalg.norm(direction)
    yaw50 = math.radians(mutual_gaze_yaw_deg)
    mutual = math.exp(-math.log(2) * ((yaw / yaw50) ** 2 + (pitch / yaw50) ** 2))
    face_width = max(bbox[2], 1.0)
    target = (
        head_point[0] + direction[0] * gaze_distance_faces * face_width,
        head_point[1] + direction[1] * gaze_distance_faces * face_width,
    )
    return GazeEstimate(
        face_bbox=tuple(float(v) for v in bbox),
        face_score=float(np.clip(face_score, 0, 1)),
        yaw_rad=float(yaw),
        pitch_rad=float(pitch),
        head_confidence=float(np.clip(confidence, 0, 1)),
        gaze_direction=tuple(float(v) for v in direction),
        gaze_confidence=float(np.clip(confidence * 0.5, 0, 1)),  # head-only: weaker than eyes
        mutual_gaze_probability=float(mutual * np.clip(confidence, 0, 1)),
        head_point=head_point,
        gaze_target=(float(target[0]), float(target[1])),
    )
