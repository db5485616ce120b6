"""Synthetic JPL-Social-format data: procedural whole-body actions seen from a robot's camera.

Public API: ``generate_dataset(out_dir, n_tracks, seed=0, render=True, fps=10.0,
frame_size=(320, 240), splits=(0.6, 0.1, 0.3), ...) -> summary dict`` (also in dataset.json).

Modules: ``body`` (3D body model, face, hands), ``actions`` (the 10 action scripts), ``camera``
(robot camera + shake), ``detector`` (noise, scores, drops, gaze estimate), ``render`` (Pillow
frames), ``video`` (one video), ``writer`` (the dataset), ``check`` (is it learnable?), ``cli``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GENERATOR_VERSION", "generate_dataset", "plan_videos"]


def __getattr__(name: str) -> Any:
    # lazy, so that building the CLI parser does not import numpy / Pillow
    if name in __all__:
        from . import writer

        return getattr(writer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
