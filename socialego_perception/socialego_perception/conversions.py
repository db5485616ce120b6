"""sensor_msgs Image / CompressedImage <-> numpy without cv_bridge (not available as a wheel).

Works on any object with the message's fields (duck typing), so it is testable without rclpy.
Sizes are checked before any pixel is touched: a raw image's declared size, and a compressed
image's size as its header declares it (read without decoding, so a 600-byte JPEG declaring
20000 x 20000 pixels is refused before it can take gigabytes).
"""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np
from PIL import Image as PILImage

MIN_IMAGE_SIDE_PX = 16  # smaller images hold no person worth estimating
DEFAULT_MAX_IMAGE_PIXELS = 40_000_000

# encoding -> (channels, how to reach RGB)
SUPPORTED_ENCODINGS: dict[str, int] = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1}


class ImageConversionError(ValueError):
    """The image message cannot be turned into an RGB array; the text says why, ``kind`` names
    the problem class (throttled warnings, diagnostics)."""

    def __init__(self, text: str, kind: str = "bad_image") -> None:
        super().__init__(text)
        self.kind = kind


def check_image_size(width: int, height: int, max_pixels: int, what: str = "image") -> None:
    """ImageConversionError for a size not positive, under MIN_IMAGE_SIDE_PX a side, or over
    ``max_pixels`` pixels."""
    if height <= 0 or width <= 0:
        raise ImageConversionError(f"{what} size must be positive, got {width}x{height}")
    if width < MIN_IMAGE_SIDE_PX or height < MIN_IMAGE_SIDE_PX:
        raise ImageConversionError(
            f"{what} of {width}x{height} is smaller than {MIN_IMAGE_SIDE_PX} px a side",
            "image_too_small",
        )
    if width * height > max_pixels:
        raise ImageConversionError(
            f"{what} declares {width}x{height} = {width * height} pixels, more than "
            f"max_image_pixels = {max_pixels}",
            "image_too_large",
        )


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's first start-of-frame segment, or None."""
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _JPEG_SOF and i + 9 <= len(data):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def declared_size(data: bytes) -> tuple[int, int]:
    """(width, height) a compressed image declares in its header, without decoding it (JPEG
    and PNG parsed here; other formats by PIL, which reads headers lazily).
    ImageConversionError if no size can be read."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:2] == b"\xff\xd8":
        size = _jpeg_size(data)
        if size is not None:
            return size
        raise ImageConversionError(f"JPEG of {len(data)} bytes without a readable frame header")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data)) as image:  # header only
                return image.size
    except PILImage.DecompressionBombError as exc:
        raise ImageConversionError(f"compressed image: {exc}", "image_too_large") from exc
    except Exception as exc:  # noqa: BLE001 - any unreadable header is the same problem
        raise ImageConversionError(
            f"cannot read the size of a compressed image of {len(data)} bytes: {exc}"
        ) from exc


def image_to_rgb(msg, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> np.ndarray:
    """sensor_msgs/Image -> (H, W, 3) uint8 RGB. Raises ImageConversionError for bad input
    (also: a size beyond ``max_pixels`` or under MIN_IMAGE_SIDE_PX a side, data longer or
    shorter than ``step * height``)."""
    encoding = str(msg.encoding).lower()
    if encoding not in SUPPORTED_ENCODINGS:
        raise ImageConversionError(
            f"unsupported image encoding {msg.encoding!r}; supported: "
            f"{', '.join(SUPPORTED_ENCODINGS)}"
        )
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    channels = SUPPORTED_ENCODINGS[encoding]
    check_image_size(width, height, max_pixels)
    if step < width * channels:
        raise ImageConversionError(
            f"step {step} is smaller than width {width} x {channels} bytes per pixel"
        )
    data = msg.data
    try:  # bytes, array.array('B') (what rclpy gives), memoryview: no copy
        buffer = np.frombuffer(data, dtype=np.uint8)
    except TypeError:  # a plain list of ints
        buffer = np.asarray(data, dtype=np.uint8)
    if buffer.size != step * height:
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


def compressed_to_rgb(msg, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg/png) -> (H, W, 3) uint8 RGB via OpenCV; the size its
    header declares is checked first (``max_pixels``, MIN_IMAGE_SIDE_PX)."""
    import cv2

    data = bytes(msg.data)
    if not data:
        raise ImageConversionError("compressed image has no data")
    width, height = declared_size(data)
    check_image_size(width, height, max_pixels, f"compressed image ({msg.format or '?'})")
    buffer = np.frombuffer(data, dtype=np.uint8)
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
