"""SocialC3D: the multimodal offline teacher (method.md section 4).

Five 3D-CNN streams in the style of mmaction2's RGBPoseConv3D (PoseC3D) over one T-frame window:
an RGB person-crop stream (ResNet3d-50 SlowOnly pathway) and four heatmap streams (body, face,
hands, gaze; 3-stage ResNet3d each). Hub-and-spoke lateral connections through the RGB stream at
two depths, global average pooling, a late-fusion MLP to the 16-d representation ``z_t`` and the
chain classifier shared with the student.

``TeacherConfig.full()`` is the paper-size model (48.49 M parameters; never trained on CPU here);
``TeacherConfig.small()`` keeps the same structure at a width and input size that train on a CPU.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from socialego_core.heads import ChainClassifier, SocialOutputs
from socialego_core.window import WindowSpec
from torch import nn

from socialego_training.modalities import ModalityArrays, ModalityConfig, build_modalities

POSE_STREAMS: tuple[str, ...] = ("body", "face", "hand", "gaze")
# Heatmap channels per pose stream (method.md section 4): 17 body, 68 face, 2 x 21 hands,
# gaze head point + gaze target.
POSE_STREAM_CHANNELS: dict[str, int] = {"body": 17, "face": 68, "hand": 42, "gaze": 2}
STREAMS: tuple[str, ...] = ("rgb", *POSE_STREAMS)


@dataclass(frozen=True)
class TeacherConfig:
    """Widths, depths and input sizes of a SocialC3D model (constructor kwargs of the artifact)."""

    rgb_base: int = 64
    rgb_blocks: tuple[int, ...] = (3, 4, 6, 3)
    rgb_inflate: tuple[bool, ...] = (False, False, True, True)
    pose_base: int = 32
    pose_blocks: tuple[int, ...] = (4, 6, 3)
    pose_inflate: tuple[bool, ...] = (False, True, True)
    # Lateral widths relative to the source stream: pose -> rgb adds ``pose_ch // 2`` channels
    # (summed over the pose streams), rgb -> pose adds ``rgb_ch // 16`` channels per pose stream.
    # With these the full model has 48.49 M parameters, the paper's count.
    pose_to_rgb_ratio: float = 0.5
    rgb_to_pose_divisor: int = 16
    lateral_kernel: int = 7
    fusion_hidden: tuple[int, ...] = (1028, 256)
    z_dim: int = 16
    crop_size: int = 224
    heatmap_size: int = 56
    length: int = 10
    n_intent: int = 3
    n_attitude: int = 3
    n_action: int = 10
    streams: tuple[str, ...] = STREAMS

    def __post_init__(self) -> None:
        for name in ("rgb_blocks", "rgb_inflate", "pose_blocks", "pose_inflate", "fusion_hidden"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "streams", tuple(self.streams))
        if len(self.rgb_blocks) != 4 or len(self.rgb_inflate) != 4:
            raise ValueError("the rgb pathway has exactly 4 stages (rgb_blocks, rgb_inflate)")
        if len(self.pose_blocks) != 3 or len(self.pose_inflate) != 3:
            raise ValueError("each pose pathway has exactly 3 stages (pose_blocks, pose_inflate)")
        unknown = set(self.streams) - set(STREAMS)
        if unknown or "rgb" not in self.streams:
            raise ValueError(
                f"streams must include 'rgb' and come from {STREAMS}, got {self.streams}"
            )
        if self.crop_size != 4 * self.heatmap_size:
            # the rgb stream is at crop/8 after stage 2 and the pose streams at heatmap/2 after
            # stage 1; the laterals need both at the same spatial size
            raise ValueError(
                f"crop_size must be 4 x heatmap_size for the lateral connections, "
                f"got crop {self.crop_size}, heatmap {self.heatmap_size}"
            )

    @property
    def pose_streams(self) -> tuple[str, ...]:
        return tuple(s for s in self.streams if s != "rgb")

    def to_dict(self) -> dict:
        data = asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in data.items()}

    @classmethod
    def from_dict(cls, data: Mapping) -> TeacherConfig:
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items()})

    @classmethod
    def full(cls, **overrides) -> TeacherConfig:
        """The paper-size SocialC3D (48.49 M parameters with the JPL-Social heads)."""
        return cls(**overrides)

    @classmethod
    def small(cls, **overrides) -> TeacherConfig:
        """Same structure, narrow and shallow, 64x64 crops and 16x16 heatmaps: trains on a CPU."""
        base = dict(
            rgb_base=8,
            rgb_blocks=(1, 1, 1, 1),
            pose_base=8,
            pose_blocks=(1, 1, 1),
            fusion_hidden=(64, 32),
            crop_size=64,
            heatmap_size=16,
        )
        base.update(overrides)
        return cls(**base)


class Bottleneck3d(nn.Module):
    """ResNet bottleneck with an optional 3x1x1 temporal first conv (SlowOnly "inflation")."""

    expansion = 4

    def __init__(self, in_ch: int, planes: int, spatial_stride: int, inflate: bool) -> None:
        super().__init__()
        out_ch = planes * self.expansion
        kt = 3 if inflate else 1
        self.conv1 = nn.Conv3d(in_ch, planes, (kt, 1, 1), padding=(kt // 2, 0, 0), bias=False)
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = nn.Conv3d(
            planes,
            planes,
            (1, 3, 3),
            stride=(1, spatial_stride, spatial_stride),
            padding=(0, 1, 1),
            bias=False,
        )
        self.bn2 = nn.BatchNorm3d(planes)
        self.conv3 = nn.Conv3d(planes, out_ch, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if spatial_stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(
                nn.Conv3d(in_ch, out_ch, 1, stride=(1, spatial_stride, spatial_stride), bias=False),
                nn.BatchNorm3d(out_ch),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def make_stage(
    in_ch: int, planes: int, blocks: int, spatial_stride: int, inflate: bool
) -> nn.Sequential:
    layers = [Bottleneck3d(in_ch, planes, spatial_stride, inflate)]
    layers += [
        Bottleneck3d(planes * Bottleneck3d.expansion, planes, 1, inflate) for _ in range(blocks - 1)
    ]
    return nn.Sequential(*layers)


class RGBPathway(nn.Module):
    """ResNet3d-50 SlowOnly: conv1 (1,7,7) stride 2 + max-pool, 4 stages, no temporal stride."""

    def __init__(self, cfg: TeacherConfig, lateral_extra: Sequence[int]) -> None:
        super().__init__()
        base = cfg.rgb_base
        self.conv1 = nn.Sequential(
            nn.Conv3d(3, base, (1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False),
            nn.BatchNorm3d(base),
            nn.ReLU(inplace=True),
        )
        self.pool = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        strides = (1, 2, 2, 2)
        in_ch = base
        stages = []
        # lateral_extra[i] = channels concatenated onto the input of stage i (0 for none)
        for i, blocks in enumerate(cfg.rgb_blocks):
            planes = base * 2**i
            stages.append(
                make_stage(in_ch + lateral_extra[i], planes, blocks, strides[i], cfg.rgb_inflate[i])
            )
            in_ch = planes * Bottleneck3d.expansion
        self.stages = nn.ModuleList(stages)
        self.out_channels = in_ch
        self.stage_out = [base * 2**i * Bottleneck3d.expansion for i in range(4)]


class PosePathway(nn.Module):
    """3-stage ResNet3d over heatmaps: conv1 (1,7,7) stride 1, no pool, spatial strides 2,2,2."""

    def __init__(self, cfg: TeacherConfig, in_channels: int, lateral_extra: Sequence[int]) -> None:
        super().__init__()
        base = cfg.pose_base
        self.conv1 = nn.Sequential(
            nn.Conv3d(in_channels, base, (1, 7, 7), padding=(0, 3, 3), bias=False),
            nn.BatchNorm3d(base),
            nn.ReLU(inplace=True),
        )
        in_ch = base
        stages = []
        for i, blocks in enumerate(cfg.pose_blocks):
            planes = base * 2**i
            stages.append(
                make_stage(in_ch + lateral_extra[i], planes, blocks, 2, cfg.pose_inflate[i])
            )
            in_ch = planes * Bottleneck3d.expansion
        self.stages = nn.ModuleList(stages)
        self.out_channels = in_ch
        self.stage_out = [base * 2**i * Bottleneck3d.expansion for i in range(3)]


class SocialC3D(nn.Module):
    """The teacher. ``forward(inputs)`` takes a dict of stream tensors and returns SocialOutputs.

    Inputs (B = batch, T = window length): ``rgb`` (B, 3, T, S, S) ImageNet-normalised crops,
    S = ``crop_size``; ``body`` (B, 17, T, H, H), ``face`` (B, 68, ...), ``hand`` (B, 42, ...),
    ``gaze`` (B, 2, ...) heatmaps, H = ``heatmap_size``.
    """

    def __init__(self, config: TeacherConfig | None = None, **kwargs) -> None:
        super().__init__()
        cfg = config if config is not None else TeacherConfig.from_dict(kwargs)
        self.config = cfg
        pose_names = cfg.pose_streams
        kt = cfg.lateral_kernel
        pose_stage_out = [cfg.pose_base * 2**i * 4 for i in range(3)]
        rgb_stage_out = [cfg.rgb_base * 2**i * 4 for i in range(4)]
        # Two lateral depths: (rgb after stage 2, pose after stage 1) and (rgb 3, pose 2).
        to_rgb = [int(pose_stage_out[d] * cfg.pose_to_rgb_ratio) for d in range(2)]
        to_pose = [rgb_stage_out[d + 1] // cfg.rgb_to_pose_divisor for d in range(2)]
        has_pose = bool(pose_names)
        self.rgb = RGBPathway(cfg, [0, 0, *(to_rgb if has_pose else (0, 0))])
        self.pose = nn.ModuleDict(
            {
                name: PosePathway(cfg, POSE_STREAM_CHANNELS[name], [0, *to_pose])
                for name in pose_names
            }
        )
        # pose -> rgb: one Conv3d (kt x 1 x 1) per stream and depth; the projections are summed
        self.lateral_to_rgb = nn.ModuleList(
            nn.ModuleDict(
                {
                    name: nn.Conv3d(
                        pose_stage_out[d],
                        to_rgb[d],
                        (kt, 1, 1),
                        padding=(kt // 2, 0, 0),
                        bias=False,
                    )
                    for name in pose_names
                }
            )
            for d in range(2)
        )
        # rgb -> each pose stream: ConvTranspose3d (kt x 1 x 1) + BN + ReLU
        self.lateral_to_pose = nn.ModuleList(
            nn.ModuleDict(
                {
                    name: nn.Sequential(
                        nn.ConvTranspose3d(
                            rgb_stage_out[d + 1],
                            to_pose[d],
                            (kt, 1, 1),
                            padding=(kt // 2, 0, 0),
                            bias=False,
                        ),
                        nn.BatchNorm3d(to_pose[d]),
                        nn.ReLU(inplace=True),
                    )
                    for name in pose_names
                }
            )
            for d in range(2)
        )
        fused = self.rgb.out_channels + sum(self.pose[n].out_channels for n in pose_names)
        layers: list[nn.Module] = []
        width = fused
        for hidden in cfg.fusion_hidden:
            layers += [nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True)]
            width = hidden
        layers += [nn.Linear(width, cfg.z_dim), nn.BatchNorm1d(cfg.z_dim)]
        self.fusion = nn.Sequential(*layers)
        self.fused_channels = fused
        self.classifier = ChainClassifier(
            cfg.z_dim, n_intent=cfg.n_intent, n_attitude=cfg.n_attitude, n_action=cfg.n_action
        )

    def check_inputs(self, inputs: Mapping[str, torch.Tensor]) -> None:
        cfg = self.config
        for name in cfg.streams:
            if name not in inputs:
                raise ValueError(
                    f"SocialC3D input is missing stream {name!r}; got {sorted(inputs)}"
                )
            x = inputs[name]
            if name == "rgb":
                want = (3, cfg.length, cfg.crop_size, cfg.crop_size)
            else:
                size = cfg.heatmap_size
                want = (POSE_STREAM_CHANNELS[name], cfg.length, size, size)
            if x.dim() != 5 or tuple(x.shape[1:]) != want:
                raise ValueError(
                    f"SocialC3D stream {name!r} must be (B, {', '.join(map(str, want))}), "
                    f"got {tuple(x.shape)}"
                )

    def features(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Fused pooled features (B, fused_channels) before the fusion MLP."""
        self.check_inputs(inputs)
        names = self.config.pose_streams
        r = self.rgb.pool(self.rgb.conv1(inputs["rgb"]))
        p = {n: self.pose[n].conv1(inputs[n]) for n in names}
        r = self.rgb.stages[1](self.rgb.stages[0](r))
        p = {n: self.pose[n].stages[0](p[n]) for n in names}
        for depth in range(2):
            if names:
                to_rgb = sum(self.lateral_to_rgb[depth][n](p[n]) for n in names)
                to_pose = {n: self.lateral_to_pose[depth][n](r) for n in names}
                r = torch.cat([r, to_rgb], dim=1)
                p = {n: torch.cat([p[n], to_pose[n]], dim=1) for n in names}
            r = self.rgb.stages[depth + 2](r)
            p = {n: self.pose[n].stages[depth + 1](p[n]) for n in names}
        pooled = [r.mean(dim=(2, 3, 4))] + [p[n].mean(dim=(2, 3, 4)) for n in names]
        return torch.cat(pooled, dim=1)

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> SocialOutputs:
        z = self.fusion(self.features(inputs))
        intent, attitude, action = self.classifier(z)
        return SocialOutputs(intent, attitude, action, z)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def example_inputs(
    config: TeacherConfig, batch: int = 2, generator: torch.Generator | None = None
) -> dict[str, torch.Tensor]:
    """Random inputs of the right shapes (tests, MAC counting, latency)."""
    out = {}
    for name in config.streams:
        if name == "rgb":
            shape = (batch, 3, config.length, config.crop_size, config.crop_size)
        else:
            size = config.heatmap_size
            shape = (batch, POSE_STREAM_CHANNELS[name], config.length, size, size)
        out[name] = torch.randn(shape, generator=generator)
    return out


