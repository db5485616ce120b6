"""The whole own-data loop on generated data, every step through its user-facing command:

rendered people (``socialego-train synth``'s generator) -> camera bags (``socialego-bag
from-split``, images) -> ``socialego-train from-bag`` (the pose node's own pipeline) -> every track
labelled through ``socialego-label`` in headless Chromium -> ``socialego-train train / evaluate /
export`` -> the intent node (its own process, over DDS) loads the exported artifact and publishes
intents with its version and label names.

The labels are the generator's: each from-bag track is matched to a generated person by box
overlap on the same images (``socialego_core.bags.matching``, as the bag scorer matches), and the
page is given that person's action (intent and attitude follow the label table's nesting).

Skips only without Debian's chromium and chromium-driver (``.ci/run`` installs them); a missing
pose backend or ROS workspace fails it.
"""

from __future__ import annotations

import array
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# the label page's browser helpers live beside the page's own test
sys.path.insert(0, str(ROOT / "socialego_training" / "tests"))

from sego_labelpage import (  # noqa: E402 - needs the path above
    BROWSER_MISSING,
    BROWSER_PRESENT,
    chrome,
    free_port,
    label_all,
    start_label_server,
)
from socialego_core.artifact import load_artifact  # noqa: E402
from socialego_core.bags.matching import match_boxes  # noqa: E402
from socialego_core.bags.reading import read_truth  # noqa: E402
from socialego_core.labels import JPL_ACTION_PARENTS, TASKS, get_label_table  # noqa: E402
from socialego_training.bags.cli import main as bag_cli  # noqa: E402
from socialego_training.cli import main as train_cli  # noqa: E402
from socialego_training.data import SPLITS, content_sha256, load_split  # noqa: E402
from socialego_training.from_bag.dataset import assign_splits  # noqa: E402
from socialego_training.synthetic import generate_dataset  # noqa: E402
from test_intent_node import PARAMS, intent_node_env, stamp_of  # noqa: E402

pytestmark = pytest.mark.skipif(not BROWSER_PRESENT, reason=BROWSER_MISSING)

TABLE = get_label_table("jpl_social")
# one recording (bag) per generated split
RECORDINGS = {"train": "hall_morning", "validation": "hall_noon", "test": "hall_evening"}
FROM_BAG_SPLIT = (0.7, 0.15, 0.15)  # from-bag's default
MIN_OVERLAP = 0.5  # box overlap (intersection over the smaller box) that matches a person


def make_camera_bags(tmp: Path) -> list[Path]:
    """A small rendered set (several videos, several actions), one camera bag per split."""
    generated = tmp / "generated"
    generate_dataset(
        generated, 18, seed=8, splits=(0.5, 0.25, 0.25), duration_s=(2.2, 2.6), progress=False
    )
    bags = []
    for split, name in RECORDINGS.items():
        bag = tmp / "bags" / name
        command = ["from-split", str(generated), "--split", split, "--out", str(bag)]
        if split == "test":
            command.append("--compressed")  # JPEG bags are read as well
        assert bag_cli(command) == 0
        bags.append(bag)
    return bags


def bags_to_dataset(bags: list[Path], out: Path) -> None:
    """``socialego-train from-bag``, with the seed whose shuffle puts each recording back into
    the split it was generated for."""
    names = [bag.name for bag in bags]
    wanted = {name: split for split, name in RECORDINGS.items()}
    seed = next(s for s in range(100) if assign_splits(names, FROM_BAG_SPLIT, s) == wanted)
    command = ["from-bag", *map(str, bags), "--out", str(out), "--seed", str(seed)]
    command += ["--split", ",".join(map(str, FROM_BAG_SPLIT)), "--no-progress"]
    assert train_cli(command) == 0
    for split in SPLITS:
        tracks = load_split(out, split, unlabelled="keep").tracks
        assert tracks, f"from-bag found nobody in {split}"
        assert not any(t.labelled for t in tracks)


def track_files(root: Path) -> dict[str, Path]:
    """Track file stem -> path, over every split."""
    return {p.stem: p for split in SPLITS for p in sorted((root / split).glob("*.json"))}


