"""The REP-155 bridge as a separate process (colcon-installed executable) over real DDS.

hri_msgs is not installable here, so the test builds the minimal stand-ins of
tests/fixtures/hri_msgs_min (same names, fields and constants as ROS4HRI's) with colcon into a
temporary folder (cached per content hash), runs the bridge with them on its path, feeds it our
poses and intents, and reads its REP-155 topics from a second process (fixtures' listener.py).
Without hri_msgs at all, configure must fail and name the package to install.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from msg_fixtures import Listener, build_fixture, fixture_env
from rosnode_harness import NodeProcess, RosClient, require_ros, unique_domain_id

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "hri_msgs_min"
W, H = 640, 480
FRAME_ID = "camera_optical"
PARAMS = {"diagnostics_period_s": 0.5, "forget_after_s": 30.0}
ENGAGE_WITH = "__intent_engage_with__"


@pytest.fixture(scope="module")
def hri_prefix() -> Path:
    """Install prefix of the fixture's hri_msgs + hri_actions_msgs (built once per content)."""
    require_ros(("socialego_inference", "hri_bridge"))
    return build_fixture(FIXTURE)


def hri_env(prefix: Path) -> dict[str, str]:
    return fixture_env(prefix)


def keypoints(n: int) -> np.ndarray:
    """(n, 3) pixels, every joint a different place and score, so a wrong index shows."""
    j = np.arange(n, dtype=np.float32)
    return np.stack([10.0 * (j + 1), 4.0 * (j + 1), 0.5 + j / 400.0], axis=1)


def pose_msg(track_id: str, person_id: str, layout: int, n: int, stamp, kp=None):
    from socialego_ros.node import floats

    from socialego_msgs.msg import WholeBodyPose

    kp = keypoints(n) if kp is None else kp
    pose = WholeBodyPose()
    pose.header.stamp, pose.header.frame_id = stamp, FRAME_ID
    pose.track_id, pose.person_id, pose.layout = track_id, person_id, layout
    pose.image_width, pose.image_height = W, H
    pose.x, pose.y, pose.score = floats(kp[:, 0]), floats(kp[:, 1]), floats(kp[:, 2])
    pose.track_state = 2
    pose.bbox_x, pose.bbox_y, pose.bbox_width, pose.bbox_height = 64.0, 48.0, 320.0, 240.0
    pose.detection_score = 0.75
    return pose


def frame(t: float, bad: bool = False):
    from builtin_interfaces.msg import Time

    from socialego_msgs.msg import WholeBodyPoseArray

    stamp = Time(sec=int(t), nanosec=int((t % 1) * 1e9))
    msg = WholeBodyPoseArray()
    msg.header.stamp, msg.header.frame_id = stamp, FRAME_ID
    msg.poses = [
        pose_msg("7", "", 2, 133, stamp),  # COCO-WholeBody, no person id -> anonymous person
        pose_msg("12", "alice", 1, 17, stamp),  # COCO17 with a person id
    ]
    if bad:  # 17 joints announced as 133: skipped, the rest still published
        msg.poses.append(pose_msg("9", "", 2, 17, stamp, kp=keypoints(17)))
    return msg


def intents_msg(entries: list[tuple[str, str, int, bool]]):
    from socialego_msgs.msg import SocialIntent, SocialIntentArray

    msg = SocialIntentArray()
    msg.header.frame_id = FRAME_ID
    for track_id, person_id, decision, stale in entries:
        intent = SocialIntent()
        intent.header.frame_id = FRAME_ID
        intent.track_id, intent.person_id = track_id, person_id
        intent.intent, intent.stale = decision, stale
        intent.intent_probabilities = [0.8, 0.15, 0.05]
        msg.intents.append(intent)
    return msg


def test_without_hri_msgs_configure_fails_naming_the_package():
    require_ros(("socialego_inference", "hri_bridge"))
    try:
        import hri_msgs  # noqa: F401

        pytest.skip("hri_msgs is installed in this environment: the missing case cannot be shown")
    except ImportError:
        pass
    node = NodeProcess("socialego_inference", "hri_bridge", unique_domain_id(), PARAMS)
    try:
        assert node.wait_for_log("configure failed", timeout=60), node.log()
        log = node.log()
        assert "hri_msgs" in log and "-hri-msgs" in log, log
        assert node.alive(), "an unconfigured bridge must keep running (lifecycle node)"
    finally:
        node.stop()


