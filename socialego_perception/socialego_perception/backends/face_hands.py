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

import numpy as np
from socialego_core.layouts import COCO_WHOLEBODY133, FACE, LEFT_HAND, RIGHT_HAND

from socialego_perception.backends.base import BackendError, PersonPose
from socialego_perception.backends.face_hands_regions import (
    MIN_REGION_PX,
    NOSE,
    WHOLEBODY_INDEX,
    CropBox,
    Region,
    face_region,
    hand_region,
    person_crop_box,
    region_around,
)

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
        wrist = kp[WHOLEBODY_INDEX[f"{side}_wrist"], :2]

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
