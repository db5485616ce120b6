"""A simple 3D whole-body model: body proportions, forward kinematics, face and hands.

World frame (metres): X to the camera's right, Y up, Z away from the camera; the ground is Y = 0.
A body frame per person: ``left`` (the person's left), ``up`` and ``forward``; with facing yaw
``theta`` the forward axis is (sin theta, 0, cos theta), so theta = pi faces the camera.

``BodyPose`` holds per-frame controls (arrays over N frames); ``pose_to_points`` turns them into
the 133 COCO-WholeBody points in 3D (plus a few extra points the renderer needs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from socialego_core.layouts import COCO_WHOLEBODY133, FACE, LEFT_HAND, RIGHT_HAND

# joint index by COCO-WholeBody name (socialego_core.layouts is the one definition)
J = {name: i for i, name in enumerate(COCO_WHOLEBODY133.joint_names)}
N_KEYPOINTS = COCO_WHOLEBODY133.num_joints
HAND_START = {"left": LEFT_HAND.start, "right": RIGHT_HAND.start}

# Finger curl profiles (radians per finger segment; thumb first, then index..pinky).
HAND_SHAPES: dict[str, np.ndarray] = {
    "open": np.array([0.15, 0.1, 0.1, 0.1, 0.1]),
    "relaxed": np.array([0.35, 0.45, 0.5, 0.55, 0.6]),
    "fist": np.array([0.9, 1.45, 1.5, 1.5, 1.45]),
    "point": np.array([0.8, 0.0, 1.5, 1.5, 1.45]),
    "hold": np.array([0.55, 0.8, 0.85, 0.9, 0.9]),
}
# Spread of the fingers across the palm (radians from the hand axis); an open hand spreads more.
FINGER_SPREAD = np.array([0.0, -0.12, 0.0, 0.12, 0.24])
# share of a finger's curl taken by each joint (knuckle, middle, tip)
SEGMENT_CURL = np.array([1.0, 1.0, 0.6])


@dataclass(frozen=True)
class BodyShape:
    """Segment lengths in metres for one person (randomised around adult proportions)."""

    height: float
    thigh: float
    shin: float
    ankle_height: float
    torso: float
    neck: float
    head_radius: float
    shoulder_width: float
    hip_width: float
    upper_arm: float
    forearm: float
    hand: float
    foot: float
    girth: float  # drawing width factor (build)

    @property
    def leg(self) -> float:
        return self.thigh + self.shin + self.ankle_height

    @property
    def arm(self) -> float:
        return self.upper_arm + self.forearm

    @classmethod
    def sample(cls, rng: np.random.Generator) -> BodyShape:
        height = rng.uniform(1.5, 1.95)

        def part(ratio: float, spread: float = 0.06) -> float:
            return float(height * ratio * rng.uniform(1 - spread, 1 + spread))

        return cls(
            height=float(height),
            thigh=part(0.245),
            shin=part(0.246),
            ankle_height=part(0.039, 0.02),
            torso=part(0.29),
            neck=part(0.085),
            head_radius=part(0.062, 0.05),
            shoulder_width=part(0.245, 0.12),
            hip_width=part(0.17, 0.12),
            upper_arm=part(0.186),
            forearm=part(0.146),
            hand=part(0.108, 0.05),
            foot=part(0.15, 0.05),
            girth=float(rng.uniform(0.85, 1.25)),
        )


@dataclass
class BodyPose:
    """Per-frame controls of one person over N frames (every array has length N first).

    Hand targets are given in the body frame relative to the shoulder, in units of arm length,
    as (outward, up, forward): outward is away from the body midline for that arm.
    """

    root: np.ndarray  # (N, 2) ground position (X, Z) of the pelvis
    yaw: np.ndarray  # (N,) facing direction of the body
    head_yaw: np.ndarray  # (N,) head rotation relative to the body (positive: towards the left)
    head_pitch: np.ndarray  # (N,) positive looks up
    lean: np.ndarray  # (N,) torso forward lean (radians)
    crouch: np.ndarray  # (N,) 0 standing .. 1 deep squat
    walk_phase: np.ndarray  # (N,) gait phase (radians)
    walk_amount: np.ndarray  # (N,) 0 standing .. 1 full stride
    hand_target: dict[str, np.ndarray]  # "left"/"right" -> (N, 3) outward, up, forward
    palm_normal: dict[str, np.ndarray]  # side -> (N, 3) palm direction in the body frame (l,u,f)
    hand_curl: dict[str, np.ndarray]  # side -> (N, 5) curl per finger
    smile: np.ndarray  # (N,) -1 frown .. 1 smile
    brow: np.ndarray  # (N,) 0 relaxed .. 1 lowered (anger)
    mouth_open: np.ndarray  # (N,) 0 closed .. 1 open
    gaze_target: np.ndarray  # (N, 3) world point the eyes look at
    held: dict[str, str] = field(default_factory=dict)  # side -> "ball" / "phone"
    held_visible: dict[str, np.ndarray] = field(default_factory=dict)  # side -> (N,) bool

    @property
    def num_frames(self) -> int:
        return len(self.yaw)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-9)


def body_axes(yaw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(left, up, forward) world unit vectors (N, 3) for facing yaw (N,)."""
    s, c = np.sin(yaw), np.cos(yaw)
    zero = np.zeros_like(yaw)
    forward = np.stack([s, zero, c], -1)
    left = np.stack([-c, zero, s], -1)
    up = np.stack([zero, zero + 1.0, zero], -1)
    return left, up, forward


