"""CachedStudentForward (frames embedded once, Bi-LSTM on cached projections) gives the
probabilities of the plain model forward (StudentPredictor.predict) within 1e-5, the artifact's
calibration applied alike."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from socialego_core.calibration import Calibration
from socialego_core.fast_forward import CachedStudentForward, supports_cached_forward
from socialego_core.labels import TASKS
from socialego_core.student import SocialEgoMobile

TOLERANCE = 1e-5


def assert_close(fast: dict, reference: dict) -> None:
    for task in TASKS:
        assert fast[task].shape == reference[task].shape
        worst = float(np.abs(fast[task] - reference[task]).max())
        assert worst <= TOLERANCE, f"{task} differs by {worst}"


def sliding_windows(rng, tracks: int, frames: int, length: int) -> np.ndarray:
    """Per track a pose sequence; window k covers frames k .. k+length-1 (online windows share
    all but one frame with the previous tick). Some leading frames are zero (unfilled), some
    joints undetected (score 0, x = y = 0), some frames repeat (slower camera)."""
    seq = rng.uniform(-0.5, 0.5, (tracks, frames, 17, 3)).astype(np.float32)
    seq[..., 2] = rng.uniform(0, 1, seq.shape[:3])
    seq[rng.random(seq.shape[:3]) < 0.1] = 0.0
    repeat = rng.random((tracks, frames)) < 0.3
    for b, f in zip(*np.nonzero(repeat)):
        if f:
            seq[b, f] = seq[b, f - 1]
    seq[:, :3] = 0.0
    return np.stack([seq[:, k : k + length] for k in range(frames - length + 1)])


def test_sliding_windows_equal_the_plain_forward_and_embed_each_frame_once(predictor):
    rng = np.random.default_rng(0)
    fast = CachedStudentForward(predictor.model, calibration=predictor.calibration)
    length = predictor.window_spec.length
    ticks = sliding_windows(rng, tracks=20, frames=40, length=length)
    for k, batch in enumerate(ticks):
        before = fast.frames_computed
        assert_close(fast.predict(batch), predictor.predict(batch))
        if k:  # only the newest frame of each track is new (fewer where a frame repeated)
            assert fast.frames_computed - before <= 20
    distinct = len({f.tobytes() for f in ticks.reshape(-1, 17, 3)})
    assert fast.frames_computed == distinct


def test_a_small_cache_overflows_and_still_equals(predictor):
    rng = np.random.default_rng(1)
    fast = CachedStudentForward(
        predictor.model, max_cached_frames=16, calibration=predictor.calibration
    )  # < one batch's frames
    length = predictor.window_spec.length
    for batch in sliding_windows(rng, tracks=7, frames=25, length=length):
        assert_close(fast.predict(batch), predictor.predict(batch))
        flipped = np.ascontiguousarray(batch[::-1])
        assert_close(fast.predict(flipped), predictor.predict(flipped))
    assert len(fast) <= 2 * 7 * length + 16


@pytest.mark.parametrize("seed", range(3))
def test_other_model_shapes_and_batch_sizes(seed):
    """Untrained students of other sizes (hidden size, joints-per-GAT width, window length)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = SocialEgoMobile(n_action=int(rng.integers(2, 12)), lstm_hidden=int(rng.choice([8, 64])))
    model.eval()
    fast = CachedStudentForward(model, calibration=Calibration.identity())
    length = int(rng.integers(1, 14))
    for batch_size in (1, 3, 20):
        x = rng.uniform(-0.5, 0.5, (batch_size, length, 17, 3)).astype(np.float32)
        with torch.inference_mode():
            out = model(torch.from_numpy(x))
        reference = {task: torch.softmax(getattr(out, task), dim=1).numpy() for task in TASKS}
        assert_close(fast.predict(x), reference)


def test_unsupported_models_are_refused_with_a_reason():
    model = SocialEgoMobile(lstm_layers=2).eval()
    assert not supports_cached_forward(model)
    with pytest.raises(ValueError, match="one bidirectional LSTM layer"):
        CachedStudentForward(model, calibration=Calibration.identity())
    assert not supports_cached_forward(SocialEgoMobile().train())
