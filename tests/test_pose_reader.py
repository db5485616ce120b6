"""The one WholeBodyPose reader (socialego_core.pose_reader), without ROS: what it refuses, what
it cleans, and the words it uses. The nodes' tests show the same over DDS."""

from __future__ import annotations

import math
from types import SimpleNamespace as NS

import numpy as np
import pytest
from socialego_core.pose_reader import (
    MAX_TRACK_ID_CHARS,
    PoseError,
    read_pose,
    read_pose_array,
)


def header(sec: int = 0, nanosec: int = 0, frame_id: str = ""):
    return NS(stamp=NS(sec=sec, nanosec=nanosec), frame_id=frame_id)


def pose(track_id="1", kp=None, width=640, height=480, sec=100, frame_id="cam"):
    if kp is None:
        kp = np.zeros((17, 3), np.float32)
        kp[:, 0], kp[:, 1], kp[:, 2] = 320.0, 240.0, 0.9
    return NS(
        track_id=track_id,
        layout=1,
        x=kp[:, 0].tolist(),
        y=kp[:, 1].tolist(),
        score=kp[:, 2].tolist(),
        image_width=width,
        image_height=height,
        header=header(sec, 0, frame_id),
    )


def array(*poses, sec=100, frame_id="array_frame"):
    return NS(header=header(sec, 0, frame_id), poses=list(poses))


def test_a_good_pose_passes_unchanged_with_its_own_header():
    reading = read_pose(pose(sec=7, frame_id="left"), header(9, 0, "array"))
    assert reading.problems == [] and reading.stamp_s == 7.0
    assert reading.source.frame_id == "left" and reading.source.stamp.sec == 7
    assert reading.keypoints[0].tolist() == pytest.approx([320.0, 240.0, 0.9])


def test_a_pose_without_its_own_header_takes_the_arrays():
    p = pose(sec=0, frame_id="")
    reading = read_pose(p, header(9, 5, "array"))
    assert reading.source.frame_id == "array" and reading.stamp_s == pytest.approx(9.0)


@pytest.mark.parametrize(
    ("change", "kind", "words"),
    [
        ({"track_id": ""}, "empty_track_id", "without track_id"),
        ({"track_id": "x" * (MAX_TRACK_ID_CHARS + 1)}, "long_track_id", "257 characters"),
        ({"width": 0}, "bad_image_size", "must be positive"),
        ({"width": 2**32 - 1}, "bad_image_size", "beyond 16384 px"),
        ({"kp": np.full((17, 3), np.nan, np.float32)}, "no_finite_keypoints", "NaN/inf"),
    ],
)
def test_refused_poses_name_the_problem(change, kind, words):
    with pytest.raises(PoseError, match=words) as info:
        read_pose(pose(**change), header())
    assert info.value.kind == kind


def test_stamps_far_from_the_clock_are_refused_both_ways():
    for sec, where in ((200, "ahead of"), (10, "behind")):
        with pytest.raises(PoseError, match=where) as info:
            read_pose(pose(sec=sec), header(), now_s=100.0, max_offset_s=5.0)
        assert info.value.kind == "stamp_offset"
    assert read_pose(pose(sec=104), header(), now_s=100.0, max_offset_s=5.0)
    assert read_pose(pose(sec=500), header(), now_s=0.0, max_offset_s=5.0)  # no clock yet


def test_absurd_joints_become_unseen_and_near_misses_are_clipped():
    kp = np.zeros((17, 3), np.float32)
    kp[:, 0], kp[:, 1], kp[:, 2] = 320.0, 240.0, 0.9
    kp[0, 2] = 1e6
    kp[1, 2] = -1e6
    kp[2, 0] = 1e30
    kp[3, 1] = -500.0  # more than one image height above the image
    kp[4, 0] = math.nan
    kp[5, 2] = 1.0005  # within SCORE_EPS: clipped to 1
    kp[6, 0] = -600.0  # outside, but within one image width: kept (the window clips it)
    reading = read_pose(pose(kp=kp), header())
    out = reading.keypoints
    for j in range(5):
        assert out[j].tolist() == [0.0, 0.0, 0.0], j
    assert out[5, 2] == 1.0 and out[6, 0] == -600.0 and out[7, 2] == pytest.approx(0.9)
    kinds = {p.kind for p in reading.problems}
    assert kinds == {"bad_score", "out_of_image", "non_finite"}
    assert np.isfinite(out).all()


def test_a_repeated_track_keeps_the_last_pose_and_says_so():
    first = pose("a", sec=100)
    last = pose("a", sec=100)
    last.x[0] = 111.0
    readings, problems = read_pose_array(array(first, pose("b"), last))
    assert [r.track_id for r in readings] == ["b", "a"]
    assert readings[1].keypoints[0, 0] == 111.0
    assert [p.kind for p in problems] == ["duplicate_track_id"]
    assert "track 'a' twice in one message: last kept" in problems[0].text


def test_warnings_never_echo_a_huge_track_id():
    readings, problems = read_pose_array(array(pose("y" * 1_000_000)))
    assert readings == [] and problems[0].kind == "long_track_id"
    assert len(problems[0].text) < 200 and "(1000000 chars)" in problems[0].text
