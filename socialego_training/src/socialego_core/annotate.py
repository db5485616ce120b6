"""The annotated image, without ROS: each person's box, skeleton, track id and decided intent /
attitude / next action with probabilities, drawn on the camera image with Pillow.

The annotator node (socialego_inference.annotator_node), ``bag_replay --video`` and the
benchmark (scripts/bench_annotate.py) all draw through :func:`draw_people`; what is drawn for
one person comes from :func:`person_view` (poses and intents as plain values).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from socialego_core.labels import JPL_SOCIAL, LabelTable
from socialego_core.layouts import BODY_EDGES, FACE, LEFT_HAND, RIGHT_HAND, get_layout

RGB = tuple[int, int, int]

# Colour of each intent decision (label index + 1; 0 = unknown), shared with the RViz markers.
INTENT_COLOURS: dict[int, RGB] = {
    0: (235, 235, 235),  # unknown: light grey
    1: (40, 200, 60),  # Interacting: green
    2: (255, 170, 0),  # Interested: amber
    3: (70, 130, 255),  # Not_Interested: blue
}
GREY: RGB = (128, 128, 128)  # stale or low-quality outputs
NO_INTENT: RGB = (255, 255, 255)  # a person without any forecast yet
# Hand edges over the 21 hand landmarks: wrist to each finger base, then along each finger.
HAND_EDGES: tuple[tuple[int, int], ...] = tuple(
    edge
    for base in (1, 5, 9, 13, 17)
    for edge in ((0, base), (base, base + 1), (base + 1, base + 2), (base + 2, base + 3))
)


def intent_colour(decision: int) -> RGB:
    """The colour of an intent decision (label index + 1); unknown values get the unknown one."""
    return INTENT_COLOURS.get(int(decision), INTENT_COLOURS[0])


@dataclass(frozen=True)
class IntentValues:
    """One person's forecast as plain values (socialego_msgs/SocialIntent fields)."""

    intent: int = 0
    intent_probabilities: Sequence[float] = ()
    attitude: int = 0
    attitude_probabilities: Sequence[float] = ()
    action: int = 0
    action_probabilities: Sequence[float] = ()
    input_quality: float = 1.0
    stale: bool = False


@dataclass(frozen=True)
class PersonView:
    """What is drawn for one person: box (x, y, width, height in pixels), (N, 3) keypoints
    (x, y, score) in layout ``layout_code``, label lines and colour (grey when ``greyed``)."""

    track_id: str
    box: tuple[float, float, float, float]
    keypoints: np.ndarray
    layout_code: int
    lines: tuple[str, ...]
    colour: RGB
    greyed: bool = False


@dataclass(frozen=True)
class Style:
    """Drawing options: line widths, the keypoint score below which a joint is not drawn."""

    box_width: int = 3
    bone_width: int = 2
    joint_radius: int = 3
    min_score: float = 0.3
    font_size: int = 14
    face_and_hands: bool = True
    text_colour: RGB = field(default=(0, 0, 0))


def _label(labels: Sequence[str], decision: int, probabilities: Sequence[float]) -> str | None:
    if decision <= 0:
        return None
    index = decision - 1
    name = labels[index] if index < len(labels) else f"class {decision}"
    if index < len(probabilities):
        return f"{name} {float(probabilities[index]):.2f}"
    return name


def label_lines(
    track_id: str, intent: IntentValues | None, labels: LabelTable, min_quality: float
) -> tuple[tuple[str, ...], bool]:
    """(text lines, greyed) for a person: ``#id intent p``, then ``attitude p | action p``; a
    stale intent or one with ``input_quality < min_quality`` is greyed and says why."""
    head = f"#{track_id}"
    if intent is None:
        return (head,), False
    greyed = bool(intent.stale) or float(intent.input_quality) < min_quality
    first = _label(labels.intent, intent.intent, intent.intent_probabilities) or "unknown"
    if intent.stale:
        first += " (stale)"
    elif float(intent.input_quality) < min_quality:
        first += f" (quality {float(intent.input_quality):.2f})"
    second = [
        text
        for text in (
            _label(labels.attitude, intent.attitude, intent.attitude_probabilities),
            _label(labels.action, intent.action, intent.action_probabilities),
        )
        if text
    ]
    lines = (f"{head} {first}",) + ((" | ".join(second),) if second else ())
    return lines, greyed


