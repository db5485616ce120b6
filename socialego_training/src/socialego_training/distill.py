"""Distillation from the frozen SocialC3D teacher into the student (method.md section 5).

- ``info_nce``: S_ij = cosine(z_s_i, z_t_j) over the batch; L = -mean_i log softmax_j(S_ij / tau)
  at j = i. Student anchored, one direction, in-batch negatives, no projection head, the teacher
  detached. Weight 0.2, tau 0.1 in the paper.
- ``logit_kd``: the older variant, KL(teacher || student) on the three tasks' logits at a
  temperature (6), scaled by T^2 (Hinton et al.) so its gradient size does not depend on T.
- ``TeacherRepresentations``: the teacher's outputs (z_t and logits) for a whole dataset,
  computed once in eval mode on clean input and cached on disk under a key made of the
  teacher weights' hash, the dataset files (path, size, mtime) and the modality config. Any
  change gives a new key, so a stale cache is never reused.
- ``DistillationLoss``: the callable the student loop calls as
  ``aux_loss(outputs, batch_indices, epoch)``; it looks the teacher outputs up by dataset index.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from socialego_core.heads import SocialOutputs
from socialego_core.labels import TASKS
from torch import nn
from tqdm import tqdm

from socialego_training.modalities import ModalityConfig, build_modalities, file_fingerprint
from socialego_training.teacher_io import load_teacher
from socialego_training.train import TrainConfig, load_datasets, train

METHODS: tuple[str, ...] = ("none", "kd", "infonce")
INFONCE_WEIGHT = 0.2
INFONCE_TEMPERATURE = 0.1
KD_TEMPERATURE = 6.0
CACHE_VERSION = 1


def info_nce(
    z_student: torch.Tensor, z_teacher: torch.Tensor, temperature: float = INFONCE_TEMPERATURE
) -> torch.Tensor:
    """Student-anchored InfoNCE with in-batch negatives; the teacher side is detached."""
    if z_student.dim() != 2 or z_student.shape != z_teacher.shape:
        raise ValueError(
            f"info_nce needs matching (B, D) inputs, got {tuple(z_student.shape)} and "
            f"{tuple(z_teacher.shape)}"
        )
    zs = F.normalize(z_student, dim=1)
    zt = F.normalize(z_teacher.detach(), dim=1)
    logits = zs @ zt.t() / temperature  # (B, B): row i = anchor i against every teacher sample
    targets = torch.arange(len(zs), device=zs.device)
    return F.cross_entropy(logits, targets)


def logit_kd(
    student_logits: Sequence[torch.Tensor],
    teacher_logits: Sequence[torch.Tensor],
    temperature: float = KD_TEMPERATURE,
) -> torch.Tensor:
    """Sum over tasks of T^2 * KL(softmax(t/T) || softmax(s/T)), batch-mean; teacher detached."""
    total = student_logits[0].new_zeros(())
    for s, t in zip(student_logits, teacher_logits, strict=True):
        log_p_s = F.log_softmax(s / temperature, dim=1)
        log_p_t = F.log_softmax(t.detach() / temperature, dim=1)
        total = total + F.kl_div(log_p_s, log_p_t, log_target=True, reduction="batchmean")
    return total * temperature**2


# ----------------------------------------------------------------------------- teacher cache


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


class DistillationLoss:
    """``aux_loss(outputs, batch_indices, epoch) -> weighted loss`` for the student loop.

    ``method``: "none" (returns 0), "kd" (logit KD at ``temperature``) or "infonce".
    ``batch_indices`` are dataset indices into the same order as ``representations``.
    """

    def __init__(
        self,
        representations: TeacherRepresentations | None,
        method: str = "infonce",
        weight: float = INFONCE_WEIGHT,
        temperature: float | None = None,
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown distillation method {method!r}; known: {METHODS}")
        if method != "none" and representations is None:
            raise ValueError(f"distillation method {method!r} needs teacher representations")
        self.representations = representations
        self.method = method
        self.weight = float(weight)
        if temperature is None:
            temperature = KD_TEMPERATURE if method == "kd" else INFONCE_TEMPERATURE
        self.temperature = float(temperature)

    def __call__(
        self, outputs: SocialOutputs, batch_indices: torch.Tensor, epoch: int = 0
    ) -> torch.Tensor:
        if self.method == "none":
            return outputs.z.new_zeros(())
        reps = self.representations
        assert reps is not None
        index = torch.as_tensor(batch_indices, dtype=torch.long).cpu()
        if self.method == "infonce":
            z_t = reps.z[index].to(outputs.z.device)
            return self.weight * info_nce(outputs.z, z_t, self.temperature)
        teacher_logits = [t.to(outputs.z.device) for t in reps.logits(index)]
        student_logits = (outputs.intent, outputs.attitude, outputs.action)
        return self.weight * logit_kd(student_logits, teacher_logits, self.temperature)


# ----------------------------------------------------------------------------- the distill run


@dataclass
class DistillConfig(TrainConfig):
    """The student's TrainConfig plus the distillation fields. Distillation keeps the method's
    fixed schedule (no step budget, best validation epoch), so the study's arms compare alike."""

    min_steps: int = field(default=0, metadata={"help": "optimiser-step budget (0 = off)"})
    select: str = field(default="best", metadata={"help": "best | last | swa | auto"})
    train_window_hop: int = field(default=0, metadata={"help": "must be 0 (one window a track)"})
    mirror: float = field(default=0.0, metadata={"help": "share of training windows mirrored"})
    teacher: str = field(default="", metadata={"help": "teacher artifact (best.pt)"})
    method: str = field(default="infonce", metadata={"help": "none | kd | infonce"})
    distill_weight: float = INFONCE_WEIGHT
    distill_temperature: float = field(
        default=0.0, metadata={"help": "0 = method default (0.1 InfoNCE, 6 KD)"}
    )
    cache_dir: str = field(default="", metadata={"help": "default <out>/../cache"})
    videos_dir: str = field(default="", metadata={"help": "default <root>/videos"})


