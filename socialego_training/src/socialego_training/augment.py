"""Training-only augmentation of pose windows: left-right mirroring.

A person seen in a mirror does the same thing (a wave with the left hand is still a wave), so a
mirrored window keeps its labels and doubles what a small training set shows. Mirroring negates
x (the normalised coordinates are centred on the image, so the mirror axis is the image's
vertical midline) and swaps the left and right joints of the COCO body (joints 0-16). Undetected
joints (all zero) stay zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

# COCO body: nose, then (left, right) pairs of eyes, ears, shoulders, elbows, wrists, hips, knees,
# ankles
COCO17_MIRROR: tuple[int, ...] = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)


def mirror_permutation(joints: Sequence[int]) -> list[int]:
    """For each position of ``joints``, the position of its mirror joint; ValueError when a
    joint (or its partner) is not a COCO body joint of the window."""
    where = {j: i for i, j in enumerate(joints)}
    out = []
    for j in joints:
        partner = COCO17_MIRROR[j] if 0 <= j < len(COCO17_MIRROR) else None
        if partner is None or partner not in where:
            raise ValueError(
                f"mirror augmentation needs COCO body joints (0-16) with their left/right "
                f"partners; joint {j} has none in the window's joints"
            )
        out.append(where[partner])
    return out


def mirror(
    x: torch.Tensor, probability: float, permutation: Sequence[int], generator: torch.Generator
) -> torch.Tensor:
    """Mirror each window of a batch (B, T, J, 3) with ``probability``; with 0 nothing is
    drawn from the generator and the input is returned as is."""
    if probability <= 0:
        return x
    if x.dim() != 4 or x.shape[-1] != 3:
        raise ValueError(f"mirror expects (B, T, J, 3), got {tuple(x.shape)}")
    chosen = (torch.rand(x.shape[0], generator=generator) < probability).to(x.device)
    flipped = x[:, :, list(permutation)].clone()
    flipped[..., 0] = -flipped[..., 0]
    return torch.where(chosen[:, None, None, None], flipped, x)


def mirrorable(joints: Sequence[int]) -> bool:
    """Whether windows of these joints can be mirrored (``mirror_permutation`` accepts them)."""
    try:
        mirror_permutation(joints)
    except ValueError:
        return False
    return True
