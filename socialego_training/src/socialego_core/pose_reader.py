"""The one reader of socialego_msgs/WholeBodyPose(Array): messages -> checked keypoint arrays.

Needs no ROS at all (reads the messages' fields by name, so rclpy and rosbags messages alike);
shared by the intent node, the gaze node, the REP-155 bridge and the offline tools that read
recorded poses (``socialego-train from-bag``) so that every consumer refuses or cleans the same
malformed poses with the same words. What it does with bad input:

- dropped (``PoseError``): an empty or over-long ``track_id``, an unknown layout code, arrays of
  the wrong length, an image size that is not positive or beyond ``MAX_IMAGE_SIDE_PX``, a pose
  stamp farther than the caller's tolerance from its clock, a pose without one finite keypoint
  (all NaN/inf: not observed);
- cleaned, per joint (the joint becomes undetected, x = y = score = 0, and the problem is
  reported): NaN/inf values, scores outside [0, 1] by more than ``SCORE_EPS``, coordinates more
  than one image size outside the image; scores within ``SCORE_EPS`` of [0, 1] are clipped;
- a ``track_id`` repeated within one array: the last pose wins, the others are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from socialego_core.layouts import LAYOUTS_BY_CODE, Layout
from socialego_core.stamps import stamp_seconds
from socialego_core.track_buffers import check_image_size

MAX_IMAGE_SIDE_PX = 16384  # larger declared image sides are refused
MAX_TRACK_ID_CHARS = 256
SCORE_EPS = 1e-3  # scores this far outside [0, 1] are clipped; farther: the joint is unseen
COORD_MARGIN = 1.0  # coordinates beyond this many image sizes outside the image: unseen


class PoseError(ValueError):
    """A malformed pose; ``kind`` names the problem class (throttled warnings, diagnostics)."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(text)
        self.kind = kind


class Problem(NamedTuple):
    """One thing wrong with an input: ``kind`` (diagnostics counter), ``text`` (the warning)."""

    kind: str
    text: str


class Source(NamedTuple):
    """The header an output inherits from the pose it came from (stamp message, frame_id)."""

    stamp: Any
    frame_id: str


@dataclass
class PoseReading:
    """One accepted pose: (N, 3) float32 pixels in ``layout``, its own header (``source``),
    its stamp in seconds, and what was cleaned in it."""

    pose: Any
    keypoints: np.ndarray
    layout: Layout
    source: Source
    stamp_s: float
    problems: list[Problem] = field(default_factory=list)

    @property
    def track_id(self) -> str:
        return self.pose.track_id


def short_id(track_id: str, limit: int = 40) -> str:
    """The track id for a warning: quoted, cut to ``limit`` characters."""
    if len(track_id) <= limit:
        return repr(track_id)
    return f"{track_id[:limit]!r}... ({len(track_id)} chars)"


def pose_layout(pose) -> Layout:
    """The pose's keypoint layout; PoseError for an unknown layout code."""
    layout = LAYOUTS_BY_CODE.get(pose.layout)
    if layout is None:
        known = ", ".join(f"{lay.name}={code}" for code, lay in LAYOUTS_BY_CODE.items())
        raise PoseError("unknown_layout", f"unknown layout code {pose.layout} (known: {known})")
    return layout


def check_track_id(track_id: str) -> None:
    """PoseError for an empty track_id or one longer than MAX_TRACK_ID_CHARS."""
    if not track_id:
        raise PoseError("empty_track_id", "pose without track_id")
    if len(track_id) > MAX_TRACK_ID_CHARS:
        raise PoseError(
            "long_track_id",
            f"track_id of {len(track_id)} characters (at most {MAX_TRACK_ID_CHARS})",
        )


def check_pose_image(pose) -> None:
    """PoseError (``bad_image_size``) for an image size that is not positive or absurd."""
    try:
        check_image_size(float(pose.image_width), float(pose.image_height), MAX_IMAGE_SIDE_PX)
    except ValueError as exc:
        raise PoseError("bad_image_size", str(exc)) from None


def pose_keypoints(pose) -> tuple[np.ndarray, Layout]:
    """(N, 3) float32 pixels (x, y, score) in the pose's layout, and that layout, as sent.

    PoseError names the malformed field (unknown layout, wrong number of keypoints).
    """
    layout = pose_layout(pose)
    n = layout.num_joints
    if not (len(pose.x) == len(pose.y) == len(pose.score) == n):
        raise PoseError(
            "wrong_length",
            f"layout {layout.name} needs {n} keypoints, got "
            f"x={len(pose.x)} y={len(pose.y)} score={len(pose.score)}",
        )
    keypoints = np.stack(
        [
            np.asarray(pose.x, dtype=np.float32),
            np.asarray(pose.y, dtype=np.float32),
            np.asarray(pose.score, dtype=np.float32),
        ],
        axis=1,
    )
    return keypoints, layout


