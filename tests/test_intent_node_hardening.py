"""The intent node against inputs a robot can send by mistake, over real DDS: stamps far from
the clock, absurd values, over-long and repeated track ids, poses from two cameras. Each is
refused or cleaned, warned about naming the track and the problem, and counted in
/diagnostics; the node stays correct for the good tracks beside them."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from test_intent_node import (
    FRAME_ID,
    body_keypoints,
    intent_node_env,
    latest_with,
    pose_array,
    pose_msg,
    publish_tracks,
    seconds,
    set_parameter,
)


@pytest.fixture(scope="module")
def ros():
    with intent_node_env() as env:
        yield env


def warning_counts(ros) -> dict[str, int]:
    """The newest warnings.* counters the intent node published on /diagnostics."""
    ros["client"].spin_for(0.6)  # at least one diagnostics period
    for msg in reversed(ros["diagnostics"]):
        for status in msg.status:
            if status.name.endswith("intent_node"):
                return {
                    kv.key.removeprefix("warnings."): int(kv.value)
                    for kv in status.values
                    if kv.key.startswith("warnings.")
                }
    return {}


def diagnostic_value(ros, key: str) -> str:
    ros["client"].spin_for(0.6)
    for msg in reversed(ros["diagnostics"]):
        for status in msg.status:
            if status.name.endswith("intent_node"):
                return {kv.key: kv.value for kv in status.values}[key]
    raise AssertionError("no diagnostics from the intent node")


def stream(ros, make_poses, duration: float, fps: float = 30.0) -> float:
    """Publish ``make_poses(t)`` (a list of poses at wall time t) at ``fps``; the last t."""
    t = time.time()
    for _ in range(int(duration * fps)):
        t = time.time()
        ros["pub"].publish(pose_array(t, make_poses(t)))
        ros["client"].spin_for(1.0 / fps)
    return t


def test_stamps_far_from_the_clock_are_refused_and_outputs_never_lie_ahead(ros):
    before = warning_counts(ros).get("stamp_offset", 0)
    start = len(ros["intents"])

    def poses(t):
        return [
            pose_msg("hour_ahead", t + 3600.0, body_keypoints(100.0)),
            pose_msg("hour_behind", t - 3600.0, body_keypoints(300.0)),
            pose_msg("ahead2s", t + 2.0, body_keypoints(500.0)),  # within the 5 s tolerance
        ]

    stream(ros, poses, 0.5)
    # the 2 s-ahead track ages from its arrival: stale after stale_after_s, gone after the gap
    ros["client"].spin_for(0.7)
    ahead = [i for i in ros["intents"][-1].intents if i.track_id == "ahead2s"]
    assert ahead and ahead[0].stale, "a stamp from the future kept the track fresh"
    ros["client"].spin_for(0.6)
    assert "ahead2s" not in {i.track_id for i in ros["intents"][-1].intents}
    received = ros["intents"][start:]
    ids = {i.track_id for m in received for i in m.intents}
    assert "hour_ahead" not in ids and "hour_behind" not in ids, ros["node"].log()
    assert "ahead2s" in ids, ros["node"].log()
    log = ros["node"].log()
    assert "[stamp_offset]" in log and "the node clock" in log
    assert "'hour_ahead'" in log or "'hour_behind'" in log
    assert warning_counts(ros)["stamp_offset"] >= before + 2 * 14
    # no output header is ahead of the time it was received (1 ms for rounding)
    for msg in received:
        for header in [msg.header] + [i.header for i in msg.intents]:
            assert seconds(header.stamp) <= time.time() + 1e-3


def test_the_stamp_tolerance_is_live(ros):
    before = warning_counts(ros).get("stamp_offset", 0)
    assert set_parameter(ros, "max_stamp_offset_s", 1.0).successful
    try:
        start = len(ros["intents"])
        stream(ros, lambda t: [pose_msg("ahead2s_live", t + 2.0, body_keypoints(200.0))], 0.4)
        ros["client"].spin_for(0.2)
        ids = {i.track_id for m in ros["intents"][start:] for i in m.intents}
        assert "ahead2s_live" not in ids
        assert warning_counts(ros)["stamp_offset"] >= before + 10  # counted (log throttled)
    finally:
        assert set_parameter(ros, "max_stamp_offset_s", 5.0).successful
    ros["client"].spin_for(1.5)  # let every test track expire


def absurd(kind: str, t: float):
    good = body_keypoints(320.0)
    kp = good.copy()
    pose = None
    if kind == "score_high":
        kp[:5, 2] = 1e6
    elif kind == "score_low":
        kp[:5, 2] = -1e6
    elif kind == "far":
        kp[:5, 0] = 1e30
    elif kind == "all_nan":
        kp[:] = math.nan
    pose = pose or pose_msg(kind, t, kp)
    if kind == "huge_image":
        pose.image_width = 2**32 - 1
    return pose


KINDS = {
    "score_high": "bad_score",
    "score_low": "bad_score",
    "far": "out_of_image",
    "huge_image": "bad_image_size",
    "all_nan": "no_finite_keypoints",
}


def test_absurd_values_are_refused_or_made_unseen_and_counted(ros):
    before = warning_counts(ros)
    start = len(ros["intents"])
    last = stream(ros, lambda t: [absurd(k, t) for k in KINDS], 1.2)  # a full window
    assert latest_with(ros, {"score_high", "score_low", "far"}, start, timeout=5)
    msg = ros["intents"][-1]
    assert {i.track_id for i in msg.intents} == {"score_high", "score_low", "far"}
    counts = warning_counts(ros)
    for kind in set(KINDS.values()):
        assert counts.get(kind, 0) > before.get(kind, 0), (kind, counts, ros["node"].log())
    log = ros["node"].log()
    assert "outside [0, 1]" in log and "far outside the 640x480 image" in log
    assert "beyond 16384 px a side" in log and "every keypoint is NaN/inf" in log
    ids = {i.track_id for m in ros["intents"][start:] for i in m.intents}
    assert not ids & {"huge_image", "all_nan"}  # refused: never a track
    for intent in msg.intents:  # 5 of 17 joints unseen: the window says so
        assert intent.input_quality == pytest.approx(12 / 17, abs=1e-3)
        assert all(math.isfinite(p) and 0 <= p <= 1 for p in intent.intent_probabilities)
        assert seconds(intent.header.stamp) <= last + 1e-6
    ros["client"].spin_for(1.5)


def test_each_intent_carries_its_own_pose_header(ros):
    """Two cameras: tracks from each keep their own frame_id and stamp, whatever the array's."""
    start = len(ros["intents"])
    for _ in range(15):
        t = time.time()
        left = pose_msg("left", t - 0.010, body_keypoints(100.0))
        left.header.frame_id = "cam_left"
        right = pose_msg("right", t - 0.020, body_keypoints(400.0))
        right.header.frame_id = "cam_right"
        ros["pub"].publish(pose_array(t, [left, right]))
        ros["client"].spin_for(1 / 30)
    msg = latest_with(ros, {"left", "right"}, start)
    assert msg is not None, ros["node"].log()
    ros["client"].spin_for(0.2)
    by_id = {i.track_id: i for i in ros["intents"][-1].intents}
    assert by_id["left"].header.frame_id == "cam_left"
    assert by_id["right"].header.frame_id == "cam_right"
    assert seconds(by_id["left"].header.stamp) - seconds(by_id["right"].header.stamp) == (
        pytest.approx(0.010, abs=1e-6)
    )
    assert ros["intents"][-1].header.frame_id in ("cam_left", "cam_right")  # the newest pose's
    assert FRAME_ID not in {i.header.frame_id for i in by_id.values()}
    ros["client"].spin_for(1.5)


