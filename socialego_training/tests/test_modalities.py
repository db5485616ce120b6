"""Teacher inputs: window alignment with the student, heatmaps, gaze fallback, crops, cache."""

import os
import sys

import numpy as np
import pytest
import torch
from socialego_core.window import WindowSpec, build_window
from socialego_training.modalities import (
    GAZE_HEAD,
    GAZE_TARGET,
    ModalityConfig,
    build_modalities,
    modality_cache_key,
    render_heatmaps,
    track_frames,
    track_modalities,
    window_source_ids,
)

from socialego_training import modalities

cv2 = pytest.importorskip("cv2", reason="OpenCV missing: pip install 'socialego-training[teacher]'")

torch.set_num_threads(1)
W, H = 320, 240
PERSON_COLOR = (200, 30, 60)  # RGB


def make_track(frame_ids, gaze=True, video="vid"):
    """A person standing in a box around x 100..140, y 60..180, nose at (120, 70)."""
    frames, gazes = {}, {}
    for fid in frame_ids:
        kp = np.zeros((133, 3), dtype=np.float32)
        kp[:, 0] = np.linspace(100, 140, 133) + fid  # moves right 1 px per frame
        kp[:, 1] = np.linspace(60, 180, 133)
        kp[:, 2] = 0.9
        kp[0] = (120 + fid, 70, 1.0)  # nose
        frames[fid] = kp
        if gaze:
            gazes[fid] = np.array([120 + fid, 68, 600, 68], dtype=np.float32)  # looks far right
    return {"video_name": video, "frame_size": (W, H), "frames": frames, "gaze": gazes}


def write_frames(videos_dir, name, frame_ids):
    folder = videos_dir / name
    folder.mkdir(parents=True)
    for fid in frame_ids:
        image = np.zeros((H, W, 3), dtype=np.uint8)
        image[60:180, 100 + fid : 140 + fid] = PERSON_COLOR
        cv2.imwrite(str(folder / f"{fid:06d}.jpg"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))


def small_cfg(**kw):
    base = dict(crop_size=32, heatmap_size=8, window=WindowSpec(length=4))
    base.update(kw)
    return ModalityConfig(**base)


def test_window_ids_follow_the_student_window_rules():
    spec = WindowSpec(length=6, stride=2)
    ids = [5, 7, 8, 13]
    got = window_source_ids(ids, spec)
    # targets 5 7 9 11 13 15: 9 and 11 are gaps (repeat the slot before: 7), 15 is past the end
    assert got == [5, 7, 7, 7, 13, 13]
    # same frames as the student's window
    frames = {i: np.full((133, 3), float(i), dtype=np.float32) for i in ids}
    student = build_window(frames, 1000, 1000, spec).keypoints[:, 0, 2]
    assert np.allclose(student, got)


def test_heatmaps_peak_at_keypoints_weighted_by_confidence():
    points = np.zeros((1, 1, 135, 3), dtype=np.float32)
    points[0, 0, 0] = (2.0, 5.0, 1.0)  # body nose at grid (x=2, y=5)
    points[0, 0, 23] = (6.0, 1.0, 0.5)  # first face point, half confidence
    maps = render_heatmaps(points, size=8, sigma=0.6)
    assert maps["body"].shape == (1, 17, 1, 8, 8)
    assert maps["face"].shape == (1, 68, 1, 8, 8)
    assert maps["hand"].shape == (1, 42, 1, 8, 8)
    assert maps["gaze"].shape == (1, 2, 1, 8, 8)
    nose = maps["body"][0, 0, 0]
    assert nose.max() == pytest.approx(1.0)
    assert divmod(int(nose.argmax()), 8) == (5, 2)  # (row y, col x)
    assert maps["face"][0, 0, 0].max() == pytest.approx(0.5)
    assert maps["body"][0, 1].abs().sum() == 0  # zero-score joints give empty channels


