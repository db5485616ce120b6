"""Distillation losses, the frozen-teacher representation cache and the aux-loss hook."""

import math
import os

import numpy as np
import pytest
import torch
from socialego_core.heads import SocialOutputs
from socialego_core.student import SocialEgoMobile
from socialego_core.window import WindowSpec
from socialego_training.distill import DistillationLoss, info_nce, logit_kd
from socialego_training.modalities import ModalityArrays, ModalityConfig
from socialego_training.teacher_codes import (
    TeacherRepresentations,
    cached_teacher_representations,
)
from socialego_training.teacher_config import TeacherConfig
from socialego_training.teacher_model import SocialC3D

torch.set_num_threads(1)


def test_info_nce_matches_the_hand_computed_formula_on_3x3():
    zs = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    zt = torch.tensor([[3.0, 0.0], [1.0, 1.0], [0.0, -1.0]])
    r = 1 / math.sqrt(2)
    # cosine S_ij by hand
    s = [[1.0, r, 0.0], [0.0, r, -1.0], [r, 1.0, -r]]
    expected = 0.0
    for i in range(3):
        denom = sum(math.exp(s[i][j] / 0.1) for j in range(3))
        expected += -math.log(math.exp(s[i][i] / 0.1) / denom)
    expected /= 3
    assert info_nce(zs, zt, 0.1).item() == pytest.approx(expected, rel=1e-5)


def test_info_nce_is_student_anchored_not_symmetric():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 16, generator=g), torch.randn(5, 16, generator=g)
    assert info_nce(a, b).item() != pytest.approx(info_nce(b, a).item())
    assert info_nce(a, a).item() < info_nce(a, b).item()


def test_logit_kd_is_zero_for_equal_logits_and_positive_otherwise():
    g = torch.Generator().manual_seed(0)
    logits = [torch.randn(4, n, generator=g) for n in (3, 3, 10)]
    assert logit_kd(logits, logits).item() == pytest.approx(0.0, abs=1e-6)
    other = [x + torch.randn(x.shape, generator=g) for x in logits]
    assert logit_kd(logits, other).item() > 0


def tiny_teacher(seed=0):
    torch.manual_seed(seed)
    cfg = TeacherConfig.small(length=4, crop_size=32, heatmap_size=8, rgb_base=4, pose_base=4)
    return SocialC3D(cfg)


def tiny_modalities(n=6):
    cfg = ModalityConfig(crop_size=32, heatmap_size=8, window=WindowSpec(length=4))
    rng = np.random.default_rng(0)
    points = rng.uniform(0, 8, size=(n, 4, 135, 3)).astype(np.float32)
    crops = rng.integers(0, 255, size=(n, 4, 32, 32, 3), dtype=np.uint8)
    return ModalityArrays(points, crops, "k", cfg)


@pytest.mark.parametrize("method", ["infonce", "kd"])
def test_gradients_reach_only_the_student(method, tmp_path):
    teacher = tiny_teacher()
    mods = tiny_modalities()
    reps = cached_teacher_representations(teacher, mods, [], tmp_path, progress=False)
    reps = TeacherRepresentations(reps.z.requires_grad_(), reps.intent, reps.attitude, reps.action)
    student = SocialEgoMobile()
    loss_fn = DistillationLoss(reps, method=method)
    x = torch.randn(6, 10, 17, 3)
    out = student(x)
    loss = loss_fn(out, torch.arange(6), epoch=0)
    assert loss.item() > 0
    loss.backward()
    # the student's encoder (everything before z) learns from the teacher
    encoder = [p for n, p in student.named_parameters() if not n.startswith("classifier")]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder[:1] + encoder[-2:])
    assert sum(p.grad is not None for p in encoder) >= len(encoder) - 2
    assert reps.z.grad is None
    assert all(p.grad is None for p in teacher.parameters())


def test_teacher_runs_in_eval_mode_and_is_restored(tmp_path):
    teacher = tiny_teacher().train()
    mods = tiny_modalities()
    reps = cached_teacher_representations(teacher, mods, [], tmp_path, progress=False)
    assert teacher.training  # restored
    teacher.eval()
    with torch.no_grad():
        direct = teacher(mods.batch(range(6))).z
    assert torch.allclose(reps.z, direct, atol=1e-5)  # eval-mode outputs (batch-independent BN)


def test_representation_cache_is_reused_and_never_stale(tmp_path):
    files = []
    for i in range(6):
        f = tmp_path / f"t{i}.json"
        f.write_text("{}")
        files.append(f)
    teacher = tiny_teacher()
    mods = tiny_modalities()
    cache = tmp_path / "cache"
    first = cached_teacher_representations(teacher, mods, files, cache, progress=False)
    assert not first.from_cache
    again = cached_teacher_representations(teacher, mods, files, cache, progress=False)
    assert again.from_cache and again.key == first.key
    assert torch.equal(again.z, first.z)

    # changed teacher weights -> new key, recomputed
    with torch.no_grad():
        teacher.fusion[0].weight.add_(0.1)
    changed = cached_teacher_representations(teacher, mods, files, cache, progress=False)
    assert not changed.from_cache and changed.key != first.key
    assert not torch.allclose(changed.z, first.z)

    # changed dataset file -> new key
    st = os.stat(files[3])
    os.utime(files[3], ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000))
    moved = cached_teacher_representations(teacher, mods, files, cache, progress=False)
    assert not moved.from_cache and moved.key != changed.key

    # changed modality config -> new key
    mods2 = ModalityArrays(
        mods.points,
        mods.crops,
        "k",
        ModalityConfig(crop_size=32, heatmap_size=8, sigma=1.0, window=WindowSpec(length=4)),
    )
    other = cached_teacher_representations(teacher, mods2, files, cache, progress=False)
    assert not other.from_cache and other.key != moved.key


def test_distillation_loss_looks_up_by_dataset_index_and_weights():
    z_t = torch.eye(4, 16)
    logits = torch.zeros(4, 3)
    reps = TeacherRepresentations(z_t, logits, logits, torch.zeros(4, 10))
    z_s = torch.eye(4, 16)[[2, 0]]
    out = SocialOutputs(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 10), z_s)
    loss = DistillationLoss(reps, "infonce")
    aligned = loss(out, torch.tensor([2, 0]), 0)
    crossed = loss(out, torch.tensor([0, 2]), 0)
    assert aligned.item() < crossed.item()
    assert aligned.item() == pytest.approx(0.2 * info_nce(z_s, z_t[[2, 0]]).item())
    assert DistillationLoss(None, "none")(out, torch.tensor([0, 1]), 0).item() == 0.0
    with pytest.raises(ValueError, match="unknown distillation method"):
        DistillationLoss(reps, "mse")
    with pytest.raises(ValueError, match="needs teacher representations"):
        DistillationLoss(None, "infonce")
