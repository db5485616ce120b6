"""Bag tools: a tiny split -> MCAP bag -> read back; scoring against hand-checked cases."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from socialego_core.bags import messages as m
from socialego_core.bags import typestore
from socialego_core.bags.calibration import published_calibration
from socialego_core.bags.evaluation import Forecast, TruthTrack
from socialego_core.bags.io import NS_PER_S, BagWriter, bag_topics, read_messages, stamp_to_ns
from socialego_core.bags.report import write_report
from socialego_core.bags.scoring import score_bag
from socialego_core.bags.typestore import (
    GROUND_TRUTH_POSES_TOPIC,
    GROUND_TRUTH_TOPIC,
    GROUND_TRUTH_TYPE,
    IMAGE_TOPIC,
    INTENTS_TOPIC,
    INTENTS_TYPE,
    MODEL_INFO_TOPIC,
    MODEL_INFO_TYPE,
    POSES_TOPIC,
    POSES_TYPE,
    find_msg_dir,
)
from socialego_core.calibration import Calibration, TaskCalibration, quality_adjusted, softmax
from socialego_core.calibration_measures import calibration_measures
from socialego_core.labels import JPL_SOCIAL, TASKS
from socialego_training.bags.cli import main as bag_cli
from socialego_training.bags.convert import DEFAULT_START_NS, split_to_bag, video_to_bag

FPS = 10.0
FRAME_NS = NS_PER_S // 10
W, H = 64, 48


# ---------------------------------------------------------------- a tiny split on disk
def _keypoints(x0: float, y0: float) -> list[list[float]]:
    kp = np.zeros((133, 3), dtype=float)
    kp[:17, 0] = x0 + np.arange(17) % 5
    kp[:17, 1] = y0 + np.arange(17)
    kp[:17, 2] = 0.9
    return kp.round(2).tolist()


def _track(video: str, person: int, labels: tuple[int, int, int], frame_ids, x0: float) -> dict:
    return {
        "video_name": video,
        "frame_size": [W, H],
        "video_frames_number": 12,
        "detected_frames_number": len(frame_ids),
        "person_id": person,
        "intention_class": labels[0],
        "attitude_class": labels[1],
        "action_class": labels[2],
        "frames": [
            {"frame_id": f, "keypoints": _keypoints(x0, 5), "score": 0.8, "box": [x0, 5, 5, 17]}
            for f in frame_ids
        ],
    }


def make_tiny_split(root: Path, frames: bool = True) -> Path:
    """v1: person 0 (frames 1-12, Wave) and person 1 (3-12 without 5, Leave); v2: person 0 (1-8)."""
    split = root / "test"
    split.mkdir(parents=True)
    tracks = [
        _track("v1", 0, (0, 0, 3), range(1, 13), 5.0),
        _track("v1", 1, (2, 2, 8), [f for f in range(3, 13) if f != 5], 40.0),
        _track("v2", 0, (1, 2, 7), range(1, 9), 20.0),
    ]
    for track in tracks:
        name = f"{track['video_name']}_{track['person_id']}.json"
        (split / name).write_text(json.dumps(track), encoding="utf-8")
    (root / "dataset.json").write_text(json.dumps({"fps": FPS}), encoding="utf-8")
    if frames:
        for video, count in (("v1", 12), ("v2", 8)):
            folder = root / "videos" / video
            folder.mkdir(parents=True)
            for frame_id in range(1, count + 1):
                rgb = np.full((H, W, 3), 10 * frame_id, dtype=np.uint8)
                Image.fromarray(rgb).save(folder / f"{frame_id:06d}.jpg", quality=95)
    return root


def test_core_bags_do_not_import_the_training_package():
    """The replay tool uses socialego_core.bags; it must not pull in the offline package."""
    code = (
        "import sys, pkgutil, importlib, socialego_core.bags as b; "
        "[importlib.import_module(f'{b.__name__}.{m.name}') "
        "for m in pkgutil.iter_modules(b.__path__)]; "
        "print(sorted(m for m in sys.modules if m.startswith('socialego_training')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_msg_dir_is_found_in_the_checkout():
    assert (find_msg_dir() / "SocialIntentArray.msg").is_file()


def test_msg_dir_is_found_in_an_installed_workspace(tmp_path, monkeypatch):
    """Installed (pip, Docker): no checkout around the module; the ament prefix has the files."""
    share = tmp_path / "prefix" / "share" / "socialego_msgs" / "msg"
    shutil.copytree(find_msg_dir(), share)
    monkeypatch.setattr(typestore, "__file__", str(tmp_path / "site" / "bags" / "typestore.py"))
    monkeypatch.delenv("SOCIALEGO_MSGS_DIR", raising=False)
    monkeypatch.setenv("AMENT_PREFIX_PATH", f"/nonexistent:{tmp_path / 'prefix'}")
    assert typestore.find_msg_dir() == share
    monkeypatch.setenv("AMENT_PREFIX_PATH", "/nonexistent")
    with pytest.raises(FileNotFoundError, match="SOCIALEGO_MSGS_DIR"):
        typestore.find_msg_dir()


def test_camera_split_to_bag_and_back(tmp_path):
    root = make_tiny_split(tmp_path / "data")
    summary = split_to_bag(root, "test", tmp_path / "bag", gap_s=1.0, progress=False)
    assert summary.images and summary.tracks == 3 and summary.videos == 2
    topics = bag_topics(tmp_path / "bag")
    # 12 frames of v1, 10 blank gap frames (1 s at 10 fps), 8 frames of v2
    assert topics[IMAGE_TOPIC] == ("sensor_msgs/msg/Image", 30)
    assert topics[GROUND_TRUTH_TOPIC] == (GROUND_TRUTH_TYPE, 20)
    assert topics[GROUND_TRUTH_POSES_TOPIC] == (POSES_TYPE, 20)
    assert POSES_TOPIC not in topics  # camera bags leave /socialego/poses to the pose node

    images = list(read_messages(tmp_path / "bag", [IMAGE_TOPIC]))
    stamps = [stamp_to_ns(i.message.header.stamp) for i in images]
    assert stamps == [DEFAULT_START_NS + k * FRAME_NS for k in range(30)]
    assert [i.log_time_ns for i in images] == stamps
    first = images[0].message
    assert (first.width, first.height, first.encoding, first.step) == (W, H, "rgb8", 3 * W)
    pixels = np.asarray(first.data).reshape(H, W, 3)
    assert abs(int(pixels.mean()) - 10) <= 2  # JPEG of a flat value-10 frame
    assert np.asarray(images[15].message.data).max() == 0  # a blank gap frame

    truth = list(read_messages(tmp_path / "bag", [GROUND_TRUTH_TOPIC]))
    people = {stamp_to_ns(t.message.header.stamp): t.message.people for t in truth}
    at_frame_4 = people[DEFAULT_START_NS + 3 * FRAME_NS]
    assert [p.track_id for p in at_frame_4] == ["v1/0", "v1/1"]
    assert [p.track_id for p in people[DEFAULT_START_NS + 4 * FRAME_NS]] == ["v1/0"]  # 5 missing
    leave = at_frame_4[1]
    assert (leave.intent, leave.attitude, leave.action) == (3, 3, 9)  # index + 1 on the wire
    assert (leave.intent_label, leave.action_label) == ("Not_Interested", "Leave")
    v2_start = DEFAULT_START_NS + 22 * FRAME_NS
    assert [p.track_id for p in people[v2_start]] == ["v2/0"]
    assert people[v2_start][0].attitude_label == "Not_Interacting"

    poses = {
        stamp_to_ns(p.message.header.stamp): p.message
        for p in read_messages(tmp_path / "bag", [GROUND_TRUTH_POSES_TOPIC])
    }
    pose = poses[v2_start].poses[0]
    assert pose.track_id == "v2/0" and pose.layout == m.LAYOUT_COCO_WHOLEBODY133
    assert len(pose.x) == 133 and pytest.approx(float(pose.x[0])) == 20.0
    assert (pose.bbox_x, pose.bbox_width) == (20.0, 5.0)


def test_compressed_images_in_a_sqlite3_bag(tmp_path):
    root = make_tiny_split(tmp_path / "data")
    bag = tmp_path / "bag"
    split_to_bag(root, "test", bag, progress=False, storage="sqlite3", compressed=True)
    assert list(bag.glob("*.db3")), "not a sqlite3 bag"
    topic = f"{IMAGE_TOPIC}/compressed"
    assert IMAGE_TOPIC not in bag_topics(bag)
    assert bag_topics(bag)[topic] == ("sensor_msgs/msg/CompressedImage", 30)
    first = next(read_messages(bag, [topic])).message
    assert first.format == "jpeg"
    with Image.open(io.BytesIO(bytes(first.data))) as image:
        assert image.size == (W, H)
        assert abs(int(np.asarray(image).mean()) - 10) <= 2


def test_scoring_in_a_namespace(tmp_path):
    write_hand_checked_bag(tmp_path / "root")
    write_hand_checked_bag(tmp_path / "ns", namespace="/robot1")
    assert "/robot1/socialego/intents" in bag_topics(tmp_path / "ns")
    expected = score_bag(tmp_path / "root").metrics
    assert score_bag(tmp_path / "ns", namespace="/robot1").metrics == expected
    assert score_bag(tmp_path / "ns", namespace="robot1/").metrics == expected
    with pytest.raises(ValueError, match="another namespace"):
        score_bag(tmp_path / "ns")
    with pytest.raises(ValueError, match="not a valid ROS name"):
        score_bag(tmp_path / "ns", namespace="/robot-1")


def test_poses_only_split_and_downscaled_images(tmp_path):
    root = make_tiny_split(tmp_path / "data", frames=False)
    summary = split_to_bag(root, "test", tmp_path / "poses", progress=False)
    assert not summary.images
    topics = bag_topics(tmp_path / "poses")
    assert IMAGE_TOPIC not in topics
    # 20 frames plus 10 empty heartbeat arrays in the gap
    assert topics[POSES_TOPIC] == (POSES_TYPE, 30)
    ids = {
        p.track_id
        for item in read_messages(tmp_path / "poses", [POSES_TOPIC])
        for p in item.message.poses
    }
    assert ids == {"v1/0", "v1/1", "v2/0"}

    root2 = make_tiny_split(tmp_path / "data2")
    split_to_bag(root2, "test", tmp_path / "small", max_width=32, progress=False)
    image = next(read_messages(tmp_path / "small", [IMAGE_TOPIC])).message
    assert (image.width, image.height) == (32, 24)
    gt_pose = next(read_messages(tmp_path / "small", [GROUND_TRUTH_POSES_TOPIC])).message.poses[0]
    assert gt_pose.bbox_x == pytest.approx(2.5)  # boxes scaled with the image


def test_conversion_errors_name_the_input(tmp_path):
    with pytest.raises(Exception, match="does not exist"):
        split_to_bag(tmp_path / "nothing", "test", tmp_path / "bag", progress=False)
    root = make_tiny_split(tmp_path / "data", frames=False)
    with pytest.raises(FileNotFoundError, match="no frames"):
        split_to_bag(root, "test", tmp_path / "bag", images=True, progress=False)
    (root / "test" / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="broken.json"):
        split_to_bag(root, "test", tmp_path / "bag2", progress=False)
    split_to_bag(make_tiny_split(tmp_path / "d3"), "test", tmp_path / "bag3", progress=False)
    with pytest.raises(FileExistsError, match="bag3"):
        split_to_bag(make_tiny_split(tmp_path / "d4"), "test", tmp_path / "bag3", progress=False)
    with pytest.raises(FileNotFoundError, match="video file"):
        video_to_bag(tmp_path / "missing.webm", tmp_path / "vbag", progress=False)


def test_video_to_bag_stamps_follow_the_video(tmp_path):
    av = pytest.importorskip("av", reason="PyAV (requirements/runtime.txt) decodes videos")
    video = tmp_path / "clip.webm"
    with av.open(str(video), "w") as container:
        stream = container.add_stream("libvpx-vp9", rate=20)
        stream.width, stream.height, stream.pix_fmt = 80, 60, "yuv420p"
        for k in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((60, 80, 3), 20 * k, np.uint8), "rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    summary = video_to_bag(video, tmp_path / "vbag", max_width=40, progress=False)
    images = [i.message for i in read_messages(tmp_path / "vbag", [IMAGE_TOPIC])]
    assert len(images) == 10 == summary.messages[IMAGE_TOPIC]
    assert (images[0].width, images[0].height) == (40, 30)
    steps = np.diff([stamp_to_ns(i.header.stamp) for i in images])
    assert np.allclose(steps, NS_PER_S / 20, atol=2e6)  # 20 fps
    half = video_to_bag(video, tmp_path / "half", fps=10, progress=False)
    assert half.messages[IMAGE_TOPIC] == 5


# ------------------------------------------------- hand-checked scoring of recorded outputs
T0 = DEFAULT_START_NS
MS = 1_000_000
# truth: (intent, attitude, action) indices of the JPL table
TRUTH = {
    "A": (0, 0, 3),  # Interacting, Positive, Wave
    "B": (2, 2, 9),  # Not_Interested, Not_Interacting, No_Response
    "C": (1, 2, 7),  # Interested, Not_Interacting, Gaze
    "D": (0, 1, 4),  # Interacting, Negative, Punch
    "E": (1, 2, 7),  # Interested, Not_Interacting, Gaze
}
VISIBLE_FROM = {"A": 0, "B": 0, "C": 0, "D": 3, "E": 0}  # frame index (100 ms frames), to 10
# forecasts: track -> [(frame index, intent, attitude, action)] as wire values (index + 1, 0 = ?)
FORECASTS = {
    "A": [(0, 0, 0, 0), (1, 2, 1, 4), (2, 1, 1, 4), (3, 1, 1, 4)],
    "B": [(0, 3, 3, 10), (1, 1, 1, 1)],
    "C": [],
    "D": [(5, 1, 2, 5)],
    "E": [(0, 2, 3, 8), (1, 2, 3, 8), (2, 2, 3, 8), (3, 3, 3, 9)],
}
LATENCY_MS = 30
# A's first known forecast comes from a half-observed window (frames_used < window length 10)
PARTIAL_WINDOWS = {("A", 1): 5}


def _social_intent(
    store, stamp: int, track: str, intent: int, attitude: int, action: int, frames_used: int = 10
):
    duration = store.types["builtin_interfaces/msg/Duration"](sec=0, nanosec=900 * MS)
    return store.types["socialego_msgs/msg/SocialIntent"](
        header=m.header(store, stamp, "camera"),
        track_id=track,
        person_id="",
        intent=intent,
        intent_probabilities=np.full(3, 1 / 3, np.float32),
        attitude=attitude,
        attitude_probabilities=np.full(3, 1 / 3, np.float32),
        action=action,
        action_label=JPL_SOCIAL.action[action - 1] if action else "",
        action_probabilities=np.full(10, 0.1, np.float32),
        observation_window=duration,
        frames_used=frames_used,
        input_quality=1.0,
        stale=False,
        model_version="abc123",
    )


def _model_info(store, metadata_json: str = "{}"):
    return store.types[MODEL_INFO_TYPE](
        header=m.header(store, T0, ""),
        model_name="SocialEgoMobile",
        model_version="abc123",
        dataset="jpl_social",
        intent_labels=list(JPL_SOCIAL.intent),
        attitude_labels=list(JPL_SOCIAL.attitude),
        action_labels=list(JPL_SOCIAL.action),
        layout=2,
        joints=np.arange(17, dtype=np.uint16),
        window_length=10,
        window_stride=1,
        source_fps=30.0,
        normalisation="centered",
        metadata_json=metadata_json,
    )


def write_hand_checked_bag(
    path: Path, storage: str = "mcap", metadata_json: str = "{}", namespace: str = ""
) -> None:
    """The hand-checked case; with ``namespace`` the outputs are recorded under it (the ground
    truth stays at the root, as an input bag holds it)."""
    ns = namespace.rstrip("/")
    with BagWriter(path, storage=storage) as bag:
        store = bag.typestore
        info = _model_info(store, metadata_json)
        bag.write(ns + MODEL_INFO_TOPIC, MODEL_INFO_TYPE, info, T0)
        for k in range(11):
            stamp = T0 + k * 100 * MS
            people = [
                m.person_labels(store, stamp, "camera", t, t, "v", JPL_SOCIAL, *TRUTH[t])
                for t in sorted(TRUTH)
                if k >= VISIBLE_FROM[t]
            ]
            bag.write(
                GROUND_TRUTH_TOPIC,
                GROUND_TRUTH_TYPE,
                m.labels_array(store, stamp, "c", people),
                stamp,
            )
            intents = [
                _social_intent(store, stamp, t, *f[1:], PARTIAL_WINDOWS.get((t, k), 10))
                for t in sorted(FORECASTS)
                for f in FORECASTS[t]
                if f[0] == k
            ]
            array = store.types[INTENTS_TYPE](header=m.header(store, stamp, "c"), intents=intents)
            bag.write(ns + INTENTS_TOPIC, INTENTS_TYPE, array, stamp + LATENCY_MS * MS)


def test_scores_match_the_hand_checked_case(tmp_path):
    write_hand_checked_bag(tmp_path / "out")
    result = score_bag(tmp_path / "out")
    metrics = result.metrics
    assert metrics["tracks"] == 5 and metrics["tracks_with_forecasts"] == 4
    assert metrics["forecasts"] == 11 and metrics["forecasts_matched"] == 11
    # final intents: A Interacting (right), B Interacting (wrong), C UNKNOWN, D Interacting (right),
    # E Not_Interested (wrong) -> 2/5. Weighted F1 by hand: Interacting P=2/3 R=1 F1=0.8 (support
    # 2); Interested F1=0 (2); Not_Interested F1=0 (1) -> 0.8*2/5 = 0.32.
    assert metrics["final"]["intent"]["accuracy"] == pytest.approx(0.4)
    assert metrics["final"]["intent"]["weighted_f1"] == pytest.approx(0.32)
    # majority: E becomes Interested (3 of 4); B ties 1-1 -> the latest (Interacting) -> 3/5.
    # Interacting F1 0.8 (2), Interested P=1 R=1/2 F1=2/3 (2), Not_Interested 0 -> 2.9333/5
    assert metrics["majority"]["intent"]["accuracy"] == pytest.approx(0.6)
    assert metrics["majority"]["intent"]["weighted_f1"] == pytest.approx((1.6 + 4 / 3) / 5)
    # attitude final: A Positive ok, B Positive wrong, C unknown, D Negative ok, E ok -> 3/5;
    # masked (truth not Not_Interacting: A and D) -> 2/2
    assert metrics["final"]["attitude"]["accuracy"] == pytest.approx(0.6)
    assert metrics["final"]["attitude_masked"] == {"n": 2, "accuracy": 1.0, "weighted_f1": 1.0}
    # action final: A Wave ok, B Handshake wrong, C -, D Punch ok, E Leave wrong -> 2/5
    assert metrics["final"]["action"]["accuracy"] == pytest.approx(0.4)
    assert metrics["majority"]["action"]["accuracy"] == pytest.approx(0.6)  # E -> Gaze
    # first decision on a full window: A Interacting (its Interested came from a half window),
    # B Not_Interested, C -, D Interacting, E Interested -> 4/5
    assert metrics["first_full"]["intent"]["accuracy"] == pytest.approx(0.8)
    assert result.decisions["first_full"]["intent"]["A"] == "Interacting"
    # every known published intent: A 2 of 3, B 1 of 2, D 1 of 1, E 3 of 4 -> 7/10
    assert metrics["per_message"]["intent"]["n"] == 10
    assert metrics["per_message"]["intent"]["accuracy"] == pytest.approx(0.7)
    # every matched message published uniform probabilities: NLL log C, Brier 1 - 1/C
    calibration = metrics["calibration"]
    assert calibration["intent"]["published"]["n"] == 11
    assert calibration["intent"]["published"]["nll"] == pytest.approx(np.log(3))
    assert calibration["intent"]["published"]["brier"] == pytest.approx(2 / 3)
    assert calibration["action"]["quality"]["nll"] == pytest.approx(np.log(10))

    intent_cm = result.confusion["intent"]
    assert intent_cm["labels"] == ["Interacting", "Interested", "Not_Interested", "UNKNOWN"]
    assert intent_cm["matrix"] == [[2, 0, 0, 0], [0, 0, 1, 1], [1, 0, 0, 0], [0, 0, 0, 0]]

    per_track = result.timing["per_track"]
    assert per_track["A"]["first_correct_intent_s"] == pytest.approx(0.2)
    assert per_track["A"]["first_decision_s"] == pytest.approx(0.1)  # 0.0 was UNKNOWN
    assert per_track["B"]["first_correct_intent_s"] == pytest.approx(0.0)
    assert per_track["B"]["stable_correct_intent_s"] is None
    assert per_track["C"]["first_correct_intent_s"] is None
    assert per_track["D"]["first_correct_intent_s"] == pytest.approx(
        0.2
    )  # seen at 0.3, right at 0.5
    assert result.timing["first_correct_intent"]["mean_s"] == pytest.approx(0.1)
    assert result.timing["share_ever_correct_intent"] == pytest.approx(0.8)

    latency = result.to_dict()["latency"][INTENTS_TOPIC]
    # heartbeats (empty arrays) are not timed: only the 5 stamps that carried forecasts
    assert latency["count"] == 5
    assert latency["mean_ms"] == pytest.approx(LATENCY_MS) and latency["max_ms"] == pytest.approx(
        30
    )


def test_report_and_cli(tmp_path, capsys):
    write_hand_checked_bag(tmp_path / "out")
    report = write_report(score_bag(tmp_path / "out"), tmp_path / "report")
    text = report.read_text(encoding="utf-8")
    assert "| final | 5 | 40.0 | 32.0 | 60.0 | 63.3 | 40.0 | 40.0 | 100.0 | 100.0 |" in text
    assert "| majority | 5 | 60.0 | 58.7 |" in text
    assert "| first full window | 5 | 80.0 |" in text
    assert "## Calibration of the published probabilities" in text
    # every message: attitude masked = A's 3 Positive + D's Negative, all right
    row = next(line for line in text.splitlines() if line.startswith("| every message |"))
    assert row.startswith("| every message | 10 | 70.0 | 70.0 |")
    assert row.endswith("| 100.0 | 100.0 |")
    for png in ("confusion.png", "intent_timeline.png", "latency.png"):
        assert (tmp_path / "report" / png).stat().st_size > 5000
    scores = json.loads((tmp_path / "report" / "scores.json").read_text(encoding="utf-8"))
    assert (
        scores["tracks"][0]["track_id"] == "A" and scores["tracks"][0]["final"]["action"] == "Wave"
    )

    assert bag_cli(["score", str(tmp_path / "out"), "--out", str(tmp_path / "cli")]) == 0
    assert "report:" in capsys.readouterr().out
    assert (tmp_path / "cli" / "report.md").is_file()
    assert bag_cli(["score", str(tmp_path / "nope"), "--out", str(tmp_path / "x")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_tracker_ids_are_matched_to_people_by_box(tmp_path):
    """Camera bags: the pose node's ids ("7", "8") differ from the labelled ids."""
    with BagWriter(tmp_path / "cam") as bag:
        store = bag.typestore
        for k in range(4):
            stamp = T0 + k * 100 * MS
            kp = np.zeros((17, 3), np.float32)
            gt = [
                m.whole_body_pose(store, stamp, "c", "left", kp, (W, H), [0, 0, 10, 20], 1.0, k),
                m.whole_body_pose(store, stamp, "c", "right", kp, (W, H), [40, 0, 10, 20], 1.0, k),
            ]
            bag.write(
                GROUND_TRUTH_POSES_TOPIC, POSES_TYPE, m.pose_array(store, stamp, "c", gt), stamp
            )
            people = [
                m.person_labels(store, stamp, "c", "left", "", "v", JPL_SOCIAL, 0, 0, 3),
                m.person_labels(store, stamp, "c", "right", "", "v", JPL_SOCIAL, 2, 2, 8),
            ]
            bag.write(
                GROUND_TRUTH_TOPIC,
                GROUND_TRUTH_TYPE,
                m.labels_array(store, stamp, "c", people),
                stamp,
            )
            # the tracker sees both until frame 2; at frame 3 it has lost "8" and has no box for "7"
            boxes = {"7": [39, 1, 10, 20], "8": [1, 0, 10, 19]} if k < 3 else {}
            predicted = [
                m.whole_body_pose(store, stamp, "c", tid, kp, (W, H), box, 1.0, k)
                for tid, box in boxes.items()
            ]
            bag.write(POSES_TOPIC, POSES_TYPE, m.pose_array(store, stamp, "c", predicted), stamp)
            # forecast stamps a little off the pose stamps (a float on the way rounds them)
            intents = [_social_intent(store, stamp + 700, "7", 3, 3, 9)]
            if k < 3:
                intents.append(_social_intent(store, stamp - 300, "8", 1, 1, 4))
            array = store.types[INTENTS_TYPE](header=m.header(store, stamp, "c"), intents=intents)
            bag.write(INTENTS_TOPIC, INTENTS_TYPE, array, stamp + 5 * MS)
    result = score_bag(tmp_path / "cam")
    assert result.metrics["matched_by"] == {"box": 6, "track history": 1}
    assert result.decisions["final"]["intent"] == {"left": "Interacting", "right": "Not_Interested"}
    assert result.metrics["final"]["intent"]["accuracy"] == 1.0
    assert result.to_dict()["latency"][POSES_TOPIC]["mean_ms"] == pytest.approx(0.0)


