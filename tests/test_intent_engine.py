"""IntentEngine (socialego_core, no rclpy): equal to the per-track reference engine of
tests/oracles on random input with churn, also across live reconfiguration; clock jumps, bad
input and the limits that cannot change on a running engine; with a calibrated artifact, the
engine's cached forward publishes the offline calibrated probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from intent_inprocess import moving_body
from oracles.reference_engine import ReferenceIntentEngine
from socialego_core.artifact import StudentPredictor, atomic_torch_save, load_artifact
from socialego_core.calibration import Calibration, TaskCalibration
from socialego_core.hysteresis import HysteresisConfig
from socialego_core.intent_engine import IntentEngine
from socialego_core.labels import TASKS
from socialego_core.track_buffers import OnlineConfig

PROB_TOLERANCE = 1e-5


def feed(engines, rng, t: float, alive: dict[str, float]) -> None:
    for tid, cx in alive.items():
        if rng.random() < 0.15:
            continue  # missed in this image
        kp = moving_body(rng, cx)
        for engine in engines:
            engine.add_pose(tid, t, kp, 640.0, 480.0, 2, person_id=f"p{tid}", source=(tid, t))


def assert_same_tick(fast, ref, where: str) -> None:
    assert fast.clock_reset == ref.clock_reset, where
    assert sorted(fast.expired) == sorted(ref.expired), where
    assert (fast.intents is None) == (ref.intents is None), where
    if fast.intents is None:
        return
    a, b = fast.intents, ref.intents
    assert a.track_ids == b.track_ids, where
    assert a.person_ids == b.person_ids, where
    assert a.sources == b.sources, where
    for name in ("newest_stamp", "frames_used", "input_quality", "stale"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=where)
    for task in TASKS:
        np.testing.assert_array_equal(a.decisions[task], b.decisions[task], err_msg=where)
        worst = float(np.abs(a.probabilities[task] - b.probabilities[task]).max())
        assert worst <= PROB_TOLERANCE, f"{where}: {task} differs by {worst}"


@pytest.mark.parametrize("seed", [0, 1])
def test_engine_equals_the_reference_with_churn_and_live_reconfiguration(predictor, seed):
    rng = np.random.default_rng(seed)
    online = OnlineConfig(max_tracks=6, min_frames=2)
    hysteresis = HysteresisConfig(min_steps=1, enter_threshold=0.4, exit_threshold=0.3)
    fast = IntentEngine(predictor, online, hysteresis)
    ref = ReferenceIntentEngine(predictor, online, hysteresis)
    t, alive, decided = 100.0, {}, 0
    for step in range(150):
        t += float(rng.choice([1 / 30, 1 / 15, 0.4, 1.3], p=[0.6, 0.3, 0.07, 0.03]))
        if step == 100:
            t -= 20.0  # the bag looped
        if rng.random() < 0.2 and len(alive) < 9:  # more than max_tracks: evictions
            alive[str(int(rng.integers(0, 12)))] = float(rng.uniform(20, 600))
        for tid in [k for k in alive if rng.random() < 0.03]:
            del alive[tid]
        if step == 60:  # live parameter changes: both engines keep their tracks
            new_online = OnlineConfig(max_tracks=6, min_frames=5, stale_after_s=0.3)
            new_hysteresis = HysteresisConfig(alpha=0.3, min_steps=2)
            for engine in (fast, ref):
                engine.reconfigure(online=new_online, hysteresis=new_hysteresis)
        feed((fast, ref), rng, t, alive)
        now = t + 0.002
        result_fast, result_ref = fast.tick(now), ref.tick(now)
        assert result_fast.error is None, result_fast.error
        assert_same_tick(result_fast, result_ref, f"seed {seed}, step {step}")
        if result_fast.intents is not None:
            decided += int((result_fast.intents.decisions["intent"] > 0).sum())
    assert decided > 0, "no decision was ever taken: the comparison tested nothing"


def test_clock_jump_back_drops_every_track(predictor):
    engine = IntentEngine(predictor)
    rng = np.random.default_rng(3)
    for k in range(12):
        feed((engine,), rng, 50.0 + k / 30, {"a": 100.0, "b": 300.0})
        assert not engine.tick(50.0 + k / 30).clock_reset
    assert len(engine) == 2
    result = engine.tick(10.0)
    assert result.clock_reset and result.intents is None and len(engine) == 0


def test_bad_pose_raises_a_named_error_and_keeps_the_other_tracks(predictor):
    engine = IntentEngine(predictor)
    rng = np.random.default_rng(4)
    feed((engine,), rng, 5.0, {"a": 100.0})
    with pytest.raises(ValueError, match="keypoints"):
        engine.add_pose("b", 5.0, np.zeros((5, 3), np.float32), 640.0, 480.0, 2)
    with pytest.raises(ValueError, match="image size"):
        engine.add_pose("b", 5.0, moving_body(rng, 50.0), 0.0, 480.0, 2)
    result = engine.tick(5.01)
    assert result.intents is not None and result.intents.track_ids == ["a"]


def test_max_tracks_cannot_change_on_a_running_engine(predictor):
    engine = IntentEngine(predictor, OnlineConfig(max_tracks=8))
    with pytest.raises(ValueError, match="max_tracks"):
        engine.reconfigure(online=OnlineConfig(max_tracks=9))


def _artifact_copy(source, out, calibration: Calibration | None) -> StudentPredictor:
    """``source`` with its calibration replaced (None: without one, as older artifacts)."""
    payload = load_artifact(source)
    payload["metadata"].pop("calibration", None)
    if calibration is not None:
        payload["metadata"]["calibration"] = calibration.to_metadata()
    atomic_torch_save(payload, out)
    return StudentPredictor(out, threads=1)


@pytest.mark.parametrize("method", ["temperature", "vector"])
def test_calibrated_engine_equals_the_offline_calibrated_outputs(predictor, tmp_path, method):
    """The engine's cached forward applies the artifact's calibration: its probabilities are
    StudentPredictor.predict's (the offline path: evaluate, replay) on the same windows, and
    the calibration of the uncalibrated engine's."""
    classes = {task: predictor.labels.num_classes(task) for task in TASKS}
    if method == "temperature":
        tasks = {t: TaskCalibration("temperature", {"temperature": 1.7 + i}) for i, t in
                 enumerate(TASKS)}  # fmt: skip
    else:
        tasks = {
            t: TaskCalibration(
                "vector",
                {"weight": [0.5 + 0.1 * c for c in range(n)], "bias": [0.2 * c for c in range(n)]},
            )
            for t, n in classes.items()
        }
    calibration = Calibration(tasks, {"dataset": "test", "split": "validation"})
    calibrated = _artifact_copy(predictor.path, tmp_path / "calibrated.pt", calibration)
    plain = _artifact_copy(predictor.path, tmp_path / "plain.pt", None)
    assert plain.calibration.is_identity and calibrated.calibration.method == method
    online = OnlineConfig(max_tracks=6, min_frames=2)
    hysteresis = HysteresisConfig(min_steps=1, enter_threshold=0.4, exit_threshold=0.3)
    fast = IntentEngine(calibrated, online, hysteresis)
    assert fast.forward is not None, "the engine must take the cached forward path here"
    ref = ReferenceIntentEngine(calibrated, online, hysteresis)  # StudentPredictor.predict
    uncalibrated = IntentEngine(plain, online, hysteresis)
    rng = np.random.default_rng(5)
    t, alive, compared = 10.0, {"a": 100.0, "b": 320.0, "c": 500.0}, 0
    for step in range(40):
        t += 1 / 15
        feed((fast, ref, uncalibrated), rng, t, alive)
        now = t + 0.002
        result, expected, raw = fast.tick(now), ref.tick(now), uncalibrated.tick(now)
        assert result.error is None, result.error
        assert_same_tick(result, expected, f"{method}, step {step}")
        if result.intents is None:
            continue
        for task in TASKS:
            p, q = result.intents.probabilities[task], raw.intents.probabilities[task]
            assert not np.allclose(p, q, atol=1e-3), f"{task}: the calibration changed nothing"
            again = calibration.apply_probabilities(task, q)
            assert np.abs(again - p).max() <= PROB_TOLERANCE, task
        compared += 1
    assert compared > 20


