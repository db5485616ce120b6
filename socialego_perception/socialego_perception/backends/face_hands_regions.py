"""Where a person's face and hands are looked for: the person's crop of the image and the square,
rotated regions MediaPipe's face and hand landmark models crop, placed from the person's own body
keypoints (head points for the face; elbow -> wrist for each hand) or re-centred on the landmarks
found in the last image (``region_around``), as MediaPipe's trackers do."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from socialego_core.layouts import COCO_WHOLEBODY133

WHOLEBODY_INDEX = {name: i for i, name in enumerate(COCO_WHOLEBODY133.joint_names)}
NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR = (
    WHOLEBODY_INDEX[n] for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
)
LEFT_SHOULDER, RIGHT_SHOULDER = WHOLEBODY_INDEX["left_shoulder"], WHOLEBODY_INDEX["right_shoulder"]

MIN_CROP_PX = 16  # a person crop smaller than this on a side has no usable face or hands
MIN_REGION_PX = 8.0  # face/hand regions smaller than this are not worth a model run


@dataclass(frozen=True)
class CropBox:
    """An axis-aligned crop of the image: its top-left pixel and size (whole pixels)."""

    x0: int
    y0: int
    width: int
    height: int

    def to_image(self, normalized: np.ndarray) -> np.ndarray:
        """(N, 2) coordinates normalised to the crop ([0, 1] inside it) -> full-image pixels."""
        pts = np.asarray(normalized, dtype=np.float64).reshape(-1, 2)
        return np.stack([self.x0 + pts[:, 0] * self.width, self.y0 + pts[:, 1] * self.height], 1)

    def to_crop(self, pixels: np.ndarray) -> np.ndarray:
        """(N, 2) full-image pixels -> pixels of the crop."""
        pts = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
        return pts - np.array([self.x0, self.y0], dtype=np.float64)

    def cut(self, rgb: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(
            rgb[self.y0 : self.y0 + self.height, self.x0 : self.x0 + self.width]
        )


def person_crop_box(
    bbox: tuple[float, float, float, float],
    image_width: int,
    image_height: int,
    margin: float = 0.25,
) -> CropBox | None:
    """The person's box grown by ``margin`` x its longer side each way (hands and hair stick out
    of a body-keypoint box), clipped to the image; None when the box is not finite or the
    clipped crop is under MIN_CROP_PX on a side (a person at the very border)."""
    x, y, w, h = (float(v) for v in bbox)
    if not (np.isfinite([x, y, w, h]).all() and w > 0 and h > 0):
        return None
    pad = margin * max(w, h)
    x0 = max(0, math.floor(x - pad))
    y0 = max(0, math.floor(y - pad))
    x1 = min(int(image_width), math.ceil(x + w + pad))
    y1 = min(int(image_height), math.ceil(y + h + pad))
    if x1 - x0 < MIN_CROP_PX or y1 - y0 < MIN_CROP_PX:
        return None
    return CropBox(x0, y0, x1 - x0, y1 - y0)


@dataclass(frozen=True)
class Region:
    """A square, rotated region in image pixels: MediaPipe's landmark models crop it, rotated by
    ``rotation`` (radians, clockwise) so the face/hand stands upright."""

    center_x: float
    center_y: float
    size: float
    rotation: float


def _upright_rotation(start: np.ndarray, end: np.ndarray, target_deg: float) -> float:
    """MediaPipe's rule: rotate so that start -> end points at target_deg (90 = image up)."""
    angle = math.radians(target_deg) - math.atan2(-(end[1] - start[1]), end[0] - start[0])
    return math.remainder(angle, 2 * math.pi)


