"""Procedural scripts of the 10 JPL-Social actions, as seen by a robot standing at the origin.

Each script turns a random draw into a ``BodyPose`` (per-frame controls of one person). Every
action has a characteristic but variable whole-body motion that starts within about the first
second of the track, with a random onset, speed, distance, viewpoint and side. Confusable pairs
are built on purpose (handshake / punch, point / wave, gaze / standing no-response, leave / walk
past): their body motion overlaps, and what tells them apart lies mostly in the face
(expression, talking), the hands (open, fist, pointing finger, held ball or phone) and the gaze.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .body import HAND_SHAPES, BodyPose, BodyShape

# hand targets in arm lengths relative to the shoulder: (outward, up, forward)
HANG = np.array([0.1, -0.97, 0.04])
IDLE_STYLES: dict[str, tuple[np.ndarray, np.ndarray, str]] = {
    # style -> (left target, right target, hand shape); both given as (outward, up, forward)
    "hang": (HANG, HANG, "relaxed"),
    "pockets": (np.array([0.28, -0.8, 0.05]), np.array([0.28, -0.8, 0.05]), "fist"),
    "crossed": (np.array([-0.5, -0.5, 0.32]), np.array([-0.45, -0.42, 0.36]), "relaxed"),
    "behind": (np.array([-0.15, -0.8, -0.3]), np.array([-0.15, -0.8, -0.3]), "relaxed"),
    "hips": (np.array([0.42, -0.62, 0.0]), np.array([0.42, -0.62, 0.0]), "relaxed"),
}
MEDIAL = np.array([-1.0, 0.0, 0.0])  # palm towards the body midline (outward, up, forward)
PALM_DOWN = np.array([0.0, -1.0, 0.0])
PALM_FORWARD = np.array([0.0, 0.0, 1.0])


@dataclass
class Scene:
    """What an action script needs to know: time, the person's body, the camera's view."""

    rng: np.random.Generator
    t: np.ndarray  # (N,) seconds since the track's first frame
    fps: float
    shape: BodyShape
    view_tan: float  # half image width / focal: lateral extent of the view per metre of depth
    robot_eye: np.ndarray  # (3,) the camera (the robot's "eyes") in world coordinates
    lane: float | None = None  # preferred side of the view (-1..1) when several people share it

    @property
    def n(self) -> int:
        return len(self.t)


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def ramp(t: np.ndarray, start: float, duration: float) -> np.ndarray:
    """0 before ``start``, rising smoothly to 1 over ``duration`` seconds."""
    return smoothstep((t - start) / max(duration, 1e-3))


def pulse(t: np.ndarray, start: float, rise: float, hold: float, fall: float) -> np.ndarray:
    return ramp(t, start, rise) * (1.0 - ramp(t, start + rise + hold, fall))


def wrap_angle(a: np.ndarray) -> np.ndarray:
    return (a + np.pi) % (2 * np.pi) - np.pi


def yaw_towards(src_xz: np.ndarray, dst_xz: np.ndarray) -> np.ndarray:
    d = np.asarray(dst_xz) - np.asarray(src_xz)
    return np.arctan2(d[..., 0], d[..., 1])


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


# --- helpers shared by the scripts ----------------------------------------------------------
def _onset(rng: np.random.Generator) -> float:
    """When the characteristic motion starts: within the first second, mostly early."""
    return float(rng.uniform(0.0, 0.9) ** 1.3)


def _start_in_view(scene: Scene, depth: float, spread: float = 0.55) -> np.ndarray:
    """A ground point inside the view; with several people, near the person's own lane."""
    if scene.lane is None:
        fraction = scene.rng.uniform(-spread, spread)
    else:
        fraction = float(np.clip(scene.lane + scene.rng.uniform(-0.2, 0.2), -0.8, 0.8))
    return np.array([fraction * scene.view_tan * depth, depth])


