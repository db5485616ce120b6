"""bag_replay --video: the annotated stream written as a video file (AnnotatedVideo, PyAV), its
pairing of images with the poses of the same stamp, and its refusals of bad output paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from socialego_inference.annotated_video import AnnotatedVideo, VideoError
from test_annotator_node import GREEN, H, W, image_msg, intents_msg, poses_msg


def decoded(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_video_holds_one_annotated_frame_per_answered_image(tmp_path):
    path = tmp_path / "replay.mp4"
    video = AnnotatedVideo(path, fps=10.0)
    intents = intents_msg("7")
    intents.intents[0].header.stamp = image_msg(100.0).header.stamp
    video.intents_array(intents)
    for i in range(12):
        t = 100.0 + i / 10
        video.image(image_msg(t))
        if i != 5:  # the pose node never answered image 5: it is left out
            video.poses(poses_msg(t, ["7"]))
    video.poses(poses_msg(200.0, ["7"]))  # poses without an image: nothing drawn
    assert video.close() == 11
    frames = decoded(path)
    assert len(frames) == 11 and frames[0].shape == (H, W, 3)
    # the box of track 7 at x = 200..300, y = 150..350 in the intent's colour (lossy codec)
    edge = frames[3][240:260, 200:203].reshape(-1, 3).astype(int)
    assert np.abs(edge - GREEN).max(axis=1).min() < 50
    background = frames[3][240:260, 150:160].reshape(-1, 3).astype(int)
    assert np.abs(background - 20).max() < 25


def test_video_paths_are_checked_before_any_replay(tmp_path):
    (tmp_path / "taken.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match="exists already"):
        AnnotatedVideo(tmp_path / "taken.mp4")
    with pytest.raises(VideoError, match=r"\.mp4"):
        AnnotatedVideo(tmp_path / "out.gif")
    with pytest.raises(VideoError, match="does not exist"):
        AnnotatedVideo(tmp_path / "missing" / "out.mp4")


def test_a_bad_image_is_skipped_and_named(tmp_path):
    video = AnnotatedVideo(tmp_path / "bad.mkv")
    bad = image_msg(1.0)
    bad.encoding = "yuv422"
    video.image(bad)
    video.poses(poses_msg(1.0, ["7"]))
    assert video.close() == 0 and "unsupported image encoding" in video.skipped[0]
