"""What an action script works with: the ``Scene`` (time, body, camera view), arm and palm
targets, and the smooth time profiles (ramp, pulse) and angle helpers the scripts compose."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..body import BodyShape

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
