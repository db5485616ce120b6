"""Loaders for the JPL-Social pose schema (method.md section 2) and the HARPER pose release.

One JSON file per person track in ``<root>/<split>/`` or ``<root>/<split>/pose_features/``.
A track whose three label fields are all ``null`` is *unlabelled* (recordings turned into a dataset
before labelling, or unlabelled transfer data for distillation): ``load_split`` leaves such tracks
out by default and lists them in ``LoadResult.unlabelled``; ``unlabelled="keep"`` returns them with
``Track.labelled`` false (labels -1), ``unlabelled="error"`` refuses them.
Every broken file is reported with its path and the reason. By default the first broken file
stops loading with a DatasetError; ``skip_bad=True`` skips broken files and lists them in
``LoadResult.bad_files`` (nothing is dropped silently).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from socialego_core.labels import TASKS, get_label_table
from socialego_core.layouts import COCO_WHOLEBODY133

SPLITS: tuple[str, ...] = ("train", "validation", "test")
SPLIT_ALIASES: dict[str, str] = {"val": "validation", "valid": "validation", "eval": "validation"}
DATASETS: tuple[str, ...] = ("jpl_social", "harper")
NUM_KEYPOINTS = COCO_WHOLEBODY133.num_joints  # 133
REQUIRED_KEYS: tuple[str, ...] = (
    "video_name",
    "frame_size",
    "person_id",
    "intention_class",
    "attitude_class",
    "action_class",
    "frames",
)
KNOWN_KEYS = set(REQUIRED_KEYS)
# HARPER event fields (kept in Track.extra like any other additional top-level field)
LABEL_KEYS: tuple[str, ...] = ("intention_class", "attitude_class", "action_class")
UNLABELLED = -1  # the label value of every task of an unlabelled track
UNLABELLED_POLICIES: tuple[str, ...] = ("skip", "keep", "error")
HARPER_EVENT_KEYS: tuple[str, ...] = (
    "contact_class",
    "walk_frame",
    "interact_start_frame",
    "interact_end_frame",
)


class DatasetError(ValueError):
    """A dataset file or folder is unusable; ``path`` and ``reason`` say which and why."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@dataclass
class Track:
    """One person track as stored on disk (pixel keypoints, COCO-WholeBody 133 order)."""

    path: Path
    video_name: str
    person_id: int
    frame_size: tuple[float, float]  # (W, H)
    intent: int
    attitude: int
    action: int
    frames: dict[int, np.ndarray]  # frame_id -> (133, 3) float32 (x px, y px, score)
    boxes: dict[int, np.ndarray] = field(default_factory=dict)  # frame_id -> (4,) x, y, w, h
    gaze: dict[int, np.ndarray] = field(default_factory=dict)  # frame_id -> (4,) head xy, target xy
    scores: dict[int, float] = field(default_factory=dict)  # frame_id -> detection score
    extra: dict[str, Any] = field(default_factory=dict)  # every other top-level field

    @property
    def labels(self) -> tuple[int, int, int]:
        return (self.intent, self.attitude, self.action)

    @property
    def labelled(self) -> bool:
        return self.intent != UNLABELLED

    @property
    def width(self) -> float:
        return self.frame_size[0]

    @property
    def height(self) -> float:
        return self.frame_size[1]

    @property
    def first_frame_id(self) -> int:
        return min(self.frames)

    @property
    def has_gaze(self) -> bool:
        return bool(self.gaze)


@dataclass(frozen=True)
class BadFile:
    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class LoadResult:
    tracks: list[Track]
    bad_files: list[BadFile]
    unlabelled: list[Path] = field(default_factory=list)  # left out (policy "skip")

    def __len__(self) -> int:
        return len(self.tracks)


