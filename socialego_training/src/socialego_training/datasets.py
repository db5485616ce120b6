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


def window_starts(track: Track, spec: WindowSpec, hop: int) -> list[int]:
    """First frame ids of a track's windows: its first detection only (``hop`` 0, the method's
    loader), or one every ``hop`` frame ids while the window ends inside the track."""
    ids = sorted(track.frames)
    if hop <= 0:
        return [ids[0]]
    span = (spec.length - 1) * spec.stride
    return list(range(ids[0], max(ids[0], ids[-1] - span) + 1, hop))


class PoseWindowDataset(Dataset):
    """Item i -> (x (T, J, 3) float32, labels (3,) long [intent, attitude, action], i).

    Windows are built once, in memory (``.windows`` (N, T, J, 3), ``.labels`` (N, 3)); the index
    lets distillation look up cached teacher representations per sample. One window per track
    (``hop`` 0), or, for training on small sets, one every ``hop`` frames of each track, all with
    the track's labels (``.track_index``: the track of each window).
    """

    def __init__(self, tracks: Sequence[Track], spec: WindowSpec = STUDENT_SPEC, hop: int = 0):
        if not tracks:
            raise ValueError("PoseWindowDataset needs at least one track")
        if hop < 0:
            raise ValueError(f"window hop must be 0 (one window per track) or more, got {hop}")
        self.tracks = list(tracks)
        self.spec = spec
        self.hop = hop
        windows, owner = [], []
        for k, t in enumerate(self.tracks):
            for start in window_starts(t, spec, hop):
                windows.append(build_window(t.frames, t.width, t.height, spec, start))
                owner.append(k)
        self.track_index = torch.tensor(owner, dtype=torch.long)
        self.windows = torch.from_numpy(np.stack([w.keypoints for w in windows]))
        self.observed = torch.from_numpy(np.stack([w.observed for w in windows]))
        track_labels = torch.tensor([t.labels for t in self.tracks], dtype=torch.long)
        self.labels = track_labels[self.track_index]

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        return self.windows[index], self.labels[index], int(index)
