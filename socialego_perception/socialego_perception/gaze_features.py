"""ROS-free head and gaze features from 2D keypoints: face landmarks when a pose has them,
else a geometric estimate from nose, eyes and ears.

- ``face_landmarks``: with the 68 face keypoints (e.g. from the pose node's ``face_hands``
  stage) the head pose is solved with OpenCV's solvePnP on a generic 3D face (nose tip, chin,
  outer eye corners, mouth corners); the head point is the middle of the eyes.
- ``geometric``: head yaw from the nose's offset between the eyes, pitch from the nose's height
  below them.
Either way gaze is taken along the head direction (the 68-point layout has no pupils, so
eye-in-head rotation is not estimated); ``GazeEstimate.method`` says which one was used.
Accurate eye-gaze models (MCGaze-style) can replace it behind the same output.
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

# A generic head for solvePnP: iBUG-68 point -> position (mm) with the face towards the camera,
# in its optical frame (x image right, y down, z away): nose tip at the origin.
_FACE_MODEL: dict[int, tuple[float, float, float]] = {
    30: (0.0, 0.0, 0.0),  # nose tip
    8: (0.0, 68.0, 15.0),  # chin
    36: (-45.0, -35.0, 35.0),  # right eye, outer corner (image left when facing the camera)
    45: (45.0, -35.0, 35.0),  # left eye, outer corner
    48: (-25.0, 32.0, 25.0),  # mouth, right corner
    54: (25.0, 32.0, 25.0),  # mouth, left corner
}
_FACE_MODEL_IDS = [FACE.start + i for i in _FACE_MODEL]
_FACE_MODEL_POINTS = np.array(list(_FACE_MODEL.values()), dtype=np.float64)
_EYE_IDS = [FACE.start + i for i in range(36, 48)]
# reprojection error (in face widths) above which the solved pose is not trusted
_MAX_REPROJECTION = 0.12


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
    method: str = "geometric"  # "face_landmarks" or "geometric"


def quaternion_from_yaw_pitch(yaw: float, pitch: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) of a rotation by yaw about the camera y axis, then pitch about x."""
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    # q = q_yaw(y) * q_pitch(x)
    return (cy * sp, sy * cp, -sy * sp, cy * cp)


def head_pose_from_face(
    keypoints: np.ndarray, min_score: float, image_size: tuple[int, int] | None = None
) -> tuple[float, float, float, tuple[float, float]] | None:
    """(yaw, pitch, confidence, head point) from the 68 face keypoints, or None when too few
    are usable or the solved pose does not fit them.

    ``image_size`` (width, height) places the principal point and a typical focal length (the
    image width, about a 53 degree field of view); without it the face centre and a long lens.
    """
    import cv2

    kp = np.asarray(keypoints, dtype=np.float64)
    used = kp[_FACE_MODEL_IDS]
    if not (used[:, 2] >= min_score).all() or not np.isfinite(used).all():
        return None
    image_pts = np.ascontiguousarray(used[:, :2])
    face_width = float(np.ptp(image_pts[:, 0]))
    if face_width < 4.0:
        return None
    if image_size is not None and image_size[0] > 0 and image_size[1] > 0:
        focal, centre = float(image_size[0]), (image_size[0] / 2, image_size[1] / 2)
    else:
        focal, centre = 20.0 * face_width, tuple(image_pts.mean(axis=0))
    camera = np.array([[focal, 0, centre[0]], [0, focal, centre[1]], [0, 0, 1]], np.float64)
    try:
        ok, rvec, tvec = cv2.solvePnP(
            _FACE_MODEL_POINTS, image_pts, camera, None, flags=cv2.SOLVEPNP_SQPNP
        )
    except cv2.error:  # degenerate points (all on a line): no pose
        return None
    if not ok or tvec[2, 0] <= 0:
        return None
    projected, _ = cv2.projectPoints(_FACE_MODEL_POINTS, rvec, tvec, camera, None)
    error = float(np.linalg.norm(projected.reshape(-1, 2) - image_pts, axis=1).mean())
    error /= face_width
    if error > _MAX_REPROJECTION:
        return None
    rotation, _ = cv2.Rodrigues(rvec)
    facing = rotation @ np.array([0.0, 0.0, -1.0])  # the face looks along the model's -z
    yaw = math.atan2(facing[0], -facing[2])
    pitch = math.atan2(-facing[1], math.hypot(facing[0], facing[2]))
    confidence = float(used[:, 2].mean()) * (1.0 - error / _MAX_REPROJECTION * 0.5)
    eyes = kp[_EYE_IDS]
    eyes = eyes[eyes[:, 2] >= min_score]
    head_point = (
        tuple(float(v) for v in eyes[:, :2].mean(axis=0))
        if len(eyes)
        else (
            float(image_pts[0, 0]),
            float(image_pts[0, 1]),
        )
    )
    return yaw, pitch, confidence, head_point


def estimate_gaze(
    keypoints: np.ndarray,
    min_score: float = 0.3,
    mutual_gaze_yaw_deg: float = 20.0,
    gaze_distance_faces: float = 4.0,
    use_face_landmarks: bool = True,
    image_size: tuple[int, int] | None = None,
) -> GazeEstimate | None:
    """(133, 3) pixel keypoints -> head/gaze features, or None if no face keypoint is usable.

    Uses the 68 face keypoints when ``use_face_landmarks`` and they give a head pose, else the
    geometric estimate; ``image_size`` (width, height) helps the former.
    """
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
    from_face = head_pose_from_face(kp, min_score, image_size) if use_face_landmarks else None
    method = "geometric"
    if from_face is not None:
        yaw, pitch, confidence, head_point = from_face
        method = "face_landmarks"
    elif eyes_seen and ok[NOSE]:
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
        # gaze along the head, not the eyes: weaker than the head pose itself
        gaze_confidence=float(np.clip(confidence * 0.5, 0, 1)),
        mutual_gaze_probability=float(mutual * np.clip(confidence, 0, 1)),
        head_point=head_point,
        gaze_target=(float(target[0]), float(target[1])),
        method=method,
    )