def test_scoring_needs_truth_and_outputs(tmp_path):
    write_hand_checked_bag(tmp_path / "out")
    root = make_tiny_split(tmp_path / "data", frames=False)
    split_to_bag(root, "test", tmp_path / "truth_only", progress=False)
    with pytest.raises(ValueError, match="no /socialego/intents"):
        score_bag(tmp_path / "truth_only")
    with BagWriter(tmp_path / "no_truth") as bag:
        bag.write(MODEL_INFO_TOPIC, MODEL_INFO_TYPE, _model_info(bag.typestore), T0)
    with pytest.raises(ValueError, match="no /socialego/ground_truth"):
        score_bag(tmp_path / "out", truth_bag=tmp_path / "no_truth")
    # the truth may come from another bag
    separate = score_bag(tmp_path / "out", truth_bag=tmp_path / "out")
    assert separate.metrics == score_bag(tmp_path / "out").metrics
    # bags recorded elsewhere may use the sqlite3 storage (ros2 bag's default before Iron)
    write_hand_checked_bag(tmp_path / "db3", storage="sqlite3")
    assert any(p.suffix == ".db3" for p in (tmp_path / "db3").iterdir())
    assert score_bag(tmp_path / "db3").metrics == separate.metrics


def test_latency_from_mismatched_clocks_is_not_reported(tmp_path):
    """`ros2 bag record` without --use-sim-time: wall receive times against bag-time stamps."""
    with BagWriter(tmp_path / "wall") as bag:
        store = bag.typestore
        people = [m.person_labels(store, T0, "c", "A", "", "v", JPL_SOCIAL, 0, 0, 3)]
        array = m.labels_array(store, T0, "c", people)
        bag.write(GROUND_TRUTH_TOPIC, GROUND_TRUTH_TYPE, array, T0)
        intents = store.types[INTENTS_TYPE](
            header=m.header(store, T0, "c"), intents=[_social_intent(store, T0, "A", 1, 1, 4)]
        )
        bag.write(INTENTS_TOPIC, INTENTS_TYPE, intents, T0 + 300 * 86_400 * NS_PER_S)
    result = score_bag(tmp_path / "wall")
    assert INTENTS_TOPIC not in result.latency_ms
    assert any("different clocks" in note for note in result.notes)
    assert result.metrics["final"]["intent"]["accuracy"] == 1.0