def _to_world(local: np.ndarray, axes: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Body-frame vectors (N, ..., 3) as (left, up, forward) -> world vectors."""
    left, up, forward = axes
    shape = (local.shape[0],) + (1,) * (local.ndim - 2) + (3,)
    return (
        local[..., 0:1] * left.reshape(shape)
        + local[..., 1:2] * up.reshape(shape)
        + local[..., 2:3] * forward.reshape(shape)
    )


def two_bone_ik(
    origin: np.ndarray, target: np.ndarray, a: float, b: float, pole: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Middle and end joints (N, 3) of a two-segment limb reaching for target, bent to the pole."""
    to_target = target - origin
    dist = np.linalg.norm(to_target, axis=-1, keepdims=True)
    reach = np.clip(dist, abs(a - b) + 1e-3, a + b - 1e-4)
    axis = to_target / np.maximum(dist, 1e-9)
    cos_alpha = np.clip((a * a + reach * reach - b * b) / (2 * a * reach), -1.0, 1.0)
    sin_alpha = np.sqrt(1.0 - cos_alpha**2)
    bend = pole - np.sum(pole * axis, -1, keepdims=True) * axis
    bend = _unit(bend)
    middle = origin + a * (cos_alpha * axis + sin_alpha * bend)
    end = origin + reach * axis
    return middle, end


# Frontal face template (iBUG-68 order), in head radii: x towards the subject's LEFT, y up.
def _face_template() -> np.ndarray:
    pts = np.zeros((68, 2))
    t = np.arange(17) / 16.0
    pts[0:17, 0] = -0.78 * np.cos(np.pi * t)  # jaw from the subject's right ear to the left
    pts[0:17, 1] = 0.08 - 1.02 * np.sin(np.pi * t)
    brow = np.linspace(0, 1, 5)
    pts[17:22, 0] = -0.62 + 0.45 * brow  # right brow, outer to inner
    pts[17:22, 1] = 0.36 + 0.07 * np.sin(np.pi * brow)
    pts[22:27, 0] = 0.17 + 0.45 * brow  # left brow, inner to outer
    pts[22:27, 1] = 0.36 + 0.07 * np.sin(np.pi * brow)
    pts[27:31, 0] = 0.0  # nose bridge, top to tip
    pts[27:31, 1] = np.linspace(0.22, -0.22, 4)
    pts[31:36, 0] = np.linspace(-0.17, 0.17, 5)  # nostrils
    pts[31:36, 1] = -0.3 + 0.04 * np.cos(np.linspace(-1.2, 1.2, 5))
    for start, cx in ((36, -0.33), (42, 0.33)):
        # eye: corner, two upper, corner, two lower (clockwise as iBUG)
        xs = np.array([-0.15, -0.05, 0.05, 0.15, 0.05, -0.05])
        ys = np.array([0.0, 0.05, 0.05, 0.0, -0.045, -0.045])
        pts[start : start + 6, 0] = cx + xs
        pts[start : start + 6, 1] = 0.17 + ys
    # outer lip 48..59: right corner, upper lip to the left corner (54), lower lip back
    outer_x = np.array([-0.3, -0.2, -0.08, 0.0, 0.08, 0.2, 0.3, 0.2, 0.08, 0.0, -0.08, -0.2])
    outer_y = np.array([0.0, 0.05, 0.08, 0.06, 0.08, 0.05, 0.0, -0.07, -0.1, -0.1, -0.1, -0.07])
    pts[48:60, 0] = outer_x
    pts[48:60, 1] = -0.56 + outer_y
    inner_x = np.array([-0.22, -0.08, 0.0, 0.08, 0.22, 0.08, 0.0, -0.08])
    inner_y = np.array([0.0, 0.02, 0.02, 0.02, 0.0, -0.02, -0.02, -0.02])
    pts[60:68, 0] = inner_x
    pts[60:68, 1] = -0.56 + inner_y
    return pts


FACE_TEMPLATE = _face_template()
_MOUTH_X = np.abs(FACE_TEMPLATE[48:68, 0])
_LOWER_LIP = np.r_[np.arange(55, 60), np.arange(65, 68)]
_UPPER_INNER = np.arange(61, 64)


def face_points_2d(smile: np.ndarray, brow: np.ndarray, mouth_open: np.ndarray) -> np.ndarray:
    """(N, 68, 2) expression-deformed face template (head radii)."""
    n = len(smile)
    pts = np.repeat(FACE_TEMPLATE[None], n, 0).copy()
    # mouth corners rise (smile) or drop (frown), the lip line bends with them; a smile widens
    width = (_MOUTH_X / 0.3) ** 2
    pts[:, 48:68, 1] += 0.22 * smile[:, None] * width[None]
    pts[:, 48:68, 0] *= 1.0 + 0.12 * smile[:, None]
    pts[:, _LOWER_LIP, 1] -= 0.16 * mouth_open[:, None]
    pts[:, _UPPER_INNER, 1] += 0.02 * mouth_open[:, None]
    # anger lowers and tilts the inner brows
    inner_weight = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    pts[:, 17:22, 1] -= 0.16 * brow[:, None] * inner_weight[None]
    pts[:, 22:27, 1] -= 0.16 * brow[:, None] * inner_weight[::-1][None]
    return pts


def hand_points(
    wrist: np.ndarray,
    elbow: np.ndarray,
    palm_dir: np.ndarray,
    curl: np.ndarray,
    length: float,
    is_left: bool,
) -> np.ndarray:
    """(N, 21, 3) hand keypoints: wrist, then thumb, index, middle, ring, pinky (4 each)."""
    axis = _unit(wrist - elbow)
    normal = palm_dir - np.sum(palm_dir * axis, -1, keepdims=True) * axis
    normal = _unit(normal + 1e-6)
    across = _unit(np.cross(axis, normal))
    if is_left:
        across = -across
    palm = 0.45 * length
    finger = 0.55 * length
    out = np.empty((len(wrist), 21, 3))
    out[:, 0] = wrist
    # knuckle positions across the palm (thumb base near the wrist)
    base_along = np.array([0.25, 1.0, 1.0, 0.95, 0.85]) * palm
    base_across = np.array([0.45, 0.32, 0.1, -0.12, -0.3]) * palm
    seg = np.array([0.45, 0.32, 0.23]) * finger
    openness = 1.0 - np.clip(curl.mean(-1, keepdims=True) / 1.4, 0, 1)
    for f in range(5):
        base = wrist + base_along[f] * axis + base_across[f] * across
        spread = FINGER_SPREAD[f] * (0.5 + openness)
        if f == 0:
            direction0 = _unit(0.55 * axis + 0.85 * across - 0.3 * normal)
            seg_f = seg * np.array([0.75, 0.85, 0.9])
        else:
            direction0 = _unit(axis + np.tan(spread) * across)
            seg_f = seg * (0.85 if f == 4 else 1.0)
        point = base
        out[:, 1 + 4 * f] = point
        angle = np.zeros((len(wrist), 1))
        for k in range(3):
            angle = angle + SEGMENT_CURL[k] * curl[:, f : f + 1]
            if f == 0:
                direction = _unit(direction0 * np.cos(angle) + normal * np.sin(angle) * 0.8)
            else:
                direction = direction0 * np.cos(angle) + normal * np.sin(angle)
            point = point + seg_f[k] * direction
            out[:, 2 + 4 * f + k] = point
    return out


@dataclass
class BodyPoints:
    """3D points of one person over N frames."""

    keypoints: np.ndarray  # (N, 133, 3) COCO-WholeBody order
    head_center: np.ndarray  # (N, 3)
    head_forward: np.ndarray  # (N, 3) unit vector the face points to
    eye_center: np.ndarray  # (N, 3)
    neck: np.ndarray  # (N, 3)
    pelvis: np.ndarray  # (N, 3)
    forward: np.ndarray  # (N, 3) body facing
    gaze_target: np.ndarray  # (N, 3) world point the eyes look at


def pose_to_points(shape: BodyShape, pose: BodyPose) -> BodyPoints:
    """Forward kinematics of the whole body (vectorised over frames)."""
    n = pose.num_frames
    axes = body_axes(pose.yaw)
    left, up, forward = axes
    kp = np.zeros((n, N_KEYPOINTS, 3))

    # pelvis: lowered by crouching, bobbing a little while walking
    crouch = pose.crouch[:, None]
    bob = 0.015 * pose.walk_amount[:, None] * np.cos(2 * pose.walk_phase)[:, None]
    pelvis_h = shape.leg * (1.0 - 0.42 * crouch) - 0.02 + bob
    root3 = np.stack([pose.root[:, 0], np.zeros(n), pose.root[:, 1]], -1)
    pelvis = root3 + up * pelvis_h - forward * (0.12 * crouch * shape.leg)
    hips = {
        s: pelvis + sign * left * shape.hip_width / 2 for s, sign in (("left", 1), ("right", -1))
    }

    lean = pose.lean[:, None]
    torso_dir = up * np.cos(lean) + forward * np.sin(lean)
    neck = pelvis + shape.torso * torso_dir
    shoulders = {
        s: neck - 0.03 * torso_dir + sign * left * shape.shoulder_width / 2
        for s, sign in (("left", 1), ("right", -1))
    }

    # head orientation: body yaw + head yaw, then pitch (negative looks down)
    head_axes = body_axes(pose.yaw + pose.head_yaw)
    h_left, _, h_fwd_flat = head_axes
    pitch = pose.head_pitch[:, None]
    h_fwd = h_fwd_flat * np.cos(pitch) + up * np.sin(pitch)
    h_up = up * np.cos(pitch) - h_fwd_flat * np.sin(pitch)
    head_center = neck + torso_dir * shape.neck + up * shape.head_radius * 0.6
    r = shape.head_radius
    kp[:, J["nose"]] = head_center + h_fwd * r * 1.05 - h_up * 0.25 * r
    for side, sign in (("left", 1), ("right", -1)):
        kp[:, J[f"{side}_eye"]] = (
            head_center + h_fwd * r * 0.82 + sign * h_left * 0.33 * r + h_up * 0.17 * r
        )
        kp[:, J[f"{side}_ear"]] = head_center + sign * h_left * r * 0.95 - h_fwd * 0.05 * r
        kp[:, J[f"{side}_shoulder"]] = shoulders[side]
        kp[:, J[f"{side}_hip"]] = hips[side]

    # face landmarks on the front of the head
    face2d = face_points_2d(pose.smile, pose.brow, pose.mouth_open)
    depth = np.sqrt(np.clip(1.0 - 0.55 * face2d[..., 0] ** 2 - 0.2 * face2d[..., 1] ** 2, 0.05, 1))
    kp[:, FACE.start : FACE.stop] = head_center[:, None] + r * (
        face2d[..., 0:1] * h_left[:, None]
        + face2d[..., 1:2] * h_up[:, None]
        + (0.92 * depth)[..., None] * h_fwd[:, None]
    )
    eye_center = 0.5 * (kp[:, J["left_eye"]] + kp[:, J["right_eye"]])

    # arms by two-bone IK towards the hand targets
    wrists, elbows = {}, {}
    for side, sign in (("left", 1), ("right", -1)):
        target_local = pose.hand_target[side] * shape.arm
        local = np.stack([sign * target_local[:, 0], target_local[:, 1], target_local[:, 2]], -1)
        target = shoulders[side] + _to_world(local, axes)
        pole_local = np.array([sign * 0.7, -0.6, -0.4])
        pole = _to_world(np.repeat(pole_local[None], n, 0), axes)
        elbow, wrist = two_bone_ik(shoulders[side], target, shape.upper_arm, shape.forearm, pole)
        kp[:, J[f"{side}_elbow"]], kp[:, J[f"{side}_wrist"]] = elbow, wrist
        wrists[side], elbows[side] = wrist, elbow

    # legs: feet follow the gait (or stay planted), knees bend forward
    amount = pose.walk_amount[:, None]
    for side, sign, phase_shift in (("left", 1, 0.0), ("right", -1, np.pi)):
        phase = pose.walk_phase[:, None] + phase_shift
        stride = 0.32 * shape.leg * amount
        along = stride * np.sin(phase)
        lift = 0.08 * shape.leg * amount * np.clip(np.cos(phase), 0, None)
        ankle_target = (
            root3
            + sign * left * (shape.hip_width / 2 + 0.02)
            + forward * (along + 0.05 * crouch)
            + up * (shape.ankle_height + lift)
        )
        pole = forward + 0.1 * sign * left
        knee, ankle = two_bone_ik(hips[side], ankle_target, shape.thigh, shape.shin, pole)
        kp[:, J[f"{side}_knee"]], kp[:, J[f"{side}_ankle"]] = knee, ankle
        foot_fwd = _unit(forward + 0.15 * sign * left)
        ground = up * shape.ankle_height
        kp[:, J[f"{side}_big_toe"]] = (
            ankle - ground + foot_fwd * shape.foot * 0.8 - sign * left * 0.02
        )
        kp[:, J[f"{side}_small_toe"]] = (
            ankle - ground + foot_fwd * shape.foot * 0.65 + sign * left * 0.035
        )
        kp[:, J[f"{side}_heel"]] = ankle - ground * 0.6 - foot_fwd * shape.foot * 0.25

    # hands
    for side, first in HAND_START.items():
        sign = 1 if side == "left" else -1
        palm_local = pose.palm_normal[side] * np.array([sign, 1.0, 1.0])
        palm_world = _to_world(palm_local, axes)
        kp[:, first : first + 21] = hand_points(
            wrists[side],
            elbows[side],
            palm_world,
            pose.hand_curl[side],
            shape.hand,
            is_left=(side == "left"),
        )
    return BodyPoints(
        keypoints=kp,
        head_center=head_center,
        head_forward=h_fwd,
        eye_center=eye_center,
        neck=neck,
        pelvis=pelvis,
        forward=forward,
        gaze_target=pose.gaze_target,
    )
