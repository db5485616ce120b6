"""Interacting + Positive actions (method.md section 1): handshake, hug, pet, wave."""

from __future__ import annotations

import numpy as np

from .builder import PoseBuilder
from .motion import MEDIAL, PALM_DOWN, PALM_FORWARD, Scene, pulse, ramp, yaw_towards
from .staging import approach, free_arm, maybe_fidget, onset, start_in_view


def handshake(scene: Scene, b: PoseBuilder) -> None:
    rng = scene.rng
    approach(scene, b, (1.6, 3.0), (0.7, 1.0), (0.6, 1.3))
    on = onset(rng)
    rise = rng.uniform(0.35, 0.8)
    target = np.array([rng.uniform(-0.15, 0.05), rng.uniform(-0.55, -0.15), rng.uniform(0.6, 0.9)])
    w = ramp(scene.t, on, rise)
    shake = 0.05 * np.sin(2 * np.pi * rng.uniform(2, 3) * scene.t) * ramp(scene.t, on + rise, 0.2)
    target_t = target[None] + np.stack([0 * shake, shake, 0 * shake], -1)
    b.blend_arm("right", target_t, w, palm=MEDIAL, hand="open")
    b.set_hand("right", "hold", ramp(scene.t, on + rise + 0.3, 0.3) * 0.6)
    b.expression("Positive", on)
    free_arm(b, "left")
    maybe_fidget(b, "left")


def hug(scene: Scene, b: PoseBuilder) -> None:
    rng = scene.rng
    arrive = approach(scene, b, (1.6, 3.0), (0.55, 0.85), (0.6, 1.2))
    on = onset(rng)
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
    arrive = approach(scene, b, (1.2, 2.2), (0.65, 1.0), (0.6, 1.1))
    on = min(onset(rng) + 0.2, max(arrive - rng.uniform(0.0, 0.4), 0.1))
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
        approach(scene, b, (2.5, 4.0), (1.5, 2.5), (0.3, 0.7))
    else:
        b.root[:] = start_in_view(scene, rng.uniform(1.5, 3.5))
        b.yaw[:] = yaw_towards(b.root[0], np.zeros(2)) + rng.uniform(-0.5, 0.5)
    side = "right" if rng.random() < 0.75 else "left"
    on = onset(rng)
    rise = rng.uniform(0.25, 0.6)
    hold = rng.uniform(1.0, 2.5)
    base = np.array([rng.uniform(0.15, 0.45), rng.uniform(0.05, 0.55), rng.uniform(0.0, 0.3)])
    amp = rng.uniform(0.06, 0.25)
    osc = amp * np.sin(2 * np.pi * rng.uniform(1.5, 3.0) * scene.t) * ramp(scene.t, on + rise, 0.2)
    target = base[None] + np.stack([osc, 0 * osc, 0 * osc], -1)
    b.blend_arm(side, target, pulse(scene.t, on, rise, hold, 0.5), PALM_FORWARD, "open")
    b.expression("Positive", on)
    free_arm(b, "left" if side == "right" else "right")
    maybe_fidget(b, "left" if side == "right" else "right")