def split_dir(root: str | Path, split: str) -> Path:
    """The folder holding a split's JSON files (with or without a ``pose_features/`` level)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(root, "dataset root does not exist or is not a folder")
    name = split if (root / split).is_dir() else SPLIT_ALIASES.get(split, split)
    folder = root / name
    if not folder.is_dir():
        present = sorted(p.name for p in root.iterdir() if p.is_dir())
        raise DatasetError(folder, f"split folder missing (folders present: {present})")
    nested = folder / "pose_features"
    if nested.is_dir():
        if any(folder.glob("*.json")):
            raise DatasetError(
                folder, "JSON files both here and in pose_features/: ambiguous layout"
            )
        return nested
    return folder


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} is not a number ({value!r})")
    if not math.isfinite(value):
        raise ValueError(f"{what} is not finite ({value!r})")
    return float(value)


def _label(data: Mapping, key: str, num_classes: int) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ValueError(f"{key} is not an integer ({value!r})")
    if not 0 <= int(value) < num_classes:
        raise ValueError(f"{key}={int(value)} outside 0..{num_classes - 1}")
    return int(value)


def parse_track(data: Any, path: Path, dataset: str = "jpl_social") -> Track:
    """Validate one decoded JSON track; ValueError says what is wrong (without the path)."""
    if not isinstance(data, dict):
        raise ValueError(f"top level is a {type(data).__name__}, not an object")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise ValueError(f"missing keys {missing}")
    table = get_label_table(dataset)
    nulls = [k for k in LABEL_KEYS if data[k] is None]
    if nulls and len(nulls) != len(LABEL_KEYS):
        raise ValueError(f"labels {nulls} are null but not all three: label every task or none")
    if nulls:
        intent = attitude = action = UNLABELLED
    else:
        intent = _label(data, "intention_class", table.num_classes("intent"))
        attitude = _label(data, "attitude_class", table.num_classes("attitude"))
        action = _label(data, "action_class", table.num_classes("action"))
    size = data["frame_size"]
    if not isinstance(size, list | tuple) or len(size) != 2:
        raise ValueError(f"frame_size must be [W, H], got {size!r}")
    width, height = (_number(v, "frame_size") for v in size)
    if width <= 0 or height <= 0:
        raise ValueError(f"frame_size must be positive, got {size!r}")
    frames_in = data["frames"]
    if not isinstance(frames_in, list):
        raise ValueError("frames is not a list")
    if not frames_in:
        raise ValueError("frames is empty (no detections)")
    frames: dict[int, np.ndarray] = {}
    boxes: dict[int, np.ndarray] = {}
    gaze: dict[int, np.ndarray] = {}
    scores: dict[int, float] = {}
    for position, frame in enumerate(frames_in):
        where = f"frames[{position}]"
        if not isinstance(frame, dict):
            raise ValueError(f"{where} is not an object")
        if "frame_id" not in frame:
            raise ValueError(f"{where} has no frame_id")
        frame_id = frame["frame_id"]
        if isinstance(frame_id, bool) or not isinstance(frame_id, int | float):
            raise ValueError(f"{where}.frame_id is not an integer ({frame_id!r})")
        if int(frame_id) != frame_id:
            raise ValueError(f"{where}.frame_id is not an integer ({frame_id!r})")
        frame_id = int(frame_id)
        if frame_id in frames:
            raise ValueError(f"{where}: duplicate frame_id {frame_id}")
        # the README says "key points", the authors' code reads "keypoints": accept both
        key = (
            "keypoints" if "keypoints" in frame else "key points" if "key points" in frame else None
        )
        if key is None:
            raise ValueError(f"{where} (frame_id {frame_id}) has no 'keypoints' / 'key points'")
        try:
            kp = np.asarray(frame[key], dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{where} (frame_id {frame_id}): keypoints are not numbers") from None
        if kp.ndim == 1 and kp.size == NUM_KEYPOINTS * 3:  # AlphaPose's flat x, y, s list
            kp = kp.reshape(NUM_KEYPOINTS, 3)
        if kp.shape != (NUM_KEYPOINTS, 3):
            raise ValueError(
                f"{where} (frame_id {frame_id}): expected {NUM_KEYPOINTS} keypoints of "
                f"[x, y, score], got array of shape {kp.shape}"
            )
        if not np.isfinite(kp).all():
            raise ValueError(f"{where} (frame_id {frame_id}): keypoints contain NaN or infinity")
        frames[frame_id] = kp.astype(np.float32)
        if "box" in frame:
            box = np.asarray(frame["box"], dtype=np.float64)
            if box.shape != (4,) or not np.isfinite(box).all():
                raise ValueError(f"{where} (frame_id {frame_id}): box must be 4 finite numbers")
            boxes[frame_id] = box.astype(np.float32)
        if "score" in frame:
            scores[frame_id] = _number(frame["score"], f"{where}.score")
        if frame.get("gaze") is not None:
            g = np.asarray(frame["gaze"], dtype=np.float64)
            if g.shape != (4,) or not np.isfinite(g).all():
                raise ValueError(f"{where} (frame_id {frame_id}): gaze must be 4 finite numbers")
            gaze[frame_id] = g.astype(np.float32)
    person_id = data["person_id"]
    return Track(
        path=path,
        video_name=str(data["video_name"]),
        person_id=int(person_id) if isinstance(person_id, int | float) else person_id,
        frame_size=(width, height),
        intent=intent,
        attitude=attitude,
        action=action,
        frames=frames,
        boxes=boxes,
        gaze=gaze,
        scores=scores,
        extra={k: v for k, v in data.items() if k not in KNOWN_KEYS},
    )


def load_track(path: str | Path, dataset: str = "jpl_social") -> Track:
    """Load one track file; DatasetError names the file and the reason."""
    path = Path(path)
    try:
        with path.open("r", encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise DatasetError(path, f"invalid JSON ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(path, f"cannot read ({exc})") from None
    try:
        return parse_track(data, path, dataset)
    except ValueError as exc:
        raise DatasetError(path, str(exc)) from None


def load_split(
    root: str | Path,
    split: str,
    dataset: str = "jpl_social",
    skip_bad: bool = False,
    progress: bool = False,
    unlabelled: str = "skip",
) -> LoadResult:
    """Load every track of ``<root>/<split>`` in file-name order (unlabelled ones: see above)."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; known: {DATASETS}")
    if unlabelled not in UNLABELLED_POLICIES:
        raise ValueError(f"unlabelled={unlabelled!r}; known: {UNLABELLED_POLICIES}")
    folder = split_dir(root, split)
    files = sorted(folder.glob("*.json"))
    if not files:
        raise DatasetError(folder, "no *.json track files in this split folder")
    if progress:
        from tqdm import tqdm

        files = tqdm(files, desc=f"loading {split}", unit="file", leave=False)
    tracks: list[Track] = []
    bad: list[BadFile] = []
    left_out: list[Path] = []
    for file in files:
        try:
            track = load_track(file, dataset)
        except DatasetError as exc:
            if not skip_bad:
                raise DatasetError(
                    exc.path, exc.reason + " (use skip_bad / --skip-bad to skip broken files)"
                ) from None
            bad.append(BadFile(exc.path, exc.reason))
            continue
        if not track.labelled and unlabelled == "error":
            raise DatasetError(file, "track is unlabelled (its three label fields are null)")
        if not track.labelled and unlabelled == "skip":
            left_out.append(file)
            continue
        tracks.append(track)
    if not tracks:
        if left_out:
            raise DatasetError(
                folder, f"all {len(left_out)} tracks are unlabelled: label them (socialego-label)"
            )
        raise DatasetError(folder, f"all {len(bad)} track files are broken")
    return LoadResult(tracks, bad, left_out)