def test_a_stamp_from_the_future_ages_from_its_arrival(predictor):
    """A track stamped ahead of the clock turns stale and expires on the arrival time, like the
    reference; a track stamped normally beside it is unaffected."""
    online = OnlineConfig(stale_after_s=0.5, max_track_gap_s=1.0, min_frames=1)
    fast = IntentEngine(predictor, online)
    ref = ReferenceIntentEngine(predictor, online)
    for k in range(6):
        now = 20.0 + k / 30
        for engine in (fast, ref):
            kp = moving_body(np.random.default_rng(k), 100.0)
            engine.add_pose("future", now + 3.0, kp, 640.0, 480.0, 2, received_s=now)
            engine.add_pose("normal", now, kp, 640.0, 480.0, 2, received_s=now)
        assert_same_tick(fast.tick(now), ref.tick(now), f"frame {k}")
    last = 20.0 + 5 / 30
    results = {}
    for dt in (0.2, 0.7, 1.2):
        a, b = fast.tick(last + dt), ref.tick(last + dt)
        assert_same_tick(a, b, f"dt {dt}")
        results[dt] = a
    stale = dict(zip(results[0.2].intents.track_ids, results[0.2].intents.stale.tolist()))
    assert stale == {"future": False, "normal": False}
    stale = dict(zip(results[0.7].intents.track_ids, results[0.7].intents.stale.tolist()))
    assert stale == {"future": True, "normal": True}  # not fresh until its stamp 3 s ahead
    assert sorted(results[1.2].expired) == ["future", "normal"]
    assert results[1.2].intents is None
