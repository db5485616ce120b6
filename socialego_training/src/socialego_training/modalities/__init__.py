"""The teacher's multimodal inputs, aligned with the student's windows (method.md section 4).

Per track, the same T frame ids the student window uses (``socialego_core.window``: from the first
detected frame, ``stride`` ids apart, a missing id repeats the previous frame, past the end the
last frame repeats) give:

- ``rgb``: the person crop of each video frame over the union box of the person across the
  window, resized to ``crop_size`` (ImageNet-normalised when batched);
- ``body`` (17), ``face`` (68), ``hand`` (42) heatmaps PoseC3D style: keypoints mapped into the
  same union box on a ``heatmap_size`` grid, a Gaussian (sigma ~0.6 grid cells) per keypoint
  weighted by its confidence; with ``heatmap_frame="part"`` the face and each hand are mapped
  into their own box instead, re-centred on the part every frame (their shape on a small grid);
- ``gaze`` (2): a Gaussian at the gaze head point and one at the gaze target. Without gaze the
  head channel falls back to the nose keypoint and the target channel stays empty. A target
  outside the crop is pulled back onto the crop border along the head -> target ray (decision:
  keeps the gaze direction, which is what matters to the teacher).

Rendering the heatmaps is cheap and vectorised, decoding JPEGs is not: ``build_modalities`` stores,
once per dataset, the grid-space points (N, T, 135, 3) and the uint8 crops (N, T, S, S, 3) in a
``.npz`` keyed by a hash of the dataset files and the configuration; heatmaps are rendered per
batch by ``render_heatmaps``.

Modules: ``config`` (ModalityConfig), ``tracks`` (track access, window frame ids), ``points``
(keypoints -> grid points and boxes), ``heatmaps`` (rendering a batch), ``video`` (frames and
crops), ``cache`` (one track's and a dataset's inputs, cached). This package re-exports their
public names.
"""

from .cache import (
    MODALITY_VERSION,
    ModalityArrays,
    build_modalities,
    file_fingerprint,
    modality_cache_key,
    track_modalities,
    videos_fingerprint,
)
from .config import HEATMAP_FRAMES, ModalityConfig
from .heatmaps import IMAGENET_MEAN, IMAGENET_STD, normalise_rgb, render_heatmaps, teacher_batch
from .points import (
    GAZE_HEAD,
    GAZE_TARGET,
    N_POINTS,
    N_WHOLEBODY,
    NOSE,
    PART_GROUPS,
    STREAM_POINTS,
    grid_points,
    union_box,
)
from .tracks import TrackFrames, track_frames, window_source_ids
from .video import VIDEO_SUFFIXES, FrameReader, crop_frame, import_cv2

__all__ = [
    "GAZE_HEAD",
    "GAZE_TARGET",
    "HEATMAP_FRAMES",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "MODALITY_VERSION",
    "N_POINTS",
    "N_WHOLEBODY",
    "NOSE",
    "PART_GROUPS",
    "STREAM_POINTS",
    "VIDEO_SUFFIXES",
    "FrameReader",
    "ModalityArrays",
    "ModalityConfig",
    "TrackFrames",
    "build_modalities",
    "crop_frame",
    "file_fingerprint",
    "grid_points",
    "import_cv2",
    "modality_cache_key",
    "normalise_rgb",
    "render_heatmaps",
    "teacher_batch",
    "track_frames",
    "track_modalities",
    "union_box",
    "videos_fingerprint",
    "window_source_ids",
]
