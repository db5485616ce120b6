"""Rendering the teacher's batch from cached grid points and crops: Gaussian heatmaps per stream
and ImageNet-normalised RGB."""

from __future__ import annotations

import numpy as np
import torch

from .config import ModalityConfig
from .points import N_POINTS, STREAM_POINTS

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def render_heatmaps(
    points: torch.Tensor | np.ndarray, size: int, sigma: float = 0.6
) -> dict[str, torch.Tensor]:
    """Grid points (B, T, 135, 3) -> {stream: (B, C, T, size, size) float32} Gaussian heatmaps."""
    pts = torch.as_tensor(points, dtype=torch.float32)
    if pts.dim() != 4 or pts.shape[2] != N_POINTS or pts.shape[3] != 3:
        raise ValueError(f"points must be (B, T, {N_POINTS}, 3), got {tuple(pts.shape)}")
    grid = torch.arange(size, dtype=torch.float32)
    out = {}
    for stream, idx in STREAM_POINTS.items():
        p = pts[:, :, list(idx)]  # (B, T, C, 3)
        gx = torch.exp(-((grid - p[..., 0:1]) ** 2) / (2 * sigma**2))  # (B, T, C, W)
        gy = torch.exp(-((grid - p[..., 1:2]) ** 2) / (2 * sigma**2))  # (B, T, C, H)
        heat = gy.unsqueeze(-1) * gx.unsqueeze(-2) * p[..., 2, None, None].clamp(0, 1)
        out[stream] = heat.permute(0, 2, 1, 3, 4).contiguous()  # (B, C, T, H, W)
    return out


def normalise_rgb(crops: torch.Tensor | np.ndarray) -> torch.Tensor:
    """uint8 RGB crops (B, T, S, S, 3) -> ImageNet-normalised float (B, 3, T, S, S)."""
    x = torch.as_tensor(crops).float().div_(255.0)
    mean = torch.as_tensor(IMAGENET_MEAN)
    std = torch.as_tensor(IMAGENET_STD)
    x = (x - mean) / std
    return x.permute(0, 4, 1, 2, 3).contiguous()


def teacher_batch(
    points: torch.Tensor | np.ndarray, crops: torch.Tensor | np.ndarray, cfg: ModalityConfig
) -> dict[str, torch.Tensor]:
    """The SocialC3D input dict from cached points and crops."""
    batch = render_heatmaps(points, cfg.heatmap_size, cfg.sigma)
    batch["rgb"] = normalise_rgb(crops)
    return batch
