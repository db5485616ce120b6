"""Pose corruption for the student's input (method.md section 6), deterministic given a generator.

Per sample:
- joint rate r_j: ``n_corrupted(r_j, J)`` joints, the same ones in every frame; one coin
  (p = 0.5) per sample decides: zero them (x = y = score = 0) or replace x, y with uniform
  noise in [-0.5, 0.5) and set score 0.
- frame rate r_f: ``n_corrupted(r_f, T)`` frames; one coin per sample decides: replace all their
  joints with uniform noise (score 0) or freeze them (copy the previous, already processed
  frame; a frozen frame 0 becomes zeros).
- both: joint corruption first, then frame corruption.
"""

from __future__ import annotations

import math

import numpy as np
import torch

# Evaluation settings (method.md section 6): name -> (joint_rate, frame_rate).
CORRUPTION_SETTINGS: dict[str, tuple[float, float]] = {
    "full": (0.0, 0.0),
    "frame30": (0.0, 0.3),
    "joint30": (0.3, 0.0),
    "both30": (0.3, 0.3),
    "frame60": (0.0, 0.6),
    "joint60": (0.6, 0.0),
    "both60": (0.6, 0.6),
}
SETTING_TITLES: dict[str, str] = {
    "full": "full input",
    "frame30": "30% frame",
    "joint30": "30% joint",
    "both30": "30% frame & joint",
    "frame60": "60% frame",
    "joint60": "60% joint",
    "both60": "60% frame & joint",
}


def n_corrupted(rate: float, count: int) -> int:
    """int(rate * count), with a tiny tolerance so 0.7 * 10 gives 7 despite float rounding."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"corruption rate must be in [0, 1], got {rate}")
    return min(count, int(math.floor(rate * count + 1e-9)))


def curriculum_rate(target_rate: float, epoch: int, warmup_epochs: int) -> float:
    """Linear warm-up: target * epoch / warmup_epochs for epoch < warmup_epochs (epoch 0 is clean),
    then the target rate (the authors' schedule)."""
    if warmup_epochs <= 0 or epoch >= warmup_epochs:
        return float(target_rate)
    return float(target_rate) * max(epoch, 0) / warmup_epochs


def _as_generator(generator: torch.Generator | np.random.Generator | int | None) -> torch.Generator:
    if isinstance(generator, torch.Generator):
        return generator
    if isinstance(generator, np.random.Generator):
        seed = int(generator.integers(0, 2**63 - 1))
    elif generator is None:
        seed = int(torch.randint(0, 2**62, (1,)).item())
    else:
        seed = int(generator)
    return torch.Generator().manual_seed(seed)


def _pick(batch: int, count: int, k: int, gen: torch.Generator) -> torch.Tensor:
    """(batch, count) bool mask with exactly k True per row, chosen uniformly."""
    mask = torch.zeros(batch, count, dtype=torch.bool)
    if k > 0:
        order = torch.rand(batch, count, generator=gen).argsort(dim=1)[:, :k]
        mask.scatter_(1, order, True)
    return mask


def corrupt(
    x: torch.Tensor | np.ndarray,
    joint_rate: float = 0.0,
    frame_rate: float = 0.0,
    generator: torch.Generator | np.random.Generator | int | None = None,
) -> torch.Tensor | np.ndarray:
    """Corrupt a window (T, J, 3) or a batch (B, T, J, 3) of normalised (x, y, score) keypoints.

    Returns a new array of the input's type, dtype and device; the input is not modified.
    Random draws happen on the CPU from ``generator`` (a torch.Generator, numpy Generator or
    int seed), so results do not depend on the device.
    """
    is_numpy = isinstance(x, np.ndarray)
    data = torch.from_numpy(np.asarray(x)) if is_numpy else x
    if data.dim() not in (3, 4) or data.shape[-1] != 3:
        raise ValueError(f"corrupt expects (T, J, 3) or (B, T, J, 3), got {tuple(data.shape)}")
    single = data.dim() == 3
    batch_x = data.unsqueeze(0) if single else data
    out = _corrupt_batch(batch_x, joint_rate, frame_rate, _as_generator(generator))
    out = out[0] if single else out
    return out.numpy() if is_numpy else out


def _corrupt_batch(
    x: torch.Tensor, joint_rate: float, frame_rate: float, gen: torch.Generator
) -> torch.Tensor:
    batch, steps, joints, _ = x.shape
    k_joints, k_frames = n_corrupted(joint_rate, joints), n_corrupted(frame_rate, steps)
    device, dtype = x.device, x.dtype
    out = x.detach().to("cpu", copy=True)
    if k_joints:
        joint_mask = _pick(batch, joints, k_joints, gen)  # (B, J)
        zero_mode = torch.rand(batch, generator=gen) < 0.5  # (B,)
        noise = torch.rand(batch, steps, joints, 2, generator=gen, dtype=out.dtype) - 0.5
        cells = joint_mask[:, None, :].expand(batch, steps, joints)
        zero_cells = cells & zero_mode[:, None, None]
        noise_cells = cells & ~zero_mode[:, None, None]
        out[zero_cells] = 0.0
        out[..., :2][noise_cells] = noise[noise_cells]
        out[..., 2][noise_cells] = 0.0
    if k_frames:
        frame_mask = _pick(batch, steps, k_frames, gen)  # (B, T)
        noise_mode = torch.rand(batch, generator=gen) < 0.5
        noise = torch.rand(batch, steps, joints, 2, generator=gen, dtype=out.dtype) - 0.5
        noise_frames = frame_mask & noise_mode[:, None]
        out[..., :2][noise_frames] = noise[noise_frames]
        out[..., 2][noise_frames] = 0.0
        freeze_frames = frame_mask & ~noise_mode[:, None]
        # in time order, so a frozen frame copies its predecessor after that one was processed
        for t in range(steps):
            rows = freeze_frames[:, t]
            if rows.any():
                out[rows, t] = out[rows, t - 1] if t > 0 else 0.0
    return out.to(device=device, dtype=dtype)


def augment_scores(
    x: torch.Tensor,
    probability: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """Re-calibrate the score channel of a batch (B, T, J, 3), per sample, with ``probability``.

    Pose estimators disagree on what a confidence means (MediaPipe reports ~1.0 for almost every
    visible joint; AlphaPose-style detectors spread scores out), so a student that leans on one
    calibration fails on another. An augmented sample gets, half the time, every detected joint
    (score > 0) set to 1.0, otherwise its scores raised to a random power in [0.25, 4] (monotone:
    their order is kept). Undetected joints (score 0) stay 0; x and y are never touched.
    With ``probability`` 0 nothing is drawn from the generator and the input is returned as is.
    """
    if probability <= 0:
        return x
    if x.dim() != 4 or x.shape[-1] != 3:
        raise ValueError(f"augment_scores expects (B, T, J, 3), got {tuple(x.shape)}")
    batch = x.shape[0]
    chosen = torch.rand(batch, generator=generator) < probability
    binarise = torch.rand(batch, generator=generator) < 0.5
    log_gamma = (torch.rand(batch, generator=generator) * 2 - 1) * float(np.log(4.0))
    out = x.detach().to("cpu", copy=True)
    scores = out[..., 2]
    detected = scores > 0
    gamma = torch.exp(log_gamma)[:, None, None].to(out.dtype)
    powered = scores.clamp(min=0).pow(gamma)
    new = torch.where(binarise[:, None, None], torch.ones_like(scores), powered)
    new = torch.where(detected, new, scores)
    out[..., 2] = torch.where(chosen[:, None, None], new, scores)
    return out.to(device=x.device, dtype=x.dtype)
