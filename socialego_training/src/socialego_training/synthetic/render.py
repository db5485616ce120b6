"""Simple, person-like video frames drawn with Pillow from the clean geometry.

A textured room (wall, floor, a few pieces of furniture), and each person as thick limbs in
clothes colours, a head with hair, eyes whose pupils follow the gaze, brows, a mouth whose
curve and opening follow the expression, fingers (so fists, open hands and pointing fingers
look different) and held objects (a ball to throw, a phone). People are drawn far to near.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from socialego_core.layouts import FACE

from .body import HAND_START, BodyPoints, BodyShape, J
from .camera import Camera

SKIN_TONES = [(255, 224, 196), (234, 192, 160), (198, 145, 110), (141, 85, 56), (96, 60, 40)]
HAIR_COLOURS = [(30, 25, 20), (80, 50, 30), (160, 120, 60), (200, 180, 120), (120, 120, 120)]
MARGIN = 24  # background margin in pixels that absorbs the camera shake


@dataclass(frozen=True)
class Appearance:
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    shirt: tuple[int, int, int]
    trousers: tuple[int, int, int]
    shoes: tuple[int, int, int]
    long_sleeves: bool

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Appearance:
        def colour(lo: int = 30, hi: int = 230) -> tuple[int, int, int]:
            return tuple(int(c) for c in rng.integers(lo, hi, 3))

        return cls(
            skin=SKIN_TONES[int(rng.integers(len(SKIN_TONES)))],
            hair=HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))],
            shirt=colour(),
            trousers=colour(20, 160),
            shoes=colour(10, 90),
            long_sleeves=bool(rng.random() < 0.5),
        )


@dataclass
class RenderPerson:
    """Everything needed to draw one person over the video."""

    points: BodyPoints  # over the person's frames
    shape: BodyShape
    look: Appearance
    first_frame: int  # video frame of points index 0
    held: dict[str, str]
    held_visible: dict[str, np.ndarray]
    ball_flight: np.ndarray | None  # (F, 3) world position of a thrown ball, NaN when not flying

    def index(self, frame: int) -> int | None:
        i = frame - self.first_frame
        return i if 0 <= i < len(self.points.keypoints) else None


def make_background(camera: Camera, rng: np.random.Generator) -> Image.Image:
    """A room seen by the camera: wall above the horizon, floor below, some furniture."""
    W, H = camera.width + 2 * MARGIN, camera.height + 2 * MARGIN
    horizon = int(camera.horizon_row(0) + MARGIN + rng.uniform(-10, 20))
    wall = rng.integers(120, 235, 3)
    floor = rng.integers(60, 180, 3)
    img = np.zeros((H, W, 3), np.float32)
    img[: max(horizon, 0)] = wall
    img[max(horizon, 0) :] = floor
    # soft blotches plus fine grain
    blotch = rng.normal(0, 10, (H // 16 + 2, W // 16 + 2, 1)) * rng.uniform(0.6, 1.4, 3)
    blotch = np.clip(blotch + 128, 0, 255).astype(np.uint8)
    blotch_img = Image.fromarray(blotch).resize((W, H), Image.BILINEAR)
    img += np.asarray(blotch_img, np.float32) - 128
    img += rng.normal(0, 3, (H, W, 1)).astype(np.float32)
    image = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 5))):  # doors, shelves, pictures on the wall
        w, h = rng.uniform(0.08, 0.3) * W, rng.uniform(0.15, 0.5) * H
        x = rng.uniform(0, W - w)
        y = min(horizon, H) - h * rng.uniform(0.3, 1.0)
        shade = tuple(int(c) for c in rng.integers(40, 220, 3))
        draw.rectangle([x, y, x + w, y + h], fill=shade, outline=(40, 40, 40))
    for k in range(int(rng.integers(0, 4))):  # floor tiles
        y = horizon + (k + 1) ** 1.6 * 8
        draw.line([(0, y), (W, y)], fill=tuple(int(c * 0.85) for c in floor), width=1)
    return image.filter(ImageFilter.SMOOTH)


def _shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return tuple(int(max(0, min(255, c * factor))) for c in colour)


def _pts(uv: np.ndarray) -> list[tuple[float, float]]:
    return [(float(u), float(v)) for u, v in uv]


def render_frame(
    background: Image.Image, camera: Camera, people: list[RenderPerson], frame: int
) -> Image.Image:
    """Draw one video frame."""
    # camera shake moves the whole view: crop the background with the yaw / pitch offset
    dx = camera.focal * np.tan(camera.yaw[frame])
    dy = camera.focal * (np.tan(camera.pitch[frame]) - np.tan(camera.pitch[0]))
    x0 = int(np.clip(MARGIN + dx, 0, 2 * MARGIN))
    y0 = int(np.clip(MARGIN - dy, 0, 2 * MARGIN))
    image = background.crop((x0, y0, x0 + camera.width, y0 + camera.height))
    draw = ImageDraw.Draw(image)
    visible = []
    for person in people:
        i = person.index(frame)
        if i is not None:
            depth = camera.to_camera(person.points.pelvis[i : i + 1, None], np.array([frame]))
            visible.append((float(depth[0, 0, 2]), person, i))
    for depth, person, i in sorted(visible, key=lambda item: -item[0]):
        if depth > 0.3:
            _draw_person(draw, camera, person, i, frame)
    return image


def _draw_person(
    draw: ImageDraw.ImageDraw, camera: Camera, person: RenderPerson, i: int, frame: int
) -> None:
    pts3 = person.points.keypoints[i]
    frames = np.array([frame])
    uv, depth = camera.project(pts3[None], frames)
    uv, depth = uv[0], depth[0]
    if (depth < 0.15).sum() > 20:
        return
    head_uv, head_depth = camera.project(person.points.head_center[i][None, None], frames)
    ppm = camera.focal / max(float(np.median(depth[:17])), 0.2)
    shape, look = person.shape, person.look
    g = shape.girth
    items: list[tuple[float, object]] = []  # (depth, draw callable)

    def line(a: int, b: int, colour, width_m: float) -> None:
        width = max(1, int(round(width_m * ppm)))
        d = 0.5 * (depth[a] + depth[b])
        items.append(
            (
                d,
                lambda: draw.line(
                    [tuple(uv[a]), tuple(uv[b])], fill=colour, width=width, joint="curve"
                ),
            )
        )

    for side in ("left", "right"):
        hip, knee, ankle, toe = (J[f"{side}_{j}"] for j in ("hip", "knee", "ankle", "big_toe"))
        line(hip, knee, look.trousers, 0.14 * g)
        line(knee, ankle, look.trousers, 0.11 * g)
        line(ankle, toe, look.shoes, 0.07)
    torso = [J["left_shoulder"], J["right_shoulder"], J["right_hip"], J["left_hip"]]
    torso_depth = float(depth[torso].mean())
    neck_uv = 0.5 * (uv[torso[0]] + uv[torso[1]])
    pelvis_uv = 0.5 * (uv[torso[2]] + uv[torso[3]])
    torso_w = max(2, int(0.24 * g * ppm))

    def draw_torso() -> None:
        draw.polygon(_pts(uv[torso]), fill=look.shirt)
        draw.line([tuple(neck_uv), tuple(pelvis_uv)], fill=look.shirt, width=torso_w)

    items.append((torso_depth, draw_torso))
    forearm = look.shirt if look.long_sleeves else look.skin
    for side in ("left", "right"):
        shoulder, elbow, wrist = (J[f"{side}_{j}"] for j in ("shoulder", "elbow", "wrist"))
        line(shoulder, elbow, _shade(look.shirt, 0.9), 0.095 * g)
        line(elbow, wrist, _shade(forearm, 0.9), 0.075 * g)
    for first in HAND_START.values():
        items.append((float(depth[first]) - 0.02, _hand_drawer(draw, uv, first, look, ppm)))
    for side, first in HAND_START.items():
        obj = person.held.get(side)
        if obj and person.held_visible[side][i]:
            palm = uv[[first, first + 5, first + 9, first + 17]].mean(0)
            items.append((float(depth[first]) - 0.05, _object_drawer(draw, palm, obj, ppm)))
    if person.ball_flight is not None and np.isfinite(person.ball_flight[i]).all():
        buv, bdepth = camera.project(person.ball_flight[i][None, None], frames)
        if bdepth[0, 0] > 0.2:
            ball_ppm = camera.focal / float(bdepth[0, 0])
            items.append((float(bdepth[0, 0]), _object_drawer(draw, buv[0, 0], "ball", ball_ppm)))

    head_r = max(2.0, shape.head_radius * camera.focal / max(float(head_depth[0, 0]), 0.2))
    items.append(
        (
            float(head_depth[0, 0]),
            _head_drawer(draw, camera, person, i, frame, uv, head_uv[0, 0], head_r),
        )
    )
    for _, paint in sorted(items, key=lambda item: -item[0]):
        paint()


def _hand_drawer(draw, uv, first, look, ppm):
    width = max(1, int(round(0.02 * ppm)))

    def paint() -> None:
        palm = uv[[first, first + 1, first + 5, first + 9, first + 13, first + 17]]
        draw.polygon(_pts(palm), fill=look.skin)
        for finger in range(5):
            chain = [first] + [first + 1 + 4 * finger + k for k in range(4)]
            draw.line(_pts(uv[chain]), fill=_shade(look.skin, 0.85), width=width, joint="curve")

    return paint


def _object_drawer(draw, centre, obj, ppm):
    def paint() -> None:
        u, v = float(centre[0]), float(centre[1])
        if obj == "ball":
            r = max(2.0, 0.06 * ppm)
            draw.ellipse([u - r, v - r, u + r, v + r], fill=(230, 60, 30), outline=(120, 20, 10))
        else:  # phone
            w, h = max(2.0, 0.04 * ppm), max(3.0, 0.075 * ppm)
            draw.rectangle([u - w, v - h, u + w, v + h], fill=(25, 25, 35), outline=(90, 90, 110))

    return paint


def _head_drawer(draw, camera, person, i, frame, uv, centre, r):
    look = person.look
    pts = person.points
    to_cam = camera.position - pts.head_center[i]
    to_cam /= np.linalg.norm(to_cam)
    facing = float(np.dot(pts.head_forward[i], to_cam))
    # direction the face points to, in the image
    ahead_uv, _ = camera.project(
        (pts.head_center[i] + 0.2 * pts.head_forward[i])[None, None], np.array([frame])
    )
    face_dir = ahead_uv[0, 0] - centre
    norm = float(np.linalg.norm(face_dir))
    face_dir = face_dir / norm if norm > 1e-6 else np.zeros(2)
    gaze_uv, _ = camera.project(pts.gaze_target[i][None, None], np.array([frame]))
    gaze_dir = gaze_uv[0, 0] - centre
    gnorm = float(np.linalg.norm(gaze_dir))
    gaze_dir = gaze_dir / gnorm if gnorm > 1e-6 else np.zeros(2)
    gaze_at_cam = float(
        np.dot(
            _unit(pts.gaze_target[i] - pts.eye_center[i]),
            _unit(camera.position - pts.eye_center[i]),
        )
    )

    face = uv[FACE.start : FACE.stop]

    def paint() -> None:
        cx, cy = float(centre[0]), float(centre[1])
        draw.ellipse([cx - r, cy - 1.15 * r, cx + r, cy + 1.1 * r], fill=look.hair)
        if facing > -0.25:
            shift = (1 - max(facing, 0)) * 0.35 * r
            fx, fy = cx + face_dir[0] * shift, cy + face_dir[1] * shift + 0.12 * r
            fr = 0.88 * r
            draw.ellipse([fx - fr, fy - 1.05 * fr, fx + fr, fy + 1.05 * fr], fill=look.skin)
        if facing > 0.15 and r >= 3.5:
            w = max(1, int(round(0.08 * r)))
            for brow in (slice(17, 22), slice(22, 27)):
                draw.line(_pts(face[brow]), fill=_shade(look.hair, 0.7), width=w)
            eye_r = max(1.0, 0.13 * r)
            # pupils sit in the middle when looking at the camera, else towards the gaze
            pupil = (1 - max(gaze_at_cam, 0) ** 4) * 0.6 * eye_r * gaze_dir
            for eye in (slice(36, 42), slice(42, 48)):
                ex, ey = face[eye].mean(0)
                draw.ellipse(
                    [ex - eye_r, ey - 0.7 * eye_r, ex + eye_r, ey + 0.7 * eye_r],
                    fill=(250, 250, 250),
                )
                px, py = ex + pupil[0], ey + pupil[1]
                pr = 0.55 * eye_r
                draw.ellipse([px - pr, py - pr, px + pr, py + pr], fill=(20, 20, 30))
            mouth = face[48:60]
            lip = (150, 40, 50)
            inner = face[60:68]
            gap = float(np.linalg.norm(inner[6] - inner[2]))
            if gap > 0.08 * r:
                draw.polygon(_pts(mouth), fill=(70, 10, 20), outline=lip)
            else:
                draw.line(_pts(mouth[[0, 1, 2, 3, 4, 5, 6]]), fill=lip, width=w)
                draw.line(_pts(mouth[[6, 7, 8, 9, 10, 11, 0]]), fill=lip, width=w)
            draw.line(_pts(face[27:31]), fill=_shade(look.skin, 0.75), width=w)

    return paint


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)
