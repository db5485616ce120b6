"""JPL-Social / HARPER loaders: schema variants, broken files, windows as the correct loader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sego_toydata import toy_track, write_toy_dataset
from socialego_core.window import WindowSpec
from socialego_training.data import DatasetError, load_split, load_track, summarise
from socialego_training.datasets import SOCIALEGONET_SPEC, PoseWindowDataset


def write(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_both_key_spellings_nested_layout_and_gaze(tmp_path: Path) -> None:
    root = write_toy_dataset(
        tmp_path / "a", {"train": 1}, nested=True, key="key points", gaze=True, splits=("train",)
    )
    result = load_split(root, "train")
    assert len(result.tracks) == 10 and result.bad_files == []
    track = result.tracks[0]
    assert track.path.parent.name == "pose_features"
    assert next(iter(track.frames.values())).shape == (133, 3)
    assert track.has_gaze and next(iter(track.gaze.values())).shape == (4,)
    flat = write_toy_dataset(tmp_path / "b", {"train": 1}, splits=("train",))
    plain = load_split(flat, "train").tracks[0]
    assert not plain.has_gaze and plain.frame_size == (640.0, 480.0)


def test_validation_alias_and_missing_split_named(tmp_path: Path) -> None:
    root = write_toy_dataset(tmp_path / "a", {"validation": 1}, splits=("validation",))
    assert len(load_split(root, "val").tracks) == 10
    with pytest.raises(DatasetError, match="split folder missing"):
        load_split(root, "test")


def test_harper_extra_event_fields_kept(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    track = toy_track(3, rng, "harper_v", 1)
    track["action_class"] = 5  # Punch in HARPER's 6 actions
    track.update(contact_class=1, walk_frame=3, interact_start_frame=7, interact_end_frame=12)
    write(tmp_path / "h" / "train" / "t.json", track)
    loaded = load_split(tmp_path / "h", "train", dataset="harper").tracks[0]
    assert loaded.action == 5
    assert loaded.extra["contact_class"] == 1 and loaded.extra["interact_end_frame"] == 12
    assert "video_frames_number" in loaded.extra
    track["action_class"] = 6  # out of HARPER's range
    write(tmp_path / "h" / "train" / "t.json", track)
    with pytest.raises(DatasetError, match="action_class=6 outside 0..5"):
        load_split(tmp_path / "h", "train", dataset="harper")


def broken_variants(rng: np.random.Generator) -> dict[str, tuple[object, str]]:
    good = toy_track(1, rng, "v", 0)
    missing = {k: v for k, v in good.items() if k != "attitude_class"}
    short = json.loads(json.dumps(good))
    short["frames"][2]["keypoints"] = short["frames"][2]["keypoints"][:17]
    empty = dict(good, frames=[])
    nan = json.loads(json.dumps(good))
    nan["frames"][0]["keypoints"][4][0] = float("nan")
    return {
        "invalid.json": ('{"video_name": "v", "frames": [', "invalid JSON"),
        "missing.json": (missing, "missing keys \\['attitude_class'\\]"),
        "short.json": (short, "expected 133 keypoints .* shape \\(17, 3\\)"),
        "empty.json": (empty, "frames is empty"),
        "nan.json": (json.dumps(nan), "NaN"),
    }


def test_each_broken_file_is_named_with_its_reason(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for name, (content, reason) in broken_variants(rng).items():
        path = write(tmp_path / name / "train" / name, content)
        with pytest.raises(DatasetError, match=reason) as info:
            load_split(tmp_path / name, "train")
        assert str(path) in str(info.value) and info.value.path == path


def test_skip_bad_lists_every_broken_file_and_keeps_the_good_ones(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    root = write_toy_dataset(tmp_path / "d", {"train": 1}, splits=("train",))
    variants = broken_variants(rng)
    for name, (content, _) in variants.items():
        write(root / "train" / name, content)
    with pytest.raises(DatasetError, match="skip_bad"):
        load_split(root, "train")
    result = load_split(root, "train", skip_bad=True)
    assert len(result.tracks) == 10
    assert sorted(b.path.name for b in result.bad_files) == sorted(variants)
    assert all(b.reason for b in result.bad_files)


def test_window_first_T_from_first_detection_gaps_and_tail_repeat(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    data = toy_track(2, rng, "v", 0, n_frames=6, first_frame=100, gaps=False)
    data["frames"].pop(2)  # frame 102 missing -> repeats 101
    path = write(tmp_path / "t.json", data)
    track = load_track(path)
    window = PoseWindowDataset([track], WindowSpec(length=8))[0][0].numpy()
    ids = [100, 101, 101, 103, 104, 105, 105, 105]  # gap filled by 101, tail by 105
    w, h = track.frame_size
    for t, fid in enumerate(ids):
        expected = track.frames[fid][:17].copy()
        expected[:, 0] = np.clip(expected[:, 0], 0, w) / w - 0.5
        expected[:, 1] = np.clip(expected[:, 1], 0, h) / h - 0.5
        np.testing.assert_allclose(window[t], expected, rtol=0, atol=1e-6)


def test_configurable_length_stride_joints_normalisation(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    track = load_track(
        write(tmp_path / "t.json", toy_track(0, rng, "v", 0, n_frames=20, gaps=False))
    )
    spec = WindowSpec(length=4, stride=3, joints=(0, 9, 10), normalisation="signed")
    x = PoseWindowDataset([track], spec)[0][0].numpy()
    assert x.shape == (4, 3, 3)
    fid = track.first_frame_id + 3  # second window frame with stride 3
    expected_x = 2 * (track.frames[fid][9, 0] / 640 - 0.5)
    assert x[1, 1, 0] == pytest.approx(expected_x, abs=1e-6)
    whole = PoseWindowDataset([track], SOCIALEGONET_SPEC)[0][0]
    assert whole.shape == (30, 133, 3)


def test_dataset_items_carry_labels_and_index(toy_root: Path) -> None:
    tracks = load_split(toy_root, "validation").tracks
    ds = PoseWindowDataset(tracks)
    x, y, i = ds[7]
    assert x.dtype == torch.float32 and x.shape == (10, 17, 3)
    assert y.dtype == torch.long and tuple(y.tolist()) == tracks[7].labels and i == 7
    summary = summarise(tracks)
    assert summary["tracks"] == 20 and sum(summary["action_counts"].values()) == 20


def test_unlabelled_tracks_left_out_kept_or_refused_and_half_labelled_named(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(0)
    labelled = toy_track(3, rng, "v", 1)
    unlabelled = dict(toy_track(3, rng, "v", 2), intention_class=None)
    unlabelled.update(attitude_class=None, action_class=None)
    write(tmp_path / "d" / "train" / "a.json", labelled)
    write(tmp_path / "d" / "train" / "b.json", unlabelled)
    skipped = load_split(tmp_path / "d", "train")
    assert [t.path.name for t in skipped.tracks] == ["a.json"]
    assert [p.name for p in skipped.unlabelled] == ["b.json"]
    kept = load_split(tmp_path / "d", "train", unlabelled="keep").tracks
    assert [t.labelled for t in kept] == [True, False] and kept[1].labels == (-1, -1, -1)
    assert summarise(kept)["tracks"] == 1  # class counts are over labelled tracks only
    with pytest.raises(DatasetError, match="b.json.*unlabelled"):
        load_split(tmp_path / "d", "train", unlabelled="error")
    write(tmp_path / "d" / "train" / "a.json", dict(labelled, attitude_class=None))
    with pytest.raises(DatasetError, match=r"a.json.*\['attitude_class'\] are null but not all"):
        load_split(tmp_path / "d", "train")
    (tmp_path / "d" / "train" / "a.json").unlink()
    with pytest.raises(DatasetError, match="all 1 tracks are unlabelled"):
        load_split(tmp_path / "d", "train")
