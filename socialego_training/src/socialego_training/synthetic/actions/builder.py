"""``PoseBuilder``: the per-frame controls of one person (path, yaw, arms, hands, face, gaze)
with the helpers the action scripts compose; ``build`` turns them into a ``BodyPose``."""

from __future__ import annotations

import numpy as np

from ..body import HAND_SHAPES, BodyPose
from .motion import (
    HANG,
    IDLE_STYLES,
    MEDIAL,
    Scene,
    pulse,
    ramp,
    smoothstep,
    wrap_angle,
    yaw_towards,
)


class PoseBuilder:
    """Mutable per-frame controls with helpers the action scripts compose."""

    def __init__(self, scene: Scene, root_xz: np.ndarray, yaw: float):
        n = scene.n
        self.scene = scene
        self.root = np.repeat(np.asarray(root_xz, float)[None], n, 0)
        self.yaw = np.full(n, float(yaw))
        self.lean = np.zeros(n)
        self.crouch = np.zeros(n)
        self.walk_amount = np.zeros(n)
        self.walk_phase = np.zeros(n)
        self.hand_target = {s: np.repeat(HANG[None], n, 0) for s in ("left", "right")}
        self.palm = {s: np.repeat(MEDIAL[None], n, 0) for s in ("left", "right")}
        self.curl = {s: np.repeat(HAND_SHAPES["relaxed"][None], n, 0) for s in ("left", "right")}
        self.smile = np.zeros(n)
        self.brow = np.zeros(n)
        self.mouth_open = np.zeros(n)
        self.gaze_target = np.repeat(scene.robot_eye[None], n, 0)
        self.head_follow = np.full(n, 0.85)  # share of a gaze shift made by the head
        self.held: dict[str, str] = {}
        self.held_visible: dict[str, np.ndarray] = {}
        self._swing = {"left": 1.0, "right": 1.0}

    # --- locomotion -------------------------------------------------------------------------
    def set_path(self, root_xz: np.ndarray, face_motion: bool = True) -> None:
        """Move along a path (N, 2); gait amount and phase follow the speed."""
        self.root = root_xz
        step = np.diff(root_xz, axis=0, prepend=root_xz[:1])
        speed = np.linalg.norm(step, axis=1) * self.scene.fps
        speed = np.convolve(speed, np.ones(3) / 3, mode="same")
        self.walk_amount = np.clip(speed / 1.0, 0.0, 1.0)
        cycle = 1.35 * self.scene.shape.leg / 0.9  # metres per gait cycle
        self.walk_phase = 2 * np.pi * np.cumsum(np.linalg.norm(step, axis=1)) / cycle
        if face_motion:
            moving = speed > 0.15
            heading = np.arctan2(step[:, 0], step[:, 1])
            yaw = self.yaw.copy()
            for i in range(len(yaw)):
                if moving[i]:
                    yaw[i] = heading[i]
                elif i > 0:
                    yaw[i] = yaw[i - 1]
            self.yaw = yaw

    def walk_between(
        self, start: np.ndarray, end: np.ndarray, speed: float, t_start: float
    ) -> np.ndarray:
        """Path from ``start`` to ``end`` at ``speed`` m/s starting at ``t_start`` (smooth stop)."""
        start, end = np.asarray(start, float), np.asarray(end, float)
        length = float(np.linalg.norm(end - start))
        duration = max(length / max(speed, 1e-3), 1e-3)
        s = smoothstep((self.scene.t - t_start) / duration) * 0.5 + 0.5 * np.clip(
            (self.scene.t - t_start) / duration, 0, 1
        )
        return start[None] + s[:, None] * (end - start)[None]

    def face_point(self, point_xz: np.ndarray, weight: np.ndarray | float = 1.0) -> None:
        """Turn the body towards a ground point (blended by ``weight``)."""
        target = yaw_towards(self.root, np.asarray(point_xz)[None])
        self.yaw = self.yaw + np.asarray(weight) * wrap_angle(target - self.yaw)

    # --- arms and hands ---------------------------------------------------------------------
    def idle(self, style: str, sides: tuple[str, ...] = ("left", "right")) -> None:
        """Put arms in a resting posture (shared by every class, so posture alone misleads)."""
        targets = dict(zip(("left", "right"), IDLE_STYLES[style][:2]))
        for side in sides:
            self.hand_target[side][:] = targets[side]
            self.curl[side][:] = HAND_SHAPES[IDLE_STYLES[style][2]]
            if style != "hang":
                self._swing[side] = 0.2

    def blend_arm(
        self,
        side: str,
        target: np.ndarray,
        weight: np.ndarray,
        palm: np.ndarray | None = None,
        hand: str | None = None,
    ) -> None:
        w = np.clip(np.asarray(weight, float), 0, 1)[:, None]
        target = np.broadcast_to(np.asarray(target, float), (self.scene.n, 3))
        self.hand_target[side] = (1 - w) * self.hand_target[side] + w * target
        if palm is not None:
            self.palm[side] = (1 - w) * self.palm[side] + w * np.asarray(palm)[None]
        if hand is not None:
            self.curl[side] = (1 - w) * self.curl[side] + w * HAND_SHAPES[hand][None]
        self._swing[side] = min(self._swing[side], 0.3)

    def set_hand(self, side: str, hand: str, weight: np.ndarray | float = 1.0) -> None:
        w = np.broadcast_to(np.asarray(weight, float), (self.scene.n,))[:, None]
        self.curl[side] = (1 - w) * self.curl[side] + w * HAND_SHAPES[hand][None]

    def fidget(self, side: str) -> None:
        """A brief unrelated gesture (touch face, scratch head): noise every class shares."""
        rng = self.scene.rng
        start = rng.uniform(0.0, max(self.scene.t[-1] - 0.6, 0.1))
        target = np.array([rng.uniform(-0.45, -0.2), rng.uniform(0.05, 0.35), 0.25])
        weight = pulse(self.scene.t, start, rng.uniform(0.3, 0.5), rng.uniform(0.3, 1.0), 0.4)
        self.blend_arm(side, target, weight, palm=MEDIAL, hand="relaxed")

    # --- face and gaze ----------------------------------------------------------------------
    def expression(self, attitude: str, onset: float = 0.0) -> None:
        """Facial expression by attitude, with a share of unclear faces (as in real data)."""
        rng = self.scene.rng
        clear = rng.random() < 0.8
        if attitude == "Positive":
            smile = rng.uniform(0.35, 1.0) if clear else rng.uniform(-0.2, 0.35)
            brow = rng.uniform(0.0, 0.2)
        elif attitude == "Negative":
            smile = -rng.uniform(0.35, 1.0) if clear else rng.uniform(-0.35, 0.2)
            brow = rng.uniform(0.4, 1.0) if clear else rng.uniform(0.0, 0.4)
        else:
            smile = rng.uniform(-0.3, 0.35)
            brow = rng.uniform(0.0, 0.35)
        w = 0.3 + 0.7 * ramp(self.scene.t, onset - 0.3, 0.5)
        jitter = 0.05 * rng.normal(size=self.scene.n)
        self.smile = np.clip(smile * w + jitter, -1, 1)
        self.brow = np.clip(brow * w, 0, 1)

    def talk(self, start: float) -> None:
        rng = self.scene.rng
        freq = rng.uniform(2.5, 4.5)
        amp = rng.uniform(0.35, 0.9)
        phase = rng.uniform(0, 2 * np.pi)
        on = ramp(self.scene.t, start, 0.2)
        syllables = np.abs(np.sin(2 * np.pi * freq * self.scene.t + phase))
        self.mouth_open = np.clip(amp * on * syllables * rng.uniform(0.6, 1.0, self.scene.n), 0, 1)

    def look_at(self, points: np.ndarray, weight: np.ndarray | float = 1.0) -> None:
        """Eyes move to the world points (N, 3) or (3,) (blended by weight)."""
        points = np.broadcast_to(np.asarray(points, float), (self.scene.n, 3))
        w = np.broadcast_to(np.asarray(weight, float), (self.scene.n,))[:, None]
        self.gaze_target = (1 - w) * self.gaze_target + w * points

    def head_orientation(self) -> tuple[np.ndarray, np.ndarray]:
        """Head yaw/pitch (relative to the body) that turn the head part of the way to the gaze."""
        head_h = self.scene.shape.height * (0.93 - 0.3 * self.crouch)
        head = np.stack([self.root[:, 0], head_h, self.root[:, 1]], -1)
        d = self.gaze_target - head
        yaw_to = np.arctan2(d[:, 0], d[:, 2])
        pitch_to = np.arctan2(d[:, 1], np.hypot(d[:, 0], d[:, 2]))
        rel = wrap_angle(yaw_to - self.yaw)
        # smooth the head a little so gaze switches look like turns
        k = np.ones(3) / 3
        follow = self.head_follow
        head_yaw = np.clip(np.convolve(follow * rel, k, mode="same"), -1.3, 1.3)
        head_pitch = np.clip(np.convolve(follow * pitch_to, k, mode="same"), -0.9, 0.6)
        head_yaw[0], head_pitch[0] = follow[0] * rel[0], follow[0] * pitch_to[0]
        head_yaw[-1], head_pitch[-1] = follow[-1] * rel[-1], follow[-1] * pitch_to[-1]
        return head_yaw, head_pitch

    # --- result -----------------------------------------------------------------------------
    def build(self) -> BodyPose:
        # arms swing with the gait unless busy
        for side, sign in (("left", 1.0), ("right", -1.0)):
            swing = 0.22 * self._swing[side] * self.walk_amount * np.sin(self.walk_phase) * sign
            self.hand_target[side] = self.hand_target[side] + np.stack(
                [np.zeros_like(swing), 0.02 * np.abs(swing), swing], -1
            )
        head_yaw, head_pitch = self.head_orientation()
        return BodyPose(
            root=self.root,
            yaw=self.yaw,
            head_yaw=head_yaw,
            head_pitch=head_pitch,
            lean=self.lean,
            crouch=self.crouch,
            walk_phase=self.walk_phase,
            walk_amount=self.walk_amount * (1 - self.crouch),
            hand_target=self.hand_target,
            palm_normal=self.palm,
            hand_curl=self.curl,
            smile=self.smile,
            brow=self.brow,
            mouth_open=self.mouth_open,
            gaze_target=self.gaze_target,
            held=self.held,
            held_visible=self.held_visible,
        )