def distill_defaults() -> dict:
    """method.md section 5: 70 epochs, 30-epoch corruption warm-up, out folder runs/distill."""
    return {"epochs": 70, "corruption_warmup_epochs": 30, "out_dir": "runs/distill"}


@dataclass
class DistillSetup:
    train_set: object
    val_set: object
    summary: dict
    representations: TeacherRepresentations | None
    teacher_meta: dict


def prepare_distillation(cfg, log=print, data=None) -> DistillSetup:
    """Load the datasets, the frozen teacher and its (cached) representations of the train set."""
    if cfg.method not in METHODS:
        raise ValueError(f"unknown distillation method {cfg.method!r}; known: {METHODS}")
    if cfg.method != "none" and cfg.train_window_hop != 0:
        raise ValueError(
            "--train-window-hop must be 0 for distillation: the teacher's representations are "
            "one per track"
        )
    train_set, val_set, summary = data if data is not None else load_datasets(cfg, log)
    if cfg.method == "none":
        return DistillSetup(train_set, val_set, summary, None, {})
    if not cfg.teacher:
        raise ValueError(f"--method {cfg.method} needs --teacher (a trained teacher's best.pt)")
    teacher, meta = load_teacher(cfg.teacher)
    modality_cfg = ModalityConfig.from_dict(meta["modality_config"])
    spec = train_set.spec
    if (modality_cfg.window.length, modality_cfg.window.stride) != (spec.length, spec.stride):
        raise ValueError(
            f"teacher {cfg.teacher} sees windows of {modality_cfg.window.length} frames, stride "
            f"{modality_cfg.window.stride}; the student uses {spec.length}, stride {spec.stride}"
        )
    cache = Path(cfg.cache_dir) if cfg.cache_dir else Path(cfg.out_dir).parent / "cache"
    videos = Path(cfg.videos_dir) if cfg.videos_dir else Path(cfg.data_root) / "videos"
    files = [t.path for t in train_set.tracks]
    mods = build_modalities(train_set.tracks, videos, modality_cfg, files, cache, cfg.progress)
    reps = cached_teacher_representations(teacher, mods, files, cache, progress=cfg.progress)
    log(
        f"teacher representations {'loaded from' if reps.from_cache else 'written to'} "
        f"{cache} (key {reps.key})"
    )
    return DistillSetup(train_set, val_set, summary, reps, meta)


def run_distillation(cfg, log=None, data=None, setup: DistillSetup | None = None):
    """Train the student with ``cfg.method`` distillation; returns the TrainResult."""
    log = log or print
    setup = setup or prepare_distillation(cfg, log, data)
    aux = None
    if cfg.method != "none":
        aux = DistillationLoss(
            setup.representations,
            cfg.method,
            cfg.distill_weight,
            cfg.distill_temperature or None,
        )
    extra = {
        "distillation_method": cfg.method,
        "distillation_weight": cfg.distill_weight if aux else 0.0,
        "distillation_temperature": aux.temperature if aux else None,
        "teacher_version": setup.teacher_meta.get("version"),
    }
    return train(
        cfg,
        aux_loss=aux,
        train_set=setup.train_set,
        val_set=setup.val_set,
        data_summary=setup.summary,
        extra_metadata=extra,
        log=log,
    )
