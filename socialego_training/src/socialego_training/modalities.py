"""The teacher's multimodal inputs, aligned with the student's windows (method.md section 4).

Per track, the same T frame ids the student window uses (``socialego_core.window``: from the first
detected frame, ``stride`` ids apart, a missing id repeats the previous frame, past the end the
last frame repeats) give:

- ``rgb``: the person crop of each video frame over the union box of the person across the
  window, resized to ``crop_size`` (ImageNet-normalised when batched);
- ``body`` (17), ``face`` (68), ``hand`` (42) heatmaps PoseC3D style: keypoints mapped into the
  same union box on a ``heatmap_size`` grid, a Gaussian (sigma ~0.6 grid cells) per keypoint
  weighted by its confidence; with ``heatmap_frame="part"`` the face and each hand are mapped
  into their own box instead, re-centred on the part every frame (their shape on a small grid);
- ``gaze`` (2): a Gaussian at the gaze head point and one at the gaze target. Without gaze the
  head channel falls back to the nose keypoint and the target channel stays empty. A target
  outside the crop is pulled back onto the crop border along the head -> target ray (decision:
  keeps the gaze direction, which is what matters to the teacher).

Rendering the heatmaps is cheap and vectorised, decoding JPEGs is not: ``ModalityCache`` stores,
once per dataset, the grid-space points (N, T, 135, 3) and the uint8 crops (N, T, S, S, 3) in a
``.npz`` keyed by a hash of the dataset files and the configuration; heatmaps are rendered per
batch by ``render_heatmaps``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from socialego_core.layouts import BODY, FACE, HANDS, LEFT_HAND, RIGHT_HAND
from socialego_core.window import WindowSpec, frame_ids_for_window

# Bump when the way modalities are computed changes: it invalidates every cache.
MODALITY_VERSION = 4

HEATMAP_FRAMES = ("person", "part")
# With heatmap_frame="part" each of these groups is mapped into its own union box over the window.
PART_GROUPS: dict[str, tuple[int, ...]] = {
    "face": tuple(FACE),
    "left_hand": tuple(LEFT_HAND),
    "right_hand": tuple(RIGHT_HAND),
}

NOSE = 0
N_WHOLEBODY = 133
GAZE_HEAD = N_WHOLEBODY  # index of the gaze head point in the (…, 135, 3) point arrays
GAZE_TARGET = N_WHOLEBODY + 1
N_POINTS = N_WHOLEBODY + 2

STREAM_POINTS: dict[str, tuple[int, ...]] = {
    "body": tuple(BODY),
    "face": tuple(FACE),
    "hand": tuple(HANDS),
    "gaze": (GAZE_HEAD, GAZE_TARGET),
}

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov")


@dataclass(frozen=True)
class ModalityConfig:
    """How the teacher inputs are cut. ``crop_size`` must be 4 x ``heatmap_size`` (see teacher)."""

    crop_size: int = 224
    heatmap_size: int = 56
    sigma: float = 0.6
    box_margin: float = 0.15  # union box grown by this share of its larger side on each side
    # keypoints below this confidence do not shape the box: detectors scatter low-score guesses
    # far from the person (AlphaPose does; so does our synthetic detector)
    box_min_score: float = 0.3
    window: WindowSpec = field(default_factory=WindowSpec)
    # "error": a track without video frames is an error; "zeros": black crops (pose-only data)
    missing_rgb: str = "error"
    # "person": every heatmap in the person's union box (method.md section 4). "part": body and
    # gaze stay there, but the face and each hand get their own box, centred on the part in each
    # frame, so a small grid still resolves expressions and finger shapes (at 16x16 a hand in the
    # person box covers 1-2 cells). The channels are separate, so each may use its own frame.
    heatmap_frame: str = "person"
    part_margin: float = 0.2

    def __post_init__(self) -> None:
        if self.heatmap_frame not in HEATMAP_FRAMES:
            raise ValueError(
                f"heatmap_frame must be one of {HEATMAP_FRAMES}, got {self.heatmap_frame!r}"
            )
        if self.missing_rgb not in ("error", "zeros"):
            raise ValueError(f"missing_rgb must be 'error' or 'zeros', got {self.missing_rgb!r}")
        if self.crop_size < 8 or self.heatmap_size < 4:
            raise ValueError(f"crop/heatmap sizes too small: {self.crop_size}/{self.heatmap_size}")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["window"] = self.window.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping) -> ModalityConfig:
        values = dict(data)
        values["window"] = WindowSpec.from_dict(values["window"])
        # artifacts written before heatmap_frame existed used the person box for everything
        values.setdefault("heatmap_frame", "person")
        return cls(**values)


# ----------------------------------------------------------------------------- track access


@dataclass
class TrackFrames:
    """What the modalities need from one track, whatever loader produced it."""

    video_name: str
    width: float
    height: float
    keypoints: dict[int, np.ndarray]  # frame id -> (133, 3) pixels
    gaze: dict[int, np.ndarray]  # frame id -> (4,) head_x, head_y, target_x, target_y (pixels)
    source: str = ""  # file the track came from (for error messages)


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if isinstance(obj, Mapping) and name in obj:
            return obj[name]
        if not isinstance(obj, Mapping) and hasattr(obj, name):
            return getattr(obj, name)
    return default


def track_frames(track: Any) -> TrackFrames:
    """Adapt a raw JSON dict (method.md section 2) or a loader's track object."""
    source = str(_get(track, "path", "source", "file", default="") or "")
    frames = _get(track, "frames")
    if frames is None:
        raise ValueError(f"track {source or '?'} has no 'frames'")
    video_name = _get(track, "video_name")
    if video_name is None:
        raise ValueError(f"track {source or '?'} has no 'video_name'")
    size = _get(track, "frame_size")
    if size is None:
        width, height = _get(track, "width"), _get(track, "height")
    else:
        width, height = size
    keypoints: dict[int, np.ndarray] = {}
    gaze: dict[int, np.ndarray] = {}
    if isinstance(frames, Mapping):  # already frame id -> keypoints
        for fid, kp in frames.items():
            keypoints[int(fid)] = np.asarray(kp, dtype=np.float32)
        for fid, g in (_get(track, "gaze", default={}) or {}).items():
            if g is not None:
                gaze[int(fid)] = np.asarray(g, dtype=np.float32)
    else:
        for frame in frames:
            fid = int(_get(frame, "frame_id"))
            kp = _get(frame, "keypoints", "key points")
            keypoints[fid] = np.asarray(kp, dtype=np.float32)
            g = _get(frame, "gaze")
            if g is not None and len(g) == 4:
                gaze[fid] = np.asarray(g, dtype=np.float32)
    for fid, kp in keypoints.items():
        if kp.shape != (N_WHOLEBODY, 3):
            raise ValueError(
                f"track {source or video_name}: frame {fid} keypoints must be (133, 3) "
                f"COCO-WholeBody for the teacher, got {kp.shape}"
            )
    if not keypoints:
        raise ValueError(f"track {source or video_name} has no frames")
    return TrackFrames(str(video_name), float(width), float(height), keypoints, gaze, source)


