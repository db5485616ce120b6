"""User-supplied top-down whole-body ONNX model (RTMPose / RTMW / DWPose SimCC exports).

Bring your own file (e.g. an RTMW-x or DWPose-l .onnx export with 133 COCO-WholeBody keypoints;
17-keypoint RTMPose body models work too). Person boxes come from another backend
(``box_source``: mediapipe, yolo_onnx) or the whole image (``full_image``, one person).

Expected model: input (1, 3, h, w) with ImageNet mean/std on RGB 0-255; outputs
simcc_x (1, K, w * r) and simcc_y (1, K, h * r), r the SimCC split ratio (usually 2).
"""

from __future__ import annotations

import numpy as np
from socialego_core.layouts import COCO17_NAMES, COCO_WHOLEBODY133_NAMES

from socialego_perception.backends.base import (
    BackendError,
    PersonPose,
    PoseBackend,
    name_index_map,
    to_output_layout,
)
from socialego_perception.backends.onnx_common import open_session

MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)
KEYPOINT_MAPS = {
    133: name_index_map(COCO_WHOLEBODY133_NAMES),
    17: name_index_map(COCO17_NAMES),
}
PADDING = 1.25  # box enlargement, as in the RTMPose top-down pipeline


def box_to_affine(
    box_xywh: tuple[float, float, float, float], input_w: int, input_h: int
) -> np.ndarray:
    """2x3 affine mapping the padded, aspect-corrected box onto the model input."""
    x, y, w, h = box_xywh
    cx, cy = x + w / 2, y + h / 2
    aspect = input_w / input_h
    w, h = max(w, 1.0), max(h, 1.0)
    if w / h > aspect:
        h = w / aspect
    else:
        w = h * aspect
    w, h = w * PADDING, h * PADDING
    scale_x, scale_y = input_w / w, input_h / h
    return np.array(
        [[scale_x, 0.0, input_w / 2 - cx * scale_x], [0.0, scale_y, input_h / 2 - cy * scale_y]],
        dtype=np.float32,
    )


def decode_simcc(simcc_x: np.ndarray, simcc_y: np.ndarray, ratio: float) -> np.ndarray:
    """(K, Wx), (K, Hy) -> (K, 3) keypoints in model-input pixels with scores in [0, 1]."""
    x_idx = simcc_x.argmax(axis=1)
    y_idx = simcc_y.argmax(axis=1)
    score = np.minimum(simcc_x.max(axis=1), simcc_y.max(axis=1))
    out = np.stack([x_idx / ratio, y_idx / ratio, np.clip(score, 0.0, 1.0)], axis=1)
    return out.astype(np.float32)


class OnnxWholeBodyBackend(PoseBackend):
    name = "onnx_wholebody"

    def __init__(
        self,
        model_path: str,
        box_source: PoseBackend | None = None,
        device: str = "cpu",
        threads: int = 0,
        max_persons: int = 5,
    ) -> None:
        self.session = open_session(model_path, device, threads, what="whole-body ONNX model")
        inp = self.session.get_inputs()[0]
        if len(inp.shape) != 4 or not all(isinstance(d, int) for d in inp.shape[2:]):
            raise BackendError(
                f"{model_path}: expected a fixed (1, 3, h, w) input, got {inp.shape}"
            )
        self.input_name = inp.name
        self.input_h, self.input_w = int(inp.shape[2]), int(inp.shape[3])
        outputs = self.session.get_outputs()
        if len(outputs) < 2:
            raise BackendError(f"{model_path}: expected SimCC outputs (simcc_x, simcc_y)")
        k, wx = outputs[0].shape[1], outputs[0].shape[2]
        if k not in KEYPOINT_MAPS:
            raise BackendError(
                f"{model_path}: {k} keypoints; supported: {sorted(KEYPOINT_MAPS)} "
                "(COCO-WholeBody 133 or COCO 17)"
            )
        self.index_map = KEYPOINT_MAPS[k]
        self.ratio = float(wx) / self.input_w if isinstance(wx, int) else 2.0
        self.box_source = box_source
        self.max_persons = max_persons
        self.provides = ("body", "feet", "face", "hands") if k == 133 else ("body",)

    def _boxes(
        self, rgb: np.ndarray, stamp_s: float | None
    ) -> list[tuple[tuple[float, float, float, float], float]]:
        height, width = rgb.shape[:2]
        if self.box_source is None:
            return [((0.0, 0.0, float(width), float(height)), 1.0)]
        people = self.box_source.infer(rgb, stamp_s)
        return [(p.bbox, p.score) for p in people if p.bbox[2] > 0 and p.bbox[3] > 0]

    def infer(self, rgb: np.ndarray, stamp_s: float | None = None) -> list[PersonPose]:
        import cv2

        people = []
        for box, box_score in self._boxes(rgb, stamp_s)[: self.max_persons]:
            affine = box_to_affine(box, self.input_w, self.input_h)
            crop = cv2.warpAffine(rgb, affine, (self.input_w, self.input_h), flags=cv2.INTER_LINEAR)
            x = ((crop.astype(np.float32) - MEAN) / STD).transpose(2, 0, 1)[None]
            simcc_x, simcc_y = self.session.run(None, {self.input_name: x})[:2]
            kps = decode_simcc(simcc_x[0], simcc_y[0], self.ratio)
            inverse = cv2.invertAffineTransform(affine)
            xy = np.concatenate([kps[:, :2], np.ones((len(kps), 1), np.float32)], axis=1)
            kps[:, :2] = xy @ inverse.T
            people.append(
                PersonPose(
                    keypoints=to_output_layout(kps, self.index_map),
                    bbox=tuple(float(v) for v in box),
                    score=float(box_score),
                )
            )
        return people

    def close(self) -> None:
        if self.box_source is not None:
            self.box_source.close()