__all__ = [
    "POSE_STREAMS",
    "POSE_STREAM_CHANNELS",
    "STREAMS",
    "SocialC3D",
    "TeacherConfig",
    "count_parameters",
    "example_inputs",
]


# ============================================================================ teacher training
# (method.md section 5: SGD lr 0.01, momentum 0.9, weight decay 1e-4, cosine schedule, 70 epochs,
# batch 96, CE_int + CE_att + CE_act; clean input). Same run-folder behaviour as the student:
# last.pt every few steps + each epoch (resume), best.pt artifact, log.csv/log.json, config.yaml.


@dataclass
class TeacherTrainConfig:
    """Teacher training settings; defaults are the paper's (method.md section 5)."""

    data_root: str = field(default="", metadata={"help": "JPL-Social-schema dataset root"})
    dataset: str = field(default="jpl_social", metadata={"help": "jpl_social | harper"})
    train_split: str = "train"
    val_split: str = "validation"
    val_fraction: float = 0.15
    skip_bad: bool = False
    videos_dir: str = field(default="", metadata={"help": "video frames (default <root>/videos)"})
    missing_rgb: str = field(
        default="error", metadata={"help": "error | zeros (pose-only data: black crops)"}
    )
    size: str = field(default="small", metadata={"help": "small (CPU) | full (paper, 48.49 M)"})
    crop_size: int = field(default=0, metadata={"help": "rgb crop side (0 = size default)"})
    streams: str = field(
        default="rgb,body,face,hand,gaze", metadata={"help": "streams to use (ablation)"}
    )
    heatmap_frame: str = field(
        default="part",
        metadata={"help": "part (face and hands re-centred in their own box) | person (paper)"},
    )
    window_length: int = 10
    window_stride: int = 1
    source_fps: float = 30.0
    sigma: float = 0.6
    epochs: int = 70
    batch_size: int = 96
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    seed: int = 0
    device: str = field(default="auto", metadata={"help": "auto | cpu | cuda[:N]"})
    threads: int = 0
    out_dir: str = "runs/teacher"
    cache_dir: str = field(default="", metadata={"help": "modality cache (default <out>/../cache)"})
    init_rgb: str = field(default="", metadata={"help": "RGB-only PoseC3D checkpoint"})
    init_pose: str = field(
        default="",
        metadata={"help": "pose checkpoints: stream=path[,stream=path] or all=path"},
    )
    checkpoint_every: int = 20
    resume: bool = True
    progress: bool = True
    max_steps: int = field(default=0, metadata={"help": "stop after this many steps (kill test)"})

    def window_spec(self) -> WindowSpec:
        return WindowSpec(
            length=self.window_length, stride=self.window_stride, source_fps=self.source_fps
        )

    def model_config(self, n_action: int) -> TeacherConfig:
        if self.size not in ("small", "full"):
            raise ValueError(f"teacher size must be 'small' or 'full', got {self.size!r}")
        streams = tuple(s.strip() for s in self.streams.split(",") if s.strip())
        kwargs: dict[str, Any] = {"n_action": n_action, "length": self.window_length}
        kwargs["streams"] = streams
        if self.crop_size:
            kwargs["crop_size"] = self.crop_size
            kwargs["heatmap_size"] = self.crop_size // 4
        factory = TeacherConfig.small if self.size == "small" else TeacherConfig.full
        return factory(**kwargs)

    def modality_config(self, model_cfg: TeacherConfig) -> ModalityConfig:
        return ModalityConfig(
            crop_size=model_cfg.crop_size,
            heatmap_size=model_cfg.heatmap_size,
            sigma=self.sigma,
            window=self.window_spec(),
            missing_rgb=self.missing_rgb,
            heatmap_frame=self.heatmap_frame,
        )

    def resolved_cache_dir(self) -> Path:
        return Path(self.cache_dir) if self.cache_dir else Path(self.out_dir).parent / "cache"

    def resolved_videos_dir(self) -> Path:
        return Path(self.videos_dir) if self.videos_dir else Path(self.data_root) / "videos"


