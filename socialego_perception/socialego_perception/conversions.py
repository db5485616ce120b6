"""sensor_msgs Image / CompressedImage <-> numpy without cv_bridge (not available as a wheel).

Works on any object with the message's fields (duck typing), so it is testable without rclpy.
"""

from __future__ import annotations

import numpy as np

# encoding -> (channels, how to reach RGB)
SUPPORTED_ENCODINGS: dict[str, int] = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1}


class ImageConversionError(ValueError):
    """The image message cannot be turned into an RGB array; the text says why."""


def image_to_rgb(msg) -> np.ndarray:
    """sensor_msgs/Image -> (H, W, 3) uint8 RGB. Raises ImageConversionError for bad input."""
    encoding = str(msg.encoding).lower()
    if encoding not in SUPPORTED_ENCODINGS:
        raise ImageConversionError(
            f"unsupported image encoding {msg.encoding!r}; supported: "
            f"{', '.join(SUPPORTED_ENCODINGS)}"
        )
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    channels = SUPPORTED_ENCODINGS[encoding]
    if height <= 0 or width <= 0:
        raise ImageConversionError(f"image size must be positive, got {width}x{height}")
    if step < width * channels:
        raise ImageConversionError(
            f"step {step} is smaller than width {width} x {channels} bytes per pixel"
        )
    data = msg.data
    try:  # bytes, array.array('B') (what rclpy gives), memoryview: no copy
        buffer = np.frombuffer(data, dtype=np.uint8)
    except TypeError:  # a plain list of ints
        buffer = np.asarray(data, dtype=np.uint8)
    if buffer.size < step * height:
        raise ImageConversionError(
            f"image data has {buffer.size} bytes, expected step {step} x height {height} = "
            f"{step * height}"
        )
    rows = buffer[: step * height].reshape(height, step)[:, : width * channels]
    pixels = rows.reshape(height, width, channels)
    if encoding == "rgb8":
        return pixels
    import cv2  # its colour conversions are several times faster than numpy fancy indexing

    pixels = np.ascontiguousarray(pixels)
    code = {
        "bgr8": cv2.COLOR_BGR2RGB,
        "rgba8": cv2.COLOR_RGBA2RGB,
        "bgra8": cv2.COLOR_BGRA2RGB,
        "mono8": cv2.COLOR_GRAY2RGB,
    }[encoding]
    return cv2.cvtColor(pixels, code)


def compressed_to_rgb(msg) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg/png) -> (H, W, 3) uint8 RGB via OpenCV."""
    import cv2

    buffer = np.frombuffer(bytes(msg.data), dtype=np.uint8)
    if buffer.size == 0:
        raise ImageConversionError("compressed image has no data")
    bgr = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ImageConversionError(
            f"cannot decode compressed image (format {msg.format!r}, {buffer.size} bytes)"
        )
    return np.ascontiguousarray(bgr[..., ::-1])


def fill_image_msg(msg, rgb: np.ndarray, encoding: str = "rgb8"):
    """Fill a sensor_msgs/Image from an (H, W, 3) uint8 RGB array (tests, tools). Returns msg."""
    rgb = np.asarray(rgb, dtype=np.uint8)
    if encoding == "rgb8":
        pixels = rgb
    elif encoding == "bgr8":
        pixels = rgb[..., ::-1]
    elif encoding == "mono8":
        pixels = rgb.mean(axis=2, keepdims=True).astype(np.uint8)
    elif encoding == "rgba8":
        pixels = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2)
    else:
        raise ImageConversionError(f"cannot encode {encoding!r}")
    pixels = np.ascontiguousarray(pixels)
    msg.height, msg.width = int(pixels.shape[0]), int(pixels.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = int(pixels.shape[1] * pixels.shape[2])
    msg.data = pixels.tobytes()
    return msg
