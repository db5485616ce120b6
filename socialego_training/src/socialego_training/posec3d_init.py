"""Initialise SocialC3D pathways from user-supplied PoseC3D checkpoints (method.md section 4).

The paper starts from the public NTU-60 RGB-only and pose-only PoseC3D (mmaction2) checkpoints.
We cannot download them; users who have them pass the files. Accepted key styles:

- mmaction2: ``backbone.conv1.conv.weight``, ``backbone.layer1.0.conv1.bn.weight``,
  ``backbone.layer1.0.downsample.conv.weight`` ... (optionally under ``state_dict``/``model``);
  ``cls_head.*`` and other non-backbone keys are ignored;
- ours: the pathway's own keys (``conv1.0.weight``, ``stages.0.0.conv1.weight`` ...), e.g. a
  pathway copied out of a trained SocialC3D.

Rules: every tensor of the pathway must be found with the same shape, except where our lateral
connections widen a stage's first block (the checkpoint fills the leading input channels, the
lateral channels keep their random init) and, when ``allow_new_input`` is set, ``conv1`` of a
heatmap stream whose channel count differs (17-joint checkpoint into the 68-channel face stream:
conv1 stays random). Anything else raises ``CheckpointMismatch`` naming the file, the keys and
the shapes. Without checkpoints the teacher is randomly initialised, which works too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from socialego_training.teacher_model import SocialC3D


class CheckpointMismatch(ValueError):
    """A checkpoint does not fit the pathway it was given for."""


@dataclass
class InitReport:
    path: Path
    stream: str
    loaded: list[str] = field(default_factory=list)
    widened: list[str] = field(default_factory=list)  # filled leading channels (laterals)
    kept_random: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.stream} <- {self.path}: {len(self.loaded)} tensors loaded, "
            f"{len(self.widened)} widened by laterals, {len(self.kept_random)} kept random"
        )


_BN_FIELDS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _mm_to_ours(key: str) -> str | None:
    """Map an mmaction2 ResNet3d backbone key to our pathway key (None = not a backbone key)."""
    if not key.startswith("backbone."):
        return None
    k = key[len("backbone.") :]
    m = re.fullmatch(r"conv1\.conv\.weight", k)
    if m:
        return "conv1.0.weight"
    m = re.fullmatch(r"conv1\.bn\.(\w+)", k)
    if m:
        return f"conv1.1.{m.group(1)}"
    m = re.fullmatch(r"layer(\d+)\.(\d+)\.conv(\d)\.conv\.weight", k)
    if m:
        return f"stages.{int(m.group(1)) - 1}.{m.group(2)}.conv{m.group(3)}.weight"
    m = re.fullmatch(r"layer(\d+)\.(\d+)\.conv(\d)\.bn\.(\w+)", k)
    if m:
        return f"stages.{int(m.group(1)) - 1}.{m.group(2)}.bn{m.group(3)}.{m.group(4)}"
    m = re.fullmatch(r"layer(\d+)\.(\d+)\.downsample\.conv\.weight", k)
    if m:
        return f"stages.{int(m.group(1)) - 1}.{m.group(2)}.downsample.0.weight"
    m = re.fullmatch(r"layer(\d+)\.(\d+)\.downsample\.bn\.(\w+)", k)
    if m:
        return f"stages.{int(m.group(1)) - 1}.{m.group(2)}.downsample.1.{m.group(3)}"
    return None  # e.g. lateral connections of a two-stream checkpoint: not ours to reuse


def read_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint file, whatever wrapper it has; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"PoseC3D checkpoint {path} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unpickling problem is reported with the path
        raise CheckpointMismatch(f"cannot read PoseC3D checkpoint {path}: {error}") from error
    for wrapper in ("state_dict", "model", "model_state"):
        if isinstance(data, dict) and isinstance(data.get(wrapper), dict):
            data = data[wrapper]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointMismatch(f"{path} holds no state dict of tensors")
    return data


def load_pathway(
    pathway: nn.Module,
    path: str | Path,
    stream: str,
    allow_new_input: bool = False,
) -> InitReport:
    """Copy a checkpoint into one pathway (``model.rgb`` or ``model.pose[name]``)."""
    raw = read_checkpoint(path)
    ours = {}
    for key, value in raw.items():
        mapped = _mm_to_ours(key)
        if mapped is None and key in dict(pathway.state_dict()):
            mapped = key
        if mapped is not None:
            ours[mapped] = value
    target = pathway.state_dict()
    report = InitReport(Path(path), stream)
    missing = [k for k in target if k not in ours and not k.endswith("num_batches_tracked")]
    if missing:
        raise CheckpointMismatch(
            f"{path} does not fit the {stream} pathway: {len(missing)} tensors missing, "
            f"e.g. {missing[:4]} (checkpoint has {len(raw)} keys, e.g. {list(raw)[:4]})"
        )
    bad = []
    updates = {}
    for key, want in target.items():
        if key not in ours:
            continue
        have = ours[key]
        if have.shape == want.shape:
            updates[key] = have.to(want.dtype)
            report.loaded.append(key)
        elif (
            have.dim() == want.dim() == 5
            and have.shape[0] == want.shape[0]
            and have.shape[2:] == want.shape[2:]
            and have.shape[1] < want.shape[1]
            and key != "conv1.0.weight"
        ):
            widened = want.clone()
            widened[:, : have.shape[1]] = have
            updates[key] = widened
            report.widened.append(key)
        elif key == "conv1.0.weight" and allow_new_input and have.shape[0] == want.shape[0]:
            report.kept_random.append(key)
        else:
            bad.append(f"{key}: checkpoint {tuple(have.shape)} vs model {tuple(want.shape)}")
    if bad:
        raise CheckpointMismatch(
            f"{path} does not fit the {stream} pathway: shape mismatch in "
            + "; ".join(bad[:5])
            + (f" (+{len(bad) - 5} more)" if len(bad) > 5 else "")
        )
    pathway.load_state_dict({**target, **updates})
    return report


def init_teacher_from_posec3d(
    model: SocialC3D,
    rgb: str | Path | None = None,
    pose: dict[str, str | Path] | None = None,
) -> list[InitReport]:
    """``rgb``: an RGB-only PoseC3D checkpoint; ``pose``: stream -> pose-only checkpoint, where
    the stream ``all`` means every heatmap stream (conv1 of streams whose channel count differs
    from the checkpoint stays random)."""
    reports = []
    if rgb is not None:
        reports.append(load_pathway(model.rgb, rgb, "rgb"))
    for stream, path in (pose or {}).items():
        names = list(model.pose) if stream == "all" else [stream]
        for name in names:
            if name not in model.pose:
                raise ValueError(
                    f"unknown heatmap stream {name!r} for --init-pose; known: {list(model.pose)}"
                )
            reports.append(
                load_pathway(model.pose[name], path, name, allow_new_input=stream == "all")
            )
    return reports
