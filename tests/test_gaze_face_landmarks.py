"""Gaze features from the 68 face keypoints (solvePnP head pose) and the geometric fallback."""

from __future__ import annotations

import math

import numpy as np
import pytest
from footage import read_rgb
from socialego_core.layouts import COCO_WHOLEBODY133, FACE
from socialego_perception.gaze_features import (
    _FACE_MODEL,
    estimate_gaze,
    head_pose_from_face,
)

IDX = {name: i for i, name in enumerate(COCO_WHOLEBODY133.joint_names)}
WIDTH, HEIGHT = 640, 480


def head_rotation(yaw: float, pitch: float) -> np.ndarray:
    """Rotation that turns a face looking at the camera by yaw (towards image right) and pitch
    (up), in the camera optical frame (x right, y down, z forward)."""
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    # the face looks along -z; yaw > 0 must send that towards +x, pitch > 0 towards -y
    turn = np.array([[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]])
    nod = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])
    return turn @ nod


def synthetic_face(yaw_deg: float, pitch_deg: float, distance_mm: float = 900.0) -> np.ndarray:
    """(133, 3) keypoints: the generic face's six points seen by a camera with focal = width,
    plus the body's nose and eyes where the geometric estimate expects them."""
    import cv2

    rotation = head_rotation(math.radians(yaw_deg), math.radians(pitch_deg))
    rvec, _ = cv2.Rodrigues(rotation)
    tvec = np.array([0.0, 0.0, distance_mm])
    camera = np.array([[WIDTH, 0, WIDTH / 2], [0, WIDTH, HEIGHT / 2], [0, 0, 1]], float)
    model = np.array(list(_FACE_MODEL.values()))
    image, _ = cv2.projectPoints(model, rvec, tvec, camera, None)
    kp = np.zeros((133, 3), np.float32)
    for ibug, xy in zip(_FACE_MODEL, image.reshape(-1, 2), strict=True):
        kp[FACE.start + ibug] = (*xy, 0.9)
    kp[IDX["nose"]] = kp[FACE.start + 30]
    kp[IDX["right_eye"]] = kp[FACE.start + 36]
    kp[IDX["left_eye"]] = kp[FACE.start + 45]
    return kp


@pytest.mark.parametrize(
    ("yaw", "pitch"), [(0, 0), (30, 0), (-35, 0), (0, 20), (0, -15), (25, -10), (-45, 15)]
)
def test_head_pose_is_recovered_from_projected_face_points(yaw, pitch):
    kp = synthetic_face(yaw, pitch)
    est = estimate_gaze(kp, image_size=(WIDTH, HEIGHT))
    assert est.method == "face_landmarks"
    assert math.degrees(est.yaw_rad) == pytest.approx(yaw, abs=2.0)
    assert math.degrees(est.pitch_rad) == pytest.approx(pitch, abs=2.0)
    direction = np.array(est.gaze_direction)
    assert np.linalg.norm(direction) == pytest.approx(1.0)
    if yaw:
        assert np.sign(direction[0]) == np.sign(yaw)  # turned right -> looks towards +x
    assert est.head_confidence > 0.8
    # looking at the camera is mutual gaze; turned 30 degrees or more is not
    if yaw == 0 and pitch == 0:
        assert est.mutual_gaze_probability > 0.8
    if abs(yaw) >= 30:
        assert est.mutual_gaze_probability < 0.3


def test_without_image_size_the_angles_stay_close():
    est = estimate_gaze(synthetic_face(30, 10))
    assert est.method == "face_landmarks"
    assert math.degrees(est.yaw_rad) == pytest.approx(30, abs=5.0)
    assert math.degrees(est.pitch_rad) == pytest.approx(10, abs=5.0)


def test_falls_back_to_geometry_without_face_points_or_when_told():
    kp = synthetic_face(20, 0)
    no_face = kp.copy()
    no_face[FACE.start : FACE.stop, 2] = 0.0
    geometric = estimate_gaze(no_face, image_size=(WIDTH, HEIGHT))
    assert geometric.method == "geometric"
    told = estimate_gaze(kp, use_face_landmarks=False, image_size=(WIDTH, HEIGHT))
    assert told.method == "geometric"
    assert told.yaw_rad == pytest.approx(geometric.yaw_rad)
    # one of the six model points below min_score: not enough for a pose
    weak = kp.copy()
    weak[FACE.start + 8, 2] = 0.1
    assert estimate_gaze(weak, image_size=(WIDTH, HEIGHT)).method == "geometric"


def test_face_points_that_fit_no_head_fall_back_to_geometry():
    kp = synthetic_face(0, 0)
    # mouth corners above the eyes and the chin beside the nose: no rigid face fits this
    kp[FACE.start + 48, :2], kp[FACE.start + 36, :2] = (
        kp[FACE.start + 36, :2],
        kp[FACE.start + 48, :2],
    )
    kp[FACE.start + 8, :2] = kp[FACE.start + 30, :2] + (60.0, -5.0)
    assert head_pose_from_face(kp, 0.3, (WIDTH, HEIGHT)) is None
    assert estimate_gaze(kp, image_size=(WIDTH, HEIGHT)).method == "geometric"


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_or_collapsed_face_points_do_not_crash(value):
    kp = synthetic_face(0, 0)
    kp[FACE.start + 30, 0] = value
    assert head_pose_from_face(kp, 0.3, (WIDTH, HEIGHT)) is None
    collapsed = synthetic_face(0, 0)
    collapsed[FACE.start : FACE.stop, :2] = (100.0, 100.0)
    assert head_pose_from_face(collapsed, 0.3, (WIDTH, HEIGHT)) is None
    assert estimate_gaze(collapsed).method == "geometric"


def test_real_player_looking_at_his_partner():
    """basketball1.png: the left player faces his partner on the image right. Face keypoints
    from the face/hand stage give a head turned right, as the geometric estimate does."""
    pytest.importorskip("mediapipe", reason="mediapipe not installed (requirements/runtime.txt)")
    from socialego_perception.backends import create_backend
    from socialego_perception.backends.face_hands import MediaPipeFaceHands

    rgb = read_rgb("basketball1.png")
    body = create_backend("mediapipe", mediapipe_mode="pose", max_persons=2)
    stage = MediaPipeFaceHands(max_persons=1)
    try:
        people = body.infer(rgb)
        stage.refine(rgb, people)
    finally:
        body.close()
        stage.close()
    kp = max(people, key=lambda p: p.score).keypoints
    size = (rgb.shape[1], rgb.shape[0])
    from_face = estimate_gaze(kp, image_size=size)
    geometric = estimate_gaze(kp, use_face_landmarks=False, image_size=size)
    assert from_face.method == "face_landmarks" and geometric.method == "geometric"
    assert 25 < math.degrees(from_face.yaw_rad) < 80
    assert abs(from_face.yaw_rad - geometric.yaw_rad) < math.radians(20)
    assert abs(math.degrees(from_face.pitch_rad)) < 25
    # the head point lies between the eyes of the face keypoints
    eyes = kp[FACE.start + 36 : FACE.start + 48, :2]
    assert eyes[:, 0].min() < from_face.head_point[0] < eyes[:, 0].max()
    assert from_face.mutual_gaze_probability < 0.2