def test_report_measures_the_recorded_calibration_before_and_after(tmp_path):
    """A bag whose ModelInfo records a temperature calibration: the report adds the model's
    softmax behind the published probabilities (uniform stays uniform) and reliability PNGs."""
    calibration = Calibration(
        {t: TaskCalibration("temperature", {"temperature": 2.0}) for t in TASKS}
    )
    metadata = json.dumps({"calibration": calibration.to_metadata()})
    write_hand_checked_bag(tmp_path / "out", metadata_json=metadata)
    result = score_bag(tmp_path / "out")
    measures = result.metrics["calibration"]
    assert list(measures["intent"]) == ["uncalibrated", "published", "quality"]
    assert measures["intent"]["uncalibrated"]["nll"] == pytest.approx(np.log(3))
    assert "temperature" in result.metrics["calibration_model"]
    text = write_report(result, tmp_path / "report").read_text(encoding="utf-8")
    assert "| intent | uncalibrated | 11 |" in text and "| action | quality | 11 | - |" in text
    for task in TASKS:
        assert (tmp_path / "report" / f"reliability_{task}.png").read_bytes()[:4] == b"\x89PNG"


def test_published_calibration_recovers_the_uncalibrated_softmax():
    """Published = softmax(logits / T): the uncalibrated variant is softmax(logits) again; an
    isotonic calibration cannot be inverted and has no uncalibrated variant."""
    rng = np.random.default_rng(0)
    n = 200
    logits = {t: 3.0 * rng.normal(size=(n, len(JPL_SOCIAL.labels(t)))) for t in TASKS}
    y = {t: rng.integers(0, logits[t].shape[1], n) for t in TASKS}
    temperature = Calibration(
        {t: TaskCalibration("temperature", {"temperature": 1.5 + i}) for i, t in enumerate(TASKS)}
    )
    truth, forecasts = {}, []
    for k in range(n):
        labels = {t: JPL_SOCIAL.labels(t)[y[t][k]] for t in TASKS}
        truth[str(k)] = TruthTrack(str(k), "v", "jpl_social", labels, [0])
        probabilities = {t: temperature.apply(t, logits[t][k : k + 1])[0] for t in TASKS}
        forecasts.append(
            Forecast(0, 0, str(k), {}, k % 5 == 0, 0.5, 10, str(k), "id", probabilities)
        )
    names = {t: list(JPL_SOCIAL.labels(t)) for t in TASKS}
    measured = published_calibration(forecasts, truth, names, temperature)
    for task in TASKS:
        raw = calibration_measures(softmax(logits[task]), y[task])
        published = calibration_measures(temperature.apply(task, logits[task]), y[task])
        for key in ("ece", "nll", "brier"):
            assert measured[task]["uncalibrated"][key] == pytest.approx(raw[key], abs=1e-5)
            assert measured[task]["published"][key] == pytest.approx(published[key], abs=1e-6)
        stale = np.array([k % 5 == 0 for k in range(n)])
        discounted = quality_adjusted(temperature.apply(task, logits[task]), 0.5, stale)
        assert measured[task]["quality"]["nll"] == pytest.approx(
            calibration_measures(discounted, y[task])["nll"], abs=1e-6
        )
    isotonic = Calibration(
        {"intent": TaskCalibration("isotonic", {"x": [[0.0, 1.0]] * 3, "y": [[0.0, 1.0]] * 3})}
    )
    measured = published_calibration(forecasts, truth, names, isotonic)
    assert "uncalibrated" not in measured["intent"] and "published" in measured["intent"]