def generated_actions(root: Path, bags: list[Path]) -> dict[str, str]:
    """Each from-bag track's action, from the generated person it overlaps on most images."""
    files = track_files(root)
    actions: dict[str, str] = {}
    for bag in bags:
        truth, truth_boxes = read_truth(bag)
        pose_boxes: dict[int, dict[str, tuple]] = defaultdict(dict)
        frames_of: dict[str, int] = {}
        for name, path in files.items():
            data = json.loads(path.read_text())
            if data["video_name"] != bag.name:
                continue
            frames_of[name] = len(data["frames"])
            for frame in data["frames"]:
                pose_boxes[int(frame["stamp_ns"])][name] = tuple(frame["box"])
        votes: dict[str, Counter] = defaultdict(Counter)
        for (_, name), truth_id in match_boxes(pose_boxes, truth_boxes, MIN_OVERLAP).items():
            votes[name][truth_id] += 1
        for name, n_frames in frames_of.items():
            assert votes[name], f"{name}: no generated person under its boxes"
            truth_id, hits = votes[name].most_common(1)[0]
            assert hits >= n_frames / 2, f"{name}: matches {truth_id} on {hits}/{n_frames} frames"
            actions[name] = truth[truth_id].labels["action"]
    return actions


def action_key(action: str) -> str:
    """The page's key of an action: 1 ... 9, 0 in the label table's order."""
    return str((TABLE.action.index(action) + 1) % 10)


def label_through_the_page(root: Path, actions: dict[str, str], log: Path) -> int:
    """Answer every track of every split by keyboard in headless Chromium."""
    driver = chrome()
    answered = 0
    try:
        for split in SPLITS:
            port = free_port()
            server = start_label_server(root, port, log, split=split)
            try:
                driver.get(f"http://127.0.0.1:{port}/")
                answered += label_all(driver, lambda name: action_key(actions[name]))
            finally:
                server.terminate()
                server.wait(10)
    finally:
        driver.quit()
    return answered


def pose_msg(track_id: str, t: float, kp, size: tuple[int, int]):
    from socialego_msgs.msg import WholeBodyPose

    msg = WholeBodyPose()
    msg.header.stamp = stamp_of(t)
    msg.header.frame_id = "camera"
    msg.track_id = track_id
    msg.layout = WholeBodyPose.LAYOUT_COCO_WHOLEBODY133
    msg.image_width, msg.image_height = (int(v) for v in size)
    msg.x = array.array("f", kp[:, 0].tolist())
    msg.y = array.array("f", kp[:, 1].tolist())
    msg.score = array.array("f", kp[:, 2].tolist())
    msg.track_state = WholeBodyPose.TRACK_STATE_CONFIRMED
    return msg


def replay_tracks(ros, tracks, fps: float) -> None:
    """The tracks' poses, frame by frame at their own rate (gaps kept), stamped with wall time."""
    from socialego_msgs.msg import WholeBodyPoseArray

    first = min(min(t.frames) for t in tracks)
    frame_ids = range(first, max(max(t.frames) for t in tracks) + 1)
    t0 = time.time()
    for i, frame_id in enumerate(frame_ids):
        t = t0 + i / fps
        msg = WholeBodyPoseArray()
        msg.header.stamp = stamp_of(t)
        msg.header.frame_id = "camera"
        msg.poses = [
            pose_msg(track.path.stem, t, track.frames[frame_id], track.frame_size)
            for track in tracks
            if frame_id in track.frames
        ]
        ros["pub"].publish(msg)
        ros["client"].spin_for(max(0.0, t0 + (i + 1) / fps - time.time()))


def train_args(data: Path, run: Path) -> list[str]:
    """``socialego-train train`` with explicit small settings (not the recipe's defaults)."""
    args = [
        "train",
        "--data-root",
        str(data),
        "--out-dir",
        str(run),
        "--epochs",
        "6",
        "--min-steps",
        "750",
    ]
    return args + ["--batch-size", "8", "--threads", "1", "--device", "cpu", "--progress", "false"]