def person_view(
    track_id: str,
    box: tuple[float, float, float, float],
    keypoints: np.ndarray,
    layout_code: int,
    intent: IntentValues | None,
    labels: LabelTable = JPL_SOCIAL,
    min_quality: float = 0.3,
) -> PersonView:
    """The PersonView of one tracked person and its latest forecast (None: none yet)."""
    lines, greyed = label_lines(track_id, intent, labels, min_quality)
    if greyed:
        colour = GREY
    elif intent is None:
        colour = NO_INTENT
    else:
        colour = intent_colour(intent.intent)
    return PersonView(track_id, box, keypoints, layout_code, lines, colour, greyed)


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size)
    except (TypeError, OSError):  # Pillow built without FreeType: the fixed bitmap font
        return ImageFont.load_default()


@lru_cache(maxsize=4)
def _edges(layout_code: int, face_and_hands: bool) -> np.ndarray:
    """(E, 2) joint index pairs drawn for a layout: body, and hands for whole-body layouts."""
    layout = get_layout(int(layout_code))
    edges = list(BODY_EDGES)
    if face_and_hands and layout.num_joints > RIGHT_HAND.stop - 1:
        for hand in (LEFT_HAND, RIGHT_HAND):
            edges += [(hand.start + a, hand.start + b) for a, b in HAND_EDGES]
    return np.array(edges, dtype=np.intp)


def _draw_skeleton(draw: ImageDraw.ImageDraw, person: PersonView, style: Style) -> None:
    kp = np.asarray(person.keypoints, dtype=np.float32)
    if kp.ndim != 2 or kp.shape[1] != 3 or len(kp) == 0:
        return
    seen = np.isfinite(kp).all(axis=1) & (kp[:, 2] >= style.min_score)
    edges = _edges(person.layout_code, style.face_and_hands)
    edges = edges[(edges < len(kp)).all(axis=1)]
    edges = edges[seen[edges[:, 0]] & seen[edges[:, 1]]]
    for a, b in edges.tolist():
        draw.line(
            [(kp[a, 0], kp[a, 1]), (kp[b, 0], kp[b, 1])],
            fill=person.colour,
            width=style.bone_width,
        )
    r = style.joint_radius
    body = np.flatnonzero(seen[: BODY_EDGES[-1][1] + 1])
    for j in body.tolist():
        x, y = float(kp[j, 0]), float(kp[j, 1])
        draw.ellipse([x - r, y - r, x + r, y + r], fill=person.colour)
    if style.face_and_hands and len(kp) >= FACE.stop:
        face = FACE.start + np.flatnonzero(seen[FACE.start : FACE.stop])
        draw.point([(float(kp[j, 0]), float(kp[j, 1])) for j in face.tolist()], fill=person.colour)


def _draw_label(
    draw: ImageDraw.ImageDraw, person: PersonView, style: Style, size: tuple[int, int]
) -> None:
    font = _font(style.font_size)
    x, y = float(person.box[0]), float(person.box[1])
    line_h = style.font_size + 3
    height = line_h * len(person.lines) + 2
    width = max(draw.textlength(line, font=font) for line in person.lines) + 6
    top = y - height if y - height >= 0 else y  # above the box, inside when no room
    left = min(max(x, 0.0), max(size[0] - width, 0.0))
    draw.rectangle([left, top, left + width, top + height], fill=person.colour)
    for i, line in enumerate(person.lines):
        draw.text((left + 3, top + 1 + i * line_h), line, fill=style.text_colour, font=font)


def draw_people(
    rgb: np.ndarray, people: Sequence[PersonView], style: Style | None = None
) -> np.ndarray:
    """A copy of the (H, W, 3) uint8 RGB image with every person drawn on it: skeleton, box,
    then the label above the box. ValueError names a wrong image shape or type."""
    image = np.asarray(rgb)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(
            f"the image to annotate must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}"
        )
    style = style or Style()
    canvas = Image.fromarray(image)  # Pillow copies the pixels: the input is left untouched
    draw = ImageDraw.Draw(canvas)
    for person in people:
        _draw_skeleton(draw, person, style)
        bx, by, bw, bh = (float(v) for v in person.box)
        if bw > 0 and bh > 0 and all(np.isfinite((bx, by, bw, bh))):
            draw.rectangle([bx, by, bx + bw, by + bh], outline=person.colour, width=style.box_width)
    for person in people:  # labels last: never hidden by another person's lines
        if np.isfinite(person.box[:2]).all():
            _draw_label(draw, person, style, canvas.size)
    return np.asarray(canvas)
