"""The gaze node against malformed poses, over real DDS: the shared pose reader's checks
(NaN/inf/absurd coordinates, absurd scores and image sizes, empty, over-long and repeated track
ids) apply, nothing non-finite reaches the output, each feature carries its own pose's header,
and every problem is counted in /diagnostics and warned about naming the track."""

from __future__ import annotations

import array
import math
import time

import numpy as np
import pytest
from rosnode_harness import NodeProcess, RosClient, require_ros, unique_domain_id

GAZE = ("socialego_perception", "gaze_node")


def stamp_of(seconds: float):
    from builtin_interfaces.msg import Time

    sec = int(seconds)
    return Time(sec=sec, nanosec=int(round((seconds - sec) * 1e9)))


def face(x: float = 320.0) -> np.ndarray:
    kp = np.zeros((133, 3), np.float32)
    kp[0] = (x, 111, 0.9)  # nose
    kp[1] = (x + 10, 100, 0.9)  # left eye (image right)
    kp[2] = (x - 10, 100, 0.9)
    return kp


def pose(track_id: str, kp: np.ndarray, t: float = 0.0, frame_id: str = "", size=(640, 480)):
    from socialego_msgs.msg import WholeBodyPose

    msg = WholeBodyPose(track_id=track_id, layout=2, image_width=size[0], image_height=size[1])
    msg.header.stamp = stamp_of(t) if t else msg.header.stamp
    msg.header.frame_id = frame_id
    msg.x, msg.y, msg.score = (array.array("f", kp[:, i].tolist()) for i in range(3))
    return msg


@pytest.fixture(scope="module")
def gaze():
    require_ros(GAZE)
    from diagnostic_msgs.msg import DiagnosticArray

    from socialego_msgs.msg import GazeFeaturesArray, WholeBodyPoseArray

    domain = unique_domain_id()
    node = NodeProcess(*GAZE, domain, {"diagnostics_period_s": 0.3})
    client = RosClient(domain)
    env = {
        "node": node,
        "client": client,
        "pub": client.node.create_publisher(WholeBodyPoseArray, "/socialego/poses", 10),
        "out": client.collect(GazeFeaturesArray, "/socialego/gaze"),
        "diagnostics": client.collect(DiagnosticArray, "/diagnostics"),
    }
    try:
        assert client.spin_until(lambda: env["pub"].get_subscription_count() > 0, 60), node.log()
        yield env
    finally:
        client.close()
        node.stop()


def send(gaze, poses, t: float, frame_id: str = "array_frame"):
    """Publish one pose array and return the gaze array answering it."""
    from socialego_msgs.msg import WholeBodyPoseArray

    msg = WholeBodyPoseArray()
    msg.header.stamp = stamp_of(t)
    msg.header.frame_id = frame_id
    msg.poses = poses
    count = len(gaze["out"])
    gaze["pub"].publish(msg)
    assert gaze["client"].spin_until(lambda: len(gaze["out"]) > count, 20), gaze["node"].log()
    return gaze["out"][-1]


def warning_counts(gaze) -> dict[str, int]:
    gaze["client"].spin_for(0.5)
    for msg in reversed(gaze["diagnostics"]):
        for status in msg.status:
            if status.name.endswith("gaze_node"):
                return {
                    kv.key.removeprefix("warnings."): int(kv.value)
                    for kv in status.values
                    if kv.key.startswith("warnings.")
                }
    return {}


def finite_feature(g) -> bool:
    values = [*g.face_bbox, g.face_score, g.head_orientation_confidence, g.gaze_confidence]
    values += [g.head_orientation.x, g.head_orientation.y, g.head_orientation.z]
    values += [g.head_orientation.w, g.gaze_direction.x, g.gaze_direction.y, g.gaze_direction.z]
    values += [g.mutual_gaze_probability, *g.head_point, *g.gaze_target]
    return all(math.isfinite(v) for v in values)


