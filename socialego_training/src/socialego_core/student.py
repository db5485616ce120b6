"""SocialEgoMobile, the student that runs on the robot (method.md section 3).

Per frame, a 2-layer GAT over the 17-joint body graph; frame attention; a 1-layer Bi-LSTM;
attention pooling over time; a 256 -> 64 -> 16 MLP giving z; the chain classifier on z.
430,649 parameters with the JPL-Social heads (10 actions).

``input_norm`` (off by default, on in the small-set recipe) adds a BatchNorm over each joint's
(x, y, score) before the GAT, as ST-GCN's ``data_bn``: the scores' small spread (e.g. the mean
knee score 0.6 vs 0.8 between a close and a far person) reaches the GAT at the scale of the
coordinates' (102 parameters more).

``mean_pose_head`` (off by default, on in the small-set recipe) adds a linear model on the
window's mean pose whose log-probabilities join the chain classifier's in eval mode
(``socialego_core.mean_pose_head``; fixed buffers, no parameters).

The GAT layers are PyG's ``GATConv`` (heads=1, self-loops, no edge features) written as dense
masked attention over the 17 x 17 skeleton: the same parameters under the same names
(``gat.convs.<k>.lin.weight``, ``att_src``, ``att_dst``, ``bias``), the same math, in training
and in eval (tests load the shipped weights into PyG's GAT and into this one and compare).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from socialego_core.heads import ChainClassifier, SocialOutputs
from socialego_core.layouts import BODY_EDGES
from socialego_core.mean_pose_head import MeanPoseHead


def symmetric_edge_index(edges: Sequence[tuple[int, int]]) -> torch.Tensor:
    """(2, 2E) long tensor holding every undirected edge in both directions."""
    pairs = [(a, b) for a, b in edges] + [(b, a) for a, b in edges]
    return torch.tensor(pairs, dtype=torch.long).t().contiguous()


class GATLayer(nn.Module):
    """One graph-attention layer (PyG ``GATConv`` with heads=1) as dense masked attention.

    (G, J, C) nodes -> (G, J, F): h = x W^T; e[i, j] = LeakyReLU(a_dst . h_i + a_src . h_j)
    over the edges j -> i of ``adjacency`` (self-loops included), softmax over j, sum, + bias.
    """

    def __init__(self, in_channels: int, out_channels: int, negative_slope: float = 0.2):
        super().__init__()
        self.negative_slope = negative_slope
        self.lin = nn.Linear(in_channels, out_channels, bias=False)
        self.att_src = nn.Parameter(torch.empty(1, 1, out_channels))
        self.att_dst = nn.Parameter(torch.empty(1, 1, out_channels))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        # PyG's initialisation: Glorot for the weights and attention vectors, zero bias
        nn.init.xavier_uniform_(self.lin.weight)
        nn.init.xavier_uniform_(self.att_src)
        nn.init.xavier_uniform_(self.att_dst)

    def forward(self, nodes: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """``adjacency`` (J, J) bool, [target, source]."""
        h = self.lin(nodes)  # (G, J, F)
        score_src = (h * self.att_src.view(1, 1, -1)).sum(-1)  # (G, J)
        score_dst = (h * self.att_dst.view(1, 1, -1)).sum(-1)
        logits = score_src[:, None, :] + score_dst[:, :, None]  # [g, target, source]
        logits = nn.functional.leaky_relu(logits, self.negative_slope)
        logits = logits.masked_fill(~adjacency, float("-inf"))
        return torch.softmax(logits, dim=-1) @ h + self.bias


class GraphAttention(nn.Module):
    """PyG's ``GAT`` model (``num_layers`` GATConv layers, ReLU between them, none after)."""

    def __init__(self, in_channels: int, hidden_channels: int, num_layers: int):
        super().__init__()
        widths = [in_channels] + [hidden_channels] * num_layers
        self.convs = nn.ModuleList(
            GATLayer(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )

    def forward(self, nodes: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        h = nodes
        for k, conv in enumerate(self.convs):
            if k:
                h = torch.relu(h)
            h = conv(h, adjacency)
        return h


class SocialEgoMobile(nn.Module):
    """Input (B, T, J, 3) normalised (x, y, score) -> SocialOutputs."""

    def __init__(
        self,
        num_joints: int = 17,
        in_channels: int = 3,
        n_action: int = 10,
        n_intent: int = 3,
        n_attitude: int = 3,
        gat_hidden: int = 16,
        gat_layers: int = 2,
        lstm_hidden: int = 128,
        lstm_layers: int = 1,
        fc_hidden: Sequence[int] = (64, 16),
        edges: Sequence[Sequence[int]] | None = None,
        input_norm: bool = False,
        mean_pose_head: bool = False,
    ):
        super().__init__()
        edges = [tuple(e) for e in (BODY_EDGES if edges is None else edges)]
        if any(not (0 <= a < num_joints and 0 <= b < num_joints) for a, b in edges):
            raise ValueError(f"graph edges index joints outside 0..{num_joints - 1}")
        # constructor arguments, stored in model artifacts to rebuild the model
        self.config = {
            "num_joints": num_joints,
            "in_channels": in_channels,
            "n_action": n_action,
            "n_intent": n_intent,
            "n_attitude": n_attitude,
            "gat_hidden": gat_hidden,
            "gat_layers": gat_layers,
            "lstm_hidden": lstm_hidden,
            "lstm_layers": lstm_layers,
            "fc_hidden": list(fc_hidden),
            "edges": [list(e) for e in edges],
            "input_norm": bool(input_norm),
            "mean_pose_head": bool(mean_pose_head),
        }
        self.num_joints = num_joints
        self.in_channels = in_channels
        self.gat_hidden = gat_hidden
        # every joint attends to its neighbours and to itself (GATConv's self-loops)
        pairs = symmetric_edge_index(edges)
        adjacency = torch.eye(num_joints, dtype=torch.bool)
        adjacency[pairs[1], pairs[0]] = True  # row = target node, column = source
        self.register_buffer("adjacency", adjacency, persistent=False)
        # per-feature statistics over every frame of the batch; eval: the recomputed ones
        self.input_norm = nn.BatchNorm1d(num_joints * in_channels) if input_norm else None
        self.gat = GraphAttention(in_channels, gat_hidden, gat_layers)
        frame_dim = num_joints * gat_hidden
        self.frame_attention = nn.Linear(frame_dim, 1)
        self.lstm = nn.LSTM(
            frame_dim, lstm_hidden, num_layers=lstm_layers, bidirectional=True, batch_first=True
        )
        self.time_attention = nn.Linear(2 * lstm_hidden, 1)
        layers: list[nn.Module] = []
        width = 2 * lstm_hidden
        for hidden in fc_hidden:
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.BatchNorm1d(hidden)]
            width = hidden
        self.fc = nn.Sequential(*layers)
        self.repr_dim = width
        self.classifier = ChainClassifier(width, n_intent, n_attitude, n_action)
        self.mean_pose_head = (
            MeanPoseHead(num_joints * in_channels, (n_intent, n_attitude, n_action))
            if mean_pose_head
            else None
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, J, C) -> z (B, repr_dim)."""
        if x.dim() != 4 or x.shape[2] != self.num_joints or x.shape[3] != self.in_channels:
            raise ValueError(
                f"SocialEgoMobile expects (B, T, {self.num_joints}, {self.in_channels}) input, "
                f"got {tuple(x.shape)}"
            )
        batch, steps = x.shape[0], x.shape[1]
        h = self.frame_embeddings(x.reshape(batch * steps, self.num_joints, self.in_channels))
        h = h.reshape(batch, steps, self.num_joints * self.gat_hidden)
        h = h * torch.softmax(self.frame_attention(h), dim=1)
        h, _ = self.lstm(h)  # (B, T, 2H), forward and backward halves concatenated
        return self.temporal_head(h)

    def frame_embeddings(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, J, C) single frames -> (N, J * gat_hidden): the GAT, frame by frame (frames
        never mix, so the online path can embed each new pose once and reuse it)."""
        count = frames.shape[0]
        if self.input_norm is not None:
            frames = self.input_norm(frames.reshape(count, -1)).reshape(frames.shape)
        h = self.gat(frames, self.adjacency)
        return h.reshape(count, self.num_joints * self.gat_hidden)

    def temporal_head(self, lstm_out: torch.Tensor) -> torch.Tensor:
        """(B, T, 2H) Bi-LSTM output -> z (B, repr_dim): attention pooling over time, MLP."""
        h = torch.sum(lstm_out * torch.softmax(self.time_attention(lstm_out), dim=1), dim=1)
        return self.fc(h)

    def forward(self, x: torch.Tensor) -> SocialOutputs:
        z = self.encode(x)
        logits = self.classifier(z)
        head = self.mean_pose_head
        if head is not None and head.active and not self.training:
            logits = head.fuse(logits, head.window_logits(x))
        intent, attitude, action = logits
        return SocialOutputs(intent, attitude, action, z)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
