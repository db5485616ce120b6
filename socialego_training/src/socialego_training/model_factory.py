"""The models this package trains, by name: built fresh for a run, or loaded from an artifact."""

from __future__ import annotations

from pathlib import Path

from socialego_core.artifact import build_model as build_artifact_model
from socialego_core.artifact import load_artifact
from socialego_core.student import SocialEgoMobile
from socialego_core.window import WindowSpec
from torch import nn

from socialego_training.train_config import MODEL_DEFAULTS


def build_model(
    name: str,
    n_action: int,
    spec: WindowSpec,
    input_norm: bool = False,
    mean_pose_head: bool = False,
) -> nn.Module:
    if name == "SocialEgoMobile":
        return SocialEgoMobile(
            num_joints=spec.num_joints,
            n_action=n_action,
            input_norm=input_norm,
            mean_pose_head=mean_pose_head,
        )
    for option, value in (("input_norm", input_norm), ("mean_pose_head", mean_pose_head)):
        if value:
            raise ValueError(f"{option} is a SocialEgoMobile option; model {name} has none")
    if name == "SocialEgoNet":
        from socialego_training.socialegonet import SocialEgoNet

        if spec.joints != tuple(range(133)):
            raise ValueError("SocialEgoNet needs all 133 whole-body joints (joints 0-132)")
        return SocialEgoNet(n_action=n_action)
    raise ValueError(f"unknown model {name!r}; known: {sorted(MODEL_DEFAULTS)}")


def model_registry() -> dict[str, type[nn.Module]]:
    from socialego_training.socialegonet import SocialEgoNet

    return {"SocialEgoMobile": SocialEgoMobile, "SocialEgoNet": SocialEgoNet}


def load_model(path: str | Path) -> nn.Module:
    """Any model artifact this package can train (student or SocialEgoNet), in eval mode."""
    payload = load_artifact(path)
    return build_artifact_model(payload, path, registry=model_registry())
