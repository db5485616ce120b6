"""The chain classifier and the output type shared by every model (method.md sections 1 and 3).

Intent logits feed the attitude head; intent and attitude logits feed the action head.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class SocialOutputs(NamedTuple):
    """What every SocialEgo model returns: three logit tensors and the social representation."""

    intent: torch.Tensor  # (B, n_intent) logits
    attitude: torch.Tensor  # (B, n_attitude) logits
    action: torch.Tensor  # (B, n_action) logits
    z: torch.Tensor  # (B, repr_dim) social representation (the distillation target/anchor)


class ChainClassifier(nn.Module):
    """intent = Linear(ReLU(z)); attitude = Linear(ReLU(BN([z, intent])));
    action = Linear(ReLU(BN([z, intent, attitude]))). Returns (intent, attitude, action) logits."""

    def __init__(self, repr_dim: int, n_intent: int = 3, n_attitude: int = 3, n_action: int = 10):
        super().__init__()
        self.intent_head = nn.Sequential(nn.ReLU(), nn.Linear(repr_dim, n_intent))
        attitude_in = repr_dim + n_intent
        self.attitude_head = nn.Sequential(
            nn.BatchNorm1d(attitude_in), nn.ReLU(), nn.Linear(attitude_in, n_attitude)
        )
        action_in = attitude_in + n_attitude
        self.action_head = nn.Sequential(
            nn.BatchNorm1d(action_in), nn.ReLU(), nn.Linear(action_in, n_action)
        )

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        intent = self.intent_head(z)
        attitude = self.attitude_head(torch.cat((z, intent), dim=1))
        action = self.action_head(torch.cat((z, intent, attitude), dim=1))
        return intent, attitude, action
