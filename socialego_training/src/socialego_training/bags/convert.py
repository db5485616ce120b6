"""Convert a labelled dataset split or a video file into a rosbag2 bag (MCAP or sqlite3).

A split bag carries, per video frame, with stamps spaced by the dataset's frame rate:
- the camera image (``sensor_msgs/Image`` rgb8, or ``CompressedImage`` JPEG on
  ``<image topic>/compressed`` with ``compressed=True``) when frames exist (or ``images=False``:
  poses only, then the labelled poses go on ``/socialego/poses`` so the intent node can run
  without the pose node);
- ``/socialego/ground_truth`` (``PersonLabelsArray``): the labels of every person in that frame;
- ``/socialego/ground_truth_poses`` (``WholeBodyPoseArray``, camera bags): the labelled boxes and
  keypoints, used to match the pose node's own track ids to the labelled people.
Videos follow each other with ``gap_s`` seconds of blank images in between, so trackers and the
intent node's per-track buffers see people leave. ``/clock`` is not stored: the replay publishes it.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from socialego_core.bags import messages as m
from socialego_core.bags.io import NS_PER_S, BagWriter
from socialego_core.bags.typestore import (
    COMPRESSED_IMAGE_TYPE,
    GROUND_TRUTH_POSES_TOPIC,
    GROUND_TRUTH_TOPIC,
    GROUND_TRUTH_TYPE,
    IMAGE_TOPIC,
    IMAGE_TYPE,
    POSES_TOPIC,
    POSES_TYPE,
)
from socialego_core.labels import LabelTable, get_label_table
from socialego_core.topics import COMPRESSED_SUFFIX
from tqdm import tqdm

from ..data import Track, load_split

# 2026-01-01T00:00:00Z: a realistic wall-clock epoch for bag stamps (reproducible, not "now").
DEFAULT_START_NS = 1_767_225_600 * NS_PER_S
DEFAULT_FRAME_ID = "camera"


def track_id_of(track: Track) -> str:
    """The ground-truth track id written into bags: ``<video_name>/<person_id>``."""
    return f"{track.video_name}/{track.person_id}"


def dataset_info(root: str | Path) -> dict:
    """``<root>/dataset.json`` of synthetic sets ({} when absent)."""
    path = Path(root) / "dataset.json"
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: invalid JSON ({error})") from error


class _FrameSource:
    """Frames of one video: ``videos/<name>/<id:06d>.jpg`` folders or ``videos/<name>.mp4|avi``."""

    def __init__(self, root: Path, video_name: str) -> None:
        self.folder = root / "videos" / video_name
        self.video_file = next(
            (
                p
                for ext in ("mp4", "avi", "webm")
                if (p := root / "videos" / f"{video_name}.{ext}").exists()
            ),
            None,
        )
        self._decoded: dict[int, np.ndarray] | None = None

    @property
    def exists(self) -> bool:
        return self.folder.is_dir() or self.video_file is not None

    def frame(self, frame_id: int) -> np.ndarray | None:
        if self.folder.is_dir():
            path = self.folder / f"{frame_id:06d}.jpg"
            if not path.exists():
                return None
            with Image.open(path) as image:
                return np.asarray(image.convert("RGB"))
        if self.video_file is not None:
            if self._decoded is None:
                # JPL-Social frame ids are 1-based positions in the video; small clips only.
                self._decoded = {i + 1: f for i, f in enumerate(iter_video_frames(self.video_file))}
            return self._decoded.get(frame_id)
        return None


def _resize(rgb: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return rgb
    height, width = rgb.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.BILINEAR))


@dataclass
class BagSummary:
    path: Path
    messages: dict[str, int]
    tracks: int
    videos: int
    duration_s: float
    images: bool


def split_to_bag(
    root: str | Path,
    split: str,
    out: str | Path,
    *,
    images: bool | None = None,
    fps: float | None = None,
    gap_s: float = 1.0,
    dataset: str | None = None,
    max_videos: int | None = None,
    max_width: int | None = None,
    start_ns: int = DEFAULT_START_NS,
    image_topic: str = IMAGE_TOPIC,
    frame_id: str = DEFAULT_FRAME_ID,
    progress: bool = True,
    storage: str = "mcap",
    compressed: bool = False,
) -> BagSummary:
    """Write the split ``<root>/<split>`` to a new bag folder ``out`` (``storage``: mcap or
    sqlite3).

    ``images=None`` writes camera images when the split's videos have frames on disk, else poses;
    ``compressed``: the images as JPEG ``CompressedImage`` on ``<image_topic>/compressed``.
    """
    root = Path(root)
    info = dataset_info(root)
    fps = float(fps or info.get("fps") or 30.0)
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    table: LabelTable = get_label_table(dataset or info.get("dataset") or "jpl_social")
    tracks = load_split(root, split, dataset=table.dataset).tracks
    by_video: dict[str, list[Track]] = defaultdict(list)
    for track in tracks:
        by_video[track.video_name].append(track)
    videos = sorted(by_video)[: max_videos or None]
    sources = {name: _FrameSource(root, name) for name in videos}
    if images is None:
        images = all(source.exists for source in sources.values())
    elif images:
        missing = [name for name, source in sources.items() if not source.exists]
        if missing:
            raise FileNotFoundError(
                f"{root}/videos has no frames for {len(missing)} videos, e.g. {missing[0]!r}; "
                "pass images=False (--poses-only) to write poses instead"
            )
    frame_ns = NS_PER_S / fps
    t_ns = float(start_ns)
    total_frames = sum(
        max(max(t.frames) for t in by_video[v]) - min(min(t.frames) for t in by_video[v]) + 1
        for v in videos
    )
    write_image = _image_writer(image_topic, frame_id, compressed)
    with BagWriter(out, storage=storage) as bag:
        store = bag.typestore
        bag.set_custom_data("socialego.source", json.dumps({"root": str(root), "split": split}))
        bag.set_custom_data("socialego.fps", str(fps))
        bag.set_custom_data("socialego.dataset", table.dataset)
        bar = tqdm(total=total_frames, desc=f"{split} -> bag", unit="frame", disable=not progress)
        blank: np.ndarray | None = None
        for index, video in enumerate(videos):
            video_tracks = sorted(by_video[video], key=lambda t: t.person_id)
            first = min(min(t.frames) for t in video_tracks)
            last = max(max(t.frames) for t in video_tracks)
            width, height = (float(v) for v in video_tracks[0].frame_size)
            scale = min(1.0, max_width / width) if max_width else 1.0
            if index > 0:
                # gap frames between videos (blank images, or empty pose arrays): trackers and
                # the per-track buffers see people leave before the next video starts
                for _ in range(round(gap_s * fps)):
                    stamp = round(t_ns)
                    if images and blank is not None:
                        write_image(bag, blank, stamp)
                    elif not images:
                        empty = m.pose_array(store, stamp, frame_id, [])
                        bag.write(POSES_TOPIC, POSES_TYPE, empty, stamp)
                    t_ns += frame_ns
            for frame_id_in_video in range(first, last + 1):
                stamp = round(t_ns)
                if images:
                    rgb = sources[video].frame(frame_id_in_video)
                    if rgb is not None:
                        rgb = _resize(rgb, scale)
                        blank = np.zeros_like(rgb)
                        write_image(bag, rgb, stamp)
                poses, labels = [], []
                for track in video_tracks:
                    if frame_id_in_video not in track.frames:
                        continue
                    kp = track.frames[frame_id_in_video].copy()
                    kp[:, :2] *= scale
                    box = track.boxes.get(frame_id_in_video)
                    box = [float(v) * scale for v in box] if box is not None else None
                    score = track.scores.get(frame_id_in_video, 1.0)
                    age = sum(1 for f in track.frames if f <= frame_id_in_video)
                    poses.append(
                        m.whole_body_pose(
                            store,
                            stamp,
                            frame_id,
                            track_id_of(track),
                            kp,
                            (round(width * scale), round(height * scale)),
                            box,
                            float(score),
                            age,
                        )
                    )
                    labels.append(
                        m.person_labels(
                            store,
                            stamp,
                            frame_id,
                            track_id_of(track),
                            str(track.person_id),
                            track.video_name,
                            table,
                            track.intent,
                            track.attitude,
                            track.action,
                        )
                    )
                pose_topic = GROUND_TRUTH_POSES_TOPIC if images else POSES_TOPIC
                if poses or not images:  # pose arrays are heartbeats: write them even when empty
                    bag.write(
                        pose_topic, POSES_TYPE, m.pose_array(store, stamp, frame_id, poses), stamp
                    )
                bag.write(
                    GROUND_TRUTH_TOPIC,
                    GROUND_TRUTH_TYPE,
                    m.labels_array(store, stamp, frame_id, labels),
                    stamp,
                )
                t_ns += frame_ns
                bar.update(1)
        bar.close()
        counts = dict(bag.counts)
    return BagSummary(
        path=Path(out),
        messages=counts,
        tracks=sum(len(by_video[v]) for v in videos),
        videos=len(videos),
        duration_s=(t_ns - start_ns) / NS_PER_S,
        images=bool(images),
    )


def _image_writer(image_topic: str, frame_id: str, compressed: bool):
    """write(bag, rgb, stamp): a raw rgb8 Image, or a JPEG CompressedImage on ``.../compressed``."""

    def raw(bag: BagWriter, rgb: np.ndarray, stamp: int) -> None:
        bag.write(image_topic, IMAGE_TYPE, m.image_rgb8(bag.typestore, rgb, stamp, frame_id), stamp)

    def jpeg(bag: BagWriter, rgb: np.ndarray, stamp: int) -> None:
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, format="JPEG", quality=90)
        message = m.compressed_image(bag.typestore, buffer.getvalue(), "jpeg", stamp, frame_id)
        bag.write(image_topic + COMPRESSED_SUFFIX, COMPRESSED_IMAGE_TYPE, message, stamp)

    return jpeg if compressed else raw


def iter_video_frames(
    path: str | Path, *, max_width: int | None = None, fps: float | None = None
) -> Iterator[np.ndarray]:
    """Decode a video file (any format FFmpeg reads: mp4, webm, avi, ...) into RGB arrays."""
    for _, rgb in _iter_video(path, max_width=max_width, fps=fps):
        yield rgb


def _iter_video(
    path: str | Path, *, max_width: int | None = None, fps: float | None = None
) -> Iterator[tuple[float, np.ndarray]]:
    try:  # PyAV is optional (runtime requirements): only video files need it
        import av
    except ImportError as error:
        raise ImportError(
            "reading video files needs PyAV: pip install -r requirements/runtime.txt"
        ) from error

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"video file {path} does not exist")
    try:
        container = av.open(str(path))
    except Exception as error:  # av raises its own error types per FFmpeg code
        raise ValueError(f"cannot open video {path}: {error}") from error
    with container:
        if not container.streams.video:
            raise ValueError(f"video file {path} has no video stream")
        stream = container.streams.video[0]
        next_time = 0.0
        for frame in container.decode(stream):
            time_s = float(frame.time) if frame.time is not None else 0.0
            if fps and time_s + 1e-6 < next_time:
                continue  # drop frames to reach the requested rate
            if fps:
                next_time = max(next_time + 1.0 / fps, time_s)
            width, height = frame.width, frame.height
            if max_width and width > max_width:
                height = round(height * max_width / width / 2) * 2
                width = max_width
            yield time_s, frame.to_ndarray(width=width, height=height, format="rgb24")


def video_to_bag(
    video: str | Path,
    out: str | Path,
    *,
    max_width: int | None = 640,
    fps: float | None = None,
    max_seconds: float | None = None,
    start_ns: int = DEFAULT_START_NS,
    image_topic: str = IMAGE_TOPIC,
    frame_id: str = DEFAULT_FRAME_ID,
    progress: bool = True,
    compressed: bool = False,
) -> BagSummary:
    """Write a video file as a camera bag (stamps from the video's own frame times)."""
    frames = 0
    last_s = 0.0
    write_image = _image_writer(image_topic, frame_id, compressed)
    with BagWriter(out) as bag:
        bag.set_custom_data("socialego.source", json.dumps({"video": str(video)}))
        for time_s, rgb in tqdm(
            _iter_video(video, max_width=max_width, fps=fps),
            desc=f"{Path(video).name} -> bag",
            unit="frame",
            disable=not progress,
        ):
            if max_seconds is not None and time_s > max_seconds:
                break
            stamp = start_ns + round(time_s * NS_PER_S)
            write_image(bag, rgb, stamp)
            frames += 1
            last_s = time_s
        counts = dict(bag.counts)
    if frames == 0:
        raise ValueError(f"video {video} has no decodable frames")
    return BagSummary(Path(out), counts, tracks=0, videos=1, duration_s=last_s, images=True)
