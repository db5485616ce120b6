"""Keypoint layouts: the one definition of joint names, indices and the body skeleton graph.

Layout codes equal the ``LAYOUT_*`` constants of ``socialego_msgs/msg/WholeBodyPose``.
Bridges to other estimators map keypoints BY NAME through these tables, never by index.
"""

from __future__ import annotations

from dataclasses import dataclass

COCO17_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)

FEET_NAMES: tuple[str, ...] = (
    "left_big_toe",
    "left_small_toe",
    "left_heel",
    "right_big_toe",
    "right_small_toe",
    "right_heel",
)

# 68 face landmarks in the iBUG-300W order used by COCO-WholeBody: 0-16 jaw, 17-21 right brow,
# 22-26 left brow, 27-35 nose, 36-47 eyes, 48-67 mouth.
FACE_NAMES: tuple[str, ...] = tuple(f"face_{i}" for i in range(68))

# 21 hand landmarks per hand: wrist, then 4 per finger from the base to the tip.
HAND_JOINT_NAMES: tuple[str, ...] = (
    "wrist",
    "thumb_1",
    "thumb_2",
    "thumb_3",
    "thumb_4",
    "index_1",
    "index_2",
    "index_3",
    "index_4",
    "middle_1",
    "middle_2",
    "middle_3",
    "middle_4",
    "ring_1",
    "ring_2",
    "ring_3",
    "ring_4",
    "pinky_1",
    "pinky_2",
    "pinky_3",
    "pinky_4",
)
LEFT_HAND_NAMES: tuple[str, ...] = tuple(f"left_hand_{n}" for n in HAND_JOINT_NAMES)
RIGHT_HAND_NAMES: tuple[str, ...] = tuple(f"right_hand_{n}" for n in HAND_JOINT_NAMES)

COCO_WHOLEBODY133_NAMES: tuple[str, ...] = (
    COCO17_NAMES + FEET_NAMES + FACE_NAMES + LEFT_HAND_NAMES + RIGHT_HAND_NAMES
)

# Index ranges of the parts inside COCO_WHOLEBODY133 (method.md section 2).
BODY = range(0, 17)
FEET = range(17, 23)
FACE = range(23, 91)
LEFT_HAND = range(91, 112)
RIGHT_HAND = range(112, 133)
HANDS = range(91, 133)

# Body skeleton graph over COCO17 (method.md section 3); undirected, symmetrised by users.
BODY_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1),
    (0, 2),
    (1, 3),
    (2, 4),
    (5, 7),
    (7, 9),
    (6, 8),
    (8, 10),
    (5, 6),
    (11, 12),
    (5, 11),
    (6, 12),
    (0, 5),
    (0, 6),
    (11, 13),
    (12, 14),
    (13, 15),
    (14, 16),
)


@dataclass(frozen=True)
class Layout:
    """A named keypoint layout with its wire code."""

    name: str
    code: int
    joint_names: tuple[str, ...]

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    def index(self, joint_name: str) -> int:
        return self.joint_names.index(joint_name)


COCO17 = Layout("COCO17", 1, COCO17_NAMES)
COCO_WHOLEBODY133 = Layout("COCO_WHOLEBODY133", 2, COCO_WHOLEBODY133_NAMES)

LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (COCO17, COCO_WHOLEBODY133)}
LAYOUTS_BY_CODE: dict[int, Layout] = {layout.code: layout for layout in LAYOUTS.values()}


def get_layout(name_or_code: str | int) -> Layout:
    """Return a layout by name (``"COCO17"``) or wire code (``1``); ValueError names the input."""
    table = LAYOUTS_BY_CODE if isinstance(name_or_code, int) else LAYOUTS
    try:
        return table[name_or_code]  # type: ignore[index]
    except KeyError:
        known = ", ".join(f"{lay.name}={lay.code}" for lay in LAYOUTS.values())
        raise ValueError(f"unknown keypoint layout {name_or_code!r}; known: {known}") from None
