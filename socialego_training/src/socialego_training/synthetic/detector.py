"""A detector-like view of the clean 3D bodies: what a whole-body pose + gaze estimator outputs.

Projects the points, then adds what real detectors do: pixel noise that grows for small faces
and hands, lower scores for self-occluded and out-of-image points, dropped joints, dropped
hands, missed frames, and a noisy gaze estimate (head point + gaze target in the image).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from socialego_core.layouts import BODY, FACE, FEET, HANDS, LEFT_HAND, RIGHT_HAND

from .body import BodyPoints, BodyShape
from .camera import Camera

# which 3D point a head keypoint's visibility normal starts from (nose, eyes, ears + face)
_HEAD_POINTS = np.r_[np.arange(0, 5), np.arange(FACE.start, FACE.stop)]


GAZE_ARROW_M = 1.0  # metres at the person that a gaze across the line of sight spans


@dataclass
class Detections:
    """Per-frame detector output of one person (F frames of the person's life in the video)."""

    keypoints: np.ndarray  # (F, 133, 3) pixels + score
    boxes: np.ndarray  # (F, 4) x, y, w, h
    scores: np.ndarray  # (F,)
    gaze: np.ndarray  # (F, 4) head x, y, target x, y
    detected: np.ndarray  # (F,) bool


@dataclass(frozen=True)
class NoiseLevel:
    """Per-track detector quality (randomised)."""

    pixel: float  # multiplier of the pixel noise
    joint_drop: float  # chance a keypoint is lost in a frame
    hand_drop: float  # chance a whole hand is lost in a frame
    frame_miss: float  # chance the person is missed in a frame
    gaze_deg: float  # gaze direction error (degrees)

    @classmethod
    def sample(cls, rng: np.random.Generator) -> NoiseLevel:
        return cls(
            pixel=float(rng.uniform(0.6, 1.6)),
            joint_drop=float(rng.uniform(0.0, 0.05)),
            hand_drop=float(rng.uniform(0.0, 0.12)),
            frame_miss=float(rng.choice([0.0, rng.uniform(0.02, 0.12)], p=[0.4, 0.6])),
            gaze_deg=float(rng.uniform(3.0, 9.0)),
        )


def detect(
    points: BodyPoints,
    shape: BodyShape,
    camera: Camera,
    frames: np.ndarray,
    rng: np.random.Generator,
    noise: NoiseLevel,
) -> Detections:
    """Turn clean 3D points of one person at video ``frames`` into noisy detections."""
    n = len(frames)
    W, H = camera.width, camera.height
    uv, depth = camera.project(points.keypoints, frames)
    to_cam = camera.position[None, None] - points.keypoints
    to_cam /= np.linalg.norm(to_cam, axis=-1, keepdims=True)

    # scale of the person in pixels (noise grows with it, small faces and hands are unreliable)
    pelvis_depth = np.maximum(camera.to_camera(points.pelvis[:, None], frames)[:, 0, 2], 0.2)
    ppm = camera.focal / pelvis_depth  # pixels per metre at the person
    head_px = shape.head_radius * ppm
    hand_px = shape.hand * ppm

    score = np.empty((n, 133))
    score[:, BODY] = rng.uniform(0.7, 0.97, (n, 17))
    score[:, FEET] = rng.uniform(0.5, 0.9, (n, 6))
    face_quality = np.clip(head_px / 12.0, 0.25, 1.0)[:, None]
    score[:, FACE] = rng.uniform(0.55, 0.95, (n, 68)) * face_quality
    hand_quality = np.clip(hand_px / 25.0, 0.3, 1.0)[:, None]
    score[:, HANDS] = rng.uniform(0.45, 0.9, (n, 42)) * hand_quality

    # self-occlusion of head points: the surface normal must face the camera
    normal = points.keypoints[:, _HEAD_POINTS] - points.head_center[:, None]
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    facing = np.sum(normal * to_cam[:, _HEAD_POINTS], -1)
    score[:, _HEAD_POINTS] *= np.clip(0.15 + 1.5 * facing, 0.03, 1.0)
    # the far side of the body (arms and legs behind the torso when seen from the side / back)
    torso_facing = np.sum(points.forward * to_cam[:, 0], -1)  # > 0: facing the camera
    back_view = np.clip(-torso_facing, 0, 1)[:, None]
    score[:, HANDS] *= 1.0 - 0.6 * back_view

    sigma = np.empty((n, 133))
    sigma[:, BODY] = (0.008 * shape.height * ppm + 0.4)[:, None]
    sigma[:, FEET] = (0.01 * shape.height * ppm + 0.5)[:, None]
    sigma[:, FACE] = (0.045 * head_px + 0.3)[:, None]
    sigma[:, HANDS] = (0.05 * hand_px + 0.45)[:, None]
    sigma *= noise.pixel * (1.3 - 0.5 * score)
    xy = uv + rng.normal(size=(n, 133, 2)) * sigma[..., None]

    # dropped keypoints: a wild guess with a near-zero score
    dropped = rng.random((n, 133)) < noise.joint_drop
    xy[dropped] += rng.normal(0, 0.15 * H, size=(int(dropped.sum()), 2))
    score[dropped] = rng.uniform(0.0, 0.1, int(dropped.sum()))
    for hand in (LEFT_HAND, RIGHT_HAND):
        lost = rng.random(n) < noise.hand_drop
        score[np.ix_(lost, np.arange(hand.start, hand.stop))] = rng.uniform(
            0, 0.12, (int(lost.sum()), 21)
        )

    inside = (depth > 0.1) & (uv[..., 0] >= 0) & (uv[..., 0] < W) & (uv[..., 1] >= 0)
    inside &= uv[..., 1] < H
    score[~inside] *= rng.uniform(0.05, 0.3, int((~inside).sum()))
    xy[..., 0] = np.clip(xy[..., 0], 0, W - 1)
    xy[..., 1] = np.clip(xy[..., 1], 0, H - 1)
    keypoints = np.concatenate([xy, np.clip(score, 0, 1)[..., None]], -1)

    # box around the clean visible points, with a margin and jitter
    boxes = np.zeros((n, 4))
    detected = np.zeros(n, bool)
    body_inside = inside[:, BODY].sum(1)
    for i in range(n):
        vis = inside[i]
        if vis.sum() < 3:
            continue
        pts = uv[i, vis]
        x0, y0 = pts.min(0)
        x1, y1 = pts.max(0)
        margin = 0.08 * max(x1 - x0, y1 - y0) + 2
        jitter = rng.normal(0, 0.02 * (y1 - y0) + 0.5, 4)
        x0, y0 = max(0.0, x0 - margin + jitter[0]), max(0.0, y0 - margin + jitter[1])
        x1, y1 = min(W - 1.0, x1 + margin + jitter[2]), min(H - 1.0, y1 + margin + jitter[3])
        boxes[i] = (x0, y0, max(x1 - x0, 1.0), max(y1 - y0, 1.0))
        detected[i] = body_inside[i] >= 6 and (y1 - y0) >= 15 and pelvis_depth[i] > 0.3
    misses = rng.random(n) < noise.frame_miss
    misses[0] = False
    detected &= ~misses
    det_score = 0.45 + 0.5 * keypoints[:, BODY, 2].mean(1) + rng.normal(0, 0.02, n)

    gaze = _gaze(points, camera, frames, rng, noise)
    return Detections(
        keypoints=keypoints,
        boxes=boxes,
        scores=np.clip(det_score, 0.05, 1.0),
        gaze=gaze,
        detected=detected,
    )


def _gaze(
    points: BodyPoints,
    camera: Camera,
    frames: np.ndarray,
    rng: np.random.Generator,
    noise: NoiseLevel,
) -> np.ndarray:
    """Head point and gaze target in the image: head + the gaze direction's image-plane part."""
    n = len(frames)
    eye = points.eye_center
    direction = points.gaze_target - eye
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    # estimators are worse when the face is turned away
    face_to_cam = camera.position[None] - points.head_center
    face_to_cam /= np.linalg.norm(face_to_cam, axis=-1, keepdims=True)
    away = np.clip(-np.sum(points.head_forward * face_to_cam, -1), 0, 1)
    err = np.deg2rad(noise.gaze_deg * (1 + 2.5 * away))[:, None]
    direction = direction + err * rng.normal(size=(n, 3))
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    # the image shows the part of the gaze direction across the line of sight (as gaze arrows
    # do): looking straight at the robot gives a near-zero vector at any distance
    sight = eye - camera.position[None]
    sight /= np.linalg.norm(sight, axis=-1, keepdims=True)
    across = direction - np.sum(direction * sight, -1, keepdims=True) * sight
    target3 = eye + GAZE_ARROW_M * across
    head_uv, _ = camera.project(eye[:, None], frames)
    target_uv, _ = camera.project(target3[:, None], frames)
    jitter = rng.normal(0, 1.0, (n, 2))  # the head point's error moves the whole arrow
    head_uv = head_uv[:, 0] + jitter
    target_uv = target_uv[:, 0] + jitter
    out = np.concatenate([head_uv, target_uv], -1)
    out[:, 0::2] = np.clip(out[:, 0::2], 0, camera.width - 1)
    out[:, 1::2] = np.clip(out[:, 1::2], 0, camera.height - 1)
    return out
