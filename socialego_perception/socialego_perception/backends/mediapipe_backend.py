"""MediaPipe backend (Apache-2.0, fully offline with mediapipe==0.10.21).

Two modes:
- ``pose`` (default, multi-person): the Tasks API PoseLandmarker, assembled in memory from the
  two model files that the mediapipe wheel itself ships (pose_detection.tflite and
  pose_landmark_full.tflite) with the input-normalisation metadata the Tasks runner needs.
  Nothing is downloaded. Body (COCO-17) + heels and toes.
- ``holistic`` (single person): the legacy Holistic solution: body, face, both hands.

MediaPipe's 33 body landmarks are mapped to COCO-WholeBody BY NAME; MediaPipe's
``*_foot_index`` (tip of the foot) stands in for the big toe. Face (holistic): the 468-point
face mesh has no exact 68-point iBUG equivalent; its vertices at the same anatomical places
(``face_hands.FACE_MESH_TO_IBUG68``) stand in. For face and hands of several people, see the
pose node's ``face_hands`` stage (backends/face_hands.py).
"""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import numpy as np
from socialego_core.layouts import FACE

from socialego_perception.backends.base import (
    BackendError,
    PersonPose,
    PoseBackend,
    bbox_from_keypoints,
    name_index_map,
    suppress_duplicates,
    to_output_layout,
)
from socialego_perception.backends.face_hands import FACE_MESH_POINTS, FACE_MESH_TO_IBUG68

# MediaPipe body landmark names (mediapipe.solutions.pose.PoseLandmark, lower-cased).
MEDIAPIPE_POSE_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
POSE_RENAMES = {"left_foot_index": "left_big_toe", "right_foot_index": "right_big_toe"}

# mediapipe.solutions.hands.HandLandmark order -> our per-hand joint names (same order).
MEDIAPIPE_HAND_NAMES: tuple[str, ...] = (
    "wrist",
    "thumb_cmc",
    "thumb_mcp",
    "thumb_ip",
    "thumb_tip",
    "index_finger_mcp",
    "index_finger_pip",
    "index_finger_dip",
    "index_finger_tip",
    "middle_finger_mcp",
    "middle_finger_pip",
    "middle_finger_dip",
    "middle_finger_tip",
    "ring_finger_mcp",
    "ring_finger_pip",
    "ring_finger_dip",
    "ring_finger_tip",
    "pinky_mcp",
    "pinky_pip",
    "pinky_dip",
    "pinky_tip",
)
_FINGER = {"thumb": "thumb", "index_finger": "index", "middle_finger": "middle"}
_FINGER.update({"ring_finger": "ring", "pinky": "pinky"})
_JOINT = {"cmc": 1, "mcp": 2, "ip": 3, "tip": 4}
_JOINT_FINGER = {"mcp": 1, "pip": 2, "dip": 3, "tip": 4}


def _hand_renames(side: str) -> dict[str, str]:
    renames = {"wrist": f"{side}_hand_wrist"}
    for name in MEDIAPIPE_HAND_NAMES[1:]:
        finger, joint = name.rsplit("_", 1)
        number = (_JOINT if finger == "thumb" else _JOINT_FINGER)[joint]
        renames[name] = f"{side}_hand_{_FINGER[finger]}_{number}"
    return renames


POSE_MAP = name_index_map(MEDIAPIPE_POSE_NAMES, POSE_RENAMES)
LEFT_HAND_MAP = name_index_map(MEDIAPIPE_HAND_NAMES, _hand_renames("left"))
RIGHT_HAND_MAP = name_index_map(MEDIAPIPE_HAND_NAMES, _hand_renames("right"))

MODES = ("pose", "holistic")


def _import_mediapipe():
    try:
        import mediapipe as mp
    except ImportError as exc:
        raise BackendError(
            "backend 'mediapipe' needs the mediapipe package: "
            "pip install mediapipe==0.10.21 'numpy<2' (see requirements/runtime.txt)"
        ) from exc
    return mp


def assemble_pose_task(mediapipe_dir: Path) -> bytes:
    """A PoseLandmarker .task bundle built from the model files inside the mediapipe wheel.

    The wheel's legacy models lack the Tasks API's input metadata, so it is added here:
    the detector takes [-1, 1] input (mean 127.5, std 127.5), the landmarker [0, 1] (std 255).
    """
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    parts = {
        "pose_detector.tflite": ("modules/pose_detection/pose_detection.tflite", 127.5, 127.5),
        "pose_landmarks_detector.tflite": (
            "modules/pose_landmark/pose_landmark_full.tflite",
            0.0,
            255.0,
        ),
    }
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as archive:
        for member, (relative, mean, std) in parts.items():
            path = mediapipe_dir / relative
            if not path.is_file():
                raise BackendError(
                    f"mediapipe model file {path} is missing: reinstall mediapipe==0.10.21 "
                    "(later releases no longer ship it)"
                )
            writer = metadata_writer.MetadataWriter.create(bytearray(path.read_bytes()))
            writer.add_general_info(member.removesuffix(".tflite"), "from the mediapipe wheel")
            writer.add_image_input(norm_mean=[mean], norm_std=[std])
            model, _ = writer.populate()
            archive.writestr(member, bytes(model))
    return bundle.getvalue()


