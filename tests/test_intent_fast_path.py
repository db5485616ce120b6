"""The intent node around its engine (vectorised windows, cached-frame forward, array
hysteresis) publishes what the same node around the per-track reference engine of tests/oracles
publishes (deque buffers, scalar hysteresis, the plain model forward), tick by tick, on random
input with churn. Both run in this process on the same input and the same clock."""

from __future__ import annotations

import math

import pytest
from intent_inprocess import InProcessIntentNode, churn_stream
from rosnode_harness import require_ros, unique_domain_id

PROB_TOLERANCE = 1e-5  # float summation order differs in the forward pass; nothing else may


@pytest.fixture
def rclpy_context(monkeypatch):
    require_ros(("socialego_inference", "intent_node"))
    import rclpy
    import torch

    torch.set_num_threads(1)
    monkeypatch.setenv("ROS_DOMAIN_ID", str(unique_domain_id()))
    rclpy.init()
    yield
    rclpy.shutdown()


def assert_same_array(fast, ref, where: str) -> None:
    assert (fast.header.stamp.sec, fast.header.stamp.nanosec) == (
        ref.header.stamp.sec,
        ref.header.stamp.nanosec,
    ) or not ref.intents, f"{where}: header stamp"
    assert fast.header.frame_id == ref.header.frame_id, where
    assert [i.track_id for i in fast.intents] == [i.track_id for i in ref.intents], where
    for a, b in zip(fast.intents, ref.intents):
        at = f"{where}, track {b.track_id}"
        for field in (
            "person_id",
            "intent",
            "attitude",
            "action",
            "action_label",
            "frames_used",
            "input_quality",
            "stale",
            "model_version",
        ):
            assert getattr(a, field) == getattr(b, field), f"{at}: {field}"
        assert (a.header.stamp.sec, a.header.stamp.nanosec, a.header.frame_id) == (
            b.header.stamp.sec,
            b.header.stamp.nanosec,
            b.header.frame_id,
        ), f"{at}: header"
        assert (a.observation_window.sec, a.observation_window.nanosec) == (
            b.observation_window.sec,
            b.observation_window.nanosec,
        ), f"{at}: observation_window"
        for field in ("intent_probabilities", "attitude_probabilities", "action_probabilities"):
            pa, pb = list(getattr(a, field)), list(getattr(b, field))
            assert len(pa) == len(pb), f"{at}: {field} length"
            worst = max(abs(x - y) for x, y in zip(pa, pb))
            assert worst <= PROB_TOLERANCE, f"{at}: {field} differs by {worst}"
            assert math.isclose(sum(pa), 1.0, abs_tol=1e-4), f"{at}: {field} sums to {sum(pa)}"


@pytest.mark.parametrize(
    ("seed", "params"),
    [
        (0, {}),
        (1, {"hysteresis_min_steps": 1, "hysteresis_enter": 0.4, "hysteresis_exit": 0.3}),
        (2, {"max_tracks": 4, "min_frames": 1}),  # evictions
        (3, {"use_coasting": True, "hysteresis_alpha": 0.3}),
    ],
)
def test_fast_path_publishes_what_the_reference_path_publishes(rclpy_context, seed, params):
    params = {"max_track_gap_s": 1.0, "stale_after_s": 0.5, **params}
    fast = InProcessIntentNode(params)
    ref = InProcessIntentNode(params, reference=True)
    try:
        assert fast.node.engine.forward is not None, "the cached forward pass is not in use"
        ticks = with_intents = decided = 0
        for step, (tick_time, msg) in enumerate(churn_stream(seed)):
            if msg is not None:
                fast.poses(msg)
                ref.poses(msg)
            if tick_time is None:
                continue
            for node in (fast, ref):  # ticks faster than poses reuse cached probabilities
                node.tick(tick_time)
                out = node.tick(tick_time + 0.004)
            a, b = fast.published[-2:], ref.published[-2:]
            for k in range(2):
                assert_same_array(a[k], b[k], f"seed {seed}, event {step}, tick {k}")
            ticks += 1
            with_intents += bool(out.intents)
            decided += sum(i.intent != 0 for i in out.intents)
        # the stream must exercise what the comparison claims to cover
        assert ticks > 100 and with_intents > 50 and decided > 20, (ticks, with_intents, decided)
        assert fast.node.engine.forward.frames_computed > 0
    finally:
        fast.close()
        ref.close()
