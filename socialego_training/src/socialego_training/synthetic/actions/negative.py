"""Interacting + Negative actions (method.md section 1): punch, throw."""

from __future__ import annotations

import numpy as np

from .builder import PoseBuilder
from .motion import HANG, MEDIAL, PALM_DOWN, PALM_FORWARD, Scene, pulse, ramp, yaw_towards
from .staging import approach, free_arm, onset, start_in_view


def punch(scene: Scene, b: PoseBuilder) -> None:
    rng = scene.rng
    if rng.random() < 0.7:
        approach(scene, b, (1.6, 2.8), (0.65, 0.95), (0.9, 1.6))
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
    t = onset(rng)
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
    b.expression("Negative", onset(rng))


def throw(scene: Scene, b: PoseBuilder) -> None:
    rng = scene.rng
    start = start_in_view(scene, rng.uniform(1.8, 3.5))
    b.root[:] = start
    b.yaw[:] = yaw_towards(start, np.zeros(2)) + rng.uniform(-0.4, 0.4)
    on = onset(rng)
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
    free_arm(b, "left")
    b.held_visible["right"] = scene.t < on + wind + 0.5 * swing
    b.expression("Negative", on)