def test_bridge_publishes_rep155_topics(hri_prefix, monkeypatch):
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from socialego_msgs.msg import SocialIntentArray, WholeBodyPoseArray

    extra = hri_env(hri_prefix)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)  # inherited by the bridge process
    domain = unique_domain_id()
    bridge = NodeProcess("socialego_inference", "hri_bridge", domain, PARAMS)
    topics = {
        "bodies": ("/humans/bodies/tracked", "hri_msgs/IdsList", False),
        "persons": ("/humans/persons/tracked", "hri_msgs/IdsList", False),
        "skel7": ("/humans/bodies/b7/skeleton2d", "hri_msgs/Skeleton2D", False),
        "skel12": ("/humans/bodies/b12/skeleton2d", "hri_msgs/Skeleton2D", False),
        "roi7": ("/humans/bodies/b7/roi", "hri_msgs/NormalizedRegionOfInterest2D", False),
        "eng7": ("/humans/persons/anonymous_b7/engagement_status", "hri_msgs/EngagementLevel", 0),
        "eng_alice": ("/humans/persons/alice/engagement_status", "hri_msgs/EngagementLevel", 0),
        "anon7": ("/humans/persons/anonymous_b7/anonymous", "std_msgs/Bool", True),
        "anon_alice": ("/humans/persons/alice/anonymous", "std_msgs/Bool", True),
        "body_alice": ("/humans/persons/alice/body_id", "std_msgs/String", True),
        "intents": ("/intents", "hri_actions_msgs/Intent", False),
    }
    listener = Listener([list(v) for v in topics.values()], domain, extra)
    client = RosClient(domain, "hri_bridge_test")
    try:
        assert bridge.wait_for_log("REP-155 bridge configured", timeout=60), bridge.log()
        qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        poses_pub = client.node.create_publisher(WholeBodyPoseArray, "/socialego/poses", qos)
        intents_pub = client.node.create_publisher(SocialIntentArray, "/socialego/intents", qos)

        def got(key: str, count: int = 1):
            return lambda: listener.poll() or len(listener.on(topics[key][0])) >= count

        # poses until every per-body topic is discovered and delivering (topics appear lazily)
        t = 100.0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            listener.ready and got("skel7")() and got("skel12")() and got("body_alice")()
        ):
            poses_pub.publish(frame(t, bad=True))
            t += 0.1
            client.spin_for(0.1)
        assert got("skel7")() and got("skel12")(), (bridge.log(), listener.messages[-5:])

        # REP-155 ids: bodies from track ids, persons from person ids (else anonymous)
        tracked = listener.on(topics["bodies"][0])[-1]
        assert tracked["ids"] == ["b7", "b12"]  # track 9 was malformed and skipped
        assert tracked["header"]["frame_id"] == FRAME_ID
        assert listener.on(topics["persons"][0])[-1]["ids"] == ["anonymous_b7", "alice"]
        assert client.spin_until(got("anon7"), 10) and client.spin_until(got("anon_alice"), 10)
        assert listener.on(topics["anon7"][0])[-1]["data"] is True
        assert listener.on(topics["anon_alice"][0])[-1]["data"] is False
        assert listener.on(topics["body_alice"][0])[-1]["data"] == "b12"

        # joints by name, normalised; the eye/ear slots are the ones Skeleton2D names
        from socialego_core.layouts import get_layout

        for key, layout in (("skel7", "COCO_WHOLEBODY133"), ("skel12", "COCO17")):
            lay = get_layout(layout)
            kp = keypoints(lay.num_joints)
            skeleton = listener.on(topics[key][0])[-1]
            assert skeleton["header"]["frame_id"] == FRAME_ID
            points = np.array([[p["x"], p["y"], p["c"]] for p in skeleton["skeleton"]])
            assert points.shape == (18, 3)
            slots = {"NOSE": "nose", "LEFT_EYE": "left_eye", "RIGHT_EYE": "right_eye"}
            slots |= {"LEFT_EAR": "left_ear", "RIGHT_EAR": "right_ear", "LEFT_ANKLE": "left_ankle"}
            index = {"NOSE": 0, "LEFT_EYE": 14, "RIGHT_EYE": 15, "LEFT_EAR": 16, "RIGHT_EAR": 17}
            index["LEFT_ANKLE"] = 13
            for hri_name, ours in slots.items():
                j = lay.index(ours)
                np.testing.assert_allclose(
                    points[index[hri_name]], (kp[j, 0] / W, kp[j, 1] / H, kp[j, 2]), rtol=1e-5
                )
            ls, rs = lay.index("left_shoulder"), lay.index("right_shoulder")
            neck = ((kp[ls, 0] + kp[rs, 0]) / 2 / W, (kp[ls, 1] + kp[rs, 1]) / 2 / H, kp[ls, 2])
            np.testing.assert_allclose(points[1], neck, rtol=1e-5)  # NECK: shoulders' midpoint
        assert "needs 133 keypoints, got x=17" in bridge.log() and bridge.alive()

        # roi: the body's box, normalised, c = the detector's score
        assert client.spin_until(got("roi7"), 10), bridge.log()
        roi = listener.on(topics["roi7"][0])[-1]
        assert roi["header"]["frame_id"] == FRAME_ID
        corners = [roi[k] for k in ("xmin", "ymin", "xmax", "ymax", "c")]
        assert corners == pytest.approx([0.1, 0.1, 0.6, 0.6, 0.75], rel=1e-6)

        # engagement: stale intents until both per-person topics deliver (UNKNOWN)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (got("eng7")() and got("eng_alice")()):
            intents_pub.publish(intents_msg([("7", "", 0, True), ("12", "alice", 0, True)]))
            client.spin_for(0.1)
        assert got("eng7")() and got("eng_alice")(), bridge.log()
        assert {m["level"] for m in listener.on(topics["eng7"][0])} == {0}
        before = len(listener.on(topics["eng7"][0]))
        decisions = [2, 2, 1, 1, 3, 3, None]  # interested x2, interacting x2, not x2, stale
        for i, decision in enumerate(decisions):
            entries = [("7", "", decision or 0, decision is None)]
            if i == 0:
                entries.append(("12", "alice", 1, False))
            intents_pub.publish(intents_msg(entries))
            client.spin_for(0.1)
        assert client.spin_until(got("eng7", before + len(decisions)), 20), bridge.log()
        levels = [m["level"] for m in listener.on(topics["eng7"][0])[before:]]
        # UNKNOWN=0 DISENGAGED=1 ENGAGING=2 ENGAGED=3 DISENGAGING=4, one allowed step at a time
        assert levels == [1, 2, 3, 3, 4, 1, 0]
        assert client.spin_until(lambda: listener.on(topics["eng_alice"][0])[-1]["level"] == 1, 5)

        # one ENGAGE_WITH, for the person who became engaged
        assert client.spin_until(got("intents"), 10), bridge.log()
        client.spin_for(0.5)
        intents = listener.on(topics["intents"][0])
        assert len(intents) == 1, intents
        assert intents[0]["intent"] == ENGAGE_WITH
        assert json.loads(intents[0]["data"]) == {"recipient": "anonymous_b7"}
        assert intents[0]["source"] == "anonymous_b7"
        assert intents[0]["modality"] == "__modality_motion__"
        assert intents[0]["priority"] == 128
        assert intents[0]["confidence"] == pytest.approx(0.8, rel=1e-5)
        assert bridge.alive()
    finally:
        client.close()
        errors = listener.stop()
        code = bridge.stop()
    assert code in (0, -2, 130), f"bridge exit code {code}\n{bridge.log()}\n{errors}"


