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

from collections.abc import Mapping, Sequence

import torch
from socialego_core.heads import ChainClassifier, SocialOutputs
from torch import nn

from socialego_training.teacher_config import POSE_STREAM_CHANNELS, TeacherConfig


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