def clean_keypoints(keypoints: np.ndarray, width: float, height: float) -> list[Problem]:
    """Make absurd joints undetected in place (x = y = score = 0); what was wrong, as Problems.

    PoseError (``no_finite_keypoints``) when no keypoint holds one finite value: the pose is
    not an observation at all.
    """
    problems = []
    finite = np.isfinite(keypoints).all(axis=1)
    if not np.isfinite(keypoints).any():
        raise PoseError("no_finite_keypoints", "every keypoint is NaN/inf: not observed")
    if not finite.all():
        problems.append(
            Problem("non_finite", f"{int((~finite).sum())} NaN/inf keypoints treated as unseen")
        )
    with np.errstate(invalid="ignore"):
        x, y, s = keypoints[:, 0], keypoints[:, 1], keypoints[:, 2]
        bad_score = finite & ((s < -SCORE_EPS) | (s > 1.0 + SCORE_EPS))
        far = finite & (
            (x < -COORD_MARGIN * width)
            | (x > (1.0 + COORD_MARGIN) * width)
            | (y < -COORD_MARGIN * height)
            | (y > (1.0 + COORD_MARGIN) * height)
        )
    if bad_score.any():
        worst = float(s[bad_score][np.argmax(np.abs(s[bad_score]))])
        problems.append(
            Problem(
                "bad_score",
                f"{int(bad_score.sum())} keypoint scores outside [0, 1] (e.g. {worst:g}) "
                "treated as unseen",
            )
        )
    if far.any():
        i = int(np.flatnonzero(far)[0])
        problems.append(
            Problem(
                "out_of_image",
                f"{int(far.sum())} keypoints far outside the {width:g}x{height:g} image "
                f"(e.g. ({float(x[i]):g}, {float(y[i]):g})) treated as unseen",
            )
        )
    unseen = ~finite | bad_score | far
    keypoints[unseen] = 0.0
    np.clip(keypoints[:, 2], 0.0, 1.0, out=keypoints[:, 2])
    return problems


def pose_header(pose, array_header) -> Source:
    """The pose's own header (copied from its image), else the array's; its frame_id falls
    back to the array's."""
    own = pose.header.stamp.sec or pose.header.stamp.nanosec
    stamp = pose.header.stamp if own else array_header.stamp
    return Source(stamp, pose.header.frame_id or array_header.frame_id)


def read_pose(
    pose, array_header, now_s: float | None = None, max_offset_s: float | None = None
) -> PoseReading:
    """Check and clean one pose; PoseError names why it is dropped.

    With ``now_s`` and ``max_offset_s``: a stamp farther than ``max_offset_s`` from ``now_s``
    (past or future) is refused (``stamp_offset``); ``now_s`` 0 (a sim clock not started yet)
    checks nothing.
    """
    check_track_id(pose.track_id)
    keypoints, layout = pose_keypoints(pose)
    check_pose_image(pose)
    source = pose_header(pose, array_header)
    stamp_s = stamp_seconds(source.stamp)
    if now_s and max_offset_s is not None and abs(stamp_s - now_s) > max_offset_s:
        where = "ahead of" if stamp_s > now_s else "behind"
        raise PoseError(
            "stamp_offset",
            f"stamp {stamp_s:.3f} is {abs(stamp_s - now_s):.3f} s {where} the node clock "
            f"(max_stamp_offset_s = {max_offset_s:g})",
        )
    problems = clean_keypoints(keypoints, float(pose.image_width), float(pose.image_height))
    return PoseReading(pose, keypoints, layout, source, stamp_s, problems)


def read_pose_array(
    msg, now_s: float | None = None, max_offset_s: float | None = None, skip=None
) -> tuple[list[PoseReading], list[Problem]]:
    """Every acceptable pose of a WholeBodyPoseArray (one per track_id: the last wins), and
    every problem found, each naming its track. ``skip(pose)`` true: ignored silently."""
    readings: dict[str, PoseReading] = {}
    problems: list[Problem] = []
    seen: set[str] = set()
    for pose in msg.poses:
        if skip is not None and skip(pose):
            continue
        tid = pose.track_id
        name = short_id(tid)
        if tid and tid in seen:
            problems.append(
                Problem("duplicate_track_id", f"track {name} twice in one message: last kept")
            )
            readings.pop(tid, None)
        seen.add(tid)
        try:
            reading = read_pose(pose, msg.header, now_s, max_offset_s)
        except PoseError as exc:
            problems.append(Problem(exc.kind, f"pose of track {name} skipped: {exc}"))
            continue
        readings[tid] = reading
        problems += [Problem(p.kind, f"track {name}: {p.text}") for p in reading.problems]
    return list(readings.values()), problems