def test_bridge_merges_several_cameras(hri_prefix, monkeypatch):
    """camera_namespaces: each camera's poses are read from its namespace, body ids carry the
    camera, and the tracked lists hold the people of every camera."""
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from socialego_msgs.msg import WholeBodyPoseArray

    extra = hri_env(hri_prefix)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)
    domain = unique_domain_id()
    params = {**PARAMS, "camera_namespaces": "front,/robot/back"}
    bridge = NodeProcess("socialego_inference", "hri_bridge", domain, params)
    roi = "hri_msgs/NormalizedRegionOfInterest2D"
    topics = {
        "bodies": ("/humans/bodies/tracked", "hri_msgs/IdsList", False),
        "roi_front": ("/humans/bodies/bfront_7/roi", roi, False),
        "roi_back": ("/humans/bodies/brobot_back_7/roi", roi, False),
    }
    listener = Listener([list(v) for v in topics.values()], domain, extra)
    client = RosClient(domain, "hri_bridge_cameras_test")
    try:
        assert bridge.wait_for_log("REP-155 bridge configured", timeout=60), bridge.log()
        qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        front = client.node.create_publisher(WholeBodyPoseArray, "/front/socialego/poses", qos)
        back = client.node.create_publisher(WholeBodyPoseArray, "/robot/back/socialego/poses", qos)

        def both() -> bool:
            listener.poll()
            tracked = listener.on(topics["bodies"][0])
            return bool(
                tracked
                and set(tracked[-1]["ids"]) == {"bfront_7", "bfront_12", "brobot_back_7"}
                and listener.on(topics["roi_front"][0])
                and listener.on(topics["roi_back"][0])
            )

        t = 100.0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not both():
            front.publish(frame(t))  # tracks 7 and 12
            one = frame(t)
            one.poses = one.poses[:1]  # track 7 only
            back.publish(one)
            t += 0.1
            client.spin_for(0.1)
        assert both(), (bridge.log(), listener.messages[-5:])
        assert bridge.alive()
    finally:
        client.close()
        errors = listener.stop()
        code = bridge.stop()
    assert code in (0, -2, 130), f"bridge exit code {code}\n{bridge.log()}\n{errors}"
