"""Staging shared by the action scripts: when the motion starts, where a person stands or walks
in the view, where they look instead of the robot, and idle noise of the free arm."""

from __future__ import annotations

import numpy as np

from .builder import PoseBuilder
from .motion import Scene, yaw_towards


def onset(rng: np.random.Generator) -> float:
    """When the characteristic motion starts: within the first second, mostly early."""
    return float(rng.uniform(0.0, 0.9) ** 1.3)


def start_in_view(scene: Scene, depth: float, spread: float = 0.55) -> np.ndarray:
    """A ground point inside the view; with several people, near the person's own lane."""
    if scene.lane is None:
        fraction = scene.rng.uniform(-spread, spread)
    else:
        fraction = float(np.clip(scene.lane + scene.rng.uniform(-0.2, 0.2), -0.8, 0.8))
    return np.array([fraction * scene.view_tan * depth, depth])


def elsewhere(scene: Scene, root_xz: np.ndarray, min_angle: float = 0.5) -> np.ndarray:
    """A world point the person looks at that is not the robot (side, floor, far away)."""
    rng = scene.rng
    to_robot = yaw_towards(root_xz, np.zeros(2))
    angle = to_robot + rng.choice([-1, 1]) * rng.uniform(min_angle, 2.2)
    dist = rng.uniform(1.5, 5.0)
    height = rng.uniform(0.0, 2.0)
    return np.array([root_xz[0] + dist * np.sin(angle), height, root_xz[1] + dist * np.cos(angle)])


def near_robot(scene: Scene, root_xz: np.ndarray) -> np.ndarray:
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


def approach(
    scene: Scene,
    b: PoseBuilder,
    d0: tuple[float, float],
    d1: tuple[float, float],
    speed: tuple[float, float],
) -> float:
    """Walk towards the robot and stop in front of it; returns the arrival time."""
    rng = scene.rng
    start = start_in_view(scene, rng.uniform(*d0))
    end = np.array([rng.uniform(-0.15, 0.15), rng.uniform(*d1)])
    v = rng.uniform(*speed)
    t0 = rng.uniform(0.0, 0.3) if rng.random() < 0.6 else 0.0
    b.yaw[:] = yaw_towards(start, end)  # already facing the way before the first step
    b.set_path(b.walk_between(start, end, v, t0))
    # near the robot, square up to it
    b.face_point(np.zeros(2), weight=0.7)
    return t0 + float(np.linalg.norm(end - start)) / v


def maybe_fidget(b: PoseBuilder, side: str, p: float = 0.12) -> None:
    if b.scene.rng.random() < p:
        b.fidget(side)


def free_arm(b: PoseBuilder, side: str, p: float = 0.35) -> None:
    """The arm not doing the action sometimes rests in a pocket, on the hip or behind."""
    if b.scene.rng.random() < p:
        b.idle(str(b.scene.rng.choice(["pockets", "hips", "behind"])), (side,))


def cross_view(scene: Scene, b: PoseBuilder, depth: float, speed: tuple[float, float]) -> None:
    """Walk across the camera's view, starting inside it."""
    rng = scene.rng
    direction = rng.choice([-1.0, 1.0])
    start = np.array([-direction * rng.uniform(0.0, 0.9) * scene.view_tan * depth, depth])
    heading = direction * np.pi / 2 + rng.uniform(-0.6, 0.6)
    end = start + 8.0 * np.array([np.sin(heading), np.cos(heading)])
    b.set_path(b.walk_between(start, end, rng.uniform(*speed), rng.uniform(0.0, 0.3)))
    b.yaw[:] = heading
