"""Tests of the engine's stages: track_buffers (resampling into training windows, expiry) and
hysteresis, against the reference implementations in tests/oracles."""

from __future__ import annotations

import numpy as np
import pytest
from oracles.online_reference import ReferenceOnlineWindows, build_reference, stack
from oracles.reference_hysteresis import DecisionSmoother, HysteresisDecision
from socialego_core.hysteresis import UNKNOWN_DECISION, BatchDecisionSmoother, HysteresisConfig
from socialego_core.layouts import COCO17, COCO_WHOLEBODY133
from socialego_core.track_buffers import AddResult, JointMapper, OnlineConfig, OnlineWindows
from socialego_core.window import WindowSpec, build_window

W, H = 640.0, 480.0


def pose133(value: float, score: float = 1.0) -> np.ndarray:
    """A WholeBody-133 pose whose every x is ``value`` (pixels) and y is value/2."""
    kp = np.zeros((133, 3), dtype=np.float32)
    kp[:, 0] = value
    kp[:, 1] = value / 2
    kp[:, 2] = score
    return kp


def test_window_equals_training_window_at_source_rate():
    spec = WindowSpec(length=10, stride=1, source_fps=30.0)
    online = OnlineWindows(spec)
    frames = {}
    for i in range(25):
        kp = pose133(10.0 + i)
        frames[i] = kp
        online.add("t1", 100.0 + i / 30.0, kp, W, H, "COCO_WHOLEBODY133")
    tw = online.window("t1")
    expected = build_window(frames, W, H, spec, first_frame_id=15)
    np.testing.assert_allclose(tw.window.keypoints, expected.keypoints, atol=1e-6)
    assert tw.frames_used == 10
    assert tw.input_quality == pytest.approx(1.0)
    assert tw.newest_stamp == pytest.approx(100.0 + 24 / 30.0)
    assert not tw.stale


def test_stride_and_slower_camera_repeat_previous_pose():
    # model: 10 samples, stride 3 at 30 fps -> 0.1 s apart; camera delivers at 5 fps (0.2 s)
    spec = WindowSpec(length=10, stride=3, source_fps=30.0)
    online = OnlineWindows(spec, OnlineConfig(min_frames=1))
    for i in range(20):
        online.add("a", i * 0.2, pose133(float(i)), W, H, "COCO_WHOLEBODY133")
    tw = online.window("a")
    # newest pose at 3.8 s; samples at 2.9, 3.0, ..., 3.8; new poses at 3.0, 3.2, 3.4, 3.6, 3.8
    assert tw.window.observed.tolist() == [False, True] * 5
    x = (tw.window.keypoints[:, 0, 0] + 0.5) * W  # back to pixels
    np.testing.assert_allclose(x, [14, 15, 15, 16, 16, 17, 17, 18, 18, 19], atol=1e-3)
    assert tw.frames_used == 5
    assert tw.input_quality == pytest.approx(0.5)


def test_faster_camera_newest_pose_in_slot_wins_and_memory_is_bounded():
    spec = WindowSpec(length=4, stride=1, source_fps=10.0)
    online = OnlineWindows(spec)
    for i in range(1000):  # 100 Hz for 10 s
        online.add("a", i * 0.01, pose133(i * 0.5), W, H, "COCO_WHOLEBODY133")
    tw = online.window("a")
    x = (tw.window.keypoints[:, 0, 0] + 0.5) * W
    np.testing.assert_allclose(x, [484.5, 489.5, 494.5, 499.5], atol=1e-3)
    assert tw.frames_used == 4
    assert online.buffered_samples("a") <= online._max_samples


def test_first_samples_before_the_track_stay_zero():
    spec = WindowSpec(length=5, stride=1, source_fps=10.0)
    online = OnlineWindows(spec, OnlineConfig(min_frames=3))
    online.add("a", 1.0, pose133(100.0), W, H, "COCO_WHOLEBODY133")
    online.add("a", 1.1, pose133(200.0), W, H, "COCO_WHOLEBODY133")
    tw = online.window("a")
    assert tw.window.observed.tolist() == [False, False, False, True, True]
    assert np.all(tw.window.keypoints[:3] == 0)
    assert tw.stale  # 2 observed frames < min_frames 3
    assert tw.input_quality == pytest.approx(0.4)


