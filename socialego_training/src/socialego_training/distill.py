"""Distillation from the frozen SocialC3D teacher into the student (method.md section 5).

- ``info_nce``: S_ij = cosine(z_s_i, z_t_j) over the batch; L = -mean_i log softmax_j(S_ij / tau)
  at j = i. Student anchored, one direction, in-batch negatives, no projection head, the teacher
  detached. Weight 0.2, tau 0.1 in the paper.
- ``logit_kd``: the older variant, KL(teacher || student) on the three tasks' logits at a
  temperature (6), scaled by T^2 (Hinton et al.) so its gradient size does not depend on T.
- ``TeacherRepresentations`` (teacher_codes.py): the teacher's outputs for a whole dataset,
  computed once and cached on disk.
- ``DistillationLoss``: the callable the student loop calls as
  ``aux_loss(outputs, batch_indices, epoch)``; it looks the teacher outputs up by dataset index.
- ``MeanTeacherLoss`` (``method = "mean_teacher"``): the control without a teacher, the same
  InfoNCE against an exponential moving average of the student itself on clean input (Tarvainen &
  Valpola 2017), so a comparison with ``infonce`` isolates what the teacher knows.
- ``--unlabelled DIR`` (unlabelled.py): an unlabelled transfer set; supervised loss on the labelled
  tracks, the distillation loss on both, teacher codes of both computed the same way.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from socialego_core.heads import SocialOutputs
from torch import nn

from socialego_training.modalities import ModalityConfig, build_modalities
from socialego_training.teacher_codes import (
    TeacherRepresentations,
    cached_teacher_representations,
)
from socialego_training.teacher_io import load_teacher
from socialego_training.train import TrainConfig, train
from socialego_training.train_data import load_datasets
from socialego_training.unlabelled import load_unlabelled

METHODS: tuple[str, ...] = ("none", "kd", "infonce", "mean_teacher")
TEACHER_METHODS: tuple[str, ...] = ("kd", "infonce")  # the methods that need the SocialC3D teacher
INFONCE_WEIGHT = 0.2
INFONCE_TEMPERATURE = 0.1
KD_TEMPERATURE = 6.0


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
        if method not in ("none", *TEACHER_METHODS):
            raise ValueError(
                f"unknown distillation method {method!r} for DistillationLoss; known: none, "
                f"{', '.join(TEACHER_METHODS)} (mean_teacher: MeanTeacherLoss)"
            )
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


EMA_DECAY = 0.99


class MeanTeacherLoss:
    """``aux_loss(outputs, batch_indices, epoch)``: weight * InfoNCE(student z, EMA-student z on
    the clean windows). ``windows`` are the clean windows in the loop's index order (labelled,
    then unlabelled); ``bind(model)`` is called by ``train`` with the student once it is built.

    The moving average is updated at the start of each call (from the weights the previous step
    left) and starts from the initial student; it is not kept in ``last.pt``, so a resumed run
    restarts it.
    """

    def __init__(
        self,
        windows: torch.Tensor,
        weight: float,
        temperature: float = INFONCE_TEMPERATURE,
        decay: float = EMA_DECAY,
    ) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"mean teacher decay must be in [0, 1), got {decay}")
        self.windows = windows
        self.weight = float(weight)
        self.temperature = float(temperature)
        self.decay = float(decay)
        self.student: nn.Module | None = None
        self.ema: nn.Module | None = None

    def bind(self, model: nn.Module) -> None:
        self.student = model
        self.ema = copy.deepcopy(model)
        for p in self.ema.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def _update(self) -> None:
        assert self.student is not None and self.ema is not None
        for e, s in zip(self.ema.parameters(), self.student.parameters(), strict=True):
            e.mul_(self.decay).add_(s.detach(), alpha=1.0 - self.decay)
        for e, s in zip(self.ema.buffers(), self.student.buffers(), strict=True):
            e.copy_(s)

    def __call__(
        self, outputs: SocialOutputs, batch_indices: torch.Tensor, epoch: int = 0
    ) -> torch.Tensor:
        if self.ema is None:
            raise RuntimeError("MeanTeacherLoss used before bind(model)")
        self._update()
        index = torch.as_tensor(batch_indices, dtype=torch.long).cpu()
        x = self.windows[index].to(outputs.z.device)
        with torch.no_grad():
            self.ema.train()  # batch statistics, like the student's forward pass
            z_t = self.ema(x).z
        return self.weight * info_nce(outputs.z, z_t, self.temperature)


# ----------------------------------------------------------------------------- the distill run


@dataclass
class DistillConfig(TrainConfig):
    """The student's TrainConfig plus the distillation fields. Distillation keeps the method's
    fixed schedule (no step budget, best validation epoch), so the study's arms compare alike."""

    min_steps: int = field(default=0, metadata={"help": "optimiser-step budget (0 = off)"})
    label_smoothing: float = field(default=0.0, metadata={"help": "of the cross-entropies"})
    input_norm: int = field(default=0, metadata={"help": "BatchNorm over the student's input"})
    mean_pose_head: float = field(default=0.0, metadata={"help": "mean-pose head fusion weight"})
    select: str = field(default="best", metadata={"help": "best | last | swa | auto"})
    train_window_hop: int = field(default=0, metadata={"help": "must be 0 (one window a track)"})
    mirror: float = field(default=0.0, metadata={"help": "share of training windows mirrored"})
    teacher: str = field(default="", metadata={"help": "teacher artifact (best.pt)"})
    method: str = field(
        default="infonce",
        metadata={"help": "none | kd | infonce | mean_teacher (control without a teacher)"},
    )
    distill_weight: float = INFONCE_WEIGHT
    distill_temperature: float = field(
        default=0.0, metadata={"help": "0 = method default (0.1 InfoNCE, 6 KD)"}
    )
    unlabelled: str = field(
        default="",
        metadata={
            "help": "unlabelled transfer tracks (folder of track files or dataset root): "
            "distillation loss on them, no supervised loss"
        },
    )
    unlabelled_batch_size: int = field(
        default=0, metadata={"help": "unlabelled windows added to each step (0 = batch_size)"}
    )
    cache_dir: str = field(default="", metadata={"help": "default <out>/../cache"})
    videos_dir: str = field(default="", metadata={"help": "default <root>/videos"})
    unlabelled_videos_dir: str = field(
        default="", metadata={"help": "videos of the unlabelled tracks (default <DIR>/videos)"}
    )


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
    unlabelled_set: object = None  # PoseWindowDataset with labels -1, or None