def summarise(tracks: list[Track], dataset: str = "jpl_social") -> dict[str, Any]:
    """Counts per class (by name) and totals: stored in model artifacts as the data summary."""
    table = get_label_table(dataset)
    tracks = [t for t in tracks if t.labelled]
    summary: dict[str, Any] = {"dataset": dataset, "tracks": len(tracks)}
    for task in TASKS:  # a Track's label attributes are named after the tasks
        names = table.labels(task)
        counts = np.bincount([getattr(t, task) for t in tracks], minlength=len(names))
        summary[f"{task}_counts"] = {names[i]: int(c) for i, c in enumerate(counts)}
    summary["frames"] = int(sum(len(t.frames) for t in tracks))
    summary["with_gaze"] = int(sum(t.has_gaze for t in tracks))
    return summary


def dataset_name(root: str | Path) -> str:
    """The dataset's name in model artifacts: the name of its root folder."""
    return Path(root).resolve().name


def relative_to_root(path: str | Path, root: str | Path) -> str:
    """``path`` relative to the dataset root (POSIX form); its file name if it lies outside."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return resolved.name


def content_sha256(root: str | Path, files: list[str | Path]) -> str:
    """sha256 over the track files (path relative to ``root``, size, bytes), in path order.

    The dataset's identity in model artifacts: the same wherever the data lies, different as soon
    as a file is added, removed, renamed or edited.
    """
    digest = hashlib.sha256()
    for rel, path in sorted((relative_to_root(f, root), Path(f)) for f in files):
        data = path.read_bytes()
        digest.update(f"{rel}\n{len(data)}\n".encode())
        digest.update(data)
    return digest.hexdigest()