def test_coco17_input_mapped_by_name_into_wholebody_spec():
    spec = WindowSpec(length=2, stride=1, joints=(0, 5, 91), source_fps=10.0)
    mapper = JointMapper(spec)
    kp = np.zeros((17, 3), dtype=np.float32)
    kp[0] = (1, 2, 0.9)
    kp[5] = (3, 4, 0.8)
    out = mapper.map(kp, COCO17.code)
    np.testing.assert_allclose(out[0], (1, 2, 0.9))
    np.testing.assert_allclose(out[1], (3, 4, 0.8))
    np.testing.assert_allclose(out[2], (0, 0, 0))  # left-hand wrist: COCO17 lacks it -> score 0
    assert mapper.joint_names[2] == COCO_WHOLEBODY133.joint_names[91]


@pytest.mark.parametrize(
    ("keypoints", "layout", "message"),
    [
        (np.zeros((16, 3)), "COCO17", "has 17 keypoints, got 16"),
        (np.zeros((17, 2)), "COCO17", "shape (N, 3)"),
        (np.zeros((17, 3)), 99, "unknown keypoint layout 99"),
    ],
)
def test_bad_keypoints_raise_named_errors(keypoints, layout, message):
    online = OnlineWindows(WindowSpec())
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        online.add("a", 0.0, keypoints, W, H, layout)
    assert len(online) == 0


def test_bad_image_size_stamp_and_track_id_raise():
    online = OnlineWindows(WindowSpec())
    with pytest.raises(ValueError, match="image size"):
        online.add("a", 0.0, pose133(1.0), 0, H, "COCO_WHOLEBODY133")
    with pytest.raises(ValueError, match="stamp"):
        online.add("a", float("nan"), pose133(1.0), W, H, "COCO_WHOLEBODY133")
    with pytest.raises(ValueError, match="track_id"):
        online.add("", 0.0, pose133(1.0), W, H, "COCO_WHOLEBODY133")


def test_nan_and_inf_keypoints_become_undetected():
    spec = WindowSpec(length=1, stride=1, source_fps=10.0)
    online = OnlineWindows(spec, OnlineConfig(min_frames=1))
    kp = pose133(100.0)
    kp[0, 0] = np.nan
    kp[1, 2] = np.inf
    online.add("a", 0.0, kp, W, H, "COCO_WHOLEBODY133")
    window = online.window("a").window.keypoints
    assert np.isfinite(window).all()
    np.testing.assert_allclose(window[0, 0], 0.0)
    np.testing.assert_allclose(window[0, 1], 0.0)
    assert window[0, 2, 2] == pytest.approx(1.0)


def test_time_going_backwards_resets_track_and_clock_jump_resets_all():
    spec = WindowSpec(length=3, stride=1, source_fps=10.0)
    online = OnlineWindows(spec, OnlineConfig(min_frames=1))
    assert online.add("a", 5.0, pose133(1.0), W, H, "COCO_WHOLEBODY133") is AddResult.NEW_TRACK
    assert online.add("a", 5.1, pose133(2.0), W, H, "COCO_WHOLEBODY133") is AddResult.ADDED
    assert online.add("a", 5.1, pose133(3.0), W, H, "COCO_WHOLEBODY133") is AddResult.REPLACED
    assert (
        online.add("a", 1.0, pose133(4.0), W, H, "COCO_WHOLEBODY133") is AddResult.RESET_BACKWARDS
    )
    tw = online.window("a")
    assert tw.frames_used == 1 and tw.newest_stamp == pytest.approx(1.0)
    online.add("b", 1.0, pose133(4.0), W, H, "COCO_WHOLEBODY133")
    assert not online.observe_time(10.0)
    assert not online.observe_time(9.8)  # small jitter is not a loop
    assert online.observe_time(2.0)  # bag looped
    assert len(online) == 0


