"""Messages of the annotator node built from one pose frame and the latest forecasts:
visualization_msgs/MarkerArray for RViz and vision_msgs/Detection2DArray.

Placement and ids are socialego_core.markers, colours and texts socialego_core.annotate, so the
markers say and show what the annotated image does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from geometry_msgs.msg import Point
from socialego_core.annotate import IntentValues, Style, draw_people, person_view
from socialego_core.labels import LabelTable
from socialego_core.markers import box_anchor, box_height_m
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

BOX_NS = "socialego/boxes"
LABEL_NS = "socialego/labels"
BOX_ALPHA = 0.35
TEXT_HEIGHT_M = 0.12


@dataclass(frozen=True)
class PersonBox:
    """One tracked person of a pose frame, with its latest forecast (None: none yet)."""

    track_id: str
    box: tuple[float, float, float, float]  # x, y, width, height in pixels
    keypoints: np.ndarray
    layout_code: int
    image_size: tuple[int, int]  # width, height
    intent: IntentValues | None


def people_of(readings, intent_of: Callable[[str], IntentValues | None]) -> list[PersonBox]:
    """The PersonBoxes of a pose frame's accepted readings (socialego_core.pose_reader), each
    with ``intent_of(track_id)``."""
    return [
        PersonBox(
            track_id=r.track_id,
            box=(r.pose.bbox_x, r.pose.bbox_y, r.pose.bbox_width, r.pose.bbox_height),
            keypoints=r.keypoints,
            layout_code=r.layout.code,
            image_size=(int(r.pose.image_width), int(r.pose.image_height)),
            intent=intent_of(r.track_id),
        )
        for r in readings
    ]


def intent_values(intent) -> IntentValues:
    """The plain values of a socialego_msgs/SocialIntent."""
    return IntentValues(
        intent=int(intent.intent),
        intent_probabilities=tuple(intent.intent_probabilities),
        attitude=int(intent.attitude),
        attitude_probabilities=tuple(intent.attitude_probabilities),
        action=int(intent.action),
        action_probabilities=tuple(intent.action_probabilities),
        input_quality=float(intent.input_quality),
        stale=bool(intent.stale),
    )


def label_table(msg) -> LabelTable | None:
    """The label names of a socialego_msgs/ModelInfo (None when it carries none)."""
    if not (msg.intent_labels and msg.attitude_labels):
        return None
    return LabelTable(
        msg.dataset or "model",
        tuple(msg.intent_labels),
        tuple(msg.attitude_labels),
        tuple(msg.action_labels),
    )


def annotate(
    rgb: np.ndarray,
    people: Sequence[PersonBox],
    labels: LabelTable,
    min_quality: float = 0.3,
    min_score: float = 0.3,
) -> np.ndarray:
    """The annotated copy of an (H, W, 3) RGB image (socialego_core.annotate)."""
    views = [
        person_view(p.track_id, p.box, p.keypoints, p.layout_code, p.intent, labels, min_quality)
        for p in people
    ]
    return draw_people(rgb, views, Style(min_score=min_score))


def _colour(rgb: tuple[int, int, int], alpha: float) -> ColorRGBA:
    return ColorRGBA(r=rgb[0] / 255.0, g=rgb[1] / 255.0, b=rgb[2] / 255.0, a=float(alpha))


def _deletes(ids: Sequence[int], header) -> list[Marker]:
    out = []
    for marker_id in ids:
        for ns in (BOX_NS, LABEL_NS):
            marker = Marker(ns=ns, id=int(marker_id), action=Marker.DELETE)
            if header is not None:
                marker.header = header
            out.append(marker)
    return out


def marker_array(
    people: Sequence[PersonBox],
    deleted: Sequence[int],
    header,
    cfg: dict,
    labels: LabelTable,
    ids: dict[str, int] | None = None,
) -> MarkerArray:
    """Per person a translucent box (CUBE) and a text label (TEXT_VIEW_FACING) in the frame of
    ``header``, coloured by intent (grey when stale or low quality); DELETE for ``deleted``."""
    depth, hfov = float(cfg["marker_depth_m"]), float(cfg["camera_hfov_deg"])
    markers = _deletes(deleted, header)
    for person in people:
        width, height = person.image_size
        bx, by, bw, bh = (float(v) for v in person.box)
        if not (bw > 0 and bh > 0 and np.isfinite((bx, by, bw, bh)).all()):
            continue
        view = person_view(
            person.track_id,
            person.box,
            person.keypoints,
            person.layout_code,
            person.intent,
            labels,
            cfg["min_input_quality"],
        )
        marker_id = (ids or {}).get(person.track_id, 0)
        top = box_anchor(person.box, width, height, depth, hfov)
        size_y = box_height_m(bh, width, depth, hfov)
        size_x = box_height_m(bw, width, depth, hfov)
        box = Marker(ns=BOX_NS, id=marker_id, type=Marker.CUBE, action=Marker.ADD)
        box.header = header
        box.pose.position = Point(x=top[0], y=top[1] + size_y / 2.0, z=top[2])
        box.pose.orientation.w = 1.0
        box.scale.x, box.scale.y, box.scale.z = max(size_x, 1e-3), max(size_y, 1e-3), 0.02
        box.color = _colour(view.colour, BOX_ALPHA)
        label = Marker(ns=LABEL_NS, id=marker_id, type=Marker.TEXT_VIEW_FACING, action=Marker.ADD)
        label.header = header
        lift = TEXT_HEIGHT_M * (len(view.lines) + 0.5) / 2.0  # optical frame: up is -y
        label.pose.position = Point(x=top[0], y=top[1] - lift, z=top[2])
        label.pose.orientation.w = 1.0
        label.scale.z = TEXT_HEIGHT_M
        label.color = _colour(view.colour, 1.0)
        label.text = "\n".join(view.lines)
        markers += [box, label]
    return MarkerArray(markers=markers)


def detection_array(vision, header, people: Sequence[PersonBox], labels: LabelTable):
    """vision_msgs/Detection2DArray (module ``vision`` = vision_msgs.msg): per person its box
    (centre and size in pixels), id = track_id, and one hypothesis per intent class (class_id =
    the label name, score = its probability) when a forecast exists."""
    out = vision.Detection2DArray()
    out.header = header
    for person in people:
        bx, by, bw, bh = (float(v) for v in person.box)
        det = vision.Detection2D()
        det.header = header
        det.id = person.track_id
        det.bbox.center.position.x = bx + bw / 2.0
        det.bbox.center.position.y = by + bh / 2.0
        det.bbox.size_x, det.bbox.size_y = bw, bh
        probabilities = person.intent.intent_probabilities if person.intent is not None else ()
        for name, p in zip(labels.intent, probabilities, strict=False):
            hypothesis = vision.ObjectHypothesisWithPose()
            hypothesis.hypothesis.class_id = name
            hypothesis.hypothesis.score = float(p)
            det.results.append(hypothesis)
        out.detections.append(det)
    return out
