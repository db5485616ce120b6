"""``socialego-train from-bag`` on camera bags: the pose node's own pipeline (MediaPipe backend
and tracker with the node's defaults) turns rendered frames into unlabelled tracks; raw and
compressed images, MCAP and sqlite3; frames written where the teacher and the label page read
them; a corrupt image is named by bag, topic and index."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from socialego_core.bags import messages as m
from socialego_core.bags.io import NS_PER_S, BagWriter, bag_topics, read_messages
from socialego_core.bags.typestore import COMPRESSED_IMAGE_TYPE
from socialego_core.pose_reader import clean_keypoints
from socialego_perception.conversions import image_to_rgb
from socialego_perception.params import POSE_PARAMS
from socialego_perception.pipeline import PosePipeline, default_pose_config, published_pose
from socialego_training.bags import split_to_bag
from socialego_training.data import load_split
from socialego_training.from_bag.dataset import FromBagConfig, build_dataset
from socialego_training.from_bag.people import ImagePeople, node_params_file, pose_settings
from socialego_training.from_bag.sources import InputError
from socialego_training.modalities.video import FrameReader

pytest.importorskip("mediapipe", reason="mediapipe not installed (requirements/runtime.txt)")


@pytest.fixture(scope="module")
def camera_bags(tmp_path_factory) -> list[Path]:
    from socialego_training.synthetic import generate_dataset

    root = tmp_path_factory.mktemp("synth") / "data"
    generate_dataset(root, 4, seed=7, splits=(0.5, 0, 0.5), duration_s=(2.0, 2.5), progress=False)
    folder = tmp_path_factory.mktemp("bags")
    raw, compressed = folder / "walk_raw", folder / "walk_jpeg"
    split_to_bag(root, "train", raw, progress=False)
    split_to_bag(root, "test", compressed, progress=False, storage="sqlite3", compressed=True)
    return [raw, compressed]


def _config(bags: list[Path], out: Path) -> FromBagConfig:
    return FromBagConfig(bags=bags, out=out, split=(0.5, 0, 0.5), min_frames=3, progress=False)


@pytest.fixture(scope="module")
def converted(camera_bags, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("converted") / "ds"
    return out, build_dataset(_config(camera_bags, out))


def test_camera_bags_become_tracks_with_the_pose_nodes_pipeline(camera_bags, converted):
    out, info = converted
    tracks = [t for s in ("train", "test") for t in load_split(out, s, unlabelled="keep").tracks]
    assert {t.video_name for t in tracks} == {"walk_raw", "walk_jpeg"}, "nobody found"
    assert not any(t.labelled for t in tracks)
    recs = {r["name"]: r for r in info["recordings"]}
    assert recs["walk_raw"]["kind"] == "raw" and recs["walk_jpeg"]["kind"] == "compressed"
    assert recs["walk_jpeg"]["topic"] == "/camera/image_raw/compressed"
    # the pose node's defaults, stored with the data
    assert info["source"]["pose_node_parameters"] == {s.name: s.default for s in POSE_PARAMS}
    assert info["source"]["tracker"]["iou_threshold"] == 0.3
    assert info["source"]["pose_pipeline"]["backend"] == "mediapipe"
    # every frame of the recording is on disk, in the teacher's layout
    for track in tracks:
        reader = FrameReader(out / "videos", track.video_name)
        frames = reader.read(sorted(track.frames))
        assert sorted(frames) == sorted(track.frames)
        height, width = next(iter(frames.values())).shape[:2]
        assert (width, height) == track.frame_size
        assert all(0 <= s <= 1 for s in track.scores.values())
    # the same code as the pose node: the raw recording's images through a fresh PosePipeline
    # (with the images' stamps as the backend's clock) give exactly the same keypoints
    pipeline = PosePipeline(default_pose_config())
    raw_tracks = {str(t.extra["track_id"]): t for t in tracks if t.video_name == "walk_raw"}

    seen = 0
    for frame_id, item in enumerate(read_messages(camera_bags[0], ["/camera/image_raw"])):
        rgb = image_to_rgb(item.message)
        for person in pipeline.process(rgb, stamp_s=item.log_time_ns / 1e9).people:
            kp, _, _ = published_pose(person)
            clean_keypoints(kp, rgb.shape[1], rgb.shape[0])
            track = raw_tracks.get(person.track_id)
            if track is not None and frame_id in track.frames:
                np.testing.assert_array_equal(track.frames[frame_id], kp)
                seen += 1
    pipeline.close()
    assert seen > 0


def test_an_interrupted_run_resumes_to_the_same_tracks_and_frames(
    camera_bags, converted, tmp_path, monkeypatch
):
    clean, _ = converted
    out = tmp_path / "resumed"
    real = ImagePeople.frame
    calls = {"n": 0}
    first = bag_topics(camera_bags[0])["/camera/image_raw"][1]

    def dies_in_the_second_recording(self, *args):
        calls["n"] += 1
        if calls["n"] == first + 7:
            raise KeyboardInterrupt
        return real(self, *args)

    monkeypatch.setattr(ImagePeople, "frame", dies_in_the_second_recording)
    with pytest.raises(KeyboardInterrupt):
        build_dataset(_config(camera_bags, out))
    assert len(list((out / "videos" / "walk_jpeg").iterdir())) == 6  # cut short
    monkeypatch.setattr(ImagePeople, "frame", real)
    info = build_dataset(_config(camera_bags, out))
    assert info["resumed_recordings"] == ["walk_raw"]
    files = sorted(p.relative_to(clean) for p in clean.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    for rel in files:
        if rel.name != "dataset.json":
            assert (clean / rel).read_bytes() == (out / rel).read_bytes(), rel


def test_a_corrupt_image_is_named_or_skipped(tmp_path):
    bag = tmp_path / "cam"
    topic = "/cam/image/compressed"
    good = tmp_path / "good.jpg"
    Image.fromarray(np.full((48, 64, 3), 90, np.uint8)).save(good)
    with BagWriter(bag) as writer:
        for i in range(5):
            t = (i + 1) * NS_PER_S // 10
            data = good.read_bytes() if i != 3 else b"\xff\xd8 not really a jpeg"
            msg = m.compressed_image(writer.typestore, data, "jpeg", t, "cam")
            writer.write(topic, COMPRESSED_IMAGE_TYPE, msg, t)
    config = FromBagConfig(bags=[bag], out=tmp_path / "a", progress=False)
    with pytest.raises(InputError, match=rf"bag .*cam, topic {topic}, message 3: image dropped"):
        build_dataset(config)
    config = FromBagConfig(bags=[bag], out=tmp_path / "b", progress=False, skip_bad=True)
    info = build_dataset(config)
    assert info["bad_input"] == 1 and info["recordings"][0]["frames"] == 4
    listed = json.loads((tmp_path / "b" / "dataset.json").read_text())["recordings"][0]
    assert listed["bad_input"][0]["index"] == 3
    assert sorted(p.name for p in (tmp_path / "b" / "videos" / "cam").iterdir()) == [
        f"{i:06d}.jpg" for i in range(4)
    ]


def test_pose_node_parameters_from_its_yaml_and_flags_are_validated(tmp_path):
    params = tmp_path / "robot.yaml"
    params.write_text(
        "/**/pose_node:\n  ros__parameters:\n    use_sim_time: true\n"
        "    min_detection_confidence: 0.6\n    tracker_hit_counter_max: 20\n"
    )
    values = node_params_file(str(params))
    assert values == {"min_detection_confidence": 0.6, "tracker_hit_counter_max": 20}
    settings = pose_settings(values | {"max_rate_hz": 5})
    assert settings["min_detection_confidence"] == 0.6 and settings["max_rate_hz"] == 5.0
    assert settings["backend"] == default_pose_config()["backend"]
    with pytest.raises(
        ValueError, match="unknown parameter 'nope'.*'min_detection_confidence' must be <= 1.0"
    ):
        pose_settings({"min_detection_confidence": 3, "nope": 1})
    # the launch's parameter file (every node in it): the pose node's section is found
    shipped = Path(__file__).resolve().parents[1] / "launch" / "config" / "socialego.yaml"
    assert pose_settings(node_params_file(str(shipped))) == default_pose_config()