def test_expiry_stale_and_return_of_a_track():
    spec = WindowSpec(length=3, stride=1, source_fps=10.0)
    cfg = OnlineConfig(max_track_gap_s=1.0, stale_after_s=0.3, min_frames=1)
    online = OnlineWindows(spec, cfg)
    online.add("a", 0.0, pose133(1.0), W, H, "COCO_WHOLEBODY133", person_id="alice")
    online.add("b", 0.5, pose133(1.0), W, H, "COCO_WHOLEBODY133")
    assert not online.window("a", now_s=0.2).stale
    assert online.window("a", now_s=0.4).stale
    assert online.window("a", now_s=0.2).person_id == "alice"
    assert online.expire(1.2) == ["a"]
    assert online.track_ids == ["b"]
    result = online.add("a", 1.3, pose133(1.0), W, H, "COCO_WHOLEBODY133")
    assert result is AddResult.NEW_TRACK
    assert online.window("a").frames_used == 1  # no history from before it vanished


def test_track_churn_keeps_memory_bounded():
    spec = WindowSpec(length=10, stride=1, source_fps=30.0)
    online = OnlineWindows(spec, OnlineConfig(max_tracks=8))
    smoother = DecisionSmoother({"intent": 3}, max_tracks=8)
    evictions = 0
    for i in range(5000):
        result = online.add(f"t{i}", i * 0.001, pose133(1.0), W, H, "COCO_WHOLEBODY133")
        evictions += result is AddResult.EVICTED_OTHER
        smoother.update(f"t{i}", {"intent": np.array([0.2, 0.3, 0.5])})
    assert len(online) == 8 and len(smoother) == 8
    assert evictions == 5000 - 8
    assert online.track_ids[-1] == "t4999"


def test_stack_batches_windows():
    spec = WindowSpec(length=4, stride=1, source_fps=10.0)
    online = OnlineWindows(spec)
    for tid in ("a", "b", "c"):
        online.add(tid, 0.0, pose133(1.0), W, H, "COCO_WHOLEBODY133")
    batch = stack([online.window(t) for t in online.track_ids])
    assert batch.shape == (3, 4, 17, 3) and batch.dtype == np.float32


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="max_tracks"):
        OnlineConfig(max_tracks=0)
    with pytest.raises(ValueError, match="exit_threshold"):
        HysteresisConfig(enter_threshold=0.3, exit_threshold=0.5)
    with pytest.raises(ValueError, match="alpha"):
        HysteresisConfig(alpha=0.0)


def test_hysteresis_enters_holds_switches_and_falls_back_to_unknown():
    h = HysteresisDecision(
        3, HysteresisConfig(alpha=1.0, enter_threshold=0.6, exit_threshold=0.4, min_steps=2)
    )
    assert h.update([0.7, 0.2, 0.1]) == UNKNOWN_DECISION  # one step is not enough
    assert h.update([0.7, 0.2, 0.1]) == 0
    # a dip that stays above exit keeps the decision even though class 1 is now on top
    assert h.update([0.45, 0.5, 0.05]) == 0
    # below exit, class 1 qualifies twice -> switch
    assert h.update([0.3, 0.65, 0.05]) == 0
    assert h.update([0.3, 0.65, 0.05]) == 1
    # flicker back for one step only: no switch
    assert h.update([0.7, 0.2, 0.1]) == 1
    assert h.update([0.2, 0.7, 0.1]) == 1
    # nothing confident for two steps -> unknown
    assert h.update([0.35, 0.35, 0.3]) == 1
    assert h.update([0.35, 0.35, 0.3]) == UNKNOWN_DECISION
    # NaN input leaves the decision alone; wrong length is an error
    assert h.update([np.nan, 0.1, 0.1]) == UNKNOWN_DECISION
    with pytest.raises(ValueError, match="expected 3 probabilities"):
        h.update([0.5, 0.5])


