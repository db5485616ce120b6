"""The frozen teacher's outputs (z_t and the three tasks' logits) for a whole dataset: computed
once in eval mode on clean input and cached on disk under a key made of the teacher weights'
hash, the dataset files (path, size, mtime) and the modality config. Any change gives a new key,
so a stale cache is never reused."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from socialego_core.heads import SocialOutputs
from socialego_core.labels import TASKS
from torch import nn
from tqdm import tqdm

from socialego_training.modalities import file_fingerprint

CACHE_VERSION = 1


def state_dict_hash(model: nn.Module) -> str:
    """sha256 (16 hex) of a model's parameters and buffers, in key order."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def representation_cache_key(
    teacher: nn.Module, track_files: Sequence[str | os.PathLike], modality_config: dict
) -> str:
    payload = {
        "version": CACHE_VERSION,
        "teacher": state_dict_hash(teacher),
        "files": file_fingerprint(track_files),
        "modalities": modality_config,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class TeacherRepresentations:
    """Teacher outputs per dataset sample, in dataset order."""

    z: torch.Tensor  # (N, 16)
    intent: torch.Tensor  # (N, 3) logits
    attitude: torch.Tensor  # (N, 3)
    action: torch.Tensor  # (N, A)
    key: str = ""
    from_cache: bool = False

    def __len__(self) -> int:
        return len(self.z)

    def logits(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.intent[index], self.attitude[index], self.action[index]

    def to_dict(self) -> dict[str, torch.Tensor]:
        return {
            "z": self.z,
            "intent": self.intent,
            "attitude": self.attitude,
            "action": self.action,
        }


@torch.no_grad()
def compute_teacher_representations(
    teacher: nn.Module,
    modalities,  # socialego_training.modalities.ModalityArrays
    batch_size: int = 64,
    progress: bool = True,
) -> TeacherRepresentations:
    """Run the frozen teacher in eval mode over every sample (clean input)."""
    was_training = teacher.training
    teacher.eval()
    parts: dict[str, list[torch.Tensor]] = {k: [] for k in ("z", *TASKS)}
    try:
        starts = range(0, len(modalities), batch_size)
        for start in tqdm(starts, desc="teacher representations", disable=not progress):
            idx = np.arange(start, min(start + batch_size, len(modalities)))
            out: SocialOutputs = teacher(modalities.batch(idx))
            for name in parts:
                parts[name].append(getattr(out, name).float().cpu())
    finally:
        teacher.train(was_training)
    return TeacherRepresentations(**{k: torch.cat(v) for k, v in parts.items()})


def cached_teacher_representations(
    teacher: nn.Module,
    modalities,
    track_files: Sequence[str | os.PathLike],
    cache_dir: str | Path,
    batch_size: int = 64,
    progress: bool = True,
) -> TeacherRepresentations:
    """Load the teacher representations for this (teacher, dataset, modality config) from
    ``cache_dir`` or compute and store them. Returns them with ``from_cache`` set."""
    key = representation_cache_key(teacher, track_files, modalities.config.to_dict())
    path = Path(cache_dir) / f"teacher-repr-{key}.pt"
    if path.is_file():
        try:
            data = torch.load(path, weights_only=True)
            reps = TeacherRepresentations(**data, key=key, from_cache=True)
            if len(reps) == len(modalities):
                return reps
        except (OSError, RuntimeError, TypeError, KeyError):
            pass  # unreadable cache: recompute
    reps = compute_teacher_representations(teacher, modalities, batch_size, progress)
    reps.key = key
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(reps.to_dict(), tmp)
    os.replace(tmp, path)
    return reps
