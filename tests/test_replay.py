"""Bag replay through the real node executables (colcon install), recorded outputs scored.

A tiny synthetic split is converted to a bag, played under simulated time through the intent
node (pose bag) or the pose + intent nodes (camera bag) by ``socialego_inference.bag_replay``,
and the scores it writes are checked against an independent recomputation from the recorded bag.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest
from rosnode_harness import require_ros
from socialego_core.bags.io import bag_topics, read_messages, stamp_to_ns
from socialego_core.labels import JPL_SOCIAL
from socialego_training.bags import split_to_bag
from socialego_training.data import load_split

INTENTS = "/socialego/intents"
POSES = "/socialego/poses"


def _synthetic_split(root: Path, tracks: int, seed: int, render: bool) -> Path:
    from socialego_training.synthetic import generate_dataset

    generate_dataset(
        root,
        n_tracks=tracks,
        seed=seed,
        render=render,
        splits=(0, 0, 1),
        duration_s=(2.0, 2.5),
        progress=False,
    )
    return root


def _replay(bag: Path, out: Path, report: Path, ros_env: dict, *extra: str) -> str:
    cmd = [
        sys.executable,
        "-m",
        "socialego_inference.bag_replay",
        str(bag),
        "--start-nodes",
        "--out",
        str(out),
        "--score",
        str(report),
        "--node-log",
        str(out.parent / "nodes.log"),
        "--wait-timeout",
        "90",
        *extra,
    ]
    result = subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, env=ros_env, check=False
    )
    log = (out.parent / "nodes.log").read_text(encoding="utf-8", errors="replace")
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n--- nodes ---\n{log[-3000:]}"
    return result.stdout


def _final_decisions(out: Path) -> dict[str, str]:
    """Independent re-computation: the last known, non-stale intent decision per track."""
    info = next(read_messages(out, ["/socialego/model_info"])).message
    last: dict[str, tuple[int, str]] = {}
    last_any: dict[str, tuple[int, str]] = {}
    for item in read_messages(out, [INTENTS]):
        for intent in item.message.intents:
            if intent.intent == 0:
                continue
            entry = (stamp_to_ns(intent.header.stamp), info.intent_labels[intent.intent - 1])
            last_any[intent.track_id] = max(last_any.get(intent.track_id, entry), entry)
            if not intent.stale:
                last[intent.track_id] = max(last.get(intent.track_id, entry), entry)
    return {track: (last.get(track) or last_any[track])[1] for track in last_any}


def test_pose_bag_replayed_through_the_intent_node_is_scored(tmp_path, ros_env):
    require_ros(("socialego_inference", "socialego_all"))
    root = _synthetic_split(tmp_path / "data", tracks=3, seed=11, render=False)
    bag = tmp_path / "poses_bag"
    split_to_bag(root, "test", bag, progress=False)
    out, report = tmp_path / "run" / "outputs", tmp_path / "run" / "report"
    stdout = _replay(bag, out, report, ros_env, "--rate", "2", "--tail", "1")
    assert "report:" in stdout

    # the outputs copy the input headers and are never received before their input (sim time)
    pose_stamps = {stamp_to_ns(m.message.header.stamp) for m in read_messages(bag, [POSES])}
    arrays = [m for m in read_messages(out, [INTENTS]) if m.message.intents]
    assert arrays, "the intent node published no forecast"
    for item in arrays:
        stamp = stamp_to_ns(item.message.header.stamp)
        assert stamp in pose_stamps
        assert item.log_time_ns >= stamp
        assert {stamp_to_ns(i.header.stamp) for i in item.message.intents} <= pose_stamps
    model_info = list(read_messages(out, ["/socialego/model_info"]))
    assert len(model_info) == 1 and model_info[0].message.intent_labels == list(JPL_SOCIAL.intent)
    # the ground truth travels with the outputs
    truth_tracks = {
        p.track_id
        for m in read_messages(out, ["/socialego/ground_truth"])
        for p in m.message.people
    }
    split = load_split(root, "test").tracks
    labels = {f"{t.video_name}/{t.person_id}": JPL_SOCIAL.intent[t.intent] for t in split}
    assert truth_tracks == set(labels)

    scores = json.loads((report / "scores.json").read_text(encoding="utf-8"))
    metrics = scores["metrics"]
    forecasts = sum(len(m.message.intents) for m in read_messages(out, [INTENTS]))
    assert metrics["tracks"] == 3 and metrics["forecasts"] == forecasts
    assert metrics["matched_by"] == {"track_id": forecasts}  # pose bags keep the labelled ids
    assert scores["latency"][INTENTS]["count"] == len(arrays)
    # scores agree with the independent recomputation
    final = _final_decisions(out)
    reported = {row["track_id"]: row["final"]["intent"] for row in scores["tracks"]}
    expected = {track: final.get(track, "UNKNOWN") for track in labels}
    assert reported == expected
    accuracy = np.mean([expected[t] == labels[t] for t in labels])
    assert metrics["final"]["intent"]["accuracy"] == pytest.approx(accuracy)
    assert (report / "report.md").is_file() and (report / "intent_timeline.png").is_file()


def test_camera_bag_replayed_through_pose_and_intent_nodes(tmp_path, ros_env):
    require_ros(("socialego_inference", "socialego_all"))
    root = _synthetic_split(tmp_path / "data", tracks=2, seed=7, render=True)
    bag = tmp_path / "camera_bag"
    split_to_bag(root, "test", bag, progress=False)
    out, report = tmp_path / "run" / "outputs", tmp_path / "run" / "report"
    video = tmp_path / "annotated.mp4"
    stdout = _replay(bag, out, report, ros_env, "--tail", "1", "--lockstep", "--video", str(video))

    image_stamps = {
        stamp_to_ns(m.message.header.stamp) for m in read_messages(bag, ["/camera/image_raw"])
    }
    poses = list(read_messages(out, [POSES]))
    assert poses, "the pose node published nothing"
    assert {stamp_to_ns(m.message.header.stamp) for m in poses} <= image_stamps
    people = sum(len(m.message.poses) for m in poses)
    assert people > 0, "the pose node found nobody in the rendered frames"
    scores = json.loads((report / "scores.json").read_text(encoding="utf-8"))
    # the tracker's ids are not the labelled ids: the forecasts are matched by box overlap
    assert scores["metrics"]["forecasts_matched"] > 0
    assert scores["metrics"]["matched_by"].get("box", 0) > 0
    assert scores["latency"][POSES]["count"] == len(poses)
    per_track = defaultdict(int)
    for item in read_messages(out, [INTENTS]):
        for intent in item.message.intents:
            per_track[intent.track_id] += 1
    assert per_track, "no forecasts"
    # --video: one annotated frame per image the pose node answered, at the bag's image size
    with av.open(str(video)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert f"video: {len(frames)} annotated frames" in stdout
    assert len(frames) == len(poses)
    first = next(read_messages(bag, ["/camera/image_raw"])).message
    assert frames[0].shape[:2] == (first.height - first.height % 2, first.width - first.width % 2)


def test_compressed_camera_bag_in_a_namespace_replayed_end_to_end(tmp_path, ros_env):
    """A bag of JPEG CompressedImage (not the raw topic the nodes listened to by default) is
    found by its type, the pose node started on it, and the nodes run in a namespace: the
    outputs are recorded and scored under it."""
    require_ros(("socialego_inference", "socialego_all"))
    root = _synthetic_split(tmp_path / "data", tracks=2, seed=7, render=True)
    bag = tmp_path / "jpeg_bag"
    split_to_bag(root, "test", bag, progress=False, compressed=True)
    compressed = "/camera/image_raw/compressed"
    assert bag_topics(bag)[compressed][0] == "sensor_msgs/msg/CompressedImage"
    assert "/camera/image_raw" not in bag_topics(bag)
    out, report = tmp_path / "run" / "outputs", tmp_path / "run" / "report"
    _replay(bag, out, report, ros_env, "--tail", "1", "--lockstep", "--namespace", "/robot1")

    recorded = bag_topics(out)
    assert "/robot1/socialego/intents" in recorded and "/socialego/intents" not in recorded
    image_stamps = {stamp_to_ns(m.message.header.stamp) for m in read_messages(bag, [compressed])}
    poses = list(read_messages(out, ["/robot1/socialego/poses"]))
    assert poses, "the pose node published nothing on the compressed images"
    assert {stamp_to_ns(m.message.header.stamp) for m in poses} <= image_stamps
    assert sum(len(m.message.poses) for m in poses) > 0
    scores = json.loads((report / "scores.json").read_text(encoding="utf-8"))
    assert scores["metrics"]["forecasts_matched"] > 0


def test_a_camera_choice_the_bag_lacks_fails_at_once_naming_its_topics(tmp_path, ros_env):
    require_ros(("socialego_inference", "socialego_all"))
    root = _synthetic_split(tmp_path / "data", tracks=1, seed=3, render=True)
    bag = tmp_path / "jpeg_bag"
    split_to_bag(root, "test", bag, progress=False, compressed=True)
    for extra, expected in (
        (["--input-type", "raw"], "has no raw image topic"),
        (["--image-topic", "/other/image"], "has no camera image topic /other/image"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "socialego_inference.bag_replay", str(bag), *extra],
            capture_output=True,
            text=True,
            timeout=60,
            env=ros_env,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        assert expected in result.stderr
        assert "/camera/image_raw/compressed (sensor_msgs/msg/CompressedImage)" in result.stderr


def test_intent_table_shows_decisions_and_undecided_guesses():
    from rich.console import Console
    from socialego_inference.intent_table import IntentTable

    def stamp(t: float) -> SimpleNamespace:
        return SimpleNamespace(sec=int(t), nanosec=int((t % 1) * 1e9))

    def intent(track: str, t: float, decision: int, probs: list[float]) -> SimpleNamespace:
        return SimpleNamespace(
            header=SimpleNamespace(stamp=stamp(t)),
            track_id=track,
            intent=decision,
            intent_probabilities=probs,
            attitude=3,
            attitude_probabilities=[0.1, 0.1, 0.8],
            action=0,
            action_label="",
            action_probabilities=[0.05] * 9 + [0.55],
            input_quality=0.9,
            frames_used=10,
            stale=False,
        )

    table = IntentTable(forget_after_s=3.0)
    table.set_model_info(
        SimpleNamespace(
            intent_labels=list(JPL_SOCIAL.intent),
            attitude_labels=list(JPL_SOCIAL.attitude),
            action_labels=list(JPL_SOCIAL.action),
            model_name="SocialEgoMobile",
            model_version="abc",
        )
    )
    table.update(
        SimpleNamespace(
            header=SimpleNamespace(stamp=stamp(10)),
            intents=[
                intent("7", 10.0, 2, [0.2, 0.7, 0.1]),
                intent("9", 10.0, 0, [0.5, 0.2, 0.3]),
            ],
        )
    )
    table.update(
        SimpleNamespace(
            header=SimpleNamespace(stamp=stamp(14)),
            intents=[
                intent("9", 14.0, 0, [0.5, 0.2, 0.3]),
            ],
        )
    )
    console = Console(width=120, record=True)
    console.print(table.render())
    text = console.export_text()
    row7 = next(line for line in text.splitlines() if "│ 7" in line)
    row9 = next(line for line in text.splitlines() if "│ 9" in line)
    assert "Interested 0.70" in row7 and "Not_Interacting 0.80" in row7
    assert "No_Response? 0.55" in row7  # action undecided: top guess, marked
    assert "gone" in row7  # last seen 4 s before the newest stamp
    assert "Interacting? 0.50" in row9 and "live" in row9


def test_replay_without_nodes_fails_with_a_clear_message(tmp_path, ros_env):
    require_ros(("socialego_inference", "socialego_all"))
    root = _synthetic_split(tmp_path / "data", tracks=1, seed=3, render=False)
    split_to_bag(root, "test", tmp_path / "bag", progress=False)
    cmd = [
        sys.executable,
        "-m",
        "socialego_inference.bag_replay",
        str(tmp_path / "bag"),
        "--out",
        str(tmp_path / "out"),
        "--wait-timeout",
        "2",
    ]
    result = subprocess.run(
        cmd, capture_output=True, text=True, timeout=60, env=ros_env, check=False
    )
    assert result.returncode == 1
    assert "gave up after 2 s waiting for a subscriber on /socialego/poses" in result.stderr
    assert "a publisher on /socialego/intents" in result.stderr
    assert not (tmp_path / "out").exists()  # no empty output bag left behind
    missing = subprocess.run(
        [sys.executable, "-m", "socialego_inference.bag_replay", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=60,
        env=ros_env,
        check=False,
    )
    assert missing.returncode == 2 and "does not exist" in missing.stderr