def _elsewhere(scene: Scene, root_xz: np.ndarray, min_angle: float = 0.5) -> np.ndarray:
    """A world point the person looks at that is not the robot (side, floor, far away)."""
    rng = scene.rng
    to_robot = yaw_towards(root_xz, np.zeros(2))
    angle = to_robot + rng.choice([-1, 1]) * rng.uniform(min_angle, 2.2)
    dist = rng.uniform(1.5, 5.0)
    height = rng.uniform(0.0, 2.0)
    return np.array([root_xz[0] + dist * np.sin(angle), height, root_xz[1] + dist * np.cos(angle)])


def _near_robot(scene: Scene, root_xz: np.ndarray) -> np.ndarray:
    """A point beside the robot (0.5-0.8 rad off the line of sight): not looking at it."""
    rng = scene.rng
    angle = yaw_towards(root_xz, np.zeros(2)) + rng.choice([-1, 1]) * rng.uniform(0.5, 0.8)
    dist = float(np.linalg.norm(root_xz)) * rng.uniform(0.8, 1.2)
    return np.array(
        [
            root_xz[0] + dist * np.sin(angle),
            rng.uniform(0.3, 1.6),
            root_xz[1] + dist * np.cos(angle),
        ]
    )


def _approach(
    scene: Scene,
    b: PoseBuilder,
    d0: tuple[float, float],
    d1: tuple[float, float],
    speed: tuple[float, float],
) -> float:
    """Walk towards the robot and stop in front of it; returns the arrival time."""
    rng = scene.rng
    start = _start_in_view(scene, rng.uniform(*d0))
    end = np.array([rng.uniform(-0.15, 0.15), rng.uniform(*d1)])
    v = rng.uniform(*speed)
    t0 = rng.uniform(0.0, 0.3) if rng.random() < 0.6 else 0.0
    b.yaw[:] = yaw_towards(start, end)  # already facing the way before the first step
    b.set_path(b.walk_between(start, end, v, t0))
    # near the robot, square up to it
    b.face_point(np.zeros(2), weight=0.7)
    return t0 + float(np.linalg.norm(end - start)) / v


def _maybe_fidget(b: PoseBuilder, side: str, p: float = 0.12) -> None:
    if b.scene.rng.random() < p:
        b.fidget(side)


def _free_arm(b: PoseBuilder, side: str, p: float = 0.35) -> None:
    """The arm not doing the action sometimes rests in a pocket, on the hip or behind."""
    if b.scene.rng.random() < p:
        b.idle(str(b.scene.rng.choice(["pockets", "hips", "behind"])), (side,))


# --- the ten actions ------------------------------------------------------------------------
def handshake(scene: Scene, b: PoseBuilder) -> None:
    rng = scene.rng
    _approach(scene, b, (1.6, 3.0), (0.7, 1.0), (0.6, 1.3))
    on = _onset(rng)
    rise = rng.uniform(0.35, 0.8)
    target = np.array([rng.uniform(-0.15, 0.05), rng.uniform(-0.55, -0.15), rng.uniform(0.6, 0.9)])
    w = ramp(scene.t, on, rise)
    shake = 0.05 * np.sin(2 * np.pi * rng.uniform(2, 3) * scene.t) * ramp(scene.t, on + rise, 0.2)
    target_t = target[None] + np.stack([0 * shake, shake, 0 * shake], -1)
    b.blend_arm("right", target_t, w, palm=MEDIAL, hand="open")
    b.set_hand("right", "hold", ramp(scene.t, on + rise + 0.3, 0.3) * 0.6)
    b.expression("Positive", on)
    _free_arm(b, "left")
    _maybe_fidget(b, "left")


def hug(scene: Scene, b: PoseBuilder) -> None:
    rng = scene.rng
    arrive = _approach(scene, b, (1.6, 3.0), (0.55, 0.85), (0.6, 1.2))
    on = _onset(rng)
    rise = rng.uniform(0.4, 0.9)
    up = rng.uniform(-0.3, 0.05)
    open_width = rng.uniform(0.25, 0.55)
    close = ramp(scene.t, max(arrive - 0.2, on + rise), 0.5)
    for side in ("left", "right"):
        outward = open_width * (1 - close) + rng.uniform(-0.15, 0.05) * close
        target = np.stack(
            [outward, np.full(scene.n, up + rng.uniform(-0.05, 0.05)), 0.6 + 0.2 * close], -1
        )
        b.blend_arm(side, target, ramp(scene.t, on + rng.uniform(0, 0.15), rise), MEDIAL, "open")
    b.lean = 0.2 * close
    b.expression("Positive", on)


