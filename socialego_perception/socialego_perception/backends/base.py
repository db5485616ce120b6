"""The one small interface every pose backend implements, and the by-name keypoint mapping."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from socialego_core.layouts import COCO_WHOLEBODY133, Layout


class BackendError(RuntimeError):
    """A backend cannot be set up (missing package or model file, bad parameter)."""


@dataclass
class PersonPose:
    """One detected person: keypoints in pixels of the input image, in ``OUTPUT_LAYOUT``."""

    keypoints: np.ndarray  # (133, 3) float32: x, y, score; score 0 = not detected
    bbox: tuple[float, float, float, float]  # x, y, width, height in pixels
    score: float  # detection confidence in [0, 1]


OUTPUT_LAYOUT: Layout = COCO_WHOLEBODY133


class PoseBackend(ABC):
    """Image in (H, W, 3) uint8 RGB, people out. Implementations load models in __init__."""

    name: str = "base"
    # parts of OUTPUT_LAYOUT the backend can fill (the rest always has score 0)
    provides: tuple[str, ...] = ("body",)

    @abstractmethod
    def infer(self, rgb: np.ndarray, stamp_s: float | None = None) -> list[PersonPose]:
        """Run the estimator on one RGB image.

        ``stamp_s``: the image's time in seconds, for backends that follow people from image to
        image (MediaPipe's video mode); None: the machine's clock at the call (live camera).
        Offline tools pass the recording's stamps, so results do not depend on processing speed.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Free the model (deactivate/cleanup)."""


def name_index_map(
    source_names: Sequence[str], renames: Mapping[str, str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays (src, dst) that copy source keypoints into OUTPUT_LAYOUT by joint name.

    ``renames`` maps a source name to our name where they differ; unknown names are dropped.
    """
    renames = renames or {}
    src, dst = [], []
    for i, name in enumerate(source_names):
        ours = renames.get(name, name)
        if ours in OUTPUT_LAYOUT.joint_names:
            src.append(i)
            dst.append(OUTPUT_LAYOUT.index(ours))
    return np.asarray(src, dtype=int), np.asarray(dst, dtype=int)


def to_output_layout(points: np.ndarray, index_map: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(N, 3) source keypoints -> (133, 3) in OUTPUT_LAYOUT; joints the source lacks score 0."""
    out = np.zeros((OUTPUT_LAYOUT.num_joints, 3), dtype=np.float32)
    src, dst = index_map
    out[dst] = np.asarray(points, dtype=np.float32)[src]
    return out


def bbox_from_keypoints(
    keypoints: np.ndarray,
    min_score: float = 0.1,
    width: float | None = None,
    height: float | None = None,
) -> tuple[float, float, float, float]:
    """Tight box around the keypoints scoring at least ``min_score`` (clipped to the image)."""
    good = keypoints[:, 2] >= min_score
    if not good.any():
        return (0.0, 0.0, 0.0, 0.0)
    xs, ys = keypoints[good, 0], keypoints[good, 1]
    x0, x1, y0, y1 = float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max())
    if width is not None:
        x0, x1 = max(0.0, x0), min(float(width), x1)
    if height is not None:
        y0, y1 = max(0.0, y0), min(float(height), y1)
    return (x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0))


def box_overlaps(
    a: tuple[float, float, float, float], b: tuple[float, float, float, float]
) -> tuple[float, float]:
    """(intersection over union, intersection over the smaller box) of two (x, y, w, h) boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area_a, area_b = a[2] * a[3], b[2] * b[3]
    union = area_a + area_b - inter
    smaller = min(area_a, area_b)
    return (inter / union if union > 0 else 0.0, inter / smaller if smaller > 0 else 0.0)


def is_duplicate(
    a: tuple[float, float, float, float], b: tuple[float, float, float, float]
) -> bool:
    """Same person reported twice: boxes overlap a lot, or one lies inside the other with about
    the same height (arms spread or not changes the width, not the height)."""
    iou, inside = box_overlaps(a, b)
    heights = min(a[3], b[3]) / max(a[3], b[3], 1e-6)
    return iou > 0.5 or (inside > 0.8 and heights > 0.75)


def suppress_duplicates(people: list[PersonPose]) -> list[PersonPose]:
    """Keep the best-scoring report of each person (MediaPipe's multi-pose landmarker can
    report one person twice)."""
    kept: list[PersonPose] = []
    for person in sorted(people, key=lambda p: p.score, reverse=True):
        if not any(is_duplicate(person.bbox, other.bbox) for other in kept):
            kept.append(person)
    return kept