def train_evaluate_export(data: Path, tmp: Path) -> tuple[Path, dict]:
    """``socialego-train train / evaluate / export``; returns the artifact and its metadata."""
    run = tmp / "run"
    assert train_cli(train_args(data, run)) == 0
    report = tmp / "report"
    evaluate = ["evaluate", "--model", str(run), "--data-root", str(data), "--split", "test"]
    assert train_cli(evaluate + ["--out", str(report), "--device", "cpu"]) == 0
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["n"] == len(load_split(data, "test").tracks)
    for task in TASKS:
        assert 0.0 <= metrics[f"{task}_acc"] <= 1.0
        assert (report / f"confusion_{task}.png").stat().st_size > 0
    assert "action acc" in (report / "metrics.md").read_text()
    artifact = tmp / "hallway_model.pt"
    export = ["export", "--model", str(run), "--out", str(artifact), "--data-root", str(data)]
    assert train_cli(export) == 0
    return artifact, load_artifact(artifact)["metadata"]


def test_recordings_to_labels_to_a_deployed_model(tmp_path: Path, capsys):
    # 1. recordings: camera bags of rendered people; 2. bag -> unlabelled dataset
    bags = make_camera_bags(tmp_path)
    data = tmp_path / "hallway"
    bags_to_dataset(bags, data)
    files = track_files(data)

    # nothing labelled yet: training refuses, naming why
    capsys.readouterr()
    assert train_cli(train_args(data, tmp_path / "refused")) == 1
    assert "unlabelled" in capsys.readouterr().err
    assert not (tmp_path / "refused" / "best.pt").exists()

    # 3. every track labelled through the page, with the generated person's action
    actions = generated_actions(data, bags)
    assert sorted(actions) == sorted(files)
    assert len(set(actions.values())) >= 3, f"too few actions to learn from: {actions}"
    assert label_through_the_page(data, actions, tmp_path / "label.log") == len(files)
    labelled = {s: load_split(data, s).tracks for s in SPLITS}  # the loader's default: labelled
    assert sum(len(ts) for ts in labelled.values()) == len(files)
    for track in (t for ts in labelled.values() for t in ts):
        action = actions[track.path.stem]
        names = (TABLE.intent[track.intent], TABLE.attitude[track.attitude])
        assert (*names, TABLE.action[track.action]) == (*JPL_ACTION_PARENTS[action], action)

    # 4. train, 5. evaluate on the labelled test split, 6. export
    artifact, meta = train_evaluate_export(data, tmp_path)
    trained_on = [t.path for s in ("train", "validation") for t in labelled[s]]
    assert meta["training_data"]["name"] == "hallway"
    assert meta["training_data"]["content_sha256"] == content_sha256(data, trained_on)
    assert meta["training_data"]["train"]["tracks"] == len(labelled["train"])
    assert meta["metrics"]["test"]["n"] == len(labelled["test"])
    assert str(data) not in json.dumps(meta), "the artifact records where the data lay"

    # 7. the intent node loads the new model and publishes with its labels
    with intent_node_env(PARAMS | {"model_path": str(artifact)}) as ros:
        assert ros["client"].spin_until(lambda: len(ros["info"]) > 0, 20), ros["node"].log()
        info = ros["info"][-1]
        assert info.model_version == meta["version"]
        assert info.model_name == meta["model"] and info.dataset == "jpl_social"
        assert tuple(info.action_labels) == TABLE.action
        assert tuple(info.intent_labels) == TABLE.intent
        deployed = json.loads(info.metadata_json)["training_data"]
        assert deployed["content_sha256"] == meta["training_data"]["content_sha256"]
        start = len(ros["intents"])
        replay_tracks(ros, labelled["test"], float(meta["window_spec"]["source_fps"]))
        ros["client"].spin_for(0.5)
        intents = [i for msg in ros["intents"][start:] for i in msg.intents]
    assert {i.track_id for i in intents} == {t.path.stem for t in labelled["test"]}
    assert any(i.frames_used == info.window_length for i in intents), "no full window"
    for intent in intents:
        assert intent.model_version == meta["version"]
        assert len(intent.action_probabilities) == len(TABLE.action)
        assert sum(intent.action_probabilities) == pytest.approx(1.0, abs=1e-4)
        if intent.action:
            assert intent.action_label == TABLE.action[intent.action - 1]