def pet(scene: Scene, b: PoseBuilder) -> None:
    rng = scene.rng
    arrive = _approach(scene, b, (1.2, 2.2), (0.65, 1.0), (0.6, 1.1))
    on = min(_onset(rng) + 0.2, max(arrive - rng.uniform(0.0, 0.4), 0.1))
    down = rng.uniform(0.6, 1.0)
    level = rng.uniform(0.55, 0.95)
    b.crouch = level * ramp(scene.t, on, down)
    b.lean = rng.uniform(0.25, 0.6) * ramp(scene.t, on, down)
    reach = ramp(scene.t, on + 0.2, down)
    stroke = (
        0.08 * np.sin(2 * np.pi * rng.uniform(1.0, 2.0) * scene.t) * ramp(scene.t, on + down, 0.3)
    )
    sides = ("left", "right") if rng.random() < 0.3 else ("right",)
    for side in sides:
        target = np.stack(
            [
                np.full(scene.n, rng.uniform(-0.05, 0.15)),
                np.full(scene.n, rng.uniform(-0.8, -0.5)),
                rng.uniform(0.55, 0.8) + stroke,
            ],
            -1,
        )
        b.blend_arm(side, target, reach, PALM_DOWN, "open")
    b.look_at(np.array([0.0, 0.3, 0.0]), ramp(scene.t, on, 0.5))
    b.expression("Positive", on)


def wave(scene: Scene, b: PoseBuilder) -> None:
    rng = scene.rng
    if rng.random() < 0.3:
        _approach(scene, b, (2.5, 4.0), (1.5, 2.5), (0.3, 0.7))
    else:
        b.root[:] = _start_in_view(scene, rng.uniform(1.5, 3.5))
        b.yaw[:] = yaw_towards(b.root[0], np.zeros(2)) + rng.uniform(-0.5, 0.5)
    side = "right" if rng.random() < 0.75 else "left"
    on = _onset(rng)
    rise = rng.uniform(0.25, 0.6)
    hold = rng.uniform(1.0, 2.5)
    base = np.array([rng.uniform(0.15, 0.45), rng.uniform(0.05, 0.55), rng.uniform(0.0, 0.3)])
    amp = rng.uniform(0.06, 0.25)
    osc = amp * np.sin(2 * np.pi * rng.uniform(1.5, 3.0) * scene.t) * ramp(scene.t, on + rise, 0.2)
    target = base[None] + np.stack([osc, 0 * osc, 0 * osc], -1)
    b.blend_arm(side, target, pulse(scene.t, on, rise, hold, 0.5), PALM_FORWARD, "open")
    b.expression("Positive", on)
    _free_arm(b, "left" if side == "right" else "right")
    _maybe_fidget(b, "left" if side == "right" else "right")


def punch(scene: Scene, b: PoseBuilder) -> None:
    rng = scene.rng
    if rng.random() < 0.7:
        _approach(scene, b, (1.6, 2.8), (0.65, 0.95), (0.9, 1.6))
    else:
        b.root[:] = np.array([rng.uniform(-0.2, 0.2), rng.uniform(0.8, 1.2)])
        b.yaw[:] = yaw_towards(b.root[0], np.zeros(2)) + rng.uniform(-0.3, 0.3)
    guard = np.array([rng.uniform(-0.3, -0.1), rng.uniform(-0.45, -0.25), rng.uniform(0.2, 0.35)])
    if rng.random() < 0.3:
        for side in ("left", "right"):
            b.blend_arm(side, guard, ramp(scene.t, 0.0, 0.3), PALM_DOWN, "fist")
    else:
        for side in ("left", "right"):
            b.set_hand(side, "fist")
    t = _onset(rng)
    side = "right"
    for _ in range(int(rng.integers(1, 4))):
        out = rng.uniform(0.12, 0.35)
        hold = rng.uniform(0.05, 0.2)
        back = rng.uniform(0.15, 0.3)
        strike = np.array(
            [rng.uniform(-0.15, 0.0), rng.uniform(-0.35, 0.0), rng.uniform(0.85, 1.0)]
        )
        w = pulse(scene.t, t, out, hold, back)
        b.blend_arm(side, strike, w, PALM_DOWN, "fist")
        b.lean = np.maximum(b.lean, 0.12 * w)
        t += out + hold + back + rng.uniform(0.1, 0.5)
        if rng.random() < 0.3:
            side = "left" if side == "right" else "right"
    b.expression("Negative", _onset(rng))


