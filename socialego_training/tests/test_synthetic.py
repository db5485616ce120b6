"""Tests of the synthetic JPL-Social-format generator (socialego_training.synthetic)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from socialego_core.labels import (
    ATTITUDE_LABELS,
    INTENT_LABELS,
    JPL_ACTION_COUNTS,
    JPL_ACTION_LABELS,
    JPL_ACTION_PARENTS,
)
from socialego_training.synthetic import generate_dataset, plan_videos

SPLITS = ("train", "validation", "test")
TRACK_KEYS = {
    "video_name",
    "frame_size",
    "video_frames_number",
    "detected_frames_number",
    "person_id",
    "intention_class",
    "attitude_class",
    "action_class",
    "frames",
}
FRAME_KEYS = {"frame_id", "keypoints", "score", "box", "gaze"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("synth") / "data"
    summary = generate_dataset(root, 60, seed=7, render=True, progress=False)
    return root, summary


def _tracks(root: Path) -> dict[str, list[dict]]:
    return {
        s: [json.loads(p.read_text()) for p in sorted((root / s).glob("*.json"))] for s in SPLITS
    }


def _all_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_schema_labels_and_pixels(rendered):
    root, summary = rendered
    tracks = _tracks(root)
    assert sum(len(v) for v in tracks.values()) == 60 == summary["n_tracks"]
    missing_ids = 0
    for split, items in tracks.items():
        assert items, f"split {split} is empty"
        for track in items:
            assert set(track) == TRACK_KEYS
            width, height = track["frame_size"]
            assert (width, height) == (320, 240)
            action = JPL_ACTION_LABELS[track["action_class"]]
            intent, attitude = JPL_ACTION_PARENTS[action]
            assert INTENT_LABELS[track["intention_class"]] == intent
            assert ATTITUDE_LABELS[track["attitude_class"]] == attitude
            ids = [f["frame_id"] for f in track["frames"]]
            assert ids == sorted(set(ids)), "frame ids must be increasing and unique"
            assert 0 <= ids[0] and ids[-1] < track["video_frames_number"]
            assert track["detected_frames_number"] == len(ids) >= 5
            missing_ids += (ids[-1] - ids[0] + 1) - len(ids)
            for frame in track["frames"]:
                assert set(frame) == FRAME_KEYS
                kp = np.asarray(frame["keypoints"])
                assert kp.shape == (133, 3)
                assert (kp[:, 0] >= 0).all() and (kp[:, 0] <= width).all()
                assert (kp[:, 1] >= 0).all() and (kp[:, 1] <= height).all()
                assert (kp[:, 2] >= 0).all() and (kp[:, 2] <= 1).all()
                x, y, w, h = frame["box"]
                assert w > 0 and h > 0 and x >= 0 and y >= 0
                assert x + w <= width + 1 and y + h <= height + 1
                assert len(frame["gaze"]) == 4
                assert 0 < frame["score"] <= 1
    assert missing_ids > 0, "some tracks should miss frames (the loader repeats the previous)"


def test_detector_like_keypoints(rendered):
    """Scores vary per part (faces and hands less sure than the body), some joints dropped."""
    root, _ = rendered
    kp = np.concatenate(
        [
            np.asarray([f["keypoints"] for f in t["frames"]])
            for s in _tracks(root).values()
            for t in s
        ]
    )
    body, face, hands = kp[:, :17, 2], kp[:, 23:91, 2], kp[:, 91:, 2]
    assert body.mean() > face.mean() and body.mean() > hands.mean()
    assert (body < 0.1).mean() > 0.001, "no dropped body joints"
    assert (body > 0.5).mean() > 0.6


def test_splits_by_video_and_counts(rendered):
    root, summary = rendered
    tracks = _tracks(root)
    videos = {s: {t["video_name"] for t in items} for s, items in tracks.items()}
    assert not (videos["train"] & videos["test"] or videos["train"] & videos["validation"])
    assert not videos["validation"] & videos["test"]
    assert max(Counter(t["video_name"] for t in tracks["train"]).values()) >= 2, "multi-person"
    for split, items in tracks.items():
        counts = Counter(JPL_ACTION_LABELS[t["action_class"]] for t in items)
        assert summary["splits"][split]["action_counts"] == {
            a: counts.get(a, 0) for a in JPL_ACTION_LABELS
        }
    stored = json.loads((root / "dataset.json").read_text())
    assert stored["seed"] == 7 and stored["generator_version"] == summary["generator_version"]
    assert stored["fps"] == 10.0 and stored["frame_size"] == [320, 240]


def test_every_frame_is_rendered(rendered):
    from PIL import Image

    root, _ = rendered
    for items in _tracks(root).values():
        for track in items:
            folder = root / "videos" / track["video_name"]
            jpgs = sorted(folder.glob("*.jpg"))
            assert len(jpgs) == track["video_frames_number"]
            for frame in track["frames"]:
                assert (folder / f"{frame['frame_id']:06d}.jpg").is_file()
    image = Image.open(jpgs[0])
    assert image.size == (320, 240)
    pixels = np.asarray(image, dtype=np.float32)
    assert pixels.std() > 5, "frames should not be blank"


def test_class_proportions_follow_jpl_social():
    plan = plan_videos(2900, seed=3, splits=(0.6, 0.1, 0.3))
    counts = Counter(a for _, _, actions in plan for a in actions)
    for action, jpl in JPL_ACTION_COUNTS.items():
        assert counts[action] == jpl * 10, action
    per_split = Counter(split for split, _, actions in plan for _ in actions)
    assert per_split == {"train": 1740, "validation": 290, "test": 870}
    sizes = Counter(len(actions) for _, _, actions in plan)
    assert set(sizes) == {1, 2, 3}


def test_small_sets_keep_every_split_filled():
    plan = plan_videos(30, seed=0, splits=(0.6, 0.1, 0.3))
    per_split = Counter(split for split, _, actions in plan for _ in actions)
    assert per_split == {"train": 18, "validation": 3, "test": 9}


def test_deterministic_by_seed(tmp_path):
    first = generate_dataset(tmp_path / "a", 30, seed=11, render=True, progress=False)
    second = generate_dataset(tmp_path / "b", 30, seed=11, render=True, progress=False)
    assert first == second
    files_a, files_b = _all_files(tmp_path / "a"), _all_files(tmp_path / "b")
    assert files_a.keys() == files_b.keys()
    assert files_a == files_b
    generate_dataset(tmp_path / "c", 30, seed=12, render=False, progress=False)
    files_c = _all_files(tmp_path / "c")
    shared = [k for k in files_c if k.endswith(".json") and k in files_a and k != "dataset.json"]
    assert any(files_a[k] != files_c[k] for k in shared) or files_c.keys() != files_a.keys()
    tracks_a = [files_a[k] for k in sorted(files_a) if k.endswith(".json") and "/" in k]
    tracks_c = [files_c[k] for k in sorted(files_c) if k.endswith(".json") and "/" in k]
    assert tracks_a != tracks_c


def test_worker_count_does_not_change_output(tmp_path):
    generate_dataset(tmp_path / "one", 14, seed=5, render=False, progress=False, workers=1)
    generate_dataset(tmp_path / "two", 14, seed=5, render=False, progress=False, workers=2)
    assert _all_files(tmp_path / "one") == _all_files(tmp_path / "two")


def test_loader_reads_the_output(rendered):
    from socialego_training.data import load_split
    from socialego_training.datasets import STUDENT_SPEC, PoseWindowDataset

    root, summary = rendered
    for split in SPLITS:
        loaded = load_split(root, split)
        assert not loaded.bad_files
        assert len(loaded) == summary["splits"][split]["tracks"]
        data = PoseWindowDataset(loaded.tracks, STUDENT_SPEC)
        x, labels, _ = data[0]
        assert tuple(x.shape) == (10, 17, 3)
        assert float(x[..., :2].abs().max()) <= 0.5
        assert all(t.has_gaze for t in loaded.tracks)


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="n_tracks"):
        generate_dataset(tmp_path / "x", 0)
    with pytest.raises(ValueError, match="frame_size"):
        generate_dataset(tmp_path / "x", 5, frame_size=(10, 10))
    with pytest.raises(ValueError, match="splits"):
        generate_dataset(tmp_path / "x", 5, splits=(0.5, 0.5))
    generate_dataset(tmp_path / "y", 3, render=False, progress=False)
    with pytest.raises(FileExistsError, match="overwrite"):
        generate_dataset(tmp_path / "y", 3, render=False, progress=False)
    generate_dataset(tmp_path / "y", 4, render=False, progress=False, overwrite=True)
    assert len(list((tmp_path / "y").rglob("v*.json"))) == 4


def test_cli_synth_and_check(tmp_path, capsys):
    from socialego_training.cli import main

    out = tmp_path / "cli"
    args = ["synth", "--out", str(out), "--tracks", "40", "--seed", "2", "--no-render"]
    assert main(args + ["--fps", "15", "--frame-size", "400x300", "--splits", "0.5,0.2,0.3"]) == 0
    stored = json.loads((out / "dataset.json").read_text())
    assert stored["fps"] == 15.0 and stored["frame_size"] == [400, 300]
    assert not (out / "videos").exists()
    assert {s: v["tracks"] for s, v in stored["splits"].items()} == {
        "train": 20,
        "validation": 8,
        "test": 12,
    }
    png = tmp_path / "check.png"
    assert main(["synth-check", "--data-root", str(out), "--png", str(png)]) == 0
    assert png.stat().st_size > 1000
    text = capsys.readouterr().out
    for probe in ("trivial_mean_pose", "pose_only", "pose_face_hands_gaze"):
        assert probe in text
    assert main(args) == 1, "an existing dataset without --overwrite must be refused"


def test_too_short_videos_are_refused(tmp_path):
    with pytest.raises(ValueError, match="too short"):
        generate_dataset(tmp_path / "x", 5, fps=2.0, render=False, progress=False)


def test_body_model_left_right_faces_and_hands():
    """COCO left joints of a person facing the robot appear on the image's right; expression
    moves the mouth corners; fist, open and pointing hands differ in fingertip reach."""
    from socialego_training.synthetic.actions import Scene, perform
    from socialego_training.synthetic.body import (
        HAND_SHAPES,
        BodyShape,
        face_points_2d,
        hand_points,
        pose_to_points,
    )
    from socialego_training.synthetic.camera import Camera

    rng = np.random.default_rng(0)
    camera = Camera.sample(rng, 320, 240, 20, 10.0)
    shape = BodyShape.sample(rng)
    t = np.arange(20) / 10.0
    scene = Scene(rng, t, 10.0, shape, 160 / camera.focal, camera.position)
    pose = perform("Gaze", scene)
    pose.yaw[:] = np.arctan2(-pose.root[:, 0], -pose.root[:, 1])  # square on to the camera
    uv, _ = camera.project(pose_to_points(shape, pose).keypoints, np.arange(20))
    for left, right in ((5, 6), (11, 12), (1, 2), (91, 112)):
        assert (uv[:, left, 0] > uv[:, right, 0]).all(), (left, right)

    face = face_points_2d(np.array([1.0, -1.0]), np.zeros(2), np.zeros(2))
    corners = face[:, [48, 54], 1].mean(-1) - face[:, [51, 57], 1].mean(-1)
    assert corners[0] > corners[1] + 0.1  # y up: a smile lifts the corners above a frown's

    wrist = np.array([[0.0, 1.0, 0.0]])
    elbow = np.array([[0.0, 1.25, 0.0]])
    palm = np.array([[0.0, 0.0, 1.0]])

    def tips(shape_name: str) -> np.ndarray:
        curl = HAND_SHAPES[shape_name][None]
        points = hand_points(wrist, elbow, palm, curl, 0.19, is_left=False)[0]
        return np.linalg.norm(points[[4, 8, 12, 16, 20]] - points[0], axis=-1)

    assert tips("open").mean() > 1.3 * tips("fist").mean()
    pointing = tips("point")
    assert pointing[1] > 1.3 * pointing[2:].max()


def test_gaze_marks_who_looks_at_the_robot(rendered):
    """Mutual gaze is a short gaze vector; people ignoring the robot have long ones."""
    root, _ = rendered
    ratio = {"robot": [], "elsewhere": []}
    for items in _tracks(root).values():
        for track in items:
            action = JPL_ACTION_LABELS[track["action_class"]]
            frames = track["frames"][:10]
            gaze = np.array([f["gaze"] for f in frames])
            kp = np.array([f["keypoints"] for f in frames])
            torso = np.linalg.norm(kp[:, [5, 6], :2].mean(1) - kp[:, [11, 12], :2].mean(1), axis=1)
            length = np.linalg.norm(gaze[:, 2:] - gaze[:, :2], axis=1).mean() / np.median(torso)
            if action in ("Handshake", "Hug", "Wave", "Punch", "Throw"):
                ratio["robot"].append(length)
            elif action == "No_Response":
                ratio["elsewhere"].append(length)
    assert np.median(ratio["robot"]) * 2 < np.median(ratio["elsewhere"])
