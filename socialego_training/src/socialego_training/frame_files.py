"""Where a video's frames lie on disk: ``<videos>/<name>/<id:06d>.jpg|png`` (a frame folder) or
``<videos>/<name>.mp4|avi|mkv|mov`` (a video file). No OpenCV and no torch here: the teacher's
FrameReader (modalities/video.py) and the labelling page share this one resolution."""

from __future__ import annotations

from pathlib import Path

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov")
FRAME_SUFFIXES = (".jpg", ".png")  # frame files in a frame folder, in the order tried


class FrameFiles:
    """The frame folder or video file of one video (a folder wins when both exist)."""

    def __init__(self, videos_dir: Path, video_name: str) -> None:
        self.folder: Path | None = Path(videos_dir) / video_name
        self.video: Path | None = None
        if not self.folder.is_dir():
            self.folder = None
            for suffix in VIDEO_SUFFIXES:
                candidate = Path(videos_dir) / f"{video_name}{suffix}"
                if candidate.is_file():
                    self.video = candidate
                    break
        self.where = (
            str(Path(videos_dir) / video_name)
            + "/ (frame folder) or "
            + "|".join(f"{video_name}{s}" for s in VIDEO_SUFFIXES)
        )

    @property
    def available(self) -> bool:
        return self.folder is not None or self.video is not None

    def frame_path(self, frame_id: int) -> Path | None:
        """The image file of one frame in a frame folder (``<id:06d>.jpg``, else ``.png``); None
        when the folder lacks it or the frames are a video file."""
        if self.folder is None:
            return None
        for suffix in FRAME_SUFFIXES:
            path = self.folder / f"{int(frame_id):06d}{suffix}"
            if path.is_file():
                return path
        return None
