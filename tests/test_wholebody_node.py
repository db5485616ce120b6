"""Pose node with ``face_hands: mediapipe`` and the gaze node behind it, as processes over DDS:
two real people get face and hand keypoints, and the gaze node uses the face keypoints."""

from __future__ import annotations

import numpy as np
import pytest
from rosnode_harness import NodeProcess, RosClient, require_ros, unique_domain_id
from socialego_core.layouts import FACE, LEFT_HAND, RIGHT_HAND
from test_pose_node import GAZE, POSE, Camera, image_msg
from test_wholebody import two_people_frames


def scores(pose) -> np.ndarray:
    return np.asarray(pose.score, dtype=np.float32)


def test_two_people_get_face_and_hands_and_gaze_uses_the_face():
    require_ros(POSE, GAZE)
    pytest.importorskip("mediapipe", reason="mediapipe not installed (requirements/runtime.txt)")
    from diagnostic_msgs.msg import DiagnosticArray

    from socialego_msgs.msg import GazeFeaturesArray

    domain = unique_domain_id()
    params = {
        "face_hands": "mediapipe",
        "face_hands_max_persons": 2,
        "max_persons": 3,
        "image_reliability": "reliable",
        "tracker_initialization_delay": 0,
        "diagnostics_period_s": 0.5,
    }
    pose = NodeProcess(*POSE, domain, params, {"image": "/camera/image_raw"})
    gaze = NodeProcess(*GAZE, domain, {"diagnostics_period_s": 0.5})
    client = RosClient(domain)
    try:
        camera = Camera(client)
        gazes = client.collect(GazeFeaturesArray, "/socialego/gaze")
        diagnostics = client.collect(DiagnosticArray, "/diagnostics")
        assert client.spin_until(lambda: camera.raw.get_subscription_count() > 0, 90), pose.log()
        outputs = []
        for i, rgb in enumerate(two_people_frames(count=4)):
            out = camera.send(image_msg(rgb, 9000.0 + i), timeout=180)
            assert out is not None, pose.log()
            outputs.append(out)
        last = outputs[-1]
        assert len(last.poses) == 2, pose.log()
        ids = {p.track_id for p in last.poses}
        assert len(ids) == 2
        faces, hands = dict.fromkeys(ids, 0), dict.fromkeys(ids, 0)
        for out in outputs:
            for p in out.poses:
                s = scores(p)
                if s[FACE.start : FACE.stop].min() > 0:
                    faces[p.track_id] = faces.get(p.track_id, 0) + 1
                    x = np.asarray(p.x)[FACE.start : FACE.stop]
                    assert p.bbox_x <= x.min() and x.max() <= p.bbox_x + p.bbox_width
                if s[LEFT_HAND.start : RIGHT_HAND.stop].max() > 0:
                    hands[p.track_id] = hands.get(p.track_id, 0) + 1
        # face and hand models find each person in most images, not in every one
        assert all(faces[t] >= 1 and hands[t] >= 1 for t in ids), (faces, hands)
        # the gaze node answers the same image, for both people, from their face keypoints
        stamp = last.header.stamp

        def gaze_for_last() -> bool:
            return any(g.header.stamp == stamp and len(g.people) == 2 for g in gazes)

        assert client.spin_until(gaze_for_last, 30), gaze.log()

        def gaze_diag() -> dict | None:
            for msg in reversed(diagnostics):
                for status in msg.status:
                    if status.name.endswith("/gaze_node"):
                        return {kv.key: kv.value for kv in status.values}
            return None

        assert client.spin_until(
            lambda: (gaze_diag() or {}).get("from_face_landmarks", "0") != "0", 20
        ), gaze.log()

        def pose_diag() -> dict:
            for msg in reversed(diagnostics):
                for status in msg.status:
                    if status.name.endswith("/pose_node"):
                        return {kv.key: kv.value for kv in status.values}
            return {}

        assert client.spin_until(lambda: "face_hands" in pose_diag(), 20), pose.log()
        values = pose_diag()
        assert values["face_hands"] == "mediapipe"
        assert int(values["face_hands_people_last_image"]) == 2
        assert pose.alive() and gaze.alive()
    finally:
        client.close()
        pose.stop()
        gaze.stop()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"face_hands": "holistic"}, "parameter 'face_hands' must be one of"),
        ({"face_hands_max_persons": 0}, "parameter 'face_hands_max_persons'"),
    ],
)
def test_bad_face_hands_settings_fail_configure_naming_them(params, message):
    require_ros(POSE)
    node = NodeProcess(*POSE, unique_domain_id(), params)
    try:
        assert node.wait_for_log("configure failed", 60), node.log()
        assert message in node.log()
        assert node.alive()
    finally:
        node.stop()
