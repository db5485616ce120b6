"""Initialising SocialC3D pathways from PoseC3D (mmaction2-style) checkpoints."""

import re

import pytest
import torch
from socialego_training.posec3d_init import CheckpointMismatch, init_teacher_from_posec3d
from socialego_training.teacher_config import TeacherConfig
from socialego_training.teacher_model import PosePathway, RGBPathway, SocialC3D

torch.set_num_threads(1)
CFG = TeacherConfig.small(length=4, crop_size=32, heatmap_size=8, rgb_base=4, pose_base=4)


def to_mmaction(state: dict) -> dict:
    """Our pathway keys -> mmaction2 ResNet3d backbone keys (what a PoseC3D .pth holds)."""
    out = {}
    for key, value in state.items():
        k = key.replace("conv1.0.", "conv1.conv.").replace("conv1.1.", "conv1.bn.")
        k = re.sub(r"^stages\.(\d+)", lambda m: f"layer{int(m.group(1)) + 1}", k)
        k = re.sub(r"\.conv(\d)\.weight$", r".conv\1.conv.weight", k)
        k = re.sub(r"\.bn(\d)\.", r".conv\1.bn.", k)
        k = k.replace("downsample.0.", "downsample.conv.").replace(
            "downsample.1.", "downsample.bn."
        )
        out["backbone." + k] = value
    return out


def save_checkpoint(tmp_path, name, pathway):
    state = to_mmaction(pathway.state_dict())
    state["cls_head.fc_cls.weight"] = torch.zeros(60, 8)
    path = tmp_path / name
    torch.save({"meta": {"x": 1}, "state_dict": state}, path)
    return path


def test_rgb_and_pose_checkpoints_load_with_lateral_widening(tmp_path):
    torch.manual_seed(0)
    rgb_only = RGBPathway(CFG, [0, 0, 0, 0])  # a plain PoseC3D RGB backbone, no laterals
    pose_only = PosePathway(CFG, 17, [0, 0, 0])
    rgb_path = save_checkpoint(tmp_path, "rgb.pth", rgb_only)
    pose_path = save_checkpoint(tmp_path, "pose.pth", pose_only)
    model = SocialC3D(CFG)
    reports = init_teacher_from_posec3d(model, rgb=rgb_path, pose={"all": pose_path})
    assert {r.stream for r in reports} == {"rgb", "body", "face", "hand", "gaze"}
    assert torch.equal(model.rgb.conv1[0].weight, rgb_only.conv1[0].weight)
    assert torch.equal(model.rgb.stages[3][0].conv2.weight, rgb_only.stages[3][0].conv2.weight)
    # stage 3's first block takes lateral channels: the checkpoint fills the leading ones
    widened = model.rgb.stages[2][0].conv1.weight
    original = rgb_only.stages[2][0].conv1.weight
    assert widened.shape[1] > original.shape[1]
    assert torch.equal(widened[:, : original.shape[1]], original)
    rgb_report = reports[0]
    assert "stages.2.0.conv1.weight" in rgb_report.widened
    assert torch.equal(model.pose["body"].conv1[0].weight, pose_only.conv1[0].weight)
    face = next(r for r in reports if r.stream == "face")
    assert face.kept_random == ["conv1.0.weight"]
    assert torch.equal(
        model.pose["face"].stages[2][0].conv3.weight, pose_only.stages[2][0].conv3.weight
    )


def test_wrong_checkpoints_give_clear_errors(tmp_path):
    model = SocialC3D(CFG)
    pose_path = save_checkpoint(tmp_path, "pose.pth", PosePathway(CFG, 17, [0, 0, 0]))
    # a pose checkpoint given for the rgb stream: keys missing (stage 4) -> named error
    with pytest.raises(CheckpointMismatch, match="pose.pth does not fit the rgb pathway"):
        init_teacher_from_posec3d(model, rgb=pose_path)
    # a 17-channel checkpoint for the face stream without 'all': conv1 shape mismatch
    with pytest.raises(CheckpointMismatch, match=r"conv1\.0\.weight: checkpoint \(4, 17"):
        init_teacher_from_posec3d(model, pose={"face": pose_path})
    wide = PosePathway(
        TeacherConfig.small(pose_base=8, length=4, crop_size=32, heatmap_size=8), 17, [0, 0, 0]
    )
    wide_path = save_checkpoint(tmp_path, "wide.pth", wide)
    with pytest.raises(CheckpointMismatch, match="shape mismatch"):
        init_teacher_from_posec3d(model, pose={"body": wide_path})
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointMismatch, match="garbage.pth"):
        init_teacher_from_posec3d(model, rgb=garbage)
    with pytest.raises(FileNotFoundError, match="absent.pth"):
        init_teacher_from_posec3d(model, rgb=tmp_path / "absent.pth")
    with pytest.raises(ValueError, match="unknown heatmap stream"):
        init_teacher_from_posec3d(model, pose={"feet": pose_path})