def window_source_ids(frame_ids: Iterable[int], spec: WindowSpec) -> list[int]:
    """The real frame id each window slot shows, with ``build_window``'s repetition rules."""
    ids = sorted(frame_ids)
    present = set(ids)
    out: list[int] = []
    previous = ids[0]
    for fid in frame_ids_for_window(ids[0], spec):
        if fid in present:
            previous = fid
        # else: a gap or past the end repeats the previous window slot, as build_window does
        out.append(previous)
    return out


def union_box(
    points: np.ndarray,
    margin: float,
    width: float,
    height: float,
    min_score: float = 0.0,
) -> np.ndarray:
    """Square (x0, y0, side) around the confident points (K, 3) of the window, grown by margin.

    Points scoring at least ``min_score`` count; if there are none, every point with a score > 0.
    """
    finite = np.isfinite(points).all(axis=1)
    seen = points[(points[:, 2] >= max(min_score, 1e-9)) & finite]
    if len(seen) == 0:
        seen = points[(points[:, 2] > 0) & finite]
    if len(seen) == 0:
        return np.array([0.0, 0.0, max(width, height)], dtype=np.float32)
    lo = seen[:, :2].min(axis=0)
    hi = seen[:, :2].max(axis=0)
    center = (lo + hi) / 2
    side = float(max(hi - lo)) * (1 + 2 * margin)
    side = max(side, 16.0)  # a degenerate box (one point) still gives a usable crop
    return np.array([center[0] - side / 2, center[1] - side / 2, side], dtype=np.float32)


