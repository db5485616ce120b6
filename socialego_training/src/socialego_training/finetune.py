"""``--init-from ARTIFACT``: start training from a trained model artifact (fine-tuning).

The artifact must fit the run: the same model, keypoint layout and joints, window (length,
stride, normalisation, frame rate) and label table. Every difference is named in one error, with
the flag that would make the run match where there is one.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from socialego_core.artifact import build_model, load_artifact
from socialego_core.labels import LabelTable
from socialego_core.window import WindowSpec
from torch import nn

# window_spec field -> the training flag that sets it
WINDOW_FLAGS: dict[str, str] = {
    "length": "--window-length",
    "stride": "--window-stride",
    "joints": "--joints",
    "normalisation": "--normalisation",
    "layout": "(the dataset's keypoint layout)",
    "source_fps": "--source-fps",
}


def _short(value: Any) -> str:
    if (
        isinstance(value, list | tuple)
        and len(value) > 6
        and all(isinstance(v, int) for v in value)
    ):
        values = list(value)
        if values == list(range(values[0], values[-1] + 1)):
            return f"{values[0]}-{values[-1]}"
    return repr(list(value) if isinstance(value, tuple) else value)


def artifact_differences(
    metadata: Mapping[str, Any], model: str, spec: WindowSpec, labels: LabelTable
) -> list[str]:
    """Every way the artifact's metadata differs from a run of ``model`` on windows ``spec``
    with label table ``labels``; empty when it fits."""
    out: list[str] = []
    if metadata.get("model") != model:
        out.append(f"model: artifact {metadata.get('model')!r}, run {model!r} (--model)")
    theirs = dict(metadata.get("window_spec") or {})
    ours = spec.to_dict()
    for key, value in ours.items():
        other = theirs.get(key)
        same = (
            other is not None and float(other) == float(value)
            if key == "source_fps"
            else _as_list(other) == _as_list(value)
        )
        if not same:
            out.append(
                f"window {key}: artifact {_short(other)}, run {_short(value)} "
                f"({WINDOW_FLAGS.get(key, key)})"
            )
    their_labels = metadata.get("labels") or {}
    our_labels = labels.to_dict()
    for key in sorted(set(their_labels) | set(our_labels)):
        if their_labels.get(key) != our_labels.get(key):
            out.append(
                f"label table {key}: artifact {their_labels.get(key)!r}, run "
                f"{our_labels.get(key)!r} (--dataset)"
            )
    return out


def _as_list(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else value


def load_init_model(
    path: str | Path,
    model: str,
    spec: WindowSpec,
    labels: LabelTable,
    registry: Mapping[str, type[nn.Module]] | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """The artifact's model (weights loaded, train mode) and a record of it for the new
    artifact's metadata; ``ValueError`` naming every difference when it does not fit the run."""
    payload = load_artifact(path)
    meta = payload["metadata"]
    differences = artifact_differences(meta, model, spec, labels)
    if differences:
        raise ValueError(
            f"--init-from {path} does not fit this run ({len(differences)} "
            f"difference{'s' if len(differences) > 1 else ''}): " + "; ".join(differences)
        )
    net = build_model(payload, path, registry=registry)
    net.train()
    record = {
        "file": Path(path).name,
        "model": meta.get("model"),
        "version": meta.get("version"),
        "training_data": (meta.get("training_data") or {}).get("name"),
    }
    return net, record


def start_model_mean_pose_head(model: nn.Module, fusion: float, path: str | Path) -> float:
    """The fusion weight of the start model's mean-pose head (0: it has none), or an explicit
    ``--mean-pose-head`` weight > 0 for a start model with a head (refitted on the new data);
    an explicit value must agree with whether the start model has one."""
    head = getattr(model, "mean_pose_head", None)
    if fusion >= 0 and (fusion > 0) != (head is not None):
        raise ValueError(
            f"--mean-pose-head {fusion:g} does not fit --init-from {path}: its model has "
            f"{'a' if head is not None else 'no'} mean-pose head (leave --mean-pose-head at -1 "
            "to keep it)"
        )
    if head is None:
        return 0.0
    return float(fusion) if fusion > 0 else float(head.fusion)


def start_model_input_norm(model: nn.Module, input_norm: int, path: str | Path) -> bool:
    """Whether the start model normalises its input (``SocialEgoMobile(input_norm=...)``):
    fine-tuning keeps its architecture, so an explicit ``--input-norm`` must agree with it."""
    has_norm = bool(getattr(model, "config", {}).get("input_norm", False))
    if input_norm >= 0 and bool(input_norm) != has_norm:
        raise ValueError(
            f"--input-norm {input_norm} does not fit --init-from {path}: its model has input "
            f"BatchNorm {'on' if has_norm else 'off'} (leave --input-norm at -1 to keep it)"
        )
    return has_norm
