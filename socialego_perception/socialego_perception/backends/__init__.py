"""Pose backends behind one interface; each imports its heavy package only when chosen."""

from __future__ import annotations

from socialego_perception.backends.base import (
    OUTPUT_LAYOUT,
    BackendError,
    PersonPose,
    PoseBackend,
)

BACKENDS: tuple[str, ...] = ("mediapipe", "yolo_onnx", "onnx_wholebody")
BOX_SOURCES: tuple[str, ...] = ("mediapipe", "yolo_onnx", "full_image")


def create_backend(
    name: str,
    *,
    device: str = "cpu",
    threads: int = 0,
    max_persons: int = 5,
    min_detection_confidence: float = 0.5,
    mediapipe_mode: str = "pose",
    yolo_model_path: str = "",
    wholebody_model_path: str = "",
    box_source: str = "mediapipe",
) -> PoseBackend:
    """Build a backend by name; BackendError says what is missing and how to install it."""
    if name == "mediapipe":
        from socialego_perception.backends.mediapipe_backend import MediaPipeBackend

        return MediaPipeBackend(
            mode=mediapipe_mode,
            max_persons=max_persons,
            min_detection_confidence=min_detection_confidence,
            threads=threads,
        )
    if name == "yolo_onnx":
        from socialego_perception.backends.yolo_onnx import YoloOnnxBackend

        return YoloOnnxBackend(
            yolo_model_path,
            device=device,
            threads=threads,
            score_threshold=min_detection_confidence,
            max_persons=max_persons,
        )
    if name == "onnx_wholebody":
        from socialego_perception.backends.onnx_wholebody import OnnxWholeBodyBackend

        if box_source not in BOX_SOURCES:
            raise BackendError(f"box_source must be one of {BOX_SOURCES}, got {box_source!r}")
        boxes = None
        if box_source != "full_image":
            boxes = create_backend(
                box_source,
                device=device,
                threads=threads,
                max_persons=max_persons,
                min_detection_confidence=min_detection_confidence,
                yolo_model_path=yolo_model_path,
            )
        return OnnxWholeBodyBackend(
            wholebody_model_path,
            box_source=boxes,
            device=device,
            threads=threads,
            max_persons=max_persons,
        )
    raise BackendError(f"unknown pose backend {name!r}; known: {', '.join(BACKENDS)}")


__all__ = [
    "BACKENDS",
    "BOX_SOURCES",
    "OUTPUT_LAYOUT",
    "BackendError",
    "PersonPose",
    "PoseBackend",
    "create_backend",
]
