"""The preprocessing contract: how a track's frames become one model input window.

Used unchanged by the dataset loaders (training) and the intent node (robot), so both see the
same numbers. Follows SocialEgoNet's loader (method.md section 2): T frame ids from the track's
first detected frame, spaced ``stride`` ids apart; a missing id repeats the previous filled
frame; past the track end the last frame repeats.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

# Normalisation modes (method.md section 2).
#   centered: x = clamp(x, 0, W) / W - 0.5   (student, SocialEgoMobile)
#   signed:   x = 2 * (x / W - 0.5)          (SocialEgoNet)
NORMALISATIONS: tuple[str, ...] = ("centered", "signed")


@dataclass(frozen=True)
class WindowSpec:
    """How to cut and normalise a window; stored in every model artifact."""

    length: int = 10
    stride: int = 1
    joints: tuple[int, ...] = tuple(range(17))
    normalisation: str = "centered"
    layout: str = "COCO_WHOLEBODY133"  # layout of the source keypoints the joints index into
    source_fps: float = 30.0  # frame rate the stride refers to (for online resampling)

    def __post_init__(self) -> None:
        if self.length < 1:
            raise ValueError(f"window length must be >= 1, got {self.length}")
        if self.stride < 1:
            raise ValueError(f"window stride must be >= 1, got {self.stride}")
        if self.normalisation not in NORMALISATIONS:
            raise ValueError(
                f"unknown normalisation {self.normalisation!r}; known: {NORMALISATIONS}"
            )
        object.__setattr__(self, "joints", tuple(int(j) for j in self.joints))

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    @property
    def duration_s(self) -> float:
        """Time spanned from the first to the last frame of a window."""
        return (self.length - 1) * self.stride / self.source_fps

    def to_dict(self) -> dict:
        data = asdict(self)
        data["joints"] = list(self.joints)
        return data

    @classmethod
    def from_dict(cls, data: Mapping) -> WindowSpec:
        return cls(**{k: (tuple(v) if k == "joints" else v) for k, v in data.items()})


def normalise_keypoints(
    keypoints: np.ndarray, width: float, height: float, mode: str = "centered"
) -> np.ndarray:
    """Pixel keypoints (..., J, 3) -> normalised (x, y, score) as float32.

    Non-finite values are treated as undetected: their x, y and score become 0.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    kp = np.asarray(keypoints, dtype=np.float32)
    if kp.shape[-1] != 3:
        raise ValueError(f"keypoints must end in (x, y, score), got shape {kp.shape}")
    out = np.empty_like(kp)
    x, y, s = kp[..., 0], kp[..., 1], kp[..., 2]
    if mode == "centered":
        out[..., 0] = np.clip(x, 0, width) / width - 0.5
        out[..., 1] = np.clip(y, 0, height) / height - 0.5
    elif mode == "signed":
        out[..., 0] = 2.0 * (x / width - 0.5)
        out[..., 1] = 2.0 * (y / height - 0.5)
    else:
        raise ValueError(f"unknown normalisation {mode!r}; known: {NORMALISATIONS}")
    out[..., 2] = s
    bad = ~np.isfinite(kp).all(axis=-1)
    out[bad] = 0.0
    return out


@dataclass
class Window:
    """One model input: (T, J, 3) normalised keypoints and which frames were really observed."""

    keypoints: np.ndarray
    observed: np.ndarray = field(repr=False)  # (T,) bool

    @property
    def input_quality(self) -> float:
        """Share of (frame, joint) cells that were observed with a score > 0."""
        seen = (self.keypoints[..., 2] > 0) & self.observed[:, None]
        return float(seen.mean()) if seen.size else 0.0


def frame_ids_for_window(first_frame_id: int, spec: WindowSpec) -> list[int]:
    return [first_frame_id + i * spec.stride for i in range(spec.length)]


def build_window(
    frames: Mapping[int, np.ndarray],
    width: float,
    height: float,
    spec: WindowSpec,
    first_frame_id: int | None = None,
) -> Window:
    """Cut one window from a track's frames.

    ``frames`` maps frame id -> pixel keypoints (N, 3) in ``spec.layout`` order (N >= max joint).
    The window starts at ``first_frame_id`` (default: the first detected frame).
    """
    if not frames:
        raise ValueError("cannot build a window from a track with no frames")
    ids = sorted(frames)
    start = ids[0] if first_frame_id is None else first_frame_id
    joints = list(spec.joints)
    out = np.zeros((spec.length, len(joints), 3), dtype=np.float32)
    observed = np.zeros(spec.length, dtype=bool)
    filled = np.zeros(spec.length, dtype=bool)
    previous: np.ndarray | None = None
    # the last frame at or before the start seeds the fill (for windows that start mid-track)
    earlier = [i for i in ids if i <= start]
    if earlier:
        previous = np.asarray(frames[earlier[-1]], dtype=np.float32)[joints]
    for t, frame_id in enumerate(frame_ids_for_window(start, spec)):
        if frame_id in frames:
            previous = np.asarray(frames[frame_id], dtype=np.float32)[joints]
            observed[t] = True
        if previous is not None:
            out[t] = previous
            filled[t] = True
    normalised = normalise_keypoints(out, width, height, spec.normalisation)
    # frames before any observation stay all-zero (undetected), not normalised pixel zeros
    normalised[~filled] = 0.0
    return Window(keypoints=normalised, observed=observed)


def stack_windows(windows: Sequence[Window]) -> np.ndarray:
    """(B, T, J, 3) float32 batch of windows."""
    return np.stack([w.keypoints for w in windows]).astype(np.float32, copy=False)