def test_hysteresis_smoothing_filters_single_outliers():
    h = HysteresisDecision(
        2, HysteresisConfig(alpha=0.3, enter_threshold=0.6, exit_threshold=0.4, min_steps=1)
    )
    for _ in range(10):
        h.update([0.9, 0.1])
    assert h.decision == 0
    assert h.update([0.0, 1.0]) == 0  # smoothed p0 = 0.3*0 + 0.7*~0.9 = 0.63: still held
    assert h.smoothed[0] == pytest.approx(0.63, abs=0.01)


def test_decision_smoother_retain_and_forget():
    smoother = DecisionSmoother({"intent": 3, "action": 10}, HysteresisConfig(min_steps=1))
    probs = {"intent": np.array([0.9, 0.05, 0.05]), "action": np.full(10, 0.1)}
    assert smoother.current("a") == {"intent": UNKNOWN_DECISION, "action": UNKNOWN_DECISION}
    assert smoother.update("a", probs) == {"intent": 0, "action": UNKNOWN_DECISION}
    assert smoother.current("a") == {"intent": 0, "action": UNKNOWN_DECISION}
    smoother.update("b", probs)
    smoother.retain(["b"])
    assert len(smoother) == 1
    smoother.forget(["b"])
    assert len(smoother) == 0


@pytest.mark.parametrize("seed", range(8))
def test_fast_resampling_equals_the_build_window_path(seed):
    """Random camera rates, jitter, gaps and NaNs: the vectorised window equals the one built by
    window.build_window (the training code path)."""
    rng = np.random.default_rng(seed)
    spec = WindowSpec(
        length=int(rng.integers(1, 12)),
        stride=int(rng.integers(1, 4)),
        source_fps=float(rng.choice([10.0, 15.0, 30.0])),
        normalisation=str(rng.choice(["centered", "signed"])),
    )
    online = OnlineWindows(spec)
    t = 100.0
    for _ in range(int(rng.integers(1, 60))):
        t += float(rng.choice([1 / 60, 1 / 30, 1 / 10, 0.3, spec.stride / spec.source_fps]))
        t += float(rng.normal(0, 0.002))
        kp = rng.uniform(-50, 700, size=(133, 3)).astype(np.float32)
        kp[:, 2] = rng.uniform(0, 1, size=133)
        kp[rng.integers(0, 133)] = np.nan
        online.add("a", t, kp, W, H, "COCO_WHOLEBODY133")
        fast = online.window("a").window
        reference = build_reference(online, "a")
        np.testing.assert_allclose(fast.keypoints, reference.keypoints, atol=1e-6)
        assert fast.observed.tolist() == reference.observed.tolist()


def test_window_follows_a_replaced_pose():
    spec = WindowSpec(length=3, stride=1, source_fps=10.0)
    online = OnlineWindows(spec, OnlineConfig(min_frames=1))
    online.add("a", 1.0, pose133(100.0), W, H, "COCO_WHOLEBODY133")
    first = online.window("a").window
    assert (first.keypoints[-1, 0, 0] + 0.5) * W == pytest.approx(100.0)
    online.add("a", 1.0, pose133(200.0), W, H, "COCO_WHOLEBODY133")  # replaced, same stamp
    second = online.window("a").window
    assert (second.keypoints[-1, 0, 0] + 0.5) * W == pytest.approx(200.0)


