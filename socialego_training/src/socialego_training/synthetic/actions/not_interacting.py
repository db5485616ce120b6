"""Not-interacting actions (attitude Not_Interacting, method.md section 1): the Interested point
and gaze, the Not_Interested leave and no response."""

from __future__ import annotations

import numpy as np

from .builder import PoseBuilder
from .motion import IDLE_STYLES, MEDIAL, PALM_DOWN, Scene, pulse, ramp, yaw_towards
from .staging import cross_view, elsewhere, maybe_fidget, near_robot, onset, start_in_view


def point(scene: Scene, b: PoseBuilder) -> None:
    rng = scene.rng
    b.root[:] = start_in_view(scene, rng.uniform(1.5, 3.5))
    b.yaw[:] = yaw_towards(b.root[0], np.zeros(2)) + rng.uniform(-0.5, 0.5)
    b.idle(str(rng.choice(["hang", "hang", "hips", "pockets"])))
    side = "right" if rng.random() < 0.7 else "left"
    on = onset(rng)
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


def gaze(scene: Scene, b: PoseBuilder) -> None:
    rng = scene.rng
    depth = rng.uniform(1.5, 4.0)
    start = start_in_view(scene, depth, 0.6)
    b.idle(str(rng.choice(list(IDLE_STYLES))))
    if rng.random() < 0.3:  # walks by, watching the robot
        cross_view(scene, b, depth, (0.5, 1.2))
        b.idle("hang")
    else:
        b.root[:] = start
        b.yaw[:] = yaw_towards(start, np.zeros(2)) + rng.uniform(-1.0, 1.0)
    b.head_follow[:] = rng.uniform(0.45, 1.0)
    if rng.random() < 0.3:  # turns to the robot after looking elsewhere
        on = 0.6 * onset(rng)
        b.look_at(elsewhere(scene, b.root[0]), 1 - ramp(scene.t, on, rng.uniform(0.2, 0.4)))
    b.expression("Not_Interacting")
    maybe_fidget(b, "right", 0.2)


def leave(scene: Scene, b: PoseBuilder) -> None:
    rng = scene.rng
    start = start_in_view(scene, rng.uniform(1.0, 2.8), 0.5)
    b.root[:] = start
    b.yaw[:] = yaw_towards(start, np.zeros(2)) + rng.uniform(-0.35, 0.35)
    if rng.random() < 0.3:  # just finished shaking hands: the arm comes down
        target = np.array([-0.05, rng.uniform(-0.5, -0.2), rng.uniform(0.6, 0.85)])
        b.blend_arm("right", target, 1 - ramp(scene.t, 0.0, rng.uniform(0.3, 0.6)), MEDIAL)
    on = onset(rng)
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
        cross_view(scene, b, depth, (0.7, 1.5))
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
            on = onset(rng)
            glance = pulse(scene.t, on, 0.3, rng.uniform(0.3, 1.0), 0.3)
            b.look_at(elsewhere(scene, b.root[0], 0.3), glance)
    elif kind == "stand":
        start = start_in_view(scene, depth, 0.6)
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
            b.look_at(near_robot(scene, start))
        else:
            b.idle(str(rng.choice(list(IDLE_STYLES))))
            b.head_follow[:] = rng.uniform(0.3, 0.8)
            b.look_at(elsewhere(scene, start, 0.5))
            if rng.random() < 0.5:  # glances around
                on = onset(rng)
                b.look_at(elsewhere(scene, start, 0.5), ramp(scene.t, on, rng.uniform(0.3, 0.6)))
        maybe_fidget(b, "right", 0.25)
    else:
        start = start_in_view(scene, depth, 0.6)
        heading = yaw_towards(start, np.zeros(2)) + rng.choice([-1, 1]) * rng.uniform(1.2, 3.0)
        end = start + 3.0 * np.array([np.sin(heading), np.cos(heading)])
        b.set_path(b.walk_between(start, end, rng.uniform(0.3, 0.8), rng.uniform(0.0, 0.5)))
        b.look_at(elsewhere(scene, start, 0.5))
    b.expression("Not_Interacting")
