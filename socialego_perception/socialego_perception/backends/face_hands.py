"""Face and hand keypoints per person crop, from the MediaPipe models the 0.10.21 wheel ships.

Any multi-person body backend finds the people; for each person (at most ``max_persons`` per
image, the largest first) this stage cuts the person's crop out of the image, places a face
region and one region per hand on it from the person's own body keypoints (head points for the
face; elbow -> wrist for each hand), and runs MediaPipe's face landmark model (468-point mesh)
and hand landmark model (21 points) on those regions. That is what MediaPipe Holistic does for
one person, but driven by our tracked bodies, so it works for several people and needs no
second body or palm detector. A second pass re-centres each region on the landmarks found.
Given the people's track ids, a part found in the last image is first looked for where it was
(moved with the body), as MediaPipe's trackers do: one model run instead of a search; a part
missed in the last image gets one region per image (the next in turn), not a full search.

Results go back to full-image pixels (``CropBox.to_image``) and into COCO-WholeBody by name:
the face mesh points nearest to the 68 iBUG points (``FACE_MESH_TO_IBUG68``), the hands through
the same name map as the holistic mode. The hand found from the left elbow/wrist is the left
hand, whatever MediaPipe's handedness classifier says (it assumes mirrored selfie images).

Scores: MediaPipe's landmark graphs drop a face/hand whose presence score is below 0.5 and give
no per-point confidence, so a point found scores the confidence of the body keypoints that
placed its region (head points for the face, the wrist for a hand); points outside the image
and parts not found score 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from socialego_core.layouts import COCO_WHOLEBODY133, FACE, LEFT_HAND, RIGHT_HAND

from socialego_perception.backends.base import BackendError, PersonPose

_IDX = {name: i for i, name in enumerate(COCO_WHOLEBODY133.joint_names)}
NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR = (
    _IDX[n] for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
)
LEFT_SHOULDER, RIGHT_SHOULDER = _IDX["left_shoulder"], _IDX["right_shoulder"]

# Face mesh (468 points) index for each of the 68 iBUG-300W points (the order of FACE_NAMES):
# jaw 0-16 (subject's right ear to left ear over the chin), right brow 17-21 and left brow
# 22-26 (outer to inner / inner to outer), nose bridge 27-30, nostrils 31-35, right eye 36-41,
# left eye 42-47 (corner, upper lid, corner, lower lid), outer lips 48-59, inner lips 60-67.
# The mesh has no exact iBUG points; these are its vertices at the same anatomical places.
FACE_MESH_TO_IBUG68: tuple[int, ...] = (
    # jaw
    234, 93, 132, 58, 172, 136, 150, 176, 152, 400, 379, 365, 397, 288, 361, 323, 454,
    # brows
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
    # nose bridge, nostrils
    168, 197, 5, 4, 75, 97, 2, 326, 305,
    # eyes
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
    # outer lips
    61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91,
    # inner lips
    78, 81, 13, 311, 308, 402, 14, 178,
)  # fmt: skip
FACE_MESH_POINTS = 468
# mesh points that set the face region's rotation (eye outer corners) and the hand's (wrist,
# middle finger base), as in MediaPipe's own trackers
_MESH_RIGHT_EYE, _MESH_LEFT_EYE = 33, 263
_HAND_WRIST, _HAND_MIDDLE_MCP = 0, 9
_MESH_NOSE_TIP = 4

MIN_CROP_PX = 16  # a person crop smaller than this on a side has no usable face or hands
MIN_REGION_PX = 8.0  # face/hand regions smaller than this are not worth a model run

_FACE_GRAPH = """
input_stream: "image"
input_stream: "roi"
output_stream: "landmarks"
node {
  calculator: "FaceLandmarkCpu"
  input_stream: "IMAGE:image"
  input_stream: "ROI:roi"
  input_side_packet: "WITH_ATTENTION:with_attention"
  output_stream: "LANDMARKS:landmarks"
}
"""
_HAND_GRAPH = """
input_stream: "image"
input_stream: "roi"
output_stream: "landmarks"
node {
  calculator: "HandLandmarkCpu"
  input_stream: "IMAGE:image"
  input_stream: "ROI:roi"
  input_side_packet: "MODEL_COMPLEXITY:model_complexity"
  output_stream: "LANDMARKS:landmarks"
}
"""


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
    elbow, wrist = keypoints[_IDX[f"{side}_elbow"]], keypoints[_IDX[f"{side}_wrist"]]
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


class MediaPipeFaceHands:
    """Fills face (68 points) and both hands (21 each) of people whose body is known.

    ``refine(rgb, people)`` writes into each person's keypoints in place and returns how many
    people it processed. It never raises for one bad person: that person keeps score 0 there.
    """

    # hand regions tried in turn until the model finds a hand: (reach, scale) in forearms
    HAND_TRIES = ((0.25, 0.8), (0.4, 1.05), (0.6, 1.5))
    # face regions tried in turn: scale of face_region's estimate
    FACE_TRIES = (1.0, 1.5)

    def __init__(
        self,
        max_persons: int = 2,
        min_keypoint_score: float = 0.3,
        hand_model_complexity: int = 1,
        refine_passes: int = 1,
        crop_margin: float = 0.25,
    ) -> None:
        if int(max_persons) < 1:
            raise BackendError(f"face/hand max_persons must be >= 1, got {max_persons}")
        if hand_model_complexity not in (0, 1):
            raise BackendError(f"hand_model_complexity must be 0 or 1, got {hand_model_complexity}")
        try:
            from google.protobuf import text_format
            from mediapipe.framework import calculator_pb2
            from mediapipe.framework.formats import rect_pb2
            from mediapipe.python import solution_base
        except ImportError as exc:
            raise BackendError(
                "face/hand crops need the mediapipe package: pip install mediapipe==0.10.21 "
                "'numpy<2' (see requirements/runtime.txt)"
            ) from exc
        self._rect = rect_pb2.NormalizedRect

        def graph(text: str, side_inputs: dict):
            config = text_format.Parse(text, calculator_pb2.CalculatorGraphConfig())
            return solution_base.SolutionBase(
                graph_config=config, side_inputs=side_inputs, outputs=["landmarks"]
            )

        try:
            self._face_graph = graph(_FACE_GRAPH, {"with_attention": False})
            self._hand_graph = graph(_HAND_GRAPH, {"model_complexity": int(hand_model_complexity)})
        except Exception as exc:  # a wheel without the models or the subgraphs
            raise BackendError(
                f"cannot build MediaPipe's face/hand landmark graphs ({exc}); they need "
                "mediapipe==0.10.21, whose wheel ships face_landmark.tflite and "
                "hand_landmark_*.tflite"
            ) from exc
        self.max_persons = int(max_persons)
        self.min_keypoint_score = float(min_keypoint_score)
        self.refine_passes = int(refine_passes)
        self.crop_margin = float(crop_margin)
        self.model_runs = 0  # landmark model calls so far (a cost figure for diagnostics)
        # track id -> part -> (landmarks, body anchor), and part_misses -> images missed
        self._memory: dict[str, dict] = {}

    # -- model calls ----------------------------------------------------------------------
    def _run(self, solution, crop: np.ndarray, box: CropBox, region: Region) -> np.ndarray | None:
        """Landmarks (N, 2) in image pixels, or None when the model finds no face/hand there."""
        if not region.size >= MIN_REGION_PX:
            return None
        cx, cy = box.to_crop(np.array([[region.center_x, region.center_y]]))[0]
        rect = self._rect(
            x_center=cx / box.width,
            y_center=cy / box.height,
            width=region.size / box.width,
            height=region.size / box.height,
            rotation=region.rotation,
        )
        self.model_runs += 1
        result = solution.process({"image": crop, "roi": rect})
        if result.landmarks is None:
            return None
        norm = np.array([(lm.x, lm.y) for lm in result.landmarks.landmark], dtype=np.float64)
        return box.to_image(norm)

    @staticmethod
    def _from_memory(last: dict, part: str, anchor: np.ndarray | None) -> np.ndarray | None:
        """Last call's landmarks of this part moved by the body's own motion since (its
        anchor: nose or wrist), or None."""
        if part not in last or anchor is None:
            return None
        points, last_anchor = last[part]
        return points + (anchor - last_anchor)

    @staticmethod
    def _schedule(tries: tuple, last: dict, now: dict, part: str) -> list:
        """Regions to search: all of ``tries`` for a part not missed last time; for a part the
        last call missed, one try, the next in turn (a part out of sight costs one model run
        per image, not a full search). Marks the part missed until something is found."""
        misses = last.get(f"{part}_misses")
        now[f"{part}_misses"] = (misses or 0) + 1
        if misses is None:
            return list(tries)
        return [tries[misses % len(tries)]]

    @staticmethod
    def _found(now: dict, part: str, points: np.ndarray, anchor: np.ndarray | None) -> None:
        now.pop(f"{part}_misses", None)
        if anchor is not None:
            now[part] = (points, anchor.copy())

    def _face(self, crop, box, kp, last: dict, now: dict) -> tuple[np.ndarray, float] | None:
        placed = face_region(kp, self.min_keypoint_score)
        if placed is None:
            return None
        confidence = placed[1]
        anchor = kp[NOSE, :2] if kp[NOSE, 2] >= self.min_keypoint_score else None
        mesh = None
        previous = self._from_memory(last, "face", anchor)
        if previous is not None:  # tracking: the last face's region, no search, no re-centring
            region = region_around(previous, _MESH_RIGHT_EYE, _MESH_LEFT_EYE, 0.0, 1.5)
            mesh = self._run(self._face_graph, crop, box, region)
        if mesh is None:
            for scale in self._schedule(self.FACE_TRIES, last, now, "face"):
                region, confidence = face_region(kp, self.min_keypoint_score, scale)
                mesh = self._run(self._face_graph, crop, box, region)
                if mesh is not None:
                    break
            for _ in range(self.refine_passes if mesh is not None else 0):
                again = region_around(mesh, _MESH_RIGHT_EYE, _MESH_LEFT_EYE, 0.0, 1.5)
                better = self._run(self._face_graph, crop, box, again)
                if better is None:
                    break
                mesh = better
        if mesh is None or len(mesh) < FACE_MESH_POINTS:
            return None
        # a face far from this body's nose belongs to someone else (overlapping people)
        if anchor is not None and np.linalg.norm(mesh[_MESH_NOSE_TIP] - anchor) > 0.5 * (
            region.size
        ):
            return None
        self._found(now, "face", mesh, anchor)
        return mesh[list(FACE_MESH_TO_IBUG68)], confidence

    def _hand(
        self, crop, box, kp, side: str, last: dict, now: dict
    ) -> tuple[np.ndarray, float] | None:
        placed = hand_region(kp, side, self.min_keypoint_score, *self.HAND_TRIES[0])
        if placed is None:
            return None
        _, confidence, forearm = placed
        wrist = kp[_IDX[f"{side}_wrist"], :2]

        def belongs(points: np.ndarray) -> bool:
            # a hand whose wrist is far from this arm's wrist is someone/something else's
            return bool(np.linalg.norm(points[_HAND_WRIST] - wrist) <= 0.6 * forearm)

        previous = self._from_memory(last, side, wrist)
        if previous is not None:  # tracking: the last hand's region, no search
            region = region_around(previous, _HAND_WRIST, _HAND_MIDDLE_MCP, 90.0, 1.6)
            points = self._run(self._hand_graph, crop, box, region)
            if points is not None and belongs(points):
                self._found(now, side, points, wrist)
                return points, confidence
        for reach, scale in self._schedule(self.HAND_TRIES, last, now, side):
            tried = hand_region(kp, side, self.min_keypoint_score, reach, scale)
            if tried is None:
                continue
            region = tried[0]
            points = self._run(self._hand_graph, crop, box, region)
            if points is None:
                continue
            for _ in range(self.refine_passes):
                again = region_around(points, _HAND_WRIST, _HAND_MIDDLE_MCP, 90.0, 1.6)
                better = self._run(self._hand_graph, crop, box, again)
                if better is None:
                    break
                points = better
            if belongs(points):
                self._found(now, side, points, wrist)
                return points, confidence
        return None

    # -- public ---------------------------------------------------------------------------
    def refine(
        self,
        rgb: np.ndarray,
        people: list[PersonPose],
        track_ids: list[str] | None = None,
    ) -> int:
        """Fill face and hands of the largest ``max_persons`` people; returns how many ran.

        With ``track_ids`` (one per person, e.g. the tracker's) a person's face and hands found
        in the last call are looked for first where they were, moved with the body, as
        MediaPipe's own trackers do: one model run per part instead of a search.
        """
        if not (
            isinstance(rgb, np.ndarray)
            and rgb.ndim == 3
            and rgb.shape[2] == 3
            and rgb.dtype == np.uint8
        ):
            raise ValueError(
                "face/hand crops need an (H, W, 3) uint8 RGB image, got "
                f"{getattr(rgb, 'shape', type(rgb).__name__)} {getattr(rgb, 'dtype', '')}"
            )
        if track_ids is not None and len(track_ids) != len(people):
            raise ValueError(f"{len(track_ids)} track ids for {len(people)} people")
        height, width = rgb.shape[:2]
        ids = list(track_ids) if track_ids is not None else [None] * len(people)
        order = sorted(zip(people, ids, strict=True), key=lambda pi: _area(pi[0].bbox))[::-1]
        memories: dict[str, dict] = {}
        done = 0
        for person, track_id in order:
            if done >= self.max_persons:
                break
            kp = person.keypoints
            if kp.shape != (COCO_WHOLEBODY133.num_joints, 3):
                continue
            box = person_crop_box(person.bbox, width, height, self.crop_margin)
            if box is None:
                continue
            done += 1
            # what was found this time replaces the last: a part not found is forgotten
            now: dict = {}
            last = self._memory.get(track_id, {}) if track_id is not None else {}
            body = np.nan_to_num(kp, nan=0.0, posinf=0.0, neginf=0.0)
            crop = box.cut(rgb)
            face = self._face(crop, box, body, last, now)
            if face is not None:
                _write(kp, FACE, face[0], face[1], width, height)
            for side, part in (("left", LEFT_HAND), ("right", RIGHT_HAND)):
                hand = self._hand(crop, box, body, side, last, now)
                if hand is not None:
                    _write(kp, part, hand[0], hand[1], width, height)
            if track_id is not None:
                memories[track_id] = now
        self._memory = memories  # people not processed this time start afresh next time
        return done

    def close(self) -> None:
        for solution in (self._face_graph, self._hand_graph):
            solution.close()


def _area(bbox) -> float:
    w, h = float(bbox[2]), float(bbox[3])
    return w * h if np.isfinite(w * h) else 0.0


def _write(kp: np.ndarray, part: range, points: np.ndarray, score: float, w: int, h: int) -> None:
    inside = (points[:, 0] >= 0) & (points[:, 0] < w) & (points[:, 1] >= 0) & (points[:, 1] < h)
    kp[part.start : part.stop, :2] = points
    kp[part.start : part.stop, 2] = np.where(inside, float(np.clip(score, 0.0, 1.0)), 0.0)
