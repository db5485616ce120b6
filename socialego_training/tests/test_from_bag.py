"""``socialego-train from-bag`` on recorded poses (no ROS, no pose backend needed): schema the
loader reads, poses kept exactly, split by recording, broken input named, resume.
The image path (pose backend + tracker) is tested in tests/test_from_bag_images.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from socialego_core.bags import messages as m
from socialego_core.bags.io import NS_PER_S, BagWriter, bag_topics
from socialego_core.bags.typestore import IMAGE_TYPE, POSES_TOPIC, POSES_TYPE
from socialego_training.bags.convert import split_to_bag
from socialego_training.cli import main as train_cli
from socialego_training.data import SPLITS, load_split
from socialego_training.from_bag import dataset as from_bag
from socialego_training.from_bag.dataset import FromBagConfig, assign_splits, build_dataset
from socialego_training.from_bag.sources import InputError, choose_topic
from socialego_training.synthetic import generate_dataset


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "data"
    generate_dataset(root, 24, seed=5, render=False, progress=False)
    return root


@pytest.fixture(scope="module")
def pose_bags(source, tmp_path_factory) -> list[Path]:
    """Three recordings of recorded poses: two MCAP, one sqlite3."""
    folder = tmp_path_factory.mktemp("bags")
    bags = []
    for split, storage in zip(SPLITS, ("mcap", "sqlite3", "mcap")):
        bag = folder / f"rec_{split}"
        split_to_bag(source, split, bag, images=False, progress=False, storage=storage)
        bags.append(bag)
    return bags


def _config(bags, out, **kw) -> FromBagConfig:
    return FromBagConfig(
        bags=bags, out=out, poses_topic=POSES_TOPIC, min_frames=1, progress=False, **kw
    )


def _with(cfg: FromBagConfig, **changes) -> FromBagConfig:
    for key, value in changes.items():
        setattr(cfg, key, value)
    return cfg


def _tracks(root: Path) -> dict[str, list]:
    return {s: load_split(root, s, unlabelled="keep").tracks for s in SPLITS}


def test_recorded_poses_become_unlabelled_tracks_kept_exactly(source, pose_bags, tmp_path):
    out = tmp_path / "ds"
    info = build_dataset(_config(pose_bags, out))
    made = _tracks(out)
    every = [t for ts in made.values() for t in ts]
    assert every and not any(t.labelled for t in every)
    assert all(t.labels == (-1, -1, -1) for t in every)
    # the default loader leaves unlabelled tracks out and says which
    with pytest.raises(ValueError, match="unlabelled"):
        load_split(out, made_split(made), unlabelled="skip")
    # split by recording: each recording's tracks lie in one split only
    splits_of = {}
    for split, tracks in made.items():
        for t in tracks:
            splits_of.setdefault(t.video_name, set()).add(split)
    assert all(len(s) == 1 for s in splits_of.values())
    assert sorted(splits_of) == ["rec_test", "rec_train", "rec_validation"]
    # every source track comes back with its keypoints, boxes and scores exactly
    originals = {
        f"{t.video_name}/{t.person_id}": t for s in SPLITS for t in load_split(source, s).tracks
    }
    assert len(every) == len(originals) == info["n_tracks"]
    for track in every:
        original = originals[track.extra["track_id"]]
        ids = sorted(original.frames)
        assert len(track.frames) == len(ids)
        for new_id, old_id in zip(sorted(track.frames), ids):
            np.testing.assert_array_equal(
                track.frames[new_id], original.frames[old_id].astype(np.float32)
            )
            np.testing.assert_array_equal(track.boxes[new_id], original.boxes[old_id])
            assert track.scores[new_id] == pytest.approx(original.scores[old_id], abs=1e-6)
    # provenance
    assert info["complete"] and info["source"]["kind"] == "poses"
    assert info["labelled"] is False and info["label_table"]["dataset"] == "jpl_social"
    recs = {r["name"]: r for r in info["recordings"]}
    assert recs["rec_train"]["topic"] == POSES_TOPIC
    assert len(info["settings"]["recordings"][0]["metadata_sha256"]) == 64
    assert info["fps"] == pytest.approx(10.0)
    assert json.loads((out / "dataset.json").read_text())["splits"] == info["splits"]


def made_split(made: dict[str, list]) -> str:
    return next(s for s, ts in made.items() if ts)


def test_short_tracks_are_dropped_and_counted(pose_bags, tmp_path):
    info = build_dataset(_with(_config(pose_bags, tmp_path / "ds"), min_frames=36))
    kept = [t for ts in _tracks_or_empty(tmp_path / "ds").values() for t in ts]
    assert all(len(t.frames) >= 36 for t in kept)
    assert info["dropped_short_tracks"] > 0
    assert info["dropped_short_tracks"] + info["n_tracks"] == 24


def _tracks_or_empty(root: Path) -> dict[str, list]:
    out = {}
    for s in SPLITS:
        try:
            out[s] = load_split(root, s, unlabelled="keep").tracks
        except ValueError:
            out[s] = []
    return out


def test_fps_keeps_at_most_that_many_frames_a_second(pose_bags, tmp_path):
    info = build_dataset(_with(_config(pose_bags[:1], tmp_path / "ds"), fps=5.0))
    rec = info["recordings"][0]
    assert rec["frames"] == (rec["messages"] + 1) // 2  # every other pose array of 10 fps
    assert rec["frames_skipped_by_fps"] == rec["messages"] - rec["frames"]
    assert info["fps"] == pytest.approx(5.0)
    for track in load_split(tmp_path / "ds", "train", unlabelled="keep").tracks:
        stamps = [f["stamp_ns"] for f in json.loads(track.path.read_text())["frames"]]
        assert all(b - a >= NS_PER_S // 5 for a, b in zip(stamps, stamps[1:]))


def test_split_assignment_is_by_recording_and_seeded():
    names = [f"r{i}" for i in range(10)]
    a = assign_splits(names, (0.7, 0.15, 0.15), seed=0)
    assert sorted(a) == names
    assert [list(a.values()).count(s) for s in SPLITS] == [7, 2, 1]
    assert a == assign_splits(names, (0.7, 0.15, 0.15), seed=0)
    assert a != assign_splits(names, (0.7, 0.15, 0.15), seed=1)
    three = assign_splits(["a", "b", "c"], (0.7, 0.15, 0.15), seed=0)
    assert sorted(three.values()) == ["test", "train", "validation"]
    assert set(assign_splits(["a"], (0.7, 0.15, 0.15), seed=0).values()) == {"train"}


def test_resume_after_an_interrupted_run_gives_the_same_output(pose_bags, tmp_path, monkeypatch):
    clean = tmp_path / "clean"
    build_dataset(_config(pose_bags, clean))
    resumed = tmp_path / "resumed"
    real = from_bag.recorded_people
    calls = {"n": 0}
    first = bag_topics(pose_bags[0])[POSES_TOPIC][1]

    def dies_in_the_second_recording(item):
        calls["n"] += 1
        if calls["n"] == first + 5:  # in the second recording
            raise KeyboardInterrupt
        return real(item)

    monkeypatch.setattr(from_bag, "recorded_people", dies_in_the_second_recording)
    with pytest.raises(KeyboardInterrupt):
        build_dataset(_config(pose_bags, resumed))
    monkeypatch.setattr(from_bag, "recorded_people", real)
    info = json.loads((resumed / "dataset.json").read_text())
    assert info["complete"] is False
    info = build_dataset(_config(pose_bags, resumed))
    assert info["resumed_recordings"] == ["rec_train"]
    files = sorted(p.relative_to(clean) for p in clean.rglob("*.json") if p.name != "dataset.json")
    assert files == sorted(
        p.relative_to(resumed) for p in resumed.rglob("*.json") if p.name != "dataset.json"
    )
    for rel in files:
        assert (clean / rel).read_bytes() == (resumed / rel).read_bytes(), rel
    a = json.loads((clean / "dataset.json").read_text())
    b = json.loads((resumed / "dataset.json").read_text())
    for key in ("created", "resumed_recordings"):
        a.pop(key), b.pop(key)
    assert a == b
    # other settings, or another dataset's folder, are refused instead of mixing two datasets
    with pytest.raises(FileExistsError, match="min_frames"):
        build_dataset(_with(_config(pose_bags, resumed), min_frames=5))
    (resumed / "dataset.json").unlink()
    with pytest.raises(FileExistsError, match="track files but no dataset.json"):
        build_dataset(_config(pose_bags, resumed))
    build_dataset(_with(_config(pose_bags, resumed), overwrite=True))
    assert (resumed / "dataset.json").is_file()


def test_broken_bags_and_messages_are_named(pose_bags, tmp_path):
    broken = tmp_path / "broken_bag"
    broken.mkdir()
    (broken / "metadata.yaml").write_text("rosbag2_bagfile_information: {version: 9}\n")
    with pytest.raises(InputError, match="bag .*broken_bag.*cannot open"):
        build_dataset(_config([pose_bags[0], broken], tmp_path / "a"))
    info = build_dataset(_with(_config([pose_bags[0], broken], tmp_path / "b"), skip_bad=True))
    assert info["bad_input"] == 1 and info["n_tracks"] > 0
    # a message that does not decode: named by bag, topic and index
    bag = tmp_path / "garbled"
    with BagWriter(bag) as writer:
        for i in range(4):
            t = (i + 1) * NS_PER_S // 10
            if i == 2:
                writer.write_raw(POSES_TOPIC, POSES_TYPE, b"\x00\x01garbage", t)
            else:
                writer.write(POSES_TOPIC, POSES_TYPE, m.pose_array(writer.typestore, t, "c", []), t)
    with pytest.raises(
        InputError, match=rf"garbled, topic {POSES_TOPIC}, message 2: cannot decode"
    ):
        build_dataset(_config([bag], tmp_path / "c"))
    info = build_dataset(_with(_config([bag], tmp_path / "d"), skip_bad=True))
    assert info["bad_input"] == 1
    assert info["recordings"][0]["bad_input"][0]["index"] == 2
    # a bag damaged inside (its compressed chunks): named with the topic and where it stopped
    damaged = tmp_path / "damaged"
    shutil.copytree(pose_bags[0], damaged)
    mcap = next(damaged.glob("*.mcap"))
    data = bytearray(mcap.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 200] = bytes(200)
    mcap.write_bytes(bytes(data))
    where = rf"bag .*damaged, topic {POSES_TOPIC}, message \d+: cannot (read further|decode)"
    with pytest.raises(InputError, match=where):
        build_dataset(_config([damaged], tmp_path / "e"))


def test_image_topic_is_found_or_the_candidates_listed(tmp_path):
    bag = tmp_path / "two_cameras"
    rgb = np.zeros((16, 16, 3), np.uint8)
    with BagWriter(bag) as writer:
        for topic in ("/front/image_raw", "/back/image_raw"):
            writer.write(topic, IMAGE_TYPE, m.image_rgb8(writer.typestore, rgb, 1, "c"), 1)
    with pytest.raises(InputError, match="2 image topics.*/back/image_raw, /front/image_raw"):
        choose_topic(bag)
    assert choose_topic(bag, "/back/image_raw").kind == "raw"
    with pytest.raises(InputError, match="no topic /nope; the bag has: /back/image_raw"):
        choose_topic(bag, "/nope")
    with pytest.raises(InputError, match="no topic /socialego/poses"):
        choose_topic(bag, poses_topic=POSES_TOPIC)


def test_cli_summary_and_errors(pose_bags, tmp_path, capsys):
    out = tmp_path / "ds"
    args = ["from-bag", *map(str, pose_bags), "--out", str(out), "--poses-topic", "--no-progress"]
    assert train_cli(args + ["--min-frames", "1"]) == 0
    text = capsys.readouterr().out
    assert "24 unlabelled tracks from 3 recordings" in text and "socialego-label" in text
    assert train_cli(args + ["--min-frames", "1"]) == 0  # complete: everything reused
    assert "resumed: 3 recordings were already done" in capsys.readouterr().out
    assert train_cli(["from-bag", str(tmp_path / "nothing"), "--out", str(out)]) == 1
    assert "bag" in capsys.readouterr().err
