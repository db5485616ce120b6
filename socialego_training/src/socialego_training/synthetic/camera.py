"""The robot's camera: a pinhole at the robot's head height with a small random shake."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def smooth_noise(rng: np.random.Generator, n: int, fps: float, period_s: float) -> np.ndarray:
    """Zero-mean, unit-scale noise that varies smoothly over about ``period_s`` seconds."""
    step = max(1, int(round(period_s * fps)))
    knots = rng.normal(size=n // step + 3)
    x = np.arange(n) / step
    return np.interp(x, np.arange(len(knots)), knots)


@dataclass
class Camera:
    """Intrinsics and per-frame orientation of one video's camera."""

    width: int
    height: int
    focal: float  # pixels
    mount_height: float  # metres above the ground
    pitch: np.ndarray  # (F,) radians, positive looks up
    yaw: np.ndarray  # (F,) radians, positive turns right
    roll: np.ndarray  # (F,) radians

    @classmethod
    def sample(
        cls, rng: np.random.Generator, width: int, height: int, n_frames: int, fps: float
    ) -> Camera:
        hfov = np.deg2rad(rng.uniform(75, 95))
        focal = (width / 2) / np.tan(hfov / 2)
        shake = np.deg2rad(rng.uniform(0.0, 1.2))
        base_pitch = np.deg2rad(rng.uniform(0.0, 12.0))
        return cls(
            width=width,
            height=height,
            focal=float(focal),
            mount_height=float(rng.uniform(0.8, 1.3)),
            pitch=base_pitch + shake * smooth_noise(rng, n_frames, fps, 0.3),
            yaw=shake * smooth_noise(rng, n_frames, fps, 0.3),
            roll=0.3 * shake * smooth_noise(rng, n_frames, fps, 0.5),
        )

    @property
    def position(self) -> np.ndarray:
        return np.array([0.0, self.mount_height, 0.0])

    def to_camera(self, points: np.ndarray, frames: np.ndarray) -> np.ndarray:
        """World points (N, ..., 3) at video frames (N,) -> camera coords (x right, y up, z)."""
        p = points - self.position
        shape = (len(frames),) + (1,) * (points.ndim - 2)
        yaw = self.yaw[frames].reshape(shape)
        pitch = self.pitch[frames].reshape(shape)
        roll = self.roll[frames].reshape(shape)
        x, y, z = p[..., 0], p[..., 1], p[..., 2]
        # yaw about the vertical axis, then pitch about the camera x axis, then roll
        x, z = x * np.cos(yaw) - z * np.sin(yaw), x * np.sin(yaw) + z * np.cos(yaw)
        y, z = y * np.cos(pitch) - z * np.sin(pitch), y * np.sin(pitch) + z * np.cos(pitch)
        x, y = x * np.cos(roll) - y * np.sin(roll), x * np.sin(roll) + y * np.cos(roll)
        return np.stack([x, y, z], -1)

    def project(self, points: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points -> (pixels (..., 2), depth (...)); depth <= 0 is behind the camera."""
        cam = self.to_camera(points, frames)
        depth = cam[..., 2]
        safe = np.where(depth > 0.05, depth, 0.05)
        u = self.width / 2 + self.focal * cam[..., 0] / safe
        v = self.height / 2 - self.focal * cam[..., 1] / safe
        return np.stack([u, v], -1), depth

    def horizon_row(self, frame: int) -> float:
        """Image row of the horizon (where the floor meets the far wall) at a frame."""
        return float(self.height / 2 + self.focal * np.tan(self.pitch[frame]))