def _pull_inside(head: np.ndarray, target: np.ndarray, size: int) -> np.ndarray:
    """Move ``target`` along head -> target onto the grid [0, size-1]^2 if it lies outside."""
    hi = size - 1.0
    if (0 <= target).all() and (target <= hi).all():
        return target
    head_c = np.clip(head, 0, hi)
    d = target - head_c
    t = 1.0
    for k in range(2):
        if d[k] > 0:
            t = min(t, (hi - head_c[k]) / d[k])
        elif d[k] < 0:
            t = min(t, (0 - head_c[k]) / d[k])
    return head_c + max(t, 0.0) * d


def grid_points(track: TrackFrames, ids: Sequence[int], cfg: ModalityConfig) -> tuple:
    """(T, 135, 3) points in heatmap-grid coordinates and the (x0, y0, side) pixel box."""
    kp = np.stack([track.keypoints[i] for i in ids]).astype(np.float32)  # (T, 133, 3)
    kp[~np.isfinite(kp).all(axis=-1)] = 0.0
    pts = np.zeros((len(ids), N_POINTS, 3), dtype=np.float32)
    pts[:, :N_WHOLEBODY] = kp
    for t, fid in enumerate(ids):
        g = track.gaze.get(fid)
        if g is not None and np.isfinite(g).all():
            pts[t, GAZE_HEAD] = (g[0], g[1], 1.0)
            pts[t, GAZE_TARGET] = (g[2], g[3], 1.0)
        else:  # documented fallback: nose Gaussian as the head, no target
            pts[t, GAZE_HEAD] = kp[t, NOSE]
    # the box follows the person (body, face, hands, gaze head), not the gaze target
    box = union_box(
        pts[:, : GAZE_HEAD + 1].reshape(-1, 3),
        cfg.box_margin,
        track.width,
        track.height,
        cfg.box_min_score,
    )
    out = pts.copy()
    _to_grid(out, pts, box, cfg.heatmap_size, slice(None))
    if cfg.heatmap_frame == "part":
        for idx in PART_GROUPS.values():
            _part_to_grid(out, pts, list(idx), float(box[2]), cfg)
    for t in range(len(ids)):
        if out[t, GAZE_TARGET, 2] > 0:
            out[t, GAZE_TARGET, :2] = _pull_inside(
                out[t, GAZE_HEAD, :2], out[t, GAZE_TARGET, :2], cfg.heatmap_size
            )
    out[pts[..., 2] <= 0] = 0.0
    return out, box


def _to_grid(out: np.ndarray, pts: np.ndarray, box: np.ndarray, size: int, index) -> None:
    """Map pixel points ``pts[:, index]`` into the ``size`` grid of ``box`` (x0, y0, side)."""
    scale = size / box[2]
    out[:, index, 0] = (pts[:, index, 0] - box[0]) * scale - 0.5
    out[:, index, 1] = (pts[:, index, 1] - box[1]) * scale - 0.5