def test_long_and_repeated_track_ids(ros):
    before = warning_counts(ros)
    start = len(ros["intents"])
    long_id = "x" * 1_000_000

    def poses(t):
        twice_first = pose_msg("twice", t, body_keypoints(100.0))
        twice_last = pose_msg("twice", t, body_keypoints(500.0))
        return [pose_msg(long_id, t, body_keypoints(300.0)), twice_first, twice_last]

    stream(ros, poses, 0.5)
    msg = latest_with(ros, {"twice"}, start)
    assert msg is not None, ros["node"].log()
    assert all(len(i.track_id) <= 256 for m in ros["intents"][start:] for i in m.intents)
    assert [i.track_id for i in msg.intents] == ["twice"]  # once, not twice
    counts = warning_counts(ros)
    for kind in ("long_track_id", "duplicate_track_id"):
        assert counts.get(kind, 0) > before.get(kind, 0), (kind, counts)
    log = ros["node"].log()
    assert "(1000000 chars)" in log and "track_id of 1000000 characters" in log
    assert "track 'twice' twice in one message: last kept" in log
    assert len(log) < 2_000_000  # the id is never echoed whole
    ros["client"].spin_for(1.5)


def test_one_bad_stamp_does_not_wreck_the_latency_statistic(ros):
    tracks = {"steady": 300.0}
    t = publish_tracks(ros, tracks, 0.5, time.time())
    # one pose 4.5 s old (inside the 5 s tolerance: accepted, a restart of its track)
    ros["pub"].publish(pose_array(t - 4.5, [pose_msg("steady", t - 4.5, body_keypoints(1.0))]))
    publish_tracks(ros, tracks, 0.5, time.time())
    latency = float(diagnostic_value(ros, "stamp_latency_ms"))
    assert 0 <= latency < 500, latency
    ros["client"].spin_for(1.5)


def test_the_node_still_answers_after_all_of_it(ros):
    start = len(ros["intents"])
    publish_tracks(ros, {"fine": 250.0}, 0.5, time.time())
    msg = latest_with(ros, {"fine"}, start)
    assert msg is not None and ros["node"].alive(), ros["node"].log()
    assert np.isclose(sum(msg.intents[0].intent_probabilities), 1.0, atol=1e-4)
