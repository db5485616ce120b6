"""Multi-person tracking with norfair (BSD-3, pure Python): stable string track ids per person.

Tracks are matched on person boxes by IoU with norfair's Kalman-filtered tracker. A track is
published once norfair has confirmed it (``initialization_delay`` hits); in an image where it
was not matched it is "coasting" (its keypoints are the last observation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socialego_perception.backends.base import PersonPose

TENTATIVE, CONFIRMED, COASTING = 1, 2, 3  # = WholeBodyPose.TRACK_STATE_*


@dataclass(frozen=True)
class TrackerConfig:
    iou_threshold: float = 0.3  # a detection joins a track whose box overlaps at least this
    hit_counter_max: int = 15  # images a track survives without a match
    initialization_delay: int = 2  # matches before a track is confirmed (gets an id)

    def __post_init__(self) -> None:
        if not 0 < self.iou_threshold < 1:
            raise ValueError(f"iou_threshold must be in (0, 1), got {self.iou_threshold}")
        if self.hit_counter_max < 1:
            raise ValueError(f"hit_counter_max must be >= 1, got {self.hit_counter_max}")
        if not 0 <= self.initialization_delay < self.hit_counter_max:
            raise ValueError(
                "initialization_delay must be in [0, hit_counter_max), got "
                f"{self.initialization_delay} (hit_counter_max {self.hit_counter_max})"
            )


@dataclass
class TrackedPerson:
    track_id: str
    pose: PersonPose
    state: int  # CONFIRMED or COASTING
    age: int  # images since the track was created


class PoseTracker:
    """Feeds each image's people to norfair and returns the tracked ones with their ids."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        try:
            from norfair import Detection, Tracker
        except ImportError as exc:  # pragma: no cover - install problem
            raise ImportError("tracking needs norfair: pip install norfair==2.3.0") from exc
        self.config = config or TrackerConfig()
        self._detection_cls = Detection
        self._tracker = Tracker(
            distance_function="iou",
            distance_threshold=1.0 - self.config.iou_threshold,
            hit_counter_max=self.config.hit_counter_max,
            initialization_delay=self.config.initialization_delay,
        )

    def reset(self) -> None:
        self.__init__(self.config)

    def update(self, people: list[PersonPose]) -> list[TrackedPerson]:
        detections = []
        for person in people:
            x, y, w, h = person.bbox
            if not (w > 0 and h > 0 and np.isfinite([x, y, w, h]).all()):
                continue  # norfair's IoU needs a real box
            points = np.array([[x, y], [x + w, y + h]], dtype=np.float64)
            detections.append(self._detection_cls(points=points, data=person))
        matched_now = {id(d) for d in detections}
        tracked = []
        for obj in self._tracker.update(detections=detections):
            if obj.id is None or obj.last_detection is None:
                continue
            state = CONFIRMED if id(obj.last_detection) in matched_now else COASTING
            tracked.append(
                TrackedPerson(
                    track_id=str(obj.id),
                    pose=obj.last_detection.data,
                    state=state,
                    age=int(obj.age),
                )
            )
        return tracked
