"""Video frames for the teacher's RGB stream: frame folders or video files, and square crops.
OpenCV is imported only here, when frames are read."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..frame_files import VIDEO_SUFFIXES, FrameFiles

__all__ = ["VIDEO_SUFFIXES", "FrameReader", "crop_frame", "import_cv2"]


class FrameReader(FrameFiles):
    """Reads frames of one video: ``<root>/videos/<name>/<id:06d>.jpg`` or ``<name>.mp4|avi``
    (located by FrameFiles)."""

    def read(self, frame_ids: Sequence[int]) -> dict[int, np.ndarray]:
        """frame id -> RGB uint8 (H, W, 3); ids that do not exist are left out."""
        cv2 = import_cv2()

        wanted = sorted(set(int(i) for i in frame_ids))
        out: dict[int, np.ndarray] = {}
        if self.folder is not None:
            for fid in wanted:
                path = self.frame_path(fid)
                if path is None:
                    continue
                image = cv2.imread(str(path), cv2.IMREAD_COLOR)
                if image is None:
                    raise ValueError(f"cannot decode video frame {path}")
                out[fid] = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            return out
        if self.video is None:
            raise FileNotFoundError(f"no video frames found at {self.where}")
        capture = cv2.VideoCapture(str(self.video))
        if not capture.isOpened():
            raise ValueError(f"cannot open video {self.video}")
        try:  # frame id = 0-based frame index in the video file (decision)
            index = 0
            for fid in wanted:
                if fid < index:
                    continue
                while index < fid:
                    if not capture.grab():
                        return out
                    index += 1
                ok, image = capture.read()
                index += 1
                if not ok:
                    return out
                out[fid] = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        finally:
            capture.release()
        return out


def import_cv2():
    """OpenCV, imported only on the teacher data path; a clear error says what to install."""
    try:
        import cv2
    except ImportError as exc:
        raise ImportError(
            "the teacher's video frames need OpenCV (cv2): "
            "pip install 'socialego-training[teacher]' (or any other OpenCV build)"
        ) from exc
    return cv2


def crop_frame(image: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """Square crop (x0, y0, side) of an RGB image, zero padded outside, resized to size x size."""
    cv2 = import_cv2()

    x0, y0, side = (float(v) for v in box)
    scale = size / side
    # affine map pixel -> crop; cv2 pads with zeros outside the image
    matrix = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], dtype=np.float32)
    return cv2.warpAffine(
        image, matrix, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT
    )