def parse_init_pose(text: str) -> dict[str, str]:
    """'body=a.pth,face=b.pth' or 'all=a.pth' -> {stream: path}."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise ValueError(f"--init-pose entries are stream=path, got {part!r}")
        stream, path = part.split("=", 1)
        out[stream.strip()] = path.strip()
    return out


@dataclass
class TeacherData:
    """Everything the teacher (and distillation) needs about a dataset."""

    train_set: Any  # PoseWindowDataset (same windows and order as the student's)
    val_set: Any
    train_modalities: ModalityArrays
    val_modalities: ModalityArrays
    summary: dict[str, Any]


def student_train_config(cfg: Any, **changes: Any):
    """A student TrainConfig sharing the data fields of ``cfg`` (same split, same windows)."""
    from socialego_training.train import TrainConfig

    fields = {
        name: getattr(cfg, name)
        for name in (
            "data_root",
            "dataset",
            "train_split",
            "val_split",
            "val_fraction",
            "skip_bad",
            "window_length",
            "window_stride",
            "source_fps",
            "seed",
            "progress",
        )
        if hasattr(cfg, name)
    }
    fields.update(changes)
    return TrainConfig(**fields)


def load_teacher_data(
    cfg: TeacherTrainConfig, modality_cfg: ModalityConfig, log: Callable[[str], None] = print
) -> TeacherData:
    from socialego_training.train import load_datasets

    train_set, val_set, summary = load_datasets(student_train_config(cfg), log)
    videos = cfg.resolved_videos_dir()
    cache = cfg.resolved_cache_dir()
    mods = []
    for dataset in (train_set, val_set):
        files = [t.path for t in dataset.tracks]
        mods.append(
            build_modalities(dataset.tracks, videos, modality_cfg, files, cache, cfg.progress)
        )
    return TeacherData(train_set, val_set, mods[0], mods[1], summary)


@torch.no_grad()
def evaluate_teacher(
    model: SocialC3D, modalities: ModalityArrays, labels: torch.Tensor, batch_size: int = 64
) -> tuple[np.ndarray, float]:
    """(N, 3) predictions and the mean task loss of the teacher in eval mode."""
    from socialego_training.loop import task_loss

    was_training = model.training
    model.eval()
    preds, loss = [], 0.0
    device = next(model.parameters()).device
    for start in range(0, len(modalities), batch_size):
        idx = np.arange(start, min(start + batch_size, len(modalities)))
        batch = {k: v.to(device) for k, v in modalities.batch(idx).items()}
        out = model(batch)
        y = labels[idx].to(device)
        loss += float(task_loss(out, y)) * len(idx)
        preds.append(
            torch.stack([o.argmax(1) for o in (out.intent, out.attitude, out.action)], 1).cpu()
        )
    model.train(was_training)
    return torch.cat(preds).numpy(), loss / max(len(modalities), 1)


@torch.no_grad()
def stream_reliance(
    model: SocialC3D, modalities: ModalityArrays, labels: torch.Tensor, batch_size: int = 64
) -> dict[str, dict[str, float]]:
    """Accuracy per task with all streams, and with each stream blanked (zeros) at test time.

    A diagnostic of how much the trained teacher relies on each modality (not of how much
    information a modality holds: that needs retraining without it, ``--streams``).
    """
    from socialego_core.labels import TASKS

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out: dict[str, dict[str, float]] = {}
    y = labels.numpy()
    for blank in ("none", *model.config.streams):
        preds = []
        for start in range(0, len(modalities), batch_size):
            idx = np.arange(start, min(start + batch_size, len(modalities)))
            batch = modalities.batch(idx)
            if blank != "none":
                batch[blank] = torch.zeros_like(batch[blank])
            o = model({k: v.to(device) for k, v in batch.items()})
            preds.append(torch.stack([t.argmax(1) for t in (o.intent, o.attitude, o.action)], 1))
        p = torch.cat(preds).cpu().numpy()
        out[blank] = {f"{t}_acc": float((p[:, i] == y[:, i]).mean()) for i, t in enumerate(TASKS)}
    model.train(was_training)
    return out


def save_teacher(
    model: SocialC3D,
    path: Path,
    modality_cfg: ModalityConfig,
    dataset: str,
    extra: dict[str, Any],
) -> dict:
    from socialego_core.artifact import save_artifact
    from socialego_core.labels import get_label_table

    metadata = {
        "model": "SocialC3D",
        "model_kwargs": model.config.to_dict(),
        "window_spec": modality_cfg.window.to_dict(),
        "modality_config": modality_cfg.to_dict(),
        "labels": get_label_table(dataset).to_dict(),
        "input": "dict of streams; see socialego_training.modalities",
        **extra,
    }
    return save_artifact(path, model, metadata)


def load_teacher(path: str | Path) -> tuple[SocialC3D, dict]:
    """A trained teacher artifact -> (model in eval mode, metadata)."""
    from socialego_core.artifact import build_model, load_artifact

    payload = load_artifact(path)
    model = build_model(payload, path, registry={"SocialC3D": SocialC3D})
    return model, payload["metadata"]


@dataclass
class TeacherResult:
    run_dir: Path
    best_path: Path
    best_epoch: int
    best_metrics: dict[str, Any]
    history: list[dict[str, Any]]
    model: SocialC3D
    data: TeacherData


TEACHER_RESUME_KEYS: tuple[str, ...] = (
    "data_root",
    "dataset",
    "size",
    "crop_size",
    "streams",
    "epochs",
    "batch_size",
    "lr",
    "seed",
)


def train_teacher(
    cfg: TeacherTrainConfig,
    data: TeacherData | None = None,
    log: Callable[[str], None] | None = None,
) -> TeacherResult:
    """Train (or resume) a SocialC3D teacher in ``cfg.out_dir`` (the shared loop, ``loop.fit``)."""
    from socialego_core.labels import get_label_table
    from tqdm import tqdm

    from socialego_training.checkpoint import BEST
    from socialego_training.config import config_to_dict
    from socialego_training.loop import TrainingTask, fit, start_run, task_loss
    from socialego_training.metrics import task_metrics
    from socialego_training.posec3d_init import init_teacher_from_posec3d

    log = log or (lambda msg: tqdm.write(msg))
    run_dir, device = start_run(cfg, log)
    labels_table = get_label_table(cfg.dataset)
    model_cfg = cfg.model_config(labels_table.num_classes("action"))
    modality_cfg = cfg.modality_config(model_cfg)
    if data is None:
        data = load_teacher_data(cfg, modality_cfg, log)
    if data.train_modalities.config != modality_cfg:
        raise ValueError("teacher data was built with a different modality config")

    torch.manual_seed(cfg.seed)
    model = SocialC3D(model_cfg)
    if cfg.init_rgb or cfg.init_pose:
        for report in init_teacher_from_posec3d(
            model, cfg.init_rgb or None, parse_init_pose(cfg.init_pose)
        ):
            log(report.summary())
    model.to(device)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
    )
    labels = data.train_set.labels

    def train_step(epoch: int, step: int, index: torch.Tensor) -> tuple[torch.Tensor, dict]:
        batch = {k: v.to(device) for k, v in data.train_modalities.batch(index).items()}
        loss = task_loss(model(batch), labels[index].to(device))
        return loss, {"loss": float(loss.detach()) * len(index), "n": len(index)}

    def evaluate() -> tuple[float, dict[str, Any]]:
        preds, val_loss = evaluate_teacher(model, data.val_modalities, data.val_set.labels)
        return val_loss, task_metrics(data.val_set.labels.numpy(), preds, labels_table)

    def save_best(epoch: int, best: dict[str, Any], path: Path) -> None:
        save_teacher(
            model,
            path,
            modality_cfg,
            cfg.dataset,
            {
                "metrics": {"validation": best},
                "training": {"config": config_to_dict(cfg), "epoch": epoch},
                "training_data": data.summary,
            },
        )

    task = TrainingTask(
        train_step=train_step,
        new_stats=lambda: {"loss": 0.0, "n": 0},
        train_columns=lambda epoch, stats: {"train_loss": stats["loss"] / max(stats["n"], 1)},
        evaluate=evaluate,
        save_best=save_best,
        resume_keys=TEACHER_RESUME_KEYS,
        name="teacher ",
    )
    state = fit(cfg, model, optimizer, len(data.train_modalities), task, run_dir, log)

    best_model, _ = load_teacher(run_dir / BEST)
    (run_dir / "summary.json").write_text(
        json.dumps(
            {"best_epoch": state["best"]["epoch"], "best_validation": state["best"]}, indent=1
        )
    )
    return TeacherResult(
        run_dir,
        run_dir / BEST,
        state["best"]["epoch"],
        state["best"],
        state["history"],
        best_model,
        data,
    )
