"""One track's teacher inputs (grid points and crops) and a dataset's, cached once per dataset in
a ``.npz`` keyed by the dataset files, the video folders, the configuration and the code version."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from .config import ModalityConfig
from .heatmaps import teacher_batch
from .points import N_POINTS, grid_points
from .tracks import TrackFrames, track_frames, window_source_ids
from .video import VIDEO_SUFFIXES, FrameReader, crop_frame

# Bump when the way modalities are computed changes: it invalidates every cache.
MODALITY_VERSION = 4


def track_modalities(
    track: Any, videos_dir: Path | None, cfg: ModalityConfig, reader: FrameReader | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One track -> grid points (T, 135, 3) float32 and crops (T, S, S, 3) uint8."""
    frames = track if isinstance(track, TrackFrames) else track_frames(track)
    ids = window_source_ids(frames.keypoints, cfg.window)
    points, box = grid_points(frames, ids, cfg)
    crops = np.zeros((len(ids), cfg.crop_size, cfg.crop_size, 3), dtype=np.uint8)
    if reader is None and videos_dir is not None:
        reader = FrameReader(videos_dir, frames.video_name)
    if reader is None or not reader.available:
        if cfg.missing_rgb == "error":
            where = reader.where if reader is not None else "(no videos directory given)"
            raise FileNotFoundError(
                f"track {frames.source or frames.video_name}: no video frames at {where}; "
                "pass missing_rgb='zeros' (--missing-rgb zeros) to train on pose only"
            )
        return points, crops
    images = reader.read(ids)
    last: np.ndarray | None = None
    for t, fid in enumerate(ids):
        image = images.get(fid)
        if image is None:  # a frame missing on disk repeats the previous crop
            if last is not None:
                crops[t] = last
                continue
            # or the first frame we do have
            later = [images[i] for i in ids[t:] if i in images]
            if not later:
                if cfg.missing_rgb == "error":
                    raise FileNotFoundError(
                        f"track {frames.source or frames.video_name}: none of frames "
                        f"{ids[0]}..{ids[-1]} found at {reader.where}"
                    )
                return points, crops
            image = later[0]
        crops[t] = crop_frame(image, box, cfg.crop_size)
        last = crops[t]
    return points, crops


def file_fingerprint(paths: Iterable[str | os.PathLike]) -> list[list]:
    """[path, size, mtime_ns] of each file (sorted): the part of a cache key a dataset gives."""
    out = []
    for p in sorted(str(x) for x in paths):
        st = os.stat(p)
        out.append([p, st.st_size, st.st_mtime_ns])
    return out


def videos_fingerprint(videos_dir: Path | None, video_names: Iterable[str]) -> list:
    """[name, mtime_ns] of each video folder/file used (a re-rendered video changes its mtime)."""
    if videos_dir is None:
        return []
    out = []
    for name in sorted(set(video_names)):
        entries = [Path(videos_dir) / name] + [
            Path(videos_dir) / f"{name}{s}" for s in VIDEO_SUFFIXES
        ]
        found = next((e for e in entries if e.exists()), None)
        out.append([name, os.stat(found).st_mtime_ns if found else None])
    return [str(Path(videos_dir).resolve()), out]


def modality_cache_key(
    track_files: Sequence[str | os.PathLike], cfg: ModalityConfig, videos: list | None = None
) -> str:
    """sha256 over the track files (path, size, mtime), the video folders used, the config and
    the code version."""
    payload = {
        "version": MODALITY_VERSION,
        "config": cfg.to_dict(),
        "files": file_fingerprint(track_files),
        "videos": videos or [],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class ModalityArrays:
    """Cached teacher inputs of a dataset split, in the dataset's order."""

    points: np.ndarray  # (N, T, 135, 3) float32 grid coordinates
    crops: np.ndarray  # (N, T, S, S, 3) uint8
    key: str
    config: ModalityConfig

    def __len__(self) -> int:
        return len(self.points)

    def batch(self, indices: Sequence[int] | torch.Tensor) -> dict[str, torch.Tensor]:
        idx = np.asarray(indices, dtype=np.int64)
        return teacher_batch(self.points[idx], self.crops[idx], self.config)


def build_modalities(
    tracks: Sequence[Any],
    videos_dir: Path | None,
    cfg: ModalityConfig,
    track_files: Sequence[str | os.PathLike] | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> ModalityArrays:
    """Compute (or load from ``cache_dir``) the modality arrays of ``tracks`` in order.

    The cache file name carries ``modality_cache_key``; pass ``track_files`` (the files the tracks
    were loaded from) so that a changed dataset never reuses a stale cache. Without them nothing is
    cached.
    """
    key = None
    path = None
    if cache_dir is not None and track_files is not None:
        names = [track_frames(t).video_name for t in tracks]
        key = modality_cache_key(track_files, cfg, videos_fingerprint(videos_dir, names))
        path = Path(cache_dir) / f"modalities-{key}.npz"
        if path.is_file():
            try:
                with np.load(path) as data:
                    points, crops = data["points"], data["crops"]
                if len(points) == len(tracks):
                    return ModalityArrays(points, crops, key, cfg)
            except (OSError, ValueError, KeyError):
                pass  # a broken cache file is rebuilt below
    T, S = cfg.window.length, cfg.crop_size
    points = np.zeros((len(tracks), T, N_POINTS, 3), dtype=np.float32)
    crops = np.zeros((len(tracks), T, S, S, 3), dtype=np.uint8)
    readers: dict[str, FrameReader] = {}
    for i, track in enumerate(tqdm(tracks, desc="teacher inputs", disable=not progress)):
        frames = track_frames(track)
        reader = None
        if videos_dir is not None:
            reader = readers.setdefault(
                frames.video_name, FrameReader(Path(videos_dir), frames.video_name)
            )
        points[i], crops[i] = track_modalities(frames, videos_dir, cfg, reader)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, points=points, crops=crops)
        os.replace(tmp, path)
    return ModalityArrays(points, crops, key or "", cfg)