def test_gaze_channels_and_nose_fallback():
    cfg = small_cfg()
    with_gaze, _ = track_modalities(make_track(range(4)), None, small_cfg(missing_rgb="zeros"))
    head, target = with_gaze[0, GAZE_HEAD], with_gaze[0, GAZE_TARGET]
    assert head[2] == 1.0 and target[2] == 1.0
    # the far-away target is pulled back onto the right border along the (horizontal) ray
    assert target[0] == pytest.approx(cfg.heatmap_size - 1, abs=1e-4)
    assert target[1] == pytest.approx(head[1], abs=1e-4)
    no_gaze, _ = track_modalities(
        make_track(range(4), gaze=False), None, small_cfg(missing_rgb="zeros")
    )
    assert np.allclose(no_gaze[:, GAZE_HEAD], no_gaze[:, 0])  # nose
    assert np.all(no_gaze[:, GAZE_TARGET] == 0)
    maps = render_heatmaps(no_gaze[None], size=8)
    assert maps["gaze"][0, 1].abs().sum() == 0 and maps["gaze"][0, 0].abs().sum() > 0


def test_crops_come_from_the_frame_folder_and_follow_the_person(tmp_path):
    videos = tmp_path / "videos"
    write_frames(videos, "vid", range(4))
    cfg = small_cfg()
    points, crops = track_modalities(make_track(range(4)), videos, cfg)
    assert crops.shape == (4, 32, 32, 3) and crops.dtype == np.uint8
    center = crops[:, 12:20, 14:18].reshape(-1, 3).mean(axis=0)
    assert np.allclose(center, PERSON_COLOR, atol=25)
    corner = crops[:, :2, :2].reshape(-1, 3).mean(axis=0)
    assert corner.max() < 30  # background around the person


def test_crops_from_a_video_file_match_the_frame_folder(tmp_path):
    videos = tmp_path / "videos"
    write_frames(videos, "vid", range(4))
    path = tmp_path / "mp4" / "vid.avi"
    path.parent.mkdir()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (W, H))
    for fid in range(4):
        writer.write(cv2.imread(str(videos / "vid" / f"{fid:06d}.jpg")))
    writer.release()
    cfg = small_cfg()
    _, from_folder = track_modalities(make_track(range(4)), videos, cfg)
    _, from_video = track_modalities(make_track(range(4)), path.parent, cfg)
    assert np.abs(from_folder.astype(int) - from_video.astype(int)).mean() < 8


def test_missing_video_is_a_clear_error_unless_zeros_are_allowed(tmp_path):
    track = make_track(range(4), video="absent")
    with pytest.raises(FileNotFoundError, match="absent"):
        track_modalities(track, tmp_path, small_cfg())
    _, crops = track_modalities(track, tmp_path, small_cfg(missing_rgb="zeros"))
    assert crops.sum() == 0


def test_track_keypoints_must_be_wholebody():
    track = make_track(range(2))
    track["frames"][0] = np.zeros((17, 3))
    with pytest.raises(ValueError, match="133"):
        track_frames(track)