def throw(scene: Scene, b: PoseBuilder) -> None:
    rng = scene.rng
    start = _start_in_view(scene, rng.uniform(1.8, 3.5))
    b.root[:] = start
    b.yaw[:] = yaw_towards(start, np.zeros(2)) + rng.uniform(-0.4, 0.4)
    on = _onset(rng)
    wind = rng.uniform(0.3, 0.6)
    swing = rng.uniform(0.12, 0.3)
    if rng.random() < 0.6:
        b.blend_arm("right", np.array([0.05, -0.6, 0.35]), np.ones(scene.n), MEDIAL, "hold")
    b.set_hand("right", "hold")
    back = np.array([rng.uniform(0.15, 0.35), rng.uniform(0.25, 0.6), rng.uniform(-0.45, -0.2)])
    release = np.array([rng.uniform(-0.05, 0.15), rng.uniform(-0.2, 0.2), rng.uniform(0.85, 1.0)])
    follow = np.array([0.0, -0.55, 0.55])
    w_back = ramp(scene.t, on, wind)
    w_fwd = ramp(scene.t, on + wind, swing)
    w_follow = ramp(scene.t, on + wind + swing, 0.3)
    w_rest = ramp(scene.t, on + wind + swing + 0.5, 0.6)
    b.blend_arm("right", back, w_back, PALM_FORWARD, "hold")
    b.blend_arm("right", release, w_fwd, PALM_FORWARD)
    b.blend_arm("right", follow, w_follow)
    b.blend_arm("right", HANG, w_rest, MEDIAL, "relaxed")
    # step towards the robot with the throw
    direction = -start / np.linalg.norm(start)
    b.root = start[None] + rng.uniform(0.15, 0.4) * w_fwd[:, None] * direction[None]
    b.lean = 0.2 * w_fwd * (1 - w_rest)
    b.held["right"] = "ball"
    _free_arm(b, "left")
    b.held_visible["right"] = scene.t < on + wind + 0.5 * swing
    b.expression("Negative", on)


def point(scene: Scene, b: PoseBuilder) -> None:
    rng = scene.rng
    b.root[:] = _start_in_view(scene, rng.uniform(1.5, 3.5))
    b.yaw[:] = yaw_towards(b.root[0], np.zeros(2)) + rng.uniform(-0.5, 0.5)
    b.idle(str(rng.choice(["hang", "hang", "hips", "pockets"])))
    side = "right" if rng.random() < 0.7 else "left"
    on = _onset(rng)
    rise = rng.uniform(0.3, 0.7)
    azimuth = rng.uniform(0.5, 1.9)  # from straight ahead towards the pointing arm's side
    elevation = rng.uniform(-0.25, 0.6)
    reach = rng.uniform(0.85, 1.0)
    direction = np.array(
        [
            np.sin(azimuth) * np.cos(elevation),
            np.sin(elevation),
            np.cos(azimuth) * np.cos(elevation),
        ]
    )
    target = reach * direction
    if rng.random() < 0.5:  # gesturing while talking
        bob = 0.06 * np.sin(2 * np.pi * rng.uniform(1.0, 2.0) * scene.t)
        target = target[None] + np.stack([0 * bob, bob, 0 * bob], -1)
    hold = rng.uniform(1.0, 2.5)
    b.blend_arm(side, target, pulse(scene.t, on, rise, hold, 0.5), PALM_DOWN, "point")
    # the pointed-at thing in the world, about 3 m away along the arm
    sign = 1.0 if side == "left" else -1.0
    yaw = b.yaw[0]
    left = np.array([-np.cos(yaw), 0.0, np.sin(yaw)])
    fwd = np.array([np.sin(yaw), 0.0, np.cos(yaw)])
    world_dir = sign * direction[0] * left + direction[2] * fwd + np.array([0, direction[1], 0])
    thing = np.array([b.root[0, 0], 1.3, b.root[0, 1]]) + 3.0 * world_dir
    # the eyes alternate between the thing and the robot
    at_thing = np.zeros(scene.n)
    t, looking = rng.uniform(-0.5, 0.3), rng.random() < 0.5
    while t < scene.t[-1]:
        span = rng.uniform(0.5, 1.2)
        at_thing[(scene.t >= t) & (scene.t < t + span)] = float(looking)
        t += span
        looking = not looking
    at_thing = np.convolve(at_thing, np.ones(3) / 3, mode="same")
    b.look_at(thing, at_thing * ramp(scene.t, on - 0.2, 0.3))
    b.talk(max(on - rng.uniform(0.0, 0.5), 0.0))
    b.expression("Not_Interacting", on)


