"""Where the real footage from registry packages lies (scripts/fetch_footage.sh puts it there)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
FOOTAGE = Path(os.environ.get("SOCIALEGO_FOOTAGE_DIR", ROOT / ".cache" / "footage"))
OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
FILES = {
    "basketball1.png": OPENCV_DATA / "basketball1.png",
    "vtest.avi": OPENCV_DATA / "vtest.avi",
    "sports2d_demo.mp4": FOOTAGE / "sports2d_demo.mp4",
    "stream_pose_ml_walk.webm": FOOTAGE / "stream_pose_ml_walk.webm",
}


def footage(name: str) -> Path:
    """Path of a footage file, or skip the test naming the missing file and the fix."""
    path = FILES[name]
    if not path.is_file():
        pytest.skip(f"footage {path} missing: run scripts/fetch_footage.sh")
    return path


def read_rgb(name: str, width: int = 640) -> np.ndarray:
    import cv2

    bgr = cv2.imread(str(footage(name)))
    return resize_rgb(bgr[..., ::-1], width)


def resize_rgb(rgb: np.ndarray, width: int) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    if w == width:
        return np.ascontiguousarray(rgb)
    return np.ascontiguousarray(cv2.resize(rgb, (width, round(h * width / w))))


def video_frames(name: str, count: int, width: int = 640, step: int = 1, start: int = 0):
    """Up to ``count`` RGB frames (every ``step``-th from ``start``), resized to ``width``."""
    import cv2

    cap = cv2.VideoCapture(str(footage(name)))
    frames = []
    index = 0
    while len(frames) < count:
        ok, bgr = cap.read()
        if not ok:
            break
        if index >= start and (index - start) % step == 0:
            frames.append(resize_rgb(bgr[..., ::-1], width))
        index += 1
    cap.release()
    if not frames:
        pytest.skip(f"could not decode {FILES[name]}")
    return frames