def test_modality_cache_is_keyed_by_files_and_config(tmp_path, monkeypatch):
    videos = tmp_path / "videos"
    write_frames(videos, "vid", range(4))
    files = []
    for i in range(2):
        f = tmp_path / f"track{i}.json"
        f.write_text("{}")
        files.append(f)
    cfg = small_cfg()
    key = modality_cache_key(files, cfg)
    assert modality_cache_key(files, small_cfg(sigma=1.0)) != key
    assert modality_cache_key(files[:1], cfg) != key
    st = os.stat(files[0])
    os.utime(files[0], ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert modality_cache_key(files, cfg) != key

    tracks = [make_track(range(4)), make_track(range(4))]
    first = build_modalities(tracks, videos, cfg, files, cache_dir=tmp_path / "c", progress=False)
    assert len(list((tmp_path / "c").glob("modalities-*.npz"))) == 1

    # a second build reads the cache: nothing is recomputed
    def no_recompute(*args, **kwargs):
        raise AssertionError("recomputed despite a valid cache")

    monkeypatch.setattr(modalities, "track_modalities", no_recompute)
    again = build_modalities(tracks, videos, cfg, files, cache_dir=tmp_path / "c", progress=False)
    assert np.array_equal(first.crops, again.crops) and first.key == again.key
    batch = again.batch([1, 0])
    assert batch["rgb"].shape == (2, 3, 4, 32, 32)
    assert batch["body"].shape == (2, 17, 4, 8, 8)
    monkeypatch.undo()
    # another videos folder misses the cache
    with pytest.raises(FileNotFoundError):
        build_modalities(tracks, tmp_path / "v2", cfg, files, tmp_path / "c", progress=False)
    # a changed dataset file misses the cache and recomputes (and now finds no frames)
    for jpg in (videos / "vid").glob("*.jpg"):
        jpg.unlink()
    files[1].write_text("{ }")
    with pytest.raises(FileNotFoundError):
        build_modalities(tracks, videos, cfg, files, cache_dir=tmp_path / "c", progress=False)


def test_low_confidence_outliers_do_not_blow_up_the_crop_box():
    track = make_track(range(4))
    for kp in track["frames"].values():
        kp[100] = (5.0, 5.0, 0.02)  # a far, low-score guess
    cfg = small_cfg(missing_rgb="zeros")
    clean, _ = track_modalities(make_track(range(4)), None, cfg)
    noisy, _ = track_modalities(track, None, cfg)
    # the box (hence the grid coordinates of the body) is the same
    assert np.allclose(clean[:, :17], noisy[:, :17], atol=1e-4)


def test_missing_opencv_names_what_to_install(monkeypatch) -> None:
    from socialego_training.modalities import import_cv2

    monkeypatch.setitem(sys.modules, "cv2", None)  # makes `import cv2` raise ImportError
    with pytest.raises(ImportError, match=r"socialego-training\[teacher\]"):
        import_cv2()


def test_part_frame_spreads_a_small_hand_over_the_grid_and_keeps_the_body():
    """heatmap_frame='part': face and hands fill their own grid; body and gaze stay put."""
    from socialego_core.layouts import LEFT_HAND, RIGHT_HAND

    track = make_track(range(4))
    for fid, kp in track["frames"].items():
        # a 10-pixel-wide right hand at x 130..140, y 120..124 (about a cell in the person box)
        kp[list(RIGHT_HAND), 0] = np.linspace(130, 140, 21) + fid
        kp[list(RIGHT_HAND), 1] = np.linspace(120, 124, 21)
    person, _ = track_modalities(track, None, small_cfg(missing_rgb="zeros", heatmap_size=16))
    part, _ = track_modalities(
        track, None, small_cfg(missing_rgb="zeros", heatmap_size=16, heatmap_frame="part")
    )
    assert np.allclose(person[:, :23], part[:, :23])  # body and feet untouched
    assert np.allclose(person[:, GAZE_HEAD:], part[:, GAZE_HEAD:])  # gaze untouched

    def spread(points, idx):
        xy = points[:, list(idx), :2]
        return float((xy.max(axis=(0, 1)) - xy.min(axis=(0, 1))).max())

    assert spread(person, RIGHT_HAND) < 2.0  # one to two cells in the person's box
    assert spread(part, RIGHT_HAND) > 8.0  # most of the 16-cell grid in its own box
    assert spread(part, RIGHT_HAND) < 16.0  # the margin keeps it inside
    # re-centred every frame: the hand walks 1 px per frame in the image, not on its grid
    centres = part[:, list(RIGHT_HAND), :2].mean(1)
    assert np.allclose(centres, centres[0], atol=1e-4)
    assert not np.allclose(person[:, list(RIGHT_HAND), :2].mean(1), centres[0], atol=1e-2)
    # the left hand (spread along the whole body in make_track) lies inside its own grid too
    left = part[:, list(LEFT_HAND), :2]
    assert left.min() >= -0.5 and left.max() <= 15.5


def test_part_frame_is_in_the_cache_key_and_old_configs_read_as_person():
    person = small_cfg()
    part = small_cfg(heatmap_frame="part")
    assert modality_cache_key([], person) != modality_cache_key([], part)
    old = person.to_dict()
    old.pop("heatmap_frame")  # an artifact written before the option existed
    assert ModalityConfig.from_dict(old).heatmap_frame == "person"
    with pytest.raises(ValueError, match="heatmap_frame"):
        small_cfg(heatmap_frame="hands")