def _random_churn_feed(rng, online, reference, steps=300):
    """Feed both builders the same random poses with churn; compare every window as we go."""
    t = 50.0
    ids = [f"t{k}" for k in range(10)]
    for _ in range(steps):
        t += float(rng.choice([1 / 60, 1 / 30, 0.1, 0.35, 1.5], p=[0.3, 0.4, 0.15, 0.1, 0.05]))
        if rng.random() < 0.02:
            t -= 20.0  # clock jump back: everything resets
        assert online.observe_time(t) == reference.observe_time(t)
        assert online.expire(t) == reference.expire(t)
        for tid in rng.choice(ids, size=int(rng.integers(0, 6)), replace=False).tolist():
            stamp = t - (float(rng.uniform(0.6, 2)) if rng.random() < 0.05 else 0.0)
            if rng.random() < 0.1:
                kp, layout = rng.uniform(-50, 700, (17, 3)).astype(np.float32), "COCO17"
            else:
                kp, layout = rng.uniform(-50, 700, (133, 3)).astype(np.float32), 2
            kp[rng.integers(0, len(kp)), rng.integers(0, 3)] = rng.choice([np.nan, np.inf, 5.0])
            width, height = (W, H) if rng.random() < 0.9 else (1280.0, 720.0)
            person = f"p{tid}" if rng.random() < 0.5 else ""
            for _ in range(2 if rng.random() < 0.05 else 1):  # same stamp twice: replaced
                args = (tid, stamp, kp, width, height, layout, person)
                assert online.add(*args) is reference.add(*args)
        now = t + float(rng.uniform(0, 0.8))
        expected = reference.windows(now)
        batch = online.batch(now)
        assert batch.track_ids == [tw.track_id for tw in expected] == online.track_ids
        for i, tw in enumerate(expected):
            assert batch.person_ids[i] == tw.person_id
            np.testing.assert_array_equal(batch.keypoints[i], tw.window.keypoints)
            np.testing.assert_array_equal(batch.observed[i], tw.window.observed)
            assert batch.newest_stamp[i] == tw.newest_stamp
            assert batch.frames_used[i] == tw.frames_used
            assert batch.input_quality[i] == tw.input_quality
            assert batch.stale[i] == tw.stale
            build = build_reference(online, tw.track_id)
            np.testing.assert_allclose(batch.keypoints[i], build.keypoints, atol=1e-6)
            assert batch.observed[i].tolist() == build.observed.tolist()
        # window() (one TrackWindow) is the same batch
        for tw in expected:
            mine = online.window(tw.track_id, now)
            np.testing.assert_array_equal(mine.window.keypoints, tw.window.keypoints)


@pytest.mark.parametrize("seed", range(4))
def test_vectorised_batch_equals_the_per_track_reference_with_churn(seed):
    """Tracks appear, vanish, expire and come back; stamps repeat and go back; the clock
    loops; NaN/inf; COCO-17 input; image sizes change; more tracks than max_tracks: every
    window of OnlineWindows.batch equals the previous per-track builder bit for bit (and the
    build_window path), in the same track order, with the same AddResult for every pose."""

    rng = np.random.default_rng(seed)
    spec = WindowSpec(
        length=int(rng.integers(2, 12)),
        stride=int(rng.integers(1, 4)),
        source_fps=float(rng.choice([10.0, 15.0, 30.0])),
        normalisation=str(rng.choice(["centered", "signed"])),
    )
    cfg = OnlineConfig(max_tracks=int(rng.integers(3, 12)), min_frames=int(rng.integers(0, 5)))
    _random_churn_feed(rng, OnlineWindows(spec, cfg), ReferenceOnlineWindows(spec, cfg))


def test_batch_ring_rows_wrap_and_grow_past_the_initial_slots():
    """A camera far faster than the window rate fills the ring rows (moving them to the front,
    dropping the oldest when full), and 40 tracks grow the slot arrays: still the reference."""

    spec = WindowSpec(length=3, stride=1, source_fps=2.0)  # 1.5 s of window
    cfg = OnlineConfig(max_tracks=40, max_track_gap_s=100.0)
    online, reference = OnlineWindows(spec, cfg), ReferenceOnlineWindows(spec, cfg)
    rng = np.random.default_rng(7)
    for i in range(400):  # 400 Hz
        for tid in range(40 if i % 50 == 0 else 2):
            kp = rng.uniform(0, 600, (133, 3)).astype(np.float32)
            args = (str(tid), 10.0 + i / 400, kp, W, H, 2)
            assert online.add(*args) is reference.add(*args)
    assert online.buffered_samples("0") == online._max_samples  # the count bound holds
    batch = online.batch(12.0)
    for i, tw in enumerate(reference.windows(12.0)):
        np.testing.assert_array_equal(batch.keypoints[i], tw.window.keypoints)
        assert batch.frames_used[i] == tw.frames_used and batch.stale[i] == tw.stale


