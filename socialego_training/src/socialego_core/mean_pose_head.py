"""The student's linear mean-pose head: a wide part beside the deep one, for small sets.

On a few hundred training tracks a multinomial logistic regression on the window's mean pose
(the linear baseline, fitted on each track's first window) reads attitude as well as the deep
student or better, and its errors differ from the student's. The head holds that linear model
(standardisation folded in) as fixed buffers, fitted in closed form before training
(``socialego_training.mean_pose_fit``), never by the optimiser. In eval mode its
log-probabilities join the chain classifier's, weighted by ``fusion`` (a product of experts):

    logits_task = log_softmax(chain_task) + fusion * log_softmax(linear_task)

In train mode the output is the chain classifier's alone, so the deep part trains as without the
head. The linear model on the mean pose equals the mean over time of the same linear map of each
frame, so the cached online paths compute it per frame and average it over the window.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class MeanPoseHead(nn.Module):
    """(B, T, J, C) windows -> per-task linear logits on the mean pose, and their fusion."""

    def __init__(self, features: int, classes: Sequence[int]):
        super().__init__()
        self.classes = tuple(int(c) for c in classes)
        total = sum(self.classes)
        # buffers, not parameters: fitted in closed form, saved with the weights, never trained
        self.register_buffer("weight", torch.zeros(total, features))
        self.register_buffer("bias", torch.zeros(total))
        self.register_buffer("fusion", torch.zeros(()))  # 0 until fitted: no effect

    @property
    def active(self) -> bool:
        return float(self.fusion) != 0.0

    def frame_logits(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, F) flattened frames -> (N, K) linear logits of every task, concatenated."""
        return nn.functional.linear(frames, self.weight, self.bias)

    def window_logits(self, windows: torch.Tensor) -> torch.Tensor:
        """(B, T, J, C) -> (B, K): the linear model on the window's mean pose."""
        flat = windows.reshape(windows.shape[0], windows.shape[1], -1)
        return self.frame_logits(flat.mean(dim=1))

    def fuse(
        self, logits: Sequence[torch.Tensor], window_logits: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """Chain-classifier logits (intent, attitude, action) -> fused logits."""
        parts = window_logits.split(self.classes, dim=1)
        return tuple(
            torch.log_softmax(chain, dim=1) + self.fusion * torch.log_softmax(linear, dim=1)
            for chain, linear in zip(logits, parts, strict=True)
        )
