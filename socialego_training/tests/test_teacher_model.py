"""SocialC3D: size of the paper configuration, shapes, gradients and input checks."""

import pytest
import torch
from socialego_training.teacher_config import POSE_STREAM_CHANNELS, TeacherConfig
from socialego_training.teacher_model import SocialC3D, count_parameters, example_inputs

torch.set_num_threads(1)


def tiny_config(**overrides) -> TeacherConfig:
    base = dict(length=4, crop_size=32, heatmap_size=8, rgb_base=4, pose_base=4)
    base.update(overrides)
    return TeacherConfig.small(**base)


def test_full_teacher_has_the_papers_parameter_count():
    model = SocialC3D(TeacherConfig.full())
    n = count_parameters(model)
    assert abs(n - 48.49e6) / 48.49e6 < 0.005, n


def test_full_teacher_structure():
    model = SocialC3D(TeacherConfig.full())
    assert model.rgb.out_channels == 2048
    assert all(model.pose[name].out_channels == 512 for name in POSE_STREAM_CHANNELS)
    assert model.fused_channels == 4096
    linear_sizes = [m.out_features for m in model.fusion if isinstance(m, torch.nn.Linear)]
    assert linear_sizes == [1028, 256, 16]
    # rgb conv1 is (1, 7, 7) stride 2; pose conv1 (1, 7, 7) stride 1
    assert model.rgb.conv1[0].kernel_size == (1, 7, 7) and model.rgb.conv1[0].stride == (1, 2, 2)
    assert model.pose["face"].conv1[0].in_channels == 68
    assert model.pose["face"].conv1[0].stride == (1, 1, 1)
    # temporal 3x1x1 kernels only in rgb stages 3-4
    kt = [stage[0].conv1.kernel_size[0] for stage in model.rgb.stages]
    assert kt == [1, 1, 3, 3]
    assert [len(stage) for stage in model.rgb.stages] == [3, 4, 6, 3]
    assert [len(stage) for stage in model.pose["body"].stages] == [4, 6, 3]


def test_small_teacher_forward_shapes_and_gradients():
    cfg = tiny_config()
    model = SocialC3D(cfg)
    inputs = example_inputs(cfg, batch=3, generator=torch.Generator().manual_seed(0))
    out = model(inputs)
    assert out.z.shape == (3, 16)
    assert out.intent.shape == (3, 3) and out.attitude.shape == (3, 3)
    assert out.action.shape == (3, 10)
    (out.intent.sum() + out.action.sum()).backward()
    for name in ("rgb", "body", "face", "hand", "gaze"):
        stream = model.rgb if name == "rgb" else model.pose[name]
        grad = stream.conv1[0].weight.grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_laterals_carry_pose_information_into_rgb_features():
    cfg = tiny_config()
    model = SocialC3D(cfg).eval()
    inputs = example_inputs(cfg, batch=2, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        base = model.features(inputs)
        changed = dict(inputs)
        changed["gaze"] = torch.zeros_like(inputs["gaze"])
        after = model.features(changed)
    rgb_part = slice(0, model.rgb.out_channels)
    assert not torch.allclose(base[:, rgb_part], after[:, rgb_part])


def test_teacher_rejects_wrong_input_shapes_with_the_stream_name():
    cfg = tiny_config()
    model = SocialC3D(cfg)
    inputs = example_inputs(cfg, batch=2)
    inputs["face"] = inputs["face"][:, :10]
    with pytest.raises(ValueError, match="face"):
        model(inputs)
    del inputs["face"]
    with pytest.raises(ValueError, match="missing stream 'face'"):
        model(inputs)


def test_config_checks_and_round_trip():
    with pytest.raises(ValueError, match="4 x heatmap_size"):
        TeacherConfig.small(crop_size=64, heatmap_size=8)
    cfg = TeacherConfig.small(n_action=6)
    assert TeacherConfig.from_dict(cfg.to_dict()) == cfg
    assert SocialC3D(**cfg.to_dict()).config == cfg
