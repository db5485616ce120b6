"""ROS-free logic of the REP-155 (ROS4HRI) bridge: ids, skeleton mapping, engagement levels.

The bridge node (hri_bridge.py) is a thin adapter around these functions, so they are tested
without hri_msgs. The hri constants below are written from the message definitions of
ros4hri/hri_msgs (Skeleton2D, EngagementLevel); the node checks them against the installed
package at configure (``constant_problems``) and refuses to run if they differ.

Skeleton2D says it follows the OpenPose COCO order, but its eye and ear constants are swapped with
respect to OpenPose (LEFT_EYE = 14, where OpenPose has the right eye). Keypoints are therefore
mapped BY NAME: hri constant name -> socialego_core.layouts joint name -> index in our layout.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from socialego_core.layouts import get_layout

# hri_msgs/Skeleton2D constants: name -> index into Skeleton2D.skeleton (18 points).
SKELETON2D_INDEX: dict[str, int] = {
    "NOSE": 0,
    "NECK": 1,
    "RIGHT_SHOULDER": 2,
    "RIGHT_ELBOW": 3,
    "RIGHT_WRIST": 4,
    "LEFT_SHOULDER": 5,
    "LEFT_ELBOW": 6,
    "LEFT_WRIST": 7,
    "RIGHT_HIP": 8,
    "RIGHT_KNEE": 9,
    "RIGHT_ANKLE": 10,
    "LEFT_HIP": 11,
    "LEFT_KNEE": 12,
    "LEFT_ANKLE": 13,
    "LEFT_EYE": 14,
    "RIGHT_EYE": 15,
    "LEFT_EAR": 16,
    "RIGHT_EAR": 17,
}
SKELETON2D_POINTS = 18
# Our joint name (socialego_core.layouts) for every hri joint we observe directly. NECK has no
# COCO joint: like OpenPose it is the midpoint of the two shoulders.
SKELETON2D_SOURCE: dict[str, str] = {
    name: name.lower() for name in SKELETON2D_INDEX if name != "NECK"
}
NECK_FROM = ("left_shoulder", "right_shoulder")

# hri_msgs/EngagementLevel constants.
ENGAGEMENT_LEVELS: dict[str, int] = {
    "UNKNOWN": 0,
    "DISENGAGED": 1,
    "ENGAGING": 2,
    "ENGAGED": 3,
    "DISENGAGING": 4,
}
UNKNOWN, DISENGAGED, ENGAGING, ENGAGED, DISENGAGING = range(5)
LEVEL_NAMES = {v: k for k, v in ENGAGEMENT_LEVELS.items()}

# socialego_msgs/SocialIntent decisions (label index + 1; JPL-Social / HARPER share them).
INTENT_INTERACTING, INTENT_INTERESTED, INTENT_NOT_INTERESTED = 1, 2, 3
# Level each intent decision asks for; anything else (0 = unknown) means UNKNOWN.
TARGET_LEVEL: dict[int, int] = {
    INTENT_INTERACTING: ENGAGED,
    INTENT_INTERESTED: ENGAGING,
    INTENT_NOT_INTERESTED: DISENGAGED,
}

# The transitions hri_engagement allows between known levels (its tests check exactly these);
# the bridge walks them one step per intent update, so ROS4HRI consumers never see a jump such
# as DISENGAGED -> ENGAGED. Losing evidence (unknown or stale decision) goes to UNKNOWN at once.
ALLOWED_TRANSITIONS: frozenset[tuple[int, int]] = frozenset(
    {
        (UNKNOWN, UNKNOWN),
        (UNKNOWN, DISENGAGED),
        (DISENGAGED, DISENGAGED),
        (DISENGAGED, ENGAGING),
        (ENGAGING, ENGAGING),
        (ENGAGING, DISENGAGED),
        (ENGAGING, ENGAGED),
        (ENGAGED, ENGAGED),
        (ENGAGED, DISENGAGING),
        (DISENGAGING, DISENGAGING),
        (DISENGAGING, ENGAGED),
        (DISENGAGING, DISENGAGED),
    }
)
# Next level for (current level, target level), following ALLOWED_TRANSITIONS towards the target.
_STEP: dict[tuple[int, int], int] = {
    (UNKNOWN, DISENGAGED): DISENGAGED,
    (UNKNOWN, ENGAGING): DISENGAGED,
    (UNKNOWN, ENGAGED): DISENGAGED,
    (DISENGAGED, DISENGAGED): DISENGAGED,
    (DISENGAGED, ENGAGING): ENGAGING,
    (DISENGAGED, ENGAGED): ENGAGING,
    (ENGAGING, DISENGAGED): DISENGAGED,
    (ENGAGING, ENGAGING): ENGAGING,
    (ENGAGING, ENGAGED): ENGAGED,
    (ENGAGED, DISENGAGED): DISENGAGING,
    (ENGAGED, ENGAGING): DISENGAGING,
    (ENGAGED, ENGAGED): ENGAGED,
    (DISENGAGING, DISENGAGED): DISENGAGED,
    # was engaged and is still interested: keeps drifting away until it interacts again or
    # loses interest (hri_engagement has no DISENGAGING -> ENGAGING edge)
    (DISENGAGING, ENGAGING): DISENGAGING,
    (DISENGAGING, ENGAGED): ENGAGED,
}

_TOKEN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def rep155_id(raw: str, prefix: str) -> str:
    """A REP-155 id that is also a valid ROS name token (it becomes a topic namespace).

    ``raw`` is kept when it is already valid (letters first; letters, digits, single
    underscores); otherwise other characters become '_' and ``prefix`` goes in front, so the
    tracker's digit ids "7" become "b7". ValueError for an empty ``raw``.
    """
    if not raw:
        raise ValueError("empty id: a body needs a non-empty track_id")
    if _TOKEN.match(raw) and "__" not in raw and not raw.endswith("_"):
        return raw
    cleaned = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", raw)).strip("_")
    return f"{prefix}{cleaned}" if cleaned else prefix


def body_id(track_id: str, prefix: str) -> str:
    """REP-155 body id of a track: always ``prefix`` + the cleaned track id (e.g. "b7")."""
    if not track_id:
        raise ValueError("empty track_id: every tracked body needs an id")
    cleaned = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", track_id)).strip("_")
    return f"{prefix}{cleaned}"


def camera_name(namespace: str) -> str:
    """The token that tells a camera's bodies apart: its namespace cleaned to letters, digits
    and single underscores ("/robot/front" -> "robot_front"); '' for the root namespace."""
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", namespace.strip("/"))).strip("_")


def camera_track(camera: str, track_id: str) -> str:
    """A track id unique over several cameras: ``<camera>_<track_id>`` ("front_7"), or the
    track id itself for a single camera (``camera`` empty)."""
    return f"{camera}_{track_id}" if camera and track_id else track_id


def camera_namespaces(text: str) -> list[str]:
    """The ``camera_namespaces`` parameter as a list ('' -> [''], one camera in the node's own
    namespace). ValueError names an empty entry, a duplicate, or two that clean to one name."""
    if not text.strip():
        return [""]
    names = [part.strip() for part in text.split(",")]
    if any(not name.strip("/") for name in names):
        raise ValueError(f"camera_namespaces {text!r} has an empty entry")
    cleaned = [camera_name(name) for name in names]
    if len(set(cleaned)) != len(cleaned):
        raise ValueError(f"camera_namespaces {text!r} names a camera twice ({cleaned})")
    return names


class CameraFrames:
    """The bodies and persons of each camera's last frame; ``update`` returns the lists of
    every camera seen within ``forget_after_s`` (the updating camera's first), so the tracked
    lists of several cameras neither flicker nor keep a camera that stopped."""

    def __init__(self, forget_after_s: float) -> None:
        self.forget_after_s = float(forget_after_s)
        self.frames: dict[str, tuple[float, list[str], list[str]]] = {}

    def update(
        self, camera: str, bodies: list[str], persons: list[str], now_s: float
    ) -> tuple[list[str], list[str]]:
        self.frames[camera] = (now_s, list(bodies), list(persons))
        all_bodies, all_persons = list(bodies), list(persons)
        for other, (seen_s, other_bodies, other_persons) in list(self.frames.items()):
            if other == camera:
                continue
            if now_s - seen_s > self.forget_after_s:
                del self.frames[other]
                continue
            all_bodies += [b for b in other_bodies if b not in all_bodies]
            all_persons += [p for p in other_persons if p not in all_persons]
        return all_bodies, all_persons


def normalised_roi(
    box: tuple[float, float, float, float], image_width: int, image_height: int
) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) in [0, 1] of a pixel box (x, y, width, height), as
    hri_msgs/NormalizedRegionOfInterest2D holds it. ValueError for a non-positive image size or
    a box that is empty or not finite."""
    if image_width <= 0 or image_height <= 0:
        raise ValueError(f"image size {image_width}x{image_height} must be positive")
    x, y, w, h = (float(v) for v in box)
    if not (np.isfinite((x, y, w, h)).all() and w > 0 and h > 0):
        raise ValueError(f"box {box} must be finite with a positive width and height")
    corners = np.array(
        [x / image_width, y / image_height, (x + w) / image_width, (y + h) / image_height]
    )
    xmin, ymin, xmax, ymax = np.clip(corners, 0.0, 1.0).tolist()
    return xmin, ymin, xmax, ymax


@dataclass(frozen=True)
class PersonRef:
    """The REP-155 person of a track: id, and whether it is anonymous (no person_id)."""

    person_id: str
    anonymous: bool


def person_ref(
    track_id: str, person_id: str, body_prefix: str, person_prefix: str, anonymous: bool
) -> PersonRef | None:
    """Person of one track: its person_id if known, else an anonymous person tied to the body
    (``anonymous_<body id>``), or None when anonymous persons are switched off."""
    if person_id:
        return PersonRef(rep155_id(person_id, person_prefix), False)
    if not anonymous:
        return None
    return PersonRef(f"anonymous_{body_id(track_id, body_prefix)}", True)


class _LayoutMap:
    """Index arrays from one of our layouts into the 18 Skeleton2D slots."""

    def __init__(self, layout_code: int) -> None:
        layout = get_layout(int(layout_code))
        self.num_joints = layout.num_joints
        self.slots = np.array([SKELETON2D_INDEX[n] for n in SKELETON2D_SOURCE], dtype=np.intp)
        self.sources = np.array(
            [layout.index(name) for name in SKELETON2D_SOURCE.values()], dtype=np.intp
        )
        self.neck = tuple(layout.index(name) for name in NECK_FROM)


_LAYOUT_MAPS: dict[int, _LayoutMap] = {}


def skeleton2d_points(
    keypoints: np.ndarray,
    layout_code: int,
    image_width: int,
    image_height: int,
) -> np.ndarray:
    """(18, 3) float32 rows (x, y, c) in Skeleton2D index order from (N, 3) pixel keypoints
    (x, y, score) in our layout ``layout_code``, coordinates normalised to [0, 1].

    Pixels are divided by the image size (origin top-left, as hri uses) and clipped to [0, 1];
    c is the keypoint score (NaN -> 0). A joint with c = 0 (not seen, or non-finite coordinates)
    gets x = y = 0. NECK is the shoulders' midpoint with c = the smaller shoulder score, 0 unless
    both shoulders were seen. ValueError names the problem (layout, lengths, image size).
    """
    if image_width <= 0 or image_height <= 0:
        raise ValueError(f"image size {image_width}x{image_height} must be positive")
    mapping = _LAYOUT_MAPS.get(int(layout_code))
    if mapping is None:
        mapping = _LAYOUT_MAPS.setdefault(int(layout_code), _LayoutMap(layout_code))
    kp = np.asarray(keypoints, dtype=np.float32)
    if kp.shape != (mapping.num_joints, 3):
        raise ValueError(
            f"layout {layout_code} has {mapping.num_joints} joints but the keypoints have "
            f"shape {kp.shape}"
        )
    px = kp / np.array([float(image_width), float(image_height), 1.0], dtype=np.float32)
    seen = np.isfinite(px).all(axis=1) & (px[:, 2] > 0)
    px[~seen] = 0.0
    px[:, :2] = np.clip(px[:, :2], 0.0, 1.0)
    px[:, 2] = np.clip(px[:, 2], 0.0, 1.0)
    out = np.zeros((SKELETON2D_POINTS, 3), dtype=np.float32)
    out[mapping.slots] = px[mapping.sources]
    left, right = px[mapping.neck[0]], px[mapping.neck[1]]
    if left[2] > 0 and right[2] > 0:
        out[SKELETON2D_INDEX["NECK"]] = (
            (left[0] + right[0]) / 2,
            (left[1] + right[1]) / 2,
            min(left[2], right[2]),
        )
    return out


def next_engagement_level(current: int, decision: int, stale: bool) -> int:
    """One update of a person's engagement level from our smoothed intent decision.

    interacting -> ENGAGED, interested -> ENGAGING, not interested -> DISENGAGED, reached one
    allowed hri_engagement transition at a time (so leaving ENGAGED always passes DISENGAGING);
    an unknown decision or a stale intent -> UNKNOWN.
    """
    target = TARGET_LEVEL.get(int(decision), UNKNOWN)
    if stale or target == UNKNOWN:
        return UNKNOWN
    return _STEP[(int(current), target)]


@dataclass
class EngagementUpdate:
    """Result of one EngagementTracker.update for one person."""

    level: int
    previous: int
    became_engaged: bool  # entered ENGAGED in this update (the moment to send ENGAGE_WITH)


class EngagementTracker:
    """Engagement level per person, forgotten when a person is unseen for ``forget_after_s``."""

    def __init__(self, forget_after_s: float) -> None:
        self.forget_after_s = float(forget_after_s)
        self.levels: dict[str, int] = {}
        self.last_seen: dict[str, float] = {}

    def update(self, person: str, decision: int, stale: bool, now_s: float) -> EngagementUpdate:
        previous = self.levels.get(person, UNKNOWN)
        level = next_engagement_level(previous, decision, stale)
        self.levels[person] = level
        self.last_seen[person] = now_s
        return EngagementUpdate(level, previous, level == ENGAGED and previous != ENGAGED)

    def forget_expired(self, now_s: float) -> list[str]:
        """Drop and return the people not updated within forget_after_s of ``now_s``."""
        gone = [p for p, t in self.last_seen.items() if now_s - t > self.forget_after_s]
        for person in gone:
            self.levels.pop(person, None)
            self.last_seen.pop(person, None)
        return gone


class LastSeen:
    """When each id was last seen; ids unseen for ``forget_after_s`` expire (their topics go)."""

    def __init__(self, forget_after_s: float) -> None:
        self.forget_after_s = float(forget_after_s)
        self.times: dict[str, float] = {}

    def note(self, ids: Iterable[str], now_s: float) -> None:
        for key in ids:
            self.times[key] = now_s

    def expire(self, now_s: float) -> list[str]:
        gone = [k for k, t in self.times.items() if now_s - t > self.forget_after_s]
        for key in gone:
            del self.times[key]
        return gone


def engage_with_data(person: str) -> str:
    """The JSON ``data`` of an ENGAGE_WITH intent: the robot should engage with ``person``."""
    return json.dumps({"recipient": person})


def constant_problems(message_class, expected: dict[str, int | str]) -> list[str]:
    """Constants of an installed message class that differ from what this module assumes."""
    problems = []
    name = getattr(message_class, "__name__", str(message_class))
    for constant, value in expected.items():
        actual = getattr(message_class, constant, None)
        if actual != value:
            problems.append(f"{name}.{constant} is {actual!r}, the bridge expects {value!r}")
    return problems


def level_name(level: int) -> str:
    return LEVEL_NAMES.get(int(level), f"level {level}")