def _teacher_codes(cfg, teacher, modality_cfg, tracks, videos: Path, cache: Path, log):
    files = [t.path for t in tracks]
    mods = build_modalities(tracks, videos, modality_cfg, files, cache, cfg.progress)
    reps = cached_teacher_representations(teacher, mods, files, cache, progress=cfg.progress)
    log(
        f"teacher representations {'loaded from' if reps.from_cache else 'written to'} "
        f"{cache} (key {reps.key})"
    )
    return reps


def _concat(a: TeacherRepresentations, b: TeacherRepresentations) -> TeacherRepresentations:
    parts = {k: torch.cat([v, b.to_dict()[k]]) for k, v in a.to_dict().items()}
    return TeacherRepresentations(**parts, key=f"{a.key}+{b.key}", from_cache=a.from_cache)


def prepare_distillation(cfg, log=print, data=None, unlabelled_set=None) -> DistillSetup:
    """Load the datasets, the unlabelled transfer set (``cfg.unlabelled``), the frozen teacher and
    its (cached) representations of the train set followed by those of the unlabelled set."""
    if cfg.method not in METHODS:
        raise ValueError(f"unknown distillation method {cfg.method!r}; known: {METHODS}")
    if cfg.unlabelled and cfg.method == "none":
        raise ValueError(
            f"--unlabelled {cfg.unlabelled}: unlabelled tracks only feed a distillation loss; "
            "choose --method infonce | kd | mean_teacher"
        )
    if cfg.method != "none" and cfg.train_window_hop != 0:
        raise ValueError(
            "--train-window-hop must be 0 for distillation: the teacher's representations are "
            "one per track"
        )
    train_set, val_set, summary = data if data is not None else load_datasets(cfg, log)
    if cfg.unlabelled and unlabelled_set is None:
        unlabelled_set = load_unlabelled(
            cfg.unlabelled, train_set.spec, cfg.dataset, cfg.skip_bad, cfg.progress, log
        )
        log(f"unlabelled transfer set: {len(unlabelled_set)} tracks from {cfg.unlabelled}")
    if not cfg.unlabelled:
        unlabelled_set = None
    if cfg.method not in TEACHER_METHODS:
        return DistillSetup(train_set, val_set, summary, None, {}, unlabelled_set)
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
    reps = _teacher_codes(cfg, teacher, modality_cfg, train_set.tracks, videos, cache, log)
    if unlabelled_set is not None:
        u_videos = Path(cfg.unlabelled_videos_dir or Path(cfg.unlabelled) / "videos")
        u_reps = _teacher_codes(
            cfg, teacher, modality_cfg, unlabelled_set.tracks, u_videos, cache, log
        )
        reps = _concat(reps, u_reps)
    return DistillSetup(train_set, val_set, summary, reps, meta, unlabelled_set)


def build_aux_loss(cfg, setup: DistillSetup):
    """The student loop's ``aux_loss`` for ``cfg.method`` (None for "none")."""
    temperature = cfg.distill_temperature or None
    if cfg.method == "none":
        return None
    if cfg.method == "mean_teacher":
        windows = setup.train_set.windows
        if setup.unlabelled_set is not None:
            windows = torch.cat([windows, setup.unlabelled_set.windows])
        return MeanTeacherLoss(windows, cfg.distill_weight, temperature or INFONCE_TEMPERATURE)
    return DistillationLoss(setup.representations, cfg.method, cfg.distill_weight, temperature)


def run_distillation(cfg, log=None, data=None, setup: DistillSetup | None = None):
    """Train the student with ``cfg.method`` distillation; returns the TrainResult."""
    log = log or print
    setup = setup or prepare_distillation(cfg, log, data)
    aux = build_aux_loss(cfg, setup)
    extra = {
        "distillation_method": cfg.method,
        "distillation_weight": cfg.distill_weight if aux else 0.0,
        "distillation_temperature": aux.temperature if aux else None,
        "teacher_version": setup.teacher_meta.get("version"),
        "unlabelled_tracks": len(setup.unlabelled_set) if setup.unlabelled_set else 0,
    }
    return train(
        cfg,
        aux_loss=aux,
        train_set=setup.train_set,
        val_set=setup.val_set,
        data_summary=setup.summary,
        extra_metadata=extra,
        log=log,
        unlabelled_set=setup.unlabelled_set,
        unlabelled_batch_size=cfg.unlabelled_batch_size,
    )