def test_non_finite_and_absurd_coordinates_never_reach_the_output(gaze):
    nan_x = face()
    nan_x[0, 0] = math.nan  # the nose: NaN x with a good score
    inf = face()
    inf[1, 0] = math.inf
    far = face()
    far[2, 0] = 1e30
    out = send(gaze, [pose("nan", nan_x), pose("inf", inf), pose("far", far)], 8000.0)
    by_id = {g.track_id: g for g in out.people}
    assert set(by_id) == {"nan", "inf", "far"}, gaze["node"].log()
    for g in out.people:
        assert finite_feature(g), g
        # the head point stays on the face (the unseen joint is left out, not read as x = 0)
        assert 300 <= g.head_point[0] <= 340, (g.track_id, list(g.head_point))
    counts = warning_counts(gaze)
    assert counts.get("non_finite", 0) >= 2 and counts.get("out_of_image", 0) >= 1, counts
    log = gaze["node"].log()
    assert "[non_finite] track 'nan'" in log and "[out_of_image] track 'far'" in log


def test_absurd_scores_and_image_sizes(gaze):
    loud = face()
    loud[0, 2] = 1e6  # the nose: unseen, the eyes still give a head point
    huge = face()
    out = send(gaze, [pose("loud", loud), pose("huge", huge, size=(2**32 - 1, 480))], 8001.0)
    assert [g.track_id for g in out.people] == ["loud"]
    assert finite_feature(out.people[0])
    counts = warning_counts(gaze)
    assert counts.get("bad_score", 0) >= 1 and counts.get("bad_image_size", 0) >= 1, counts
    assert "beyond 16384 px a side" in gaze["node"].log()


def test_empty_long_and_repeated_track_ids(gaze):
    poses = [
        pose("", face(100.0)),
        pose("z" * 100_000, face(200.0)),
        pose("twice", face(300.0)),
        pose("twice", face(400.0)),
    ]
    out = send(gaze, poses, 8002.0)
    assert [g.track_id for g in out.people] == ["twice"]
    assert out.people[0].head_point[0] == pytest.approx(400.0)  # the last one wins
    counts = warning_counts(gaze)
    for kind in ("empty_track_id", "long_track_id", "duplicate_track_id"):
        assert counts.get(kind, 0) >= 1, (kind, counts)
    assert "twice in one message: last kept" in gaze["node"].log()
    assert len(gaze["node"].log()) < 50_000


def test_each_feature_carries_its_own_pose_header(gaze):
    left = pose("left", face(100.0), t=8003.25, frame_id="cam_left")
    right = pose("right", face(500.0), t=8003.5, frame_id="cam_right")
    bare = pose("bare", face(300.0))  # no header of its own: the array's
    out = send(gaze, [left, right, bare], 8003.75)
    by_id = {g.track_id: g for g in out.people}
    assert by_id["left"].header.frame_id == "cam_left"
    assert by_id["left"].header.stamp == stamp_of(8003.25)
    assert by_id["right"].header.frame_id == "cam_right"
    assert by_id["bare"].header.frame_id == "array_frame"
    assert by_id["bare"].header.stamp == stamp_of(8003.75)
    assert out.header.frame_id == "array_frame"


def test_one_bad_stamp_does_not_wreck_the_latency_statistic(gaze):
    for _ in range(10):
        send(gaze, [pose("s", face())], time.time())
    send(gaze, [pose("s", face())], 1.0)  # stamped near the epoch: decades of latency
    for _ in range(10):
        send(gaze, [pose("s", face())], time.time())
    gaze["client"].spin_for(0.5)
    status = [s for m in gaze["diagnostics"] for s in m.status if s.name.endswith("gaze_node")]
    latency = float({kv.key: kv.value for kv in status[-1].values}["stamp_latency_ms"])
    assert 0 <= latency < 1000, latency
    assert gaze["node"].alive()