def _cross_view(scene: Scene, b: PoseBuilder, depth: float, speed: tuple[float, float]) -> None:
    """Walk across the camera's view, starting inside it."""
    rng = scene.rng
    direction = rng.choice([-1.0, 1.0])
    start = np.array([-direction * rng.uniform(0.0, 0.9) * scene.view_tan * depth, depth])
    heading = direction * np.pi / 2 + rng.uniform(-0.6, 0.6)
    end = start + 8.0 * np.array([np.sin(heading), np.cos(heading)])
    b.set_path(b.walk_between(start, end, rng.uniform(*speed), rng.uniform(0.0, 0.3)))
    b.yaw[:] = heading


def gaze(scene: Scene, b: PoseBuilder) -> None:
    rng = scene.rng
    depth = rng.uniform(1.5, 4.0)
    start = _start_in_view(scene, depth, 0.6)
    b.idle(str(rng.choice(list(IDLE_STYLES))))
    if rng.random() < 0.3:  # walks by, watching the robot
        _cross_view(scene, b, depth, (0.5, 1.2))
        b.idle("hang")
    else:
        b.root[:] = start
        b.yaw[:] = yaw_towards(start, np.zeros(2)) + rng.uniform(-1.0, 1.0)
    b.head_follow[:] = rng.uniform(0.45, 1.0)
    if rng.random() < 0.3:  # turns to the robot after looking elsewhere
        on = 0.6 * _onset(rng)
        b.look_at(_elsewhere(scene, b.root[0]), 1 - ramp(scene.t, on, rng.uniform(0.2, 0.4)))
    b.expression("Not_Interacting")
    _maybe_fidget(b, "right", 0.2)


def leave(scene: Scene, b: PoseBuilder) -> None:
    rng = scene.rng
    start = _start_in_view(scene, rng.uniform(1.0, 2.8), 0.5)
    b.root[:] = start
    b.yaw[:] = yaw_towards(start, np.zeros(2)) + rng.uniform(-0.35, 0.35)
    if rng.random() < 0.3:  # just finished shaking hands: the arm comes down
        target = np.array([-0.05, rng.uniform(-0.5, -0.2), rng.uniform(0.6, 0.85)])
        b.blend_arm("right", target, 1 - ramp(scene.t, 0.0, rng.uniform(0.3, 0.6)), MEDIAL)
    on = _onset(rng)
    turn = rng.uniform(0.4, 0.9)
    angle = rng.choice([-1, 1]) * rng.uniform(1.9, np.pi)
    heading = b.yaw[0] + angle
    speed = rng.uniform(0.6, 1.3)
    go = on + rng.uniform(0.1, 0.3)
    end = start + 6.0 * np.array([np.sin(heading), np.cos(heading)])
    path = b.walk_between(start, end, speed, go)
    yaw0 = b.yaw[0]
    b.set_path(path, face_motion=False)
    b.yaw = yaw0 + angle * ramp(scene.t, on, turn)
    ahead = np.stack(
        [path[:, 0] + 4 * np.sin(b.yaw), np.full(scene.n, 1.5), path[:, 1] + 4 * np.cos(b.yaw)], -1
    )
    b.look_at(ahead, ramp(scene.t, on - 0.2, 0.4))
    b.expression("Not_Interacting")