def _part_to_grid(
    out: np.ndarray, pts: np.ndarray, part: list[int], person_side: float, cfg: ModalityConfig
) -> None:
    """Map one part (face or a hand) into its own box, re-centred on the part in every frame.

    The side is the part's largest extent over the window (one scale for the whole window), so the
    grid shows the part's shape (finger curl, mouth) rather than its path, which the body stream
    already carries. A part box is no smaller than 1/10 of the person box: a hand seen as one
    blob (all fingers on a pixel) must not blow up into the whole grid.
    """
    p = pts[:, part]  # (T, K, 3)
    seen = (p[..., 2] >= max(cfg.box_min_score, 1e-9)) & np.isfinite(p).all(-1)
    frames = np.flatnonzero(seen.any(1))
    if len(frames) == 0:
        return  # no confident point of this part in the window: leave the person-box mapping
    lo = np.stack([p[t, seen[t], :2].min(0) for t in frames])
    hi = np.stack([p[t, seen[t], :2].max(0) for t in frames])
    side = max(float((hi - lo).max()) * (1 + 2 * cfg.part_margin), person_side / 10, 4.0)
    # a frame without confident points of the part takes the nearest earlier (else later) centre
    centres = ((lo + hi) / 2)[
        np.maximum(np.searchsorted(frames, np.arange(len(p)), "right") - 1, 0)
    ]
    origin = (centres - side / 2).astype(np.float32)  # (T, 2) top-left corner per frame
    scale = cfg.heatmap_size / np.float32(side)
    out[:, part, :2] = (pts[:, part, :2] - origin[:, None]) * scale - 0.5


def render_heatmaps(
    points: torch.Tensor | np.ndarray, size: int, sigma: float = 0.6
) -> dict[str, torch.Tensor]:
    """Grid points (B, T, 135, 3) -> {stream: (B, C, T, size, size) float32} Gaussian heatmaps."""
    pts = torch.as_tensor(points, dtype=torch.float32)
    if pts.dim() != 4 or pts.shape[2] != N_POINTS or pts.shape[3] != 3:
        raise ValueError(f"points must be (B, T, {N_POINTS}, 3), got {tuple(pts.shape)}")
    grid = torch.arange(size, dtype=torch.float32)
    out = {}
    for stream, idx in STREAM_POINTS.items():
        p = pts[:, :, list(idx)]  # (B, T, C, 3)
        gx = torch.exp(-((grid - p[..., 0:1]) ** 2) / (2 * sigma**2))  # (B, T, C, W)
        gy = torch.exp(-((grid - p[..., 1:2]) ** 2) / (2 * sigma**2))  # (B, T, C, H)
        heat = gy.unsqueeze(-1) * gx.unsqueeze(-2) * p[..., 2, None, None].clamp(0, 1)
        out[stream] = heat.permute(0, 2, 1, 3, 4).contiguous()  # (B, C, T, H, W)
    return out


def normalise_rgb(crops: torch.Tensor | np.ndarray) -> torch.Tensor:
    """uint8 RGB crops (B, T, S, S, 3) -> ImageNet-normalised float (B, 3, T, S, S)."""
    x = torch.as_tensor(crops).float().div_(255.0)
    mean = torch.as_tensor(IMAGENET_MEAN)
    std = torch.as_tensor(IMAGENET_STD)
    x = (x - mean) / std
    return x.permute(0, 4, 1, 2, 3).contiguous()


def teacher_batch(
    points: torch.Tensor | np.ndarray, crops: torch.Tensor | np.ndarray, cfg: ModalityConfig
) -> dict[str, torch.Tensor]:
    """The SocialC3D input dict from cached points and crops."""
    batch = render_heatmaps(points, cfg.heatmap_size, cfg.sigma)
    batch["rgb"] = normalise_rgb(crops)
    return batch


# ----------------------------------------------------------------------------- video frames


class FrameReader:
    """Reads frames of one video: ``<root>/videos/<name>/<id:06d>.jpg`` or ``<name>.mp4|avi``."""

    def __init__(self, videos_dir: Path, video_name: str) -> None:
        self.folder = Path(videos_dir) / video_name
        self.video: Path | None = None
        if not self.folder.is_dir():
            self.folder = None  # type: ignore[assignment]
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

    def read(self, frame_ids: Sequence[int]) -> dict[int, np.ndarray]:
        """frame id -> RGB uint8 (H, W, 3); ids that do not exist are left out."""
        cv2 = import_cv2()

        wanted = sorted(set(int(i) for i in frame_ids))
        out: dict[int, np.ndarray] = {}
        if self.folder is not None:
            for fid in wanted:
                path = self.folder / f"{fid:06d}.jpg"
                if not path.is_file():
                    path = self.folder / f"{fid:06d}.png"
                if not path.is_file():
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


# ----------------------------------------------------------------------------- cache


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
    from tqdm import tqdm

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
