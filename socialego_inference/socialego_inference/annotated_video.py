"""The annotated stream of a replay as a video file (``bag_replay --video out.mp4``).

Each camera image the replay plays is paired with the pose array of the same stamp that the
nodes answer with, drawn with the latest forecast of each track (socialego_core.annotate, as the
annotator node draws it) and encoded with PyAV (FFmpeg). Images the pose node never answered
are left out; ``--lockstep`` makes the replay wait for every answer.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
from socialego_core.annotate import IntentValues
from socialego_core.labels import JPL_SOCIAL, LabelTable
from socialego_core.pose_reader import read_pose_array
from socialego_core.stamp_pairing import StampPairer
from socialego_core.stamps import stamp_seconds
from socialego_perception.conversions import (
    ImageConversionError,
    compressed_to_rgb,
    image_to_rgb,
)

from socialego_inference.overlay_messages import annotate, intent_values, label_table, people_of

CODECS = ("libx264", "mpeg4")  # the first one the installed FFmpeg has
MAX_INTENT_AGE_S = 2.0  # a forecast older than this (bag time) against the image is not shown


class VideoError(RuntimeError):
    pass


def pick_codec() -> str:
    import av

    for name in CODECS:
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:  # noqa: BLE001 - PyAV raises several types for an unknown codec
            continue
    raise VideoError(f"the installed PyAV/FFmpeg has none of the video encoders {CODECS}")


class AnnotatedVideo:
    """Writes annotated frames to ``path`` at ``fps``; feed it deserialized messages."""

    def __init__(self, path: Path, fps: float = 15.0, pair_queue: int = 60) -> None:
        if path.suffix.lower() not in (".mp4", ".mkv", ".avi", ".mov"):
            raise VideoError(f"--video {path}: use a .mp4, .mkv, .avi or .mov file name")
        if path.exists():
            raise VideoError(f"--video {path} exists already; choose a new file")
        if not path.parent.is_dir():
            raise VideoError(f"--video {path}: folder {path.parent} does not exist")
        self.path, self.fps = path, float(fps)
        self.labels: LabelTable = JPL_SOCIAL
        self.intents: dict[str, tuple[IntentValues, float]] = {}
        self.pairer: StampPairer = StampPairer(pair_queue)
        self.container = self.stream = None
        self.frames = 0
        self.skipped: list[str] = []

    # -- inputs (any thread; the caller serialises them) ---------------------------------------
    def image(self, msg) -> None:
        key = (int(msg.header.stamp.sec), int(msg.header.stamp.nanosec))
        pair = self.pairer.add_a(key, msg)
        if pair is not None:
            self._write(*pair)

    def poses(self, msg) -> None:
        key = (int(msg.header.stamp.sec), int(msg.header.stamp.nanosec))
        pair = self.pairer.add_b(key, msg)
        if pair is not None:
            self._write(*pair)

    def intents_array(self, msg) -> None:
        for intent in msg.intents:
            if intent.track_id:
                self.intents[intent.track_id] = (
                    intent_values(intent),
                    stamp_seconds(intent.header.stamp),
                )

    def model_info(self, msg) -> None:
        self.labels = label_table(msg) or self.labels

    # -- output --------------------------------------------------------------------------------
    def _open(self, width: int, height: int) -> None:
        import av

        self.container = av.open(str(self.path), mode="w")
        self.stream = self.container.add_stream(
            pick_codec(), rate=Fraction(self.fps).limit_denominator(1000)
        )
        self.stream.width, self.stream.height = width - width % 2, height - height % 2
        self.stream.pix_fmt = "yuv420p"

    def _write(self, image_msg, poses_msg) -> None:
        import av

        try:
            if hasattr(image_msg, "format"):
                rgb = compressed_to_rgb(image_msg)
            else:
                rgb = image_to_rgb(image_msg)
        except ImageConversionError as exc:
            self.skipped.append(str(exc))
            return
        now = stamp_seconds(poses_msg.header.stamp)

        def intent_of(track: str) -> IntentValues | None:
            entry = self.intents.get(track)
            return entry[0] if entry and now - entry[1] <= MAX_INTENT_AGE_S else None

        readings, _ = read_pose_array(poses_msg)
        drawn = annotate(rgb, people_of(readings, intent_of), self.labels)
        if self.container is None:
            self._open(drawn.shape[1], drawn.shape[0])
        drawn = np.ascontiguousarray(drawn[: self.stream.height, : self.stream.width])
        frame = av.VideoFrame.from_ndarray(drawn, format="rgb24")
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def close(self) -> int:
        """Flush and close the file; returns the number of frames written."""
        if self.container is not None:
            for packet in self.stream.encode():
                self.container.mux(packet)
            self.container.close()
            self.container = None
        return self.frames
