"""SocialC3D settings: the model's widths and inputs (``TeacherConfig``) and the teacher's
training settings (``TeacherTrainConfig``, method.md section 5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from socialego_core.layouts import BODY, FACE, HANDS
from socialego_core.window import WindowSpec

from socialego_training.modalities import ModalityConfig

POSE_STREAMS: tuple[str, ...] = ("body", "face", "hand", "gaze")
# Heatmap channels per pose stream (method.md section 4): one per body, face and hand (both
# hands) keypoint, and 2 for gaze (head point + gaze target).
POSE_STREAM_CHANNELS: dict[str, int] = {
    "body": len(BODY),
    "face": len(FACE),
    "hand": len(HANDS),
    "gaze": 2,
}
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


@dataclass
class TeacherTrainConfig:
    """Teacher training settings; defaults are the paper's (method.md section 5: SGD lr 0.01,
    momentum 0.9, weight decay 1e-4, cosine schedule, 70 epochs, batch 96, CE_int + CE_att +
    CE_act; clean input)."""

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
