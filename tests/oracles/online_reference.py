"""Test oracle: the per-track online window builder (deques, one window at a time) that the
vectorised ``socialego_core.track_buffers.OnlineWindows`` must equal, plus ``build_reference``
(the same window through ``window.build_window``, the training code path).
"""

from __future__ import annotations

import dataclasses
import math
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from socialego_core.track_buffers import (
    _STAMP_EPS_S,
    AddResult,
    OnlineConfig,
    OnlineWindows,
    TrackBuffersBase,
    TrackWindow,
    check_pose_args,
)
from socialego_core.window import Window, WindowSpec, build_window, normalise_keypoints


@dataclass
class _Sample:
    stamp: float
    keypoints: np.ndarray  # (J, 3) float32 pixels, only the spec's joints, in spec order
    width: float
    height: float


class ReferenceOnlineWindows(TrackBuffersBase):
    """Per-track ring buffers of poses, resampled into model windows on demand.

    Memory is bounded: at most ``config.max_tracks`` tracks, each holding at most the samples
    that one window can use (plus the one before it, which seeds the fill).
    """

    def __init__(self, spec: WindowSpec, config: OnlineConfig | None = None) -> None:
        super().__init__(spec, config)
        # the resampled frames carry only the spec's joints, so the inner spec selects all of them
        self._inner_spec = dataclasses.replace(spec, joints=tuple(range(spec.num_joints)))
        self._tracks: OrderedDict[str, deque[_Sample]] = OrderedDict()
        self._cache: dict[str, tuple[_Sample, int, Window]] = {}

    def __len__(self) -> int:
        return len(self._tracks)

    @property
    def track_ids(self) -> list[str]:
        return list(self._tracks)

    def reset(self) -> None:
        self._tracks.clear()
        self._person_ids.clear()
        self._cache.clear()
        self._last_now = None

    def add(self, track_id, stamp_s, keypoints, width, height, layout, person_id=""):
        check_pose_args(track_id, stamp_s, width, height)
        mapped = self.mapper.map(keypoints, layout)
        sample = _Sample(float(stamp_s), mapped, float(width), float(height))
        result = AddResult.ADDED
        buffer = self._tracks.get(track_id)
        if buffer is None:
            result = AddResult.NEW_TRACK
            if len(self._tracks) >= self.config.max_tracks:
                evicted, _ = self._tracks.popitem(last=False)
                self._person_ids.pop(evicted, None)
                self._cache.pop(evicted, None)
                result = AddResult.EVICTED_OTHER
            buffer = deque(maxlen=self._max_samples)
            self._tracks[track_id] = buffer
        else:
            newest = buffer[-1].stamp
            if stamp_s < newest - _STAMP_EPS_S:
                buffer.clear()
                result = AddResult.RESET_BACKWARDS
            elif abs(stamp_s - newest) <= _STAMP_EPS_S:
                buffer.pop()
                result = AddResult.REPLACED
        buffer.append(sample)
        self._tracks.move_to_end(track_id)
        if person_id:
            self._person_ids[track_id] = person_id
        self._prune(buffer)
        return result

    def _prune(self, buffer: deque[_Sample]) -> None:
        """Drop samples older than the one that seeds the oldest slot of the next window."""
        oldest_needed = buffer[-1].stamp - self.spec.length * self.sample_period_s
        while len(buffer) > 1 and buffer[1].stamp <= oldest_needed:
            buffer.popleft()

    def expire(self, now_s: float, arrived: dict[str, float] | None = None) -> list[str]:
        """Drop tracks whose newest pose is older than ``max_track_gap_s`` (or that arrived
        longer ago than that, per ``arrived``); return their ids."""
        arrived = arrived or {}
        gap = self.config.max_track_gap_s
        gone = [
            tid
            for tid, buf in self._tracks.items()
            if now_s - buf[-1].stamp > gap or now_s - arrived.get(tid, now_s) > gap
        ]
        for tid in gone:
            del self._tracks[tid]
            self._person_ids.pop(tid, None)
            self._cache.pop(tid, None)
        return gone

    def window(self, track_id: str, now_s: float | None = None) -> TrackWindow:
        """The model window of one track ending at its newest pose. KeyError for unknown ids.

        Cached per track until its next pose, so ticks faster than the camera cost nothing.
        """
        buffer = self._tracks[track_id]
        newest = buffer[-1]
        cached = self._cache.get(track_id)
        if cached is None or cached[0] is not newest or cached[1] != len(buffer):
            cached = (newest, len(buffer), self._resample(buffer))
            self._cache[track_id] = cached
        window = cached[2]
        frames_used = int(window.observed.sum())
        stale = frames_used < self.config.min_frames
        if now_s is not None and now_s - newest.stamp > self.config.stale_after_s:
            stale = True
        return TrackWindow(
            track_id=track_id,
            person_id=self._person_ids.get(track_id, ""),
            window=window,
            newest_stamp=newest.stamp,
            frames_used=frames_used,
            input_quality=window.input_quality,
            stale=stale,
        )

    def _sample_times(self, newest_stamp: float) -> np.ndarray:
        steps = np.arange(self.spec.length - 1, -1, -1, dtype=np.float64)
        return newest_stamp - steps * self.sample_period_s

    def _resample(self, buffer: deque[_Sample]) -> Window:
        """Vectorised resampling (same result as ``_resample_reference``, which tests compare):
        sample time k takes the newest pose at or before it; it is observed when that pose
        falls in (t_k - period, t_k]; before the first pose the window stays zero."""
        newest = buffer[-1]
        period = self.sample_period_s
        # a pose up to 0.1 % of a period late still belongs to the slot (stamp rounding)
        slack = period * 1e-3
        samples = list(buffer)
        stamps = np.array([s.stamp for s in samples], dtype=np.float64)
        times = self._sample_times(newest.stamp)
        index = np.searchsorted(stamps, times + slack, side="right") - 1
        filled = index >= 0
        safe = np.maximum(index, 0)
        observed = filled & (stamps[safe] > times - period + slack)
        keypoints = np.array([samples[i].keypoints for i in safe.tolist()])  # (T, J, 3) pixels
        normalised = normalise_keypoints(
            keypoints, newest.width, newest.height, self.spec.normalisation
        )
        normalised[~filled] = 0.0
        return Window(keypoints=normalised.astype(np.float32, copy=False), observed=observed)

    def _resample_reference(self, track_id: str) -> Window:
        """The same window through ``window.build_window`` itself (the training code path)."""
        buffer = self._tracks[track_id]
        newest = buffer[-1]
        period = self.sample_period_s
        times = self._sample_times(newest.stamp)
        # frame ids k * stride so that build_window sees exactly the training loader's layout;
        # id -stride holds the pose that seeds the fill before the first new pose
        frames: dict[int, np.ndarray] = {}
        seed: np.ndarray | None = None
        for sample in buffer:
            if sample.stamp <= times[0] - period + period * 1e-3:
                seed = sample.keypoints
                continue
            # slot k covers (times[k] - period, times[k]]; the newest pose in it wins
            k = math.ceil((sample.stamp - times[0]) / period - 1e-3)
            k = min(max(k, 0), self.spec.length - 1)
            frames[k * self.spec.stride] = sample.keypoints
        if seed is not None and 0 not in frames:
            frames[-self.spec.stride] = seed
        return build_window(frames, newest.width, newest.height, self._inner_spec, first_frame_id=0)

    def windows(self, now_s: float | None = None) -> list[TrackWindow]:
        """Windows of every buffered track (oldest updated first)."""
        return [self.window(tid, now_s) for tid in self._tracks]


