"""The ROS-free pieces of the visual outputs: drawing (socialego_core.annotate), marker placement
and ids (socialego_core.markers), stamp pairing, and the REP-155 roi / camera helpers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from socialego_core import topics
from socialego_core.annotate import (
    GREY,
    INTENT_COLOURS,
    NO_INTENT,
    IntentValues,
    Style,
    draw_people,
    label_lines,
    person_view,
)
from socialego_core.labels import JPL_SOCIAL
from socialego_core.markers import MarkerIds, box_anchor, box_height_m
from socialego_core.stamp_pairing import StampPairer
from socialego_inference.hri_bridge_mapping import (
    CameraFrames,
    camera_name,
    camera_namespaces,
    camera_track,
    normalised_roi,
)
from socialego_inference.overlay_messages import BOX_NS, LABEL_NS
from socialego_inference.params import ANNOTATOR_PARAMS, NODE_PARAMS
from socialego_ros.params import validate_all

ROOT = Path(__file__).resolve().parents[1]
W, H = 640, 480
INTERACTING = IntentValues(
    intent=1,
    intent_probabilities=(0.82, 0.1, 0.08),
    attitude=1,
    attitude_probabilities=(0.7, 0.2, 0.1),
    action=4,
    action_probabilities=(0.05, 0.05, 0.05, 0.61) + (0.04,) * 6,
    input_quality=0.9,
)


def standing_keypoints(x: float, y: float, h: float, n: int = 17) -> np.ndarray:
    """(n, 3) keypoints of a person standing in the box (x, y, h/2, h), all seen."""
    kp = np.zeros((n, 3), np.float32)
    rows = np.linspace(y + 0.1 * h, y + 0.95 * h, 17)
    kp[:17, 0] = x + h / 4 + np.where(np.arange(17) % 2, -h / 8, h / 8)
    kp[:17, 1] = rows
    kp[:17, 2] = 0.9
    return kp


def test_label_lines_name_the_decisions_with_probabilities():
    lines, greyed = label_lines("7", INTERACTING, JPL_SOCIAL, 0.3)
    assert lines == ("#7 Interacting 0.82", "Positive 0.70 | Wave 0.61")
    assert not greyed
    assert label_lines("7", None, JPL_SOCIAL, 0.3) == (("#7",), False)


@pytest.mark.parametrize(
    ("change", "suffix"),
    [({"stale": True}, "(stale)"), ({"input_quality": 0.1}, "(quality 0.10)")],
)
def test_stale_or_low_quality_is_grey_and_says_why(change, suffix):
    values = IntentValues(**{**INTERACTING.__dict__, **change})
    view = person_view("7", (10, 10, 50, 100), standing_keypoints(10, 10, 100), 1, values)
    assert view.greyed and view.colour == GREY
    assert view.lines[0].endswith(suffix)


def test_box_is_drawn_where_the_person_is_in_the_intent_colour():
    image = np.zeros((H, W, 3), np.uint8)
    box = (200.0, 150.0, 100.0, 200.0)
    people = [person_view("7", box, standing_keypoints(200, 150, 200), 1, INTERACTING)]
    out = draw_people(image, people)
    green = INTENT_COLOURS[1]
    # left and right edges at mid height, bottom edge at mid width (box width 3 px inside)
    assert tuple(out[250, 201]) == green and tuple(out[250, 299]) == green
    assert tuple(out[349, 250]) == green
    assert tuple(out[250, 190]) == (0, 0, 0)  # outside the box: untouched
    assert tuple(out[300, 260]) == (0, 0, 0) or tuple(out[300, 260]) == green  # skeleton only
    assert not image.any(), "the input image must not be changed"
    # the label sits above the box, filled with the same colour
    label = out[150 - 30 : 150, 200:260].reshape(-1, 3)
    assert (label == green).all(axis=1).mean() > 0.5


def test_no_forecast_yet_is_white_and_two_people_get_their_own_colours():
    image = np.full((H, W, 3), 30, np.uint8)
    people = [
        person_view("1", (40, 100, 80, 160), standing_keypoints(40, 100, 160), 1, None),
        person_view(
            "2",
            (400, 100, 80, 160),
            standing_keypoints(400, 100, 160),
            1,
            IntentValues(intent=3, intent_probabilities=(0.1, 0.1, 0.8)),
        ),
    ]
    out = draw_people(image, people)
    assert tuple(out[180, 41]) == NO_INTENT
    assert tuple(out[180, 401]) == INTENT_COLOURS[3]


def test_face_and_hands_are_drawn_only_when_scored():
    kp = np.zeros((133, 3), np.float32)
    kp[:17] = standing_keypoints(100, 100, 200)
    kp[91:112, 0] = np.linspace(400, 420, 21)  # left hand, seen
    kp[91:112, 1] = np.linspace(300, 340, 21)
    kp[91:112, 2] = 0.9
    view = person_view("3", (100, 100, 100, 200), kp, 2, INTERACTING)
    blank = np.zeros((H, W, 3), np.uint8)
    with_hands = draw_people(blank, [view])
    assert with_hands[295:345, 395:425].any()
    without = draw_people(blank, [view], Style(face_and_hands=False))
    assert not without[295:345, 395:425].any()
    kp[91:112, 2] = 0.0  # not seen: nothing drawn there
    unseen = person_view("3", (100, 100, 100, 200), kp, 2, INTERACTING)
    assert not draw_people(blank, [unseen])[295:345, 395:425].any()


def test_bad_images_are_named():
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8 RGB"):
        draw_people(np.zeros((H, W), np.uint8), [])
    with pytest.raises(ValueError, match="uint8"):
        draw_people(np.zeros((H, W, 3), np.float32), [])


def test_nan_boxes_and_keypoints_draw_nothing_and_do_not_fail():
    kp = standing_keypoints(100, 100, 200)
    kp[3] = np.nan
    view = person_view("4", (math.nan, 100, 50, 50), kp, 1, INTERACTING)
    draw_people(np.zeros((H, W, 3), np.uint8), [view])


def test_marker_anchor_follows_a_pinhole():
    # the image centre is on the optical axis; the right edge is at tan(hfov/2) * depth
    assert box_anchor((310, 240, 20, 100), W, H, 2.0, 90.0) == pytest.approx((0.0, 0.0, 2.0))
    x, y, z = box_anchor((630, 0, 20, 100), W, H, 2.0, 90.0)
    assert x == pytest.approx(2.0) and y == pytest.approx(-1.5) and z == 2.0
    assert box_height_m(320, W, 2.0, 90.0) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="image size"):
        box_anchor((0, 0, 1, 1), 0, H, 2.0, 60.0)


def test_marker_ids_are_stable_and_gone_tracks_are_deleted_once():
    ids = MarkerIds()
    first = ids.update(["7", "12"])
    assert first.ids == {"7": 0, "12": 1} and first.deleted == []
    second = ids.update(["12", "30"])
    assert second.ids == {"12": 1, "30": 2} and second.deleted == [0]
    assert ids.update(["12", "30"]).deleted == []
    assert sorted(ids.clear()) == [1, 2]


def test_stamp_pairer_pairs_either_order_and_drops_the_oldest():
    pairer: StampPairer[str, str] = StampPairer(2)
    assert pairer.add_a((1, 0), "img1") is None
    assert pairer.add_b((1, 0), "poses1") == ("img1", "poses1")
    assert pairer.add_b((2, 0), "poses2") is None
    assert pairer.add_a((2, 0), "img2") == ("img2", "poses2")
    for sec in (3, 4, 5):
        pairer.add_a((sec, 0), f"img{sec}")
    assert pairer.dropped == 1 and pairer.add_b((3, 0), "late") is None
    assert pairer.add_b((5, 0), "poses5") == ("img5", "poses5")
    with pytest.raises(ValueError, match="capacity"):
        StampPairer(0)


def test_roi_is_normalised_and_clipped():
    assert normalised_roi((64, 48, 320, 240), W, H) == pytest.approx((0.1, 0.1, 0.6, 0.6))
    assert normalised_roi((-10, 400, 700, 200), W, H) == pytest.approx((0.0, 400 / H, 1.0, 1.0))
    with pytest.raises(ValueError, match="positive width"):
        normalised_roi((0, 0, 0, 10), W, H)
    with pytest.raises(ValueError, match="image size"):
        normalised_roi((0, 0, 5, 10), 0, H)


def test_camera_names_make_body_ids_unique_per_camera():
    assert camera_namespaces("") == [""]
    assert camera_namespaces("front, /robot/back") == ["front", "/robot/back"]
    assert camera_name("/robot/back") == "robot_back"
    assert camera_track("front", "7") == "front_7" and camera_track("", "7") == "7"
    with pytest.raises(ValueError, match="empty entry"):
        camera_namespaces("front,,back")
    with pytest.raises(ValueError, match="twice"):
        camera_namespaces("a/b,a_b")


# -- launch, parameters, packaging ------------------------------------------------------------
def test_robot_launch_starts_the_annotator_only_when_asked(monkeypatch):
    from fake_launch import nodes_by_name, run_launch_file

    robot = ROOT / "launch" / "launch" / "robot.launch.py"
    actions, context = run_launch_file(robot, {}, monkeypatch)
    assert context.declared["annotate"] == "false"
    assert "annotator_node" not in nodes_by_name(actions)  # off by default: nothing runs
    given = {"annotate": "true", "image_topic": "/cam/front/image"}
    actions, _ = run_launch_file(robot, given, monkeypatch)
    node = nodes_by_name(actions)["annotator_node"]
    assert node.kwargs["executable"] == "annotator_node"
    remaps = dict(node.kwargs["remappings"])
    assert remaps["image"] == "/cam/front/image"
    assert remaps["image/compressed"] == "/cam/front/image/compressed"


def test_rviz_config_shows_the_annotated_image_and_markers_and_is_installed():
    config = yaml.safe_load((ROOT / "launch" / "config" / "socialego.rviz").read_text())
    displays = {d["Class"]: d for d in config["Visualization Manager"]["Displays"]}
    image = displays["rviz_default_plugins/Image"]["Topic"]["Value"]
    markers = displays["rviz_default_plugins/MarkerArray"]["Topic"]["Value"]
    assert image == topics.absolute(topics.ANNOTATED)
    assert markers == topics.absolute(topics.MARKERS)
    namespaces = displays["rviz_default_plugins/MarkerArray"]["Namespaces"]
    assert set(namespaces) == {BOX_NS, LABEL_NS}
    assert 'glob("config/*.rviz")' in (ROOT / "launch" / "setup.py").read_text()


def test_yaml_defaults_of_the_annotator_are_valid():
    data = yaml.safe_load((ROOT / "launch" / "config" / "socialego.yaml").read_text())
    values = data["/**/annotator_node"]["ros__parameters"]
    assert NODE_PARAMS["annotator_node"] is ANNOTATOR_PARAMS
    assert not validate_all(ANNOTATOR_PARAMS, values)
    assert values["publish_detections"] is False  # vision_msgs is optional


def test_tracked_lists_merge_the_cameras_seen_recently():
    frames = CameraFrames(forget_after_s=2.0)
    assert frames.update("front", ["bfront_7"], ["anonymous_bfront_7"], 10.0) == (
        ["bfront_7"],
        ["anonymous_bfront_7"],
    )
    bodies, persons = frames.update("back", ["bback_3"], ["alice"], 10.5)
    assert bodies == ["bback_3", "bfront_7"] and persons == ["alice", "anonymous_bfront_7"]
    # the same person seen by both cameras is listed once
    assert frames.update("front", ["bfront_7"], ["alice"], 11.0)[1] == ["alice"]
    # the back camera stopped: forgotten after forget_after_s
    assert frames.update("front", [], [], 13.0) == ([], [])
    assert "back" not in frames.frames