class MediaPipeBackend(PoseBackend):
    name = "mediapipe"

    def __init__(
        self,
        mode: str = "pose",
        max_persons: int = 5,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        threads: int = 0,
    ) -> None:
        if mode not in MODES:
            raise BackendError(f"mediapipe mode must be one of {MODES}, got {mode!r}")
        mp = _import_mediapipe()
        self.mp = mp
        self.mode = mode
        self._last_ts_ms = 0
        del threads  # MediaPipe's XNNPACK delegate picks its own thread count
        if mode == "pose":
            from mediapipe.tasks.python import BaseOptions, vision

            task = assemble_pose_task(Path(mp.__file__).parent)
            options = vision.PoseLandmarkerOptions(
                base_options=BaseOptions(model_asset_buffer=task),
                running_mode=vision.RunningMode.VIDEO,
                num_poses=int(max_persons),
                min_pose_detection_confidence=float(min_detection_confidence),
                min_pose_presence_confidence=float(min_detection_confidence),
                min_tracking_confidence=float(min_tracking_confidence),
            )
            self._landmarker = vision.PoseLandmarker.create_from_options(options)
            self.provides = ("body", "feet")
        else:
            self._holistic = mp.solutions.holistic.Holistic(
                static_image_mode=False,
                model_complexity=1,  # the only complexity whose model ships in the wheel
                min_detection_confidence=float(min_detection_confidence),
                min_tracking_confidence=float(min_tracking_confidence),
            )
            self.provides = ("body", "feet", "face", "hands")

    def _timestamp_ms(self, stamp_s: float | None = None) -> int:
        # VIDEO mode wants strictly increasing timestamps: the image's stamp when the caller
        # gives one (offline), else our own monotonic clock; never one that goes back (bag loops)
        now = int(round(stamp_s * 1000)) if stamp_s is not None else int(time.monotonic() * 1000)
        self._last_ts_ms = max(now, self._last_ts_ms + 1)
        return self._last_ts_ms

    @staticmethod
    def _landmarks_px(landmarks, width: int, height: int, visibility: bool) -> np.ndarray:
        pts = np.empty((len(landmarks), 3), dtype=np.float32)
        for i, lm in enumerate(landmarks):
            pts[i] = (lm.x * width, lm.y * height, lm.visibility if visibility else 1.0)
        return pts

    def infer(self, rgb: np.ndarray, stamp_s: float | None = None) -> list[PersonPose]:
        height, width = rgb.shape[:2]
        rgb = np.ascontiguousarray(rgb)
        people: list[PersonPose] = []
        if self.mode == "pose":
            image = self.mp.Image(image_format=self.mp.ImageFormat.SRGB, data=rgb)
            result = self._landmarker.detect_for_video(image, self._timestamp_ms(stamp_s))
            for landmarks in result.pose_landmarks:
                body = self._landmarks_px(landmarks, width, height, visibility=True)
                kp = to_output_layout(body, POSE_MAP)
                people.append(self._person(kp, width, height))
            return suppress_duplicates(people)
        result = self._holistic.process(rgb)
        if result.pose_landmarks is None:
            return people
        kp = to_output_layout(
            self._landmarks_px(result.pose_landmarks.landmark, width, height, True), POSE_MAP
        )
        if result.face_landmarks is not None:
            mesh = self._landmarks_px(result.face_landmarks.landmark, width, height, False)
            if len(mesh) >= FACE_MESH_POINTS:
                kp[FACE.start : FACE.stop] = mesh[list(FACE_MESH_TO_IBUG68)]
        for hand, index_map in (
            (result.left_hand_landmarks, LEFT_HAND_MAP),
            (result.right_hand_landmarks, RIGHT_HAND_MAP),
        ):
            if hand is not None:
                pts = self._landmarks_px(hand.landmark, width, height, visibility=False)
                src, dst = index_map
                kp[dst] = pts[src]
        people.append(self._person(kp, width, height))
        return people

    @staticmethod
    def _person(kp: np.ndarray, width: int, height: int) -> PersonPose:
        body_scores = kp[:17, 2]
        return PersonPose(
            keypoints=kp,
            bbox=bbox_from_keypoints(kp, 0.3, width, height),
            score=float(np.clip(body_scores.mean(), 0.0, 1.0)),
        )

    def close(self) -> None:
        if self.mode == "pose":
            self._landmarker.close()
        else:
            self._holistic.close()