def build_reference(self: OnlineWindows, track_id: str) -> Window:
    """The window of ``track_id`` in ``self`` through ``window.build_window`` itself."""
    slot = self._slots[track_id]
    start, end = int(self._start[slot]), int(self._end[slot])
    stamps = self._stamp[slot, start:end].tolist()
    poses = self._kp[slot, start:end]
    width, height = self._size[slot].tolist()
    period = self.sample_period_s
    times = stamps[-1] - self._steps_s
    # frame ids k * stride so that build_window sees exactly the training loader's layout;
    # id -stride holds the pose that seeds the fill before the first new pose
    frames: dict[int, np.ndarray] = {}
    seed: np.ndarray | None = None
    for stamp, pose in zip(stamps, poses):
        if stamp <= times[0] - period + period * 1e-3:
            seed = pose
            continue
        # slot k covers (times[k] - period, times[k]]; the newest pose in it wins
        k = math.ceil((stamp - times[0]) / period - 1e-3)
        k = min(max(k, 0), self.spec.length - 1)
        frames[k * self.spec.stride] = pose
    if seed is not None and 0 not in frames:
        frames[-self.spec.stride] = seed
    # the resampled frames carry only the spec's joints, so the inner spec selects all of them
    inner = dataclasses.replace(self.spec, joints=tuple(range(self.spec.num_joints)))
    return build_window(frames, width, height, inner, first_frame_id=0)


def stack(track_windows: Sequence[TrackWindow]) -> np.ndarray:
    """(B, T, J, 3) float32 batch for one forward pass; (0, ...) is not built (B >= 1)."""
    return np.stack([tw.window.keypoints for tw in track_windows]).astype(np.float32, copy=False)
