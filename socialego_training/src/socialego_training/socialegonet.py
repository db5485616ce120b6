"""SocialEgoNet, the predecessor (method.md section 7): a baseline for accuracy and speed.

Whole-body pose, T = 30, all 133 COCO-WholeBody points normalised "signed". Three per-part GCNs
(PyG ``GCN``, 3 layers, 16 channels): body with feet (23 points), face (68), both hands (42);
per frame the part features are concatenated (133 x 16 = 2128), weighted by frame attention,
fed to a 3-layer Bi-LSTM (hidden 128), pooled by attention over time, then the same
256 -> 64 -> 16 MLP and chain classifier as the student. About 3.13 M parameters.

The face and hand graphs follow the standard 68-landmark face topology (jaw, brows, nose, eye
and lip contours) and the 21-point hand topology (wrist to each finger tip).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from socialego_core.heads import ChainClassifier, SocialOutputs
from socialego_core.layouts import BODY_EDGES, FACE, FEET, HANDS
from socialego_core.student import symmetric_edge_index
from torch import nn

# PyG's import scripts a few helpers with torch.jit.script, which torch 2.13 deprecates; the
# warning is PyG's, not this code's (the student itself no longer uses PyG).
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "`torch.jit.script` is deprecated", DeprecationWarning)
    from torch_geometric.nn import GCN


def _chain(start: int, end: int) -> list[tuple[int, int]]:
    return [(i, i + 1) for i in range(start, end)]


def _ring(start: int, end: int) -> list[tuple[int, int]]:
    return _chain(start, end) + [(end, start)]


# Body with feet, local indices 0..22: COCO-17 skeleton + ankles to big toe, small toe, heel.
BODY_FEET_EDGES: tuple[tuple[int, int], ...] = tuple(BODY_EDGES) + (
    (15, FEET[0]),
    (15, FEET[1]),
    (15, FEET[2]),
    (16, FEET[3]),
    (16, FEET[4]),
    (16, FEET[5]),
)
# Face, local indices 0..67 (iBUG-300W order).
FACE_EDGES: tuple[tuple[int, int], ...] = tuple(
    _chain(0, 16)  # jaw
    + _chain(17, 21)  # right brow
    + _chain(22, 26)  # left brow
    + _chain(27, 30)  # nose bridge
    + _chain(31, 35)  # nostrils
    + [(30, 33), (21, 27), (22, 27)]
    + _ring(36, 41)  # right eye
    + _ring(42, 47)  # left eye
    + _ring(48, 59)  # outer lips
    + _ring(60, 67)  # inner lips
    + [(48, 60), (54, 64)]
)
_ONE_HAND = [(0, 1 + 4 * f) for f in range(5)] + [
    (1 + 4 * f + k, 2 + 4 * f + k) for f in range(5) for k in range(3)
]
# Both hands, local indices 0..41 (left 0..20, right 21..41).
HANDS_EDGES: tuple[tuple[int, int], ...] = tuple(_ONE_HAND) + tuple(
    (a + 21, b + 21) for a, b in _ONE_HAND
)

PARTS: dict[str, tuple[range, tuple[tuple[int, int], ...]]] = {
    "body": (range(0, FEET.stop), BODY_FEET_EDGES),
    "face": (FACE, FACE_EDGES),
    "hands": (HANDS, HANDS_EDGES),
}


class _PartGCN(nn.Module):
    def __init__(self, joints: range, edges: Sequence[tuple[int, int]], hidden: int, layers: int):
        super().__init__()
        self.start, self.num_joints = joints.start, len(joints)
        self.hidden = hidden
        self.register_buffer("edge_index", symmetric_edge_index(edges), persistent=False)
        self.gcn = GCN(in_channels=3, hidden_channels=hidden, num_layers=layers)
        self._cache: dict[tuple[int, torch.device], torch.Tensor] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, steps = x.shape[:2]
        part = x[:, :, self.start : self.start + self.num_joints].reshape(-1, 3)
        key = (batch * steps, x.device)
        if key not in self._cache:
            offsets = torch.arange(batch * steps, device=x.device) * self.num_joints
            self._cache = {
                key: (self.edge_index.to(x.device)[:, None] + offsets[None, :, None]).reshape(2, -1)
            }
        h = self.gcn(part, self._cache[key])
        return h.reshape(batch, steps, self.num_joints * self.hidden)


class SocialEgoNet(nn.Module):
    """Input (B, T, 133, 3) normalised whole-body keypoints -> SocialOutputs."""

    def __init__(
        self,
        n_action: int = 10,
        n_intent: int = 3,
        n_attitude: int = 3,
        gcn_hidden: int = 16,
        gcn_layers: int = 3,
        lstm_hidden: int = 128,
        lstm_layers: int = 3,
        fc_hidden: Sequence[int] = (64, 16),
    ):
        super().__init__()
        self.config = {
            "n_action": n_action,
            "n_intent": n_intent,
            "n_attitude": n_attitude,
            "gcn_hidden": gcn_hidden,
            "gcn_layers": gcn_layers,
            "lstm_hidden": lstm_hidden,
            "lstm_layers": lstm_layers,
            "fc_hidden": list(fc_hidden),
        }
        self.num_joints = 133
        self.parts = nn.ModuleDict(
            {name: _PartGCN(j, e, gcn_hidden, gcn_layers) for name, (j, e) in PARTS.items()}
        )
        frame_dim = self.num_joints * gcn_hidden
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
        self.classifier = ChainClassifier(width, n_intent, n_attitude, n_action)

    def forward(self, x: torch.Tensor) -> SocialOutputs:
        if x.dim() != 4 or x.shape[2] != self.num_joints or x.shape[3] != 3:
            raise ValueError(f"SocialEgoNet expects (B, T, 133, 3) input, got {tuple(x.shape)}")
        h = torch.cat([part(x) for part in self.parts.values()], dim=2)
        h = h * torch.softmax(self.frame_attention(h), dim=1)
        h, _ = self.lstm(h)
        h = torch.sum(h * torch.softmax(self.time_attention(h), dim=1), dim=1)
        z = self.fc(h)
        intent, attitude, action = self.classifier(z)
        return SocialOutputs(intent, attitude, action, z)
