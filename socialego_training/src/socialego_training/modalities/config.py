"""How the teacher's inputs are cut: ``ModalityConfig`` (crop and grid sizes, boxes, heatmap
frame)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from socialego_core.window import WindowSpec

HEATMAP_FRAMES = ("person", "part")


@dataclass(frozen=True)
class ModalityConfig:
    """How the teacher inputs are cut. ``crop_size`` must be 4 x ``heatmap_size`` (see teacher)."""

    crop_size: int = 224
    heatmap_size: int = 56
    sigma: float = 0.6
    box_margin: float = 0.15  # union box grown by this share of its larger side on each side
    # keypoints below this confidence do not shape the box: detectors scatter low-score guesses
    # far from the person (AlphaPose does; so does our synthetic detector)
    box_min_score: float = 0.3
    window: WindowSpec = field(default_factory=WindowSpec)
    # "error": a track without video frames is an error; "zeros": black crops (pose-only data)
    missing_rgb: str = "error"
    # "person": every heatmap in the person's union box (method.md section 4). "part": body and
    # gaze stay there, but the face and each hand get their own box, centred on the part in each
    # frame, so a small grid still resolves expressions and finger shapes (at 16x16 a hand in the
    # person box covers 1-2 cells). The channels are separate, so each may use its own frame.
    heatmap_frame: str = "person"
    part_margin: float = 0.2

    def __post_init__(self) -> None:
        if self.heatmap_frame not in HEATMAP_FRAMES:
            raise ValueError(
                f"heatmap_frame must be one of {HEATMAP_FRAMES}, got {self.heatmap_frame!r}"
            )
        if self.missing_rgb not in ("error", "zeros"):
            raise ValueError(f"missing_rgb must be 'error' or 'zeros', got {self.missing_rgb!r}")
        if self.crop_size < 8 or self.heatmap_size < 4:
            raise ValueError(f"crop/heatmap sizes too small: {self.crop_size}/{self.heatmap_size}")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["window"] = self.window.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping) -> ModalityConfig:
        values = dict(data)
        values["window"] = WindowSpec.from_dict(values["window"])
        # artifacts written before heatmap_frame existed used the person box for everything
        values.setdefault("heatmap_frame", "person")
        return cls(**values)
