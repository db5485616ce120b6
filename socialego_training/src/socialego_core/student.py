"""SocialEgoMobile, the student that runs on the robot (method.md section 3).

Per frame, a 2-layer GAT over the 17-joint body graph; frame attention; a 1-layer Bi-LSTM;
attention pooling over time; a 256 -> 64 -> 16 MLP giving z; the chain classifier on z.
430,649 parameters with the JPL-Social heads (10 actions).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch_geometric.nn import GAT

from socialego_core.heads import ChainClassifier, SocialOutputs
from socialego_core.layouts import BODY_EDGES


def symmetric_edge_index(edges: Sequence[tuple[int, int]]) -> torch.Tensor:
    """(2, 2E) long tensor holding every undirected edge in both directions."""
    pairs = [(a, b) for a, b in edges] + [(b, a) for a, b in edges]
    return torch.tensor(pairs, dtype=torch.long).t().contiguous()


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
        }
        self.num_joints = num_joints
        self.in_channels = in_channels
        self.gat_hidden = gat_hidden
        # GATConv adds self-loops on every call (remove + add: several small ops); adding them
        # once here and switching that off gives the same edges in the same order, faster.
        loops = torch.arange(num_joints).repeat(2, 1)
        edge_index = torch.cat([symmetric_edge_index(edges), loops], dim=1)
        self.register_buffer("edge_index", edge_index, persistent=False)
        self._batched_edges: dict[tuple[int, torch.device], torch.Tensor] = {}

        self.gat = GAT(in_channels=in_channels, hidden_channels=gat_hidden, num_layers=gat_layers)
        for conv in self.gat.convs:
            conv.add_self_loops = False
        # In eval mode the same GAT layers run as dense masked attention over the 17 x 17
        # skeleton (identical math and weights, tested against PyG; ~3x faster at batch 1).
        # Training always uses PyG's sparse message passing.
        self.dense_gat_in_eval = True
        adjacency = torch.zeros(num_joints, num_joints, dtype=torch.bool)
        adjacency[edge_index[1], edge_index[0]] = True  # row = target node, column = source
        self.register_buffer("adjacency", adjacency, persistent=False)
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

    def _graph_edges(self, num_graphs: int, device: torch.device) -> torch.Tensor:
        """Edge index of num_graphs disjoint skeleton copies (cached: needed every call)."""
        key = (num_graphs, device)
        cached = self._batched_edges.get(key)
        if cached is None:
            base = self.edge_index.to(device)
            offsets = torch.arange(num_graphs, device=device) * self.num_joints
            cached = (base[:, None, :] + offsets[None, :, None]).reshape(2, -1)
            if len(self._batched_edges) > 16:
                self._batched_edges.clear()
            self._batched_edges[key] = cached
        return cached

    def _dense_gat(self, nodes: torch.Tensor) -> torch.Tensor:
        """PyG GAT (heads=1, ReLU between layers) on (G, J, C) nodes as dense attention."""
        h = nodes
        last = len(self.gat.convs) - 1
        for k, conv in enumerate(self.gat.convs):
            h = conv.lin(h)  # (G, J, F)
            score_src = (h * conv.att_src.view(1, 1, -1)).sum(-1)  # (G, J)
            score_dst = (h * conv.att_dst.view(1, 1, -1)).sum(-1)
            logits = score_src[:, None, :] + score_dst[:, :, None]  # [g, target, source]
            logits = torch.nn.functional.leaky_relu(logits, conv.negative_slope)
            logits = logits.masked_fill(~self.adjacency, float("-inf"))
            h = torch.softmax(logits, dim=-1) @ h
            if conv.bias is not None:
                h = h + conv.bias
            if k < last:
                h = torch.relu(h)
        return h

    def _can_use_dense_gat(self) -> bool:
        gat = self.gat
        return (
            self.dense_gat_in_eval
            and not self.training
            and (gat.norms is None or all(isinstance(n, nn.Identity) for n in gat.norms))
            and gat.jk_mode is None
            and isinstance(gat.act, nn.ReLU)
            and all(conv.heads == 1 and conv.lin is not None for conv in gat.convs)
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
        if self._can_use_dense_gat():
            h = self._dense_gat(frames)
        else:
            nodes = frames.reshape(count * self.num_joints, self.in_channels)
            h = self.gat(nodes, self._graph_edges(count, frames.device))
        return h.reshape(count, self.num_joints * self.gat_hidden)

    def temporal_head(self, lstm_out: torch.Tensor) -> torch.Tensor:
        """(B, T, 2H) Bi-LSTM output -> z (B, repr_dim): attention pooling over time, MLP."""
        h = torch.sum(lstm_out * torch.softmax(self.time_attention(lstm_out), dim=1), dim=1)
        return self.fc(h)

    def forward(self, x: torch.Tensor) -> SocialOutputs:
        z = self.encode(x)
        intent, attitude, action = self.classifier(z)
        return SocialOutputs(intent, attitude, action, z)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
