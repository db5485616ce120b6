"""torch Datasets over loaded tracks: one window per track (SocialEgoNet's loader, method.md 2)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from socialego_core.window import WindowSpec, build_window
from torch.utils.data import Dataset

from socialego_training.data import Track

STUDENT_SPEC = WindowSpec()  # T = 10, stride 1, body joints 0-16, centered normalisation
SOCIALEGONET_SPEC = WindowSpec(length=30, joints=tuple(range(133)), normalisation="signed")


class PoseWindowDataset(Dataset):
    """Item i -> (x (T, J, 3) float32, labels (3,) long [intent, attitude, action], i).

    Windows are built once, in memory (``.windows`` (N, T, J, 3), ``.labels`` (N, 3)); the index
    lets distillation look up cached teacher representations per sample.
    """

    def __init__(self, tracks: Sequence[Track], spec: WindowSpec = STUDENT_SPEC):
        if not tracks:
            raise ValueError("PoseWindowDataset needs at least one track")
        self.tracks = list(tracks)
        self.spec = spec
        windows = [build_window(t.frames, t.width, t.height, spec) for t in self.tracks]
        self.windows = torch.from_numpy(np.stack([w.keypoints for w in windows]))
        self.observed = torch.from_numpy(np.stack([w.observed for w in windows]))
        self.labels = torch.tensor([t.labels for t in self.tracks], dtype=torch.long)

    def __len__(self) -> int:
        return len(self.tracks)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        return self.windows[index], self.labels[index], int(index)
