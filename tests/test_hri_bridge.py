"""REP-155 bridge, ROS-free parts: ids, name-based skeleton mapping, engagement levels, and its
place in the launch file and parameter defaults. The node over DDS: test_hri_bridge_node.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from fake_launch import nodes_by_name, run_launch_file
from socialego_core.layouts import COCO17_NAMES, get_layout
from socialego_inference.params import HRI_BRIDGE_PARAMS, NODE_PARAMS
from socialego_ros.params import validate_all

from socialego_inference import hri_bridge_mapping as m

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "hri_msgs_min"
W, H = 640, 480


def distinct_keypoints(n: int) -> np.ndarray:
    """(n, 3) pixels: every joint a different place and score, so a wrong index shows."""
    j = np.arange(n, dtype=np.float32)
    return np.stack([10.0 * (j + 1), 4.0 * (j + 1), 0.5 + j / 400.0], axis=1)


# -- ids ------------------------------------------------------------------------------------------
def test_body_ids_are_prefixed_valid_ros_tokens():
    assert m.body_id("7", "b") == "b7"
    assert m.body_id("a-b.c", "body") == "bodya_b_c"
    with pytest.raises(ValueError, match="track_id"):
        m.body_id("", "b")


def test_person_ids_keep_valid_names_and_fix_the_rest():
    assert m.rep155_id("alice", "p") == "alice"
    assert m.rep155_id("42", "p") == "p42"
    assert m.rep155_id("bob smith", "p") == "pbob_smith"
    assert m.rep155_id("a__b", "p") == "pa_b"  # ROS names forbid repeated underscores
    with pytest.raises(ValueError):
        m.rep155_id("", "p")


def test_person_of_a_track():
    assert m.person_ref("7", "alice", "b", "p", True) == m.PersonRef("alice", False)
    assert m.person_ref("7", "", "b", "p", True) == m.PersonRef("anonymous_b7", True)
    assert m.person_ref("7", "", "b", "p", False) is None


@pytest.mark.parametrize("raw", ["7", "12", "a-b", "x y", "__", "é1", "b_"])
def test_ids_make_valid_topic_names(raw):
    rclpy_names = pytest.importorskip(
        "rclpy.validate_full_topic_name", reason="rclpy not importable: source setup.env"
    )
    body = m.body_id(raw, "b")
    rclpy_names.validate_full_topic_name(f"/humans/bodies/{body}/skeleton2d")
    person = m.person_ref(raw, raw, "b", "p", True).person_id
    rclpy_names.validate_full_topic_name(f"/humans/persons/{person}/engagement_status")


# -- skeleton -------------------------------------------------------------------------------------
def test_every_hri_joint_but_neck_is_a_coco_joint_by_name():
    assert sorted(m.SKELETON2D_INDEX.values()) == list(range(18))
    assert set(m.SKELETON2D_SOURCE.values()) <= set(COCO17_NAMES)
    assert len(set(m.SKELETON2D_SOURCE.values())) == 17


@pytest.mark.parametrize("layout", ["COCO17", "COCO_WHOLEBODY133"])
def test_skeleton_maps_by_name_and_normalises(layout):
    lay = get_layout(layout)
    kp = distinct_keypoints(lay.num_joints)
    out = m.skeleton2d_points(kp, lay.code, W, H)
    assert out.shape == (18, 3) and out.dtype == np.float32
    for hri_name, ours in m.SKELETON2D_SOURCE.items():
        j = lay.index(ours)
        expected = (kp[j, 0] / W, kp[j, 1] / H, kp[j, 2])
        np.testing.assert_allclose(out[m.SKELETON2D_INDEX[hri_name]], expected, rtol=1e-6)
    # the eyes/ears that Skeleton2D numbers differently from OpenPose: by name, never by index
    left_eye = lay.index("left_eye")
    assert out[14, 0] == pytest.approx(kp[left_eye, 0] / W)  # Skeleton2D.LEFT_EYE = 14
    assert out[17, 0] == pytest.approx(kp[lay.index("right_ear"), 0] / W)  # RIGHT_EAR = 17
    ls, rs = lay.index("left_shoulder"), lay.index("right_shoulder")
    neck = out[m.SKELETON2D_INDEX["NECK"]]
    np.testing.assert_allclose(
        neck,
        (
            (kp[ls, 0] + kp[rs, 0]) / 2 / W,
            (kp[ls, 1] + kp[rs, 1]) / 2 / H,
            min(kp[ls, 2], kp[rs, 2]),
        ),
        rtol=1e-6,
    )


def test_unseen_nan_and_outside_joints():
    kp = distinct_keypoints(17)
    kp[0, 2] = 0.0  # nose not seen
    kp[1, 2] = np.nan  # left eye score NaN -> not seen
    kp[2, 0] = np.inf  # right eye at infinity -> not seen
    kp[9, 0] = -50.0  # left wrist left of the image -> clipped
    kp[10, 1] = 2 * H  # right wrist below the image -> clipped
    kp[6, 2] = 0.0  # right shoulder unseen -> no neck
    out = m.skeleton2d_points(kp, 1, W, H)
    idx = m.SKELETON2D_INDEX
    for name in ("NOSE", "LEFT_EYE", "RIGHT_EYE", "NECK", "RIGHT_SHOULDER"):
        assert out[idx[name]].tolist() == [0.0, 0.0, 0.0], name
    assert out[idx["LEFT_WRIST"], 0] == 0.0 and out[idx["LEFT_WRIST"], 2] > 0
    assert out[idx["RIGHT_WRIST"], 1] == 1.0
    assert np.isfinite(out).all() and (out >= 0).all() and (out <= 1).all()


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ((np.zeros((16, 3)), 1, W, H), "17 joints"),
        ((np.zeros((17, 3)), 9, W, H), "layout"),
        ((np.zeros((17, 3)), 1, 0, H), "image size"),
    ],
)
def test_bad_poses_are_named(args, problem):
    with pytest.raises(ValueError, match=problem):
        m.skeleton2d_points(*args)


# -- engagement -----------------------------------------------------------------------------------
INTERACTING, INTERESTED, NOT_INTERESTED = 1, 2, 3


def run_levels(decisions: list[int | None]) -> list[int]:
    """Levels after each decision; None = a stale intent."""
    tracker = m.EngagementTracker(forget_after_s=10.0)
    return [
        tracker.update("p", d or 0, d is None, now_s=float(i)).level
        for i, d in enumerate(decisions)
    ]


def test_engagement_follows_the_decision_one_allowed_step_at_a_time():
    levels = run_levels(
        [INTERESTED, INTERESTED, INTERACTING, INTERACTING, NOT_INTERESTED, NOT_INTERESTED, None]
    )
    assert levels == [
        m.DISENGAGED,
        m.ENGAGING,
        m.ENGAGED,
        m.ENGAGED,
        m.DISENGAGING,
        m.DISENGAGED,
        0,
    ]
    assert run_levels([INTERACTING] * 4) == [m.DISENGAGED, m.ENGAGING, m.ENGAGED, m.ENGAGED]
    # engaged, then only interested: disengaging until interacting again
    assert run_levels([INTERACTING] * 3 + [INTERESTED] * 2 + [INTERACTING]) == [
        m.DISENGAGED, m.ENGAGING, m.ENGAGED, m.DISENGAGING, m.DISENGAGING, m.ENGAGED
    ]  # fmt: skip
    assert run_levels([0, NOT_INTERESTED, None]) == [m.UNKNOWN, m.DISENGAGED, m.UNKNOWN]


def test_every_transition_is_one_hri_engagement_allows_or_a_loss_of_evidence():
    for current in range(5):
        for decision in range(5):
            for stale in (False, True):
                nxt = m.next_engagement_level(current, decision, stale)
                if stale or decision not in (1, 2, 3):
                    assert nxt == m.UNKNOWN
                else:
                    assert (current, nxt) in m.ALLOWED_TRANSITIONS, (current, decision, nxt)
                    # and it moves towards the level the decision asks for
                    target = m.TARGET_LEVEL[decision]
                    assert nxt == target or (current, target) not in m.ALLOWED_TRANSITIONS


def test_engage_with_only_on_entering_engaged_and_people_are_forgotten():
    tracker = m.EngagementTracker(forget_after_s=1.0)
    became = [
        tracker.update("p", d, False, now_s=0.1 * i).became_engaged
        for i, d in enumerate([1, 1, 1, 1, 3, 1, 1])
    ]
    assert became == [False, False, True, False, False, True, False]
    assert tracker.forget_expired(now_s=1.0) == []
    assert tracker.forget_expired(now_s=1.7) == ["p"]
    assert tracker.update("p", 1, False, now_s=2.0).level == m.DISENGAGED  # starts over


def test_last_seen_expires_ids():
    seen = m.LastSeen(forget_after_s=0.5)
    seen.note(["b1", "b2"], 0.0)
    seen.note(["b2"], 0.4)
    assert seen.expire(0.6) == ["b1"]
    assert seen.expire(1.0) == ["b2"]


def test_engage_with_data_is_json_with_the_recipient():
    assert json.loads(m.engage_with_data('a"b')) == {"recipient": 'a"b'}


class _FakeSkeleton:
    NOSE, NECK, LEFT_EYE = 0, 1, 15  # an "OpenPose-order" eye: must be refused


def test_constant_check_finds_a_different_message():
    problems = m.constant_problems(_FakeSkeleton, m.SKELETON2D_INDEX)
    assert any("LEFT_EYE is 15" in p for p in problems)
    assert any("RIGHT_EAR is None" in p for p in problems)


# -- the fixture messages agree with the bridge's constants ---------------------------------
def msg_constants(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        code = line.split("#")[0].strip()
        match = re.match(r"^\w+\s+([A-Z_]+)\s*=\s*(.+)$", code)
        if match:
            found[match[1]] = match[2].strip().strip('"')
    return found


def test_fixture_messages_carry_the_constants_the_bridge_expects():
    skeleton = msg_constants(FIXTURE / "hri_msgs" / "msg" / "Skeleton2D.msg")
    assert {k: int(v) for k, v in skeleton.items()} == m.SKELETON2D_INDEX
    engagement = msg_constants(FIXTURE / "hri_msgs" / "msg" / "EngagementLevel.msg")
    assert {k: int(v) for k, v in engagement.items()} == m.ENGAGEMENT_LEVELS
    intent = msg_constants(FIXTURE / "hri_actions_msgs" / "msg" / "Intent.msg")
    assert intent["ENGAGE_WITH"] == "__intent_engage_with__"
    assert intent["MODALITY_MOTION"] == "__modality_motion__"


# -- launch and parameters ------------------------------------------------------------------------
def test_robot_launch_starts_the_bridge_only_when_asked(monkeypatch):
    robot = ROOT / "launch" / "launch" / "robot.launch.py"
    actions, context = run_launch_file(robot, {}, monkeypatch)
    assert context.declared["enable_hri_bridge"] == "false"
    assert "hri_bridge" not in nodes_by_name(actions)
    actions, _ = run_launch_file(robot, {"enable_hri_bridge": "true"}, monkeypatch)
    assert nodes_by_name(actions)["hri_bridge"].kwargs["executable"] == "hri_bridge"


def test_yaml_defaults_of_the_bridge_are_valid():
    data = yaml.safe_load((ROOT / "launch" / "config" / "socialego.yaml").read_text())
    values = data["/**/hri_bridge"]["ros__parameters"]
    assert NODE_PARAMS["hri_bridge"] is HRI_BRIDGE_PARAMS
    assert not validate_all(HRI_BRIDGE_PARAMS, values)
    assert values["hri_namespace"] == "/humans" and values["intents_topic"] == "/intents"
    bad = validate_all(HRI_BRIDGE_PARAMS, {"body_id_prefix": "1x", "hri_namespace": "/a b"})
    assert len(bad) == 2