@pytest.mark.parametrize("seed", range(3))
def test_batch_hysteresis_equals_one_state_machine_per_track(seed):
    """BatchDecisionSmoother == DecisionSmoother (one HysteresisDecision per track and task)
    on random probability streams with NaN rows, forgetting, retaining and LRU eviction."""

    rng = np.random.default_rng(seed)
    classes = {"intent": 3, "action": 5}
    cfg = HysteresisConfig(
        alpha=float(rng.uniform(0.2, 1.0)),
        enter_threshold=float(rng.uniform(0.4, 0.7)),
        exit_threshold=float(rng.uniform(0.1, 0.4)),
        min_steps=int(rng.integers(1, 4)),
    )
    fast = BatchDecisionSmoother(classes, cfg, max_tracks=6)
    slow = DecisionSmoother(classes, cfg, max_tracks=6)
    decided = 0
    leaning: dict[tuple[str, str], int] = {}
    for _ in range(400):
        ids = rng.choice([f"t{k}" for k in range(9)], size=int(rng.integers(1, 7)), replace=False)
        ids = ids.tolist()
        probs = {}
        for task, k in classes.items():
            logits = rng.normal(0, 1, (len(ids), k))
            for j, tid in enumerate(ids):  # each track leans to a class for a while
                if (tid, task) not in leaning or rng.random() < 0.02:
                    leaning[tid, task] = int(rng.integers(0, k))
                logits[j, leaning[tid, task]] += rng.uniform(1, 5)
            p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
            p[rng.random(len(ids)) < 0.03] = np.nan
            probs[task] = p.astype(np.float32)
        got = fast.update_many(ids, probs)
        for j, tid in enumerate(ids):
            want = slow.update(tid, {task: probs[task][j] for task in classes})
            assert {task: int(got[task][j]) for task in classes} == want
        other = rng.choice([f"t{k}" for k in range(9)], size=4).tolist()
        current = fast.current_many(other)
        for j, tid in enumerate(other):
            assert {task: int(current[task][j]) for task in classes} == slow.current(tid)
        if rng.random() < 0.05:
            fast.forget(ids[:1])
            slow.forget(ids[:1])
        if rng.random() < 0.02:
            fast.retain(ids)
            slow.retain(ids)
        assert len(fast) == len(slow)
        decided += sum(int((v != UNKNOWN_DECISION).sum()) for v in got.values())
    assert decided > 300  # decisions really happened


def test_batch_hysteresis_rejects_bad_input():

    smoother = BatchDecisionSmoother({"intent": 3}, max_tracks=2)
    with pytest.raises(ValueError, match="expected 3 probabilities"):
        smoother.update_many(["a"], {"intent": np.ones((1, 2))})
    with pytest.raises(ValueError, match="distinct"):
        smoother.update_many(["a", "a"], {"intent": np.ones((2, 3)) / 3})
    with pytest.raises(ValueError, match="max_tracks=2"):
        smoother.update_many(["a", "b", "c"], {"intent": np.ones((3, 3)) / 3})


def test_empty_batch_has_the_window_shape():
    spec = WindowSpec(length=4, stride=1, source_fps=10.0)
    online = OnlineWindows(spec)
    batch = online.batch(1.0)
    assert len(batch) == 0 and batch.keypoints.shape == (0, 4, 17, 3)
    online.add("a", 0.0, pose133(1.0), W, H, "COCO_WHOLEBODY133")
    assert online.expire(5.0) == ["a"] and len(online.batch(5.0)) == 0