def face_region(
    keypoints: np.ndarray, min_score: float, scale: float = 1.0
) -> tuple[Region, float] | None:
    """(face region, confidence of the head points that placed it) from nose/eyes/ears: about
    1.7 head widths (what MediaPipe's face tracker crops), ``scale`` times that."""
    kp = keypoints
    ok = kp[:, 2] >= min_score
    head = [i for i in (NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR) if ok[i]]
    if not ok[NOSE] and not (ok[LEFT_EYE] or ok[RIGHT_EYE]):
        return None  # only ears (the back of the head) or nothing: no face to see
    sizes = []
    if ok[LEFT_EAR] and ok[RIGHT_EAR]:
        sizes.append(1.7 * np.linalg.norm(kp[LEFT_EAR, :2] - kp[RIGHT_EAR, :2]))
    if ok[LEFT_EYE] and ok[RIGHT_EYE]:
        sizes.append(3.6 * np.linalg.norm(kp[LEFT_EYE, :2] - kp[RIGHT_EYE, :2]))
    for eye, ear in ((LEFT_EYE, LEFT_EAR), (RIGHT_EYE, RIGHT_EAR)):
        if ok[eye] and ok[ear]:  # seen in profile: eye to ear is about half the face
            sizes.append(3.9 * np.linalg.norm(kp[eye, :2] - kp[ear, :2]))
    if ok[LEFT_SHOULDER] and ok[RIGHT_SHOULDER]:
        sizes.append(0.9 * np.linalg.norm(kp[LEFT_SHOULDER, :2] - kp[RIGHT_SHOULDER, :2]))
    if not sizes:
        return None
    size = scale * float(max(sizes))
    centre = kp[NOSE, :2] if ok[NOSE] else kp[head, :2].mean(axis=0)
    eye_dist = np.linalg.norm(kp[LEFT_EYE, :2] - kp[RIGHT_EYE, :2])
    if ok[LEFT_EYE] and ok[RIGHT_EYE] and eye_dist > 0.15 * size:
        rotation = _upright_rotation(kp[RIGHT_EYE, :2], kp[LEFT_EYE, :2], 0.0)
    elif ok[LEFT_SHOULDER] and ok[RIGHT_SHOULDER]:
        # seen in profile: up is neck -> middle of the head points (the nose sticks forward)
        neck = (kp[LEFT_SHOULDER, :2] + kp[RIGHT_SHOULDER, :2]) / 2
        rotation = _upright_rotation(neck, kp[head, :2].mean(axis=0), 90.0)
    else:
        rotation = 0.0
    return Region(float(centre[0]), float(centre[1]), size, rotation), float(kp[head, 2].mean())


def hand_region(
    keypoints: np.ndarray, side: str, min_score: float, reach: float, scale: float
) -> tuple[Region, float, float] | None:
    """(hand region, wrist confidence, forearm length) from the ``side`` elbow and wrist: the
    hand continues the forearm, its centre ``reach`` forearms past the wrist, the region
    ``scale`` forearms wide."""
    elbow = keypoints[WHOLEBODY_INDEX[f"{side}_elbow"]]
    wrist = keypoints[WHOLEBODY_INDEX[f"{side}_wrist"]]
    if elbow[2] < min_score or wrist[2] < min_score:
        return None
    forearm = wrist[:2] - elbow[:2]
    length = float(np.linalg.norm(forearm))
    if not length * scale >= MIN_REGION_PX:
        return None
    centre = wrist[:2] + reach * forearm
    rotation = _upright_rotation(elbow[:2], wrist[:2], 90.0)
    return (
        Region(float(centre[0]), float(centre[1]), length * scale, rotation),
        float(wrist[2]),
        length,
    )


def region_around(points: np.ndarray, start: int, end: int, target_deg: float, scale: float):
    """A region around landmarks (image pixels), upright along points[start] -> points[end],
    ``scale`` x their extent: how MediaPipe's trackers re-centre on the last landmarks."""
    rotation = _upright_rotation(points[start], points[end], target_deg)
    cos, sin = math.cos(rotation), math.sin(rotation)
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    # extent measured in the region's own (rotated) axes
    rel = points - centre
    u = rel[:, 0] * cos + rel[:, 1] * sin
    v = -rel[:, 0] * sin + rel[:, 1] * cos
    mid_u, mid_v = (u.max() + u.min()) / 2, (v.max() + v.min()) / 2
    centre = centre + np.array([mid_u * cos - mid_v * sin, mid_u * sin + mid_v * cos])
    size = scale * max(float(np.ptp(u)), float(np.ptp(v)))
    return Region(float(centre[0]), float(centre[1]), size, rotation)
