"""RViz marker placement and lifetime, without ROS: where a person's label goes in the camera
frame, and which marker ids to add or delete as tracks come and go.

A monocular camera gives no depth, so a person is placed on a plane ``depth_m`` in front of the
camera, along the ray through the top centre of its box, with a pinhole of horizontal field of
view ``hfov_deg`` (the REP-103 optical frame: x right, y down, z forward). The annotator node
turns these into visualization_msgs/Marker messages.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


def box_anchor(
    box: tuple[float, float, float, float],
    image_width: int,
    image_height: int,
    depth_m: float,
    hfov_deg: float,
) -> tuple[float, float, float]:
    """(x, y, z) in metres in the camera optical frame of the top centre of a pixel box
    (x, y, width, height). ValueError names a non-positive image size, depth or field of view."""
    if image_width <= 0 or image_height <= 0:
        raise ValueError(f"image size {image_width}x{image_height} must be positive")
    if depth_m <= 0 or not 0 < hfov_deg < 180:
        raise ValueError(f"depth {depth_m} m must be > 0 and hfov {hfov_deg} deg in (0, 180)")
    focal = (image_width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
    u = float(box[0]) + float(box[2]) / 2.0
    v = float(box[1])
    x = (u - image_width / 2.0) / focal * depth_m
    y = (v - image_height / 2.0) / focal * depth_m
    return x, y, float(depth_m)


def box_height_m(box_height_px: float, image_width: int, depth_m: float, hfov_deg: float) -> float:
    """Height in metres at ``depth_m`` of a box ``box_height_px`` pixels tall (same pinhole)."""
    focal = (image_width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
    return float(box_height_px) / focal * depth_m


@dataclass(frozen=True)
class MarkerUpdate:
    """Marker ids per track to (re)draw, and the ids of tracks that went (to DELETE)."""

    ids: dict[str, int]
    deleted: list[int]


class MarkerIds:
    """A stable integer marker id per track id (RViz keys markers by namespace and int id);
    tracks absent from a frame are reported once as deleted and forget their id."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._next = 0

    def update(self, track_ids: Iterable[str]) -> MarkerUpdate:
        present: dict[str, int] = {}
        for track in track_ids:
            if track not in self._ids:
                self._ids[track] = self._next
                self._next += 1
            present[track] = self._ids[track]
        deleted = [self._ids.pop(t) for t in list(self._ids) if t not in present]
        return MarkerUpdate(present, deleted)

    def clear(self) -> list[int]:
        """Forget every track; returns their ids (to DELETE)."""
        ids = list(self._ids.values())
        self._ids.clear()
        return ids