def no_response(scene: Scene, b: PoseBuilder) -> None:
    rng = scene.rng
    kind = rng.choice(["walk_past", "stand", "wander"], p=[0.35, 0.5, 0.15])
    depth = rng.uniform(1.5, 4.5)
    if kind == "walk_past":
        _cross_view(scene, b, depth, (0.7, 1.5))
        ahead = np.stack(
            [
                b.root[:, 0] + 4 * np.sin(b.yaw),
                np.full(scene.n, 1.5),
                b.root[:, 1] + 4 * np.cos(b.yaw),
            ],
            -1,
        )
        b.look_at(ahead)
        if rng.random() < 0.4:
            on = _onset(rng)
            glance = pulse(scene.t, on, 0.3, rng.uniform(0.3, 1.0), 0.3)
            b.look_at(_elsewhere(scene, b.root[0], 0.3), glance)
    elif kind == "stand":
        start = _start_in_view(scene, depth, 0.6)
        b.root[:] = start
        b.yaw[:] = yaw_towards(start, np.zeros(2)) + rng.uniform(-1.7, 1.7)
        if rng.random() < 0.35:  # busy with a phone
            for side in ("left", "right"):
                target = np.array([-0.25, rng.uniform(-0.55, -0.35), rng.uniform(0.35, 0.5)])
                b.blend_arm(side, target, np.ones(scene.n), np.array([0.0, 1.0, 0.3]), "hold")
            b.held["right"] = "phone"
            b.held_visible["right"] = np.ones(scene.n, bool)
            fwd = np.array([np.sin(b.yaw[0]), 0.0, np.cos(b.yaw[0])])
            phone = np.array([start[0], 1.0, start[1]]) + 0.4 * fwd
            b.look_at(phone)
        elif rng.random() < 0.4:  # faces the robot's way but looks just past it
            b.idle(str(rng.choice(list(IDLE_STYLES))))
            b.yaw[:] = yaw_towards(start, np.zeros(2)) + rng.uniform(-1.0, 1.0)
            b.head_follow[:] = rng.uniform(0.3, 0.6)
            b.look_at(_near_robot(scene, start))
        else:
            b.idle(str(rng.choice(list(IDLE_STYLES))))
            b.head_follow[:] = rng.uniform(0.3, 0.8)
            b.look_at(_elsewhere(scene, start, 0.5))
            if rng.random() < 0.5:  # glances around
                on = _onset(rng)
                b.look_at(_elsewhere(scene, start, 0.5), ramp(scene.t, on, rng.uniform(0.3, 0.6)))
        _maybe_fidget(b, "right", 0.25)
    else:
        start = _start_in_view(scene, depth, 0.6)
        heading = yaw_towards(start, np.zeros(2)) + rng.choice([-1, 1]) * rng.uniform(1.2, 3.0)
        end = start + 3.0 * np.array([np.sin(heading), np.cos(heading)])
        b.set_path(b.walk_between(start, end, rng.uniform(0.3, 0.8), rng.uniform(0.0, 0.5)))
        b.look_at(_elsewhere(scene, start, 0.5))
    b.expression("Not_Interacting")


ACTION_SCRIPTS: dict[str, Callable[[Scene, PoseBuilder], None]] = {
    "Handshake": handshake,
    "Hug": hug,
    "Pet": pet,
    "Wave": wave,
    "Punch": punch,
    "Throw": throw,
    "Point": point,
    "Gaze": gaze,
    "Leave": leave,
    "No_Response": no_response,
}


def perform(action: str, scene: Scene) -> BodyPose:
    """Run one action script on a fresh builder and return the per-frame controls."""
    if action not in ACTION_SCRIPTS:
        raise ValueError(f"unknown action {action!r}; known: {sorted(ACTION_SCRIPTS)}")
    builder = PoseBuilder(scene, np.array([0.0, 2.5]), np.pi)
    ACTION_SCRIPTS[action](scene, builder)
    return builder.build()
