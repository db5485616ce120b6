"""Corruption (method.md section 6): exact counts, modes, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from socialego_core.corruption import (
    CORRUPTION_SETTINGS,
    corrupt,
    curriculum_rate,
    n_corrupted,
)


def distinct_windows(batch: int = 64, steps: int = 10, joints: int = 17) -> torch.Tensor:
    """Every cell distinct and score 1, so any change is visible."""
    gen = torch.Generator().manual_seed(7)
    x = torch.rand(batch, steps, joints, 3, generator=gen) * 0.8 - 0.4
    x[..., 2] = 1.0
    return x


def changed_cells(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a != b).any(dim=-1)  # (B, T, J)


@pytest.mark.parametrize(("rate", "expected"), [(0.3, 5), (0.6, 10), (0.0, 0), (1.0, 17)])
def test_joint_corruption_touches_exactly_int_rate_times_17_joints(rate, expected) -> None:
    x = distinct_windows()
    y = corrupt(x, joint_rate=rate, generator=0)
    cells = changed_cells(x, y)
    per_joint = cells.any(dim=1)  # (B, J): joint touched in some frame
    assert (per_joint.sum(dim=1) == expected).all()
    # the same joints in every frame
    assert (cells.all(dim=1) == per_joint).all()
    assert (y[..., 2][cells] == 0).all()  # score 0 in both modes


@pytest.mark.parametrize(("rate", "expected"), [(0.3, 3), (0.6, 6), (0.7, 7)])
def test_frame_corruption_touches_exactly_int_rate_times_T_frames(rate, expected) -> None:
    x = distinct_windows()
    y = corrupt(x, frame_rate=rate, generator=1)
    frames = changed_cells(x, y).all(dim=2)  # whole frames change
    assert (frames.sum(dim=1) == expected).all()
    assert (changed_cells(x, y).any(dim=2) == frames).all()


def test_joint_modes_zero_or_noise_about_half_each() -> None:
    x = distinct_windows(batch=400)
    y = corrupt(x, joint_rate=0.3, generator=3)
    cells = changed_cells(x, y)
    zeroed = (y == 0).all(dim=-1) & cells
    per_sample_zero = zeroed.flatten(1).any(1)
    per_sample_noise = (cells & ~zeroed).flatten(1).any(1)
    assert not (per_sample_zero & per_sample_noise).any()  # one mode per sample
    assert 0.4 < per_sample_zero.float().mean() < 0.6
    noise_xy = y[..., :2][cells & ~zeroed]
    assert noise_xy.min() >= -0.5 and noise_xy.max() < 0.5


def test_frame_freeze_copies_previous_processed_frame_and_frame0_becomes_zero() -> None:
    x = distinct_windows(batch=400)
    y = corrupt(x, frame_rate=0.6, generator=4)
    frames = changed_cells(x, y).all(dim=2)
    frozen_seen = 0
    for b in range(len(x)):
        for t in torch.nonzero(frames[b]).flatten().tolist():
            if (y[b, t, :, 2] == 0).all() and t > 0 and torch.equal(y[b, t], y[b, t - 1]):
                frozen_seen += 1
            elif t == 0 and (y[b, 0] == 0).all():
                frozen_seen += 1
    assert frozen_seen > 0
    # noise frames: score 0, xy in range; frozen frames keep the (score-1) copied values
    noise = frames & ~(torch.stack([_equals_prev(y[b]) for b in range(len(y))]))
    assert (y[..., 2][noise] == 0).all()


def _equals_prev(window: torch.Tensor) -> torch.Tensor:
    prev = torch.cat([torch.zeros_like(window[:1]), window[:-1]])
    return (window == prev).all(dim=-1).all(dim=-1)


def test_frozen_frame_copies_already_processed_previous_frame() -> None:
    # a run of consecutive frozen frames must all equal the frame before the run
    x = distinct_windows(batch=300)
    y = corrupt(x, frame_rate=0.6, generator=5)
    runs = 0
    for b in range(len(x)):
        frozen = _equals_prev(y[b]) & changed_cells(x, y)[b].all(dim=1)
        for t in range(2, 10):
            if frozen[t] and frozen[t - 1]:
                assert torch.equal(y[b, t], y[b, t - 2])
                runs += 1
    assert runs > 0


def test_simultaneous_30_30_touches_about_51_percent_of_cells() -> None:
    x = distinct_windows(batch=2000)
    y = corrupt(x, joint_rate=0.3, frame_rate=0.3, generator=6)
    share = changed_cells(x, y).float().mean().item()
    # 5/17 joints and 3/10 frames: 1 - (12/17)(7/10) = 0.506 (paper: about 51%)
    assert abs(share - (1 - (12 / 17) * 0.7)) < 0.01


def test_deterministic_given_seed_and_different_across_seeds() -> None:
    x = distinct_windows()
    a = corrupt(x, 0.3, 0.3, torch.Generator().manual_seed(11))
    b = corrupt(x, 0.3, 0.3, torch.Generator().manual_seed(11))
    c = corrupt(x, 0.3, 0.3, torch.Generator().manual_seed(12))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_numpy_single_window_in_numpy_out_and_input_untouched() -> None:
    x = distinct_windows(batch=1)[0].numpy()
    before = x.copy()
    y = corrupt(x, 0.6, 0.0, np.random.default_rng(0))
    assert isinstance(y, np.ndarray) and y.shape == x.shape and y.dtype == x.dtype
    np.testing.assert_array_equal(x, before)
    assert (changed_cells(torch.from_numpy(x)[None], torch.from_numpy(y)[None]).any(0).sum()) > 0


def test_zero_rates_return_the_input_values() -> None:
    x = distinct_windows()
    assert torch.equal(corrupt(x, 0.0, 0.0, 0), x)


def test_rate_validation_and_rounding() -> None:
    assert n_corrupted(0.7, 10) == 7 and n_corrupted(0.3, 17) == 5
    with pytest.raises(ValueError):
        n_corrupted(1.5, 10)


def test_curriculum_ramps_linearly_then_holds() -> None:
    assert curriculum_rate(0.6, 0, 30) == 0.0
    assert curriculum_rate(0.6, 15, 30) == pytest.approx(0.3)
    assert curriculum_rate(0.6, 30, 30) == 0.6 and curriculum_rate(0.6, 50, 30) == 0.6
    assert curriculum_rate(0.6, 0, 0) == 0.6


def test_seven_evaluation_settings() -> None:
    assert len(CORRUPTION_SETTINGS) == 7
    assert CORRUPTION_SETTINGS["both60"] == (0.6, 0.6)


def test_score_augmentation_recalibrates_only_detected_scores() -> None:
    from socialego_core.corruption import augment_scores

    x = torch.rand(64, 10, 17, 3) * 0.9 + 0.05
    x[:, :, :3, 2] = 0.0  # undetected joints
    out = augment_scores(x, 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(out[..., :2], x[..., :2])  # positions untouched
    assert torch.equal(out[:, :, :3, 2], x[:, :, :3, 2])  # undetected stay 0
    changed = ~torch.isclose(out[..., 2], x[..., 2]).all(dim=(1, 2))
    assert changed.all()  # probability 1: every sample re-calibrated
    binarised = (out[:, :, 3:, 2] == 1.0).all(dim=(1, 2))
    assert 10 < int(binarised.sum()) < 54  # about half binarised, the rest powered
    # a power keeps each sample's score order
    for b in torch.nonzero(~binarised).flatten().tolist():
        before, after = x[b, :, 3:, 2].flatten(), out[b, :, 3:, 2].flatten()
        assert torch.equal(torch.argsort(before), torch.argsort(after))
    again = augment_scores(x, 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)  # deterministic by seed


def test_score_augmentation_off_draws_nothing() -> None:
    from socialego_core.corruption import augment_scores

    x = torch.rand(4, 10, 17, 3)
    gen = torch.Generator().manual_seed(3)
    state = gen.get_state()
    assert augment_scores(x, 0.0, gen) is x
    assert torch.equal(gen.get_state(), state)  # training without it stays bit-identical
