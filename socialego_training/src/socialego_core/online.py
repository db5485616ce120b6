"""Online (robot-side) window building: per-track ring buffers and hysteresis smoothing.

Pure Python + numpy; the intent node is a thin ROS adapter around it. Poses arrive with their
image stamps at whatever rate the camera and pose estimator manage; the model was trained on
windows of ``spec.length`` frames spaced ``spec.stride`` frames apart at ``spec.source_fps``.
So for each track we resample: T sample times ``spec.stride / spec.source_fps`` seconds apart,
ending at the newest stamp. A sample time that got a new pose since the previous sample time is
"observed"; one that did not repeats the previous pose (exactly the training loader's rule for a
missing frame id, see ``socialego_core.window``); sample times before the first pose stay zero.
The resampled frames then go through ``window.build_window`` itself, so normalisation and joint
selection are the training code's, not a copy of it.
"""

from __future__ import annotations

import dataclasses
import math
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from socialego_core.layouts import Layout, get_layout
from socialego_core.window import Window, WindowSpec, build_window, normalise_keypoints

# Stamps closer than this are the same instant (float rounding of ROS stamps).
_STAMP_EPS_S = 1e-6


@dataclass(frozen=True)
class OnlineConfig:
    """How long tracks live and when their evidence is too thin to act on."""

    max_track_gap_s: float = 1.0  # a track not updated for this long is dropped
    max_tracks: int = 64  # hard bound on buffered tracks (least recently updated go first)
    min_frames: int = 3  # fewer observed frames in the window -> stale
    stale_after_s: float = 0.5  # newest pose older than this (relative to now) -> stale
    time_jump_back_s: float = 0.5  # clock moving back by more than this resets everything

    def __post_init__(self) -> None:
        if not self.max_track_gap_s > 0:
            raise ValueError(f"max_track_gap_s must be > 0, got {self.max_track_gap_s}")
        if self.max_tracks < 1:
            raise ValueError(f"max_tracks must be >= 1, got {self.max_tracks}")
        if self.min_frames < 0:
            raise ValueError(f"min_frames must be >= 0, got {self.min_frames}")
        if not self.stale_after_s > 0:
            raise ValueError(f"stale_after_s must be > 0, got {self.stale_after_s}")
        if not self.time_jump_back_s >= 0:
            raise ValueError(f"time_jump_back_s must be >= 0, got {self.time_jump_back_s}")


class AddResult(Enum):
    """What ``OnlineWindows.add`` did with a pose."""

    ADDED = "added"
    NEW_TRACK = "new_track"  # first pose of a track (or of a track that had expired)
    REPLACED = "replaced"  # same stamp as the newest pose: the newer message wins
    RESET_BACKWARDS = "reset_backwards"  # stamp older than the track's newest: track restarted
    EVICTED_OTHER = "evicted_other"  # new track, and the least recently updated one was dropped


@dataclass
class _Sample:
    stamp: float
    keypoints: np.ndarray  # (J, 3) float32 pixels, only the spec's joints, in spec order
    width: float
    height: float


@dataclass
class TrackWindow:
    """One track's model input at one instant."""

    track_id: str
    person_id: str
    window: Window
    newest_stamp: float
    frames_used: int  # observed sample times in the window
    input_quality: float  # share of (frame, joint) cells really observed
    stale: bool


class JointMapper:
    """Maps keypoints of any known layout onto the spec's joints BY NAME (missing -> score 0)."""

    def __init__(self, spec: WindowSpec) -> None:
        self.spec = spec
        target = get_layout(spec.layout)
        self.joint_names = tuple(target.joint_names[j] for j in spec.joints)
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _indices(self, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
        if layout.code not in self._cache:
            src, dst = [], []
            for i, name in enumerate(self.joint_names):
                if name in layout.joint_names:
                    src.append(layout.index(name))
                    dst.append(i)
            self._cache[layout.code] = (np.array(src, dtype=int), np.array(dst, dtype=int))
        return self._cache[layout.code]

    def map(self, keypoints: np.ndarray, layout: str | int) -> np.ndarray:
        """(N, 3) keypoints in ``layout`` -> (J, 3) float32 in the spec's joint order.

        ValueError names the problem for an unknown layout or a wrong number of keypoints.
        """
        source = get_layout(layout)
        kp = np.asarray(keypoints, dtype=np.float32)
        if kp.ndim != 2 or kp.shape[1] != 3:
            raise ValueError(f"keypoints must have shape (N, 3), got {kp.shape}")
        if kp.shape[0] != source.num_joints:
            raise ValueError(
                f"layout {source.name} has {source.num_joints} keypoints, got {kp.shape[0]}"
            )
        src, dst = self._indices(source)
        out = np.zeros((len(self.joint_names), 3), dtype=np.float32)
        out[dst] = kp[src]
        return out


class OnlineWindows:
    """Per-track ring buffers of poses, resampled into model windows on demand.

    Memory is bounded: at most ``config.max_tracks`` tracks, each holding at most the samples
    that one window can use (plus the one before it, which seeds the fill).
    """

    def __init__(self, spec: WindowSpec, config: OnlineConfig | None = None) -> None:
        self.spec = spec
        self.config = config or OnlineConfig()
        self.mapper = JointMapper(spec)
        self.sample_period_s = spec.stride / spec.source_fps
        # the resampled frames carry only the spec's joints, so the inner spec selects all of them
        self._inner_spec = dataclasses.replace(spec, joints=tuple(range(spec.num_joints)))
        # samples are pruned by time; this count bound only caps memory for absurd input rates
        # (a camera up to 8x source_fps still keeps a full window)
        self._max_samples = 8 * spec.length * spec.stride + 64
        self._tracks: OrderedDict[str, deque[_Sample]] = OrderedDict()
        self._person_ids: dict[str, str] = {}
        self._cache: dict[str, tuple[_Sample, int, Window]] = {}
        self._last_now: float | None = None

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

    def observe_time(self, now_s: float) -> bool:
        """Tell the buffers the current time; True (and everything reset) if time jumped back."""
        jumped = (
            self._last_now is not None and now_s < self._last_now - self.config.time_jump_back_s
        )
        if jumped:
            self.reset()
        self._last_now = now_s
        return jumped

    def add(
        self,
        track_id: str,
        stamp_s: float,
        keypoints: np.ndarray,
        width: float,
        height: float,
        layout: str | int,
        person_id: str = "",
    ) -> AddResult:
        """Buffer one pose (pixels, (N, 3) in ``layout``). ValueError names bad input."""
        if not track_id:
            raise ValueError("track_id must not be empty")
        if not math.isfinite(stamp_s):
            raise ValueError(f"stamp must be finite, got {stamp_s}")
        if not (math.isfinite(width) and math.isfinite(height)) or width <= 0 or height <= 0:
            raise ValueError(f"image size must be positive, got {width}x{height}")
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

    def expire(self, now_s: float) -> list[str]:
        """Drop tracks whose newest pose is older than ``max_track_gap_s``; return their ids."""
        gone = [
            tid
            for tid, buf in self._tracks.items()
            if now_s - buf[-1].stamp > self.config.max_track_gap_s
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


def stack(track_windows: Sequence[TrackWindow]) -> np.ndarray:
    """(B, T, J, 3) float32 batch for one forward pass; (0, ...) is not built (B >= 1)."""
    return np.stack([tw.window.keypoints for tw in track_windows]).astype(np.float32, copy=False)


@dataclass(frozen=True)
class HysteresisConfig:
    """Decision smoothing in the spirit of hri_engagement's state machine.

    Probabilities are smoothed with an exponential moving average (``alpha`` = weight of the
    newest window). A class becomes the decision once its smoothed probability has been the
    highest and at least ``enter_threshold`` for ``min_steps`` consecutive updates; the current
    decision is kept until its probability falls below ``exit_threshold`` (< enter) and another
    class has qualified for ``min_steps`` updates. With nothing qualifying, a decision whose
    probability stays below ``exit_threshold`` for ``min_steps`` updates falls back to unknown.
    """

    alpha: float = 0.5
    enter_threshold: float = 0.6
    exit_threshold: float = 0.4
    min_steps: int = 2

    def __post_init__(self) -> None:
        if not 0 < self.alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {self.alpha}")
        if not 0 <= self.exit_threshold <= self.enter_threshold <= 1:
            raise ValueError(
                "need 0 <= exit_threshold <= enter_threshold <= 1, got "
                f"exit={self.exit_threshold}, enter={self.enter_threshold}"
            )
        if self.min_steps < 1:
            raise ValueError(f"min_steps must be >= 1, got {self.min_steps}")


UNKNOWN_DECISION = -1


class HysteresisDecision:
    """Smoothed decision over ``num_classes`` classes; ``decision`` is a class index or -1."""

    def __init__(self, num_classes: int, config: HysteresisConfig | None = None) -> None:
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.num_classes = num_classes
        self.config = config or HysteresisConfig()
        self.smoothed: list[float] | None = None
        self.decision = UNKNOWN_DECISION
        self._candidate = UNKNOWN_DECISION
        self._count = 0

    def update(self, probabilities: np.ndarray) -> int:
        # plain floats: a handful of classes, called per track per task per tick, where
        # numpy's per-call overhead would dominate
        p = [float(v) for v in np.asarray(probabilities).reshape(-1)]
        if len(p) != self.num_classes:
            raise ValueError(f"expected {self.num_classes} probabilities, got {len(p)}")
        if not all(math.isfinite(v) for v in p):
            return self.decision  # a broken forward pass must not move the decision
        cfg = self.config
        if self.smoothed is None:
            self.smoothed = p
        else:
            a = cfg.alpha
            self.smoothed = [a * new + (1 - a) * old for new, old in zip(p, self.smoothed)]
        s = self.smoothed
        top = max(range(len(s)), key=s.__getitem__)
        current_holds = self.decision != UNKNOWN_DECISION and s[self.decision] >= cfg.exit_threshold
        if current_holds or (top == self.decision):
            self._candidate, self._count = UNKNOWN_DECISION, 0
            return self.decision
        # the current decision (if any) has lost its hold: who qualifies to replace it?
        wanted = top if s[top] >= cfg.enter_threshold else UNKNOWN_DECISION
        if wanted == self.decision:
            self._candidate, self._count = UNKNOWN_DECISION, 0
            return self.decision
        if wanted == self._candidate:
            self._count += 1
        else:
            self._candidate, self._count = wanted, 1
        if self._count >= cfg.min_steps:
            self.decision = wanted
            self._candidate, self._count = UNKNOWN_DECISION, 0
        return self.decision


class DecisionSmoother:
    """Hysteresis decisions per track and task, bounded like the buffers (drop with the track)."""

    def __init__(
        self,
        num_classes: dict[str, int],
        config: HysteresisConfig | None = None,
        max_tracks: int = 64,
    ) -> None:
        self.num_classes = dict(num_classes)
        self.config = config or HysteresisConfig()
        self.max_tracks = max_tracks
        self._states: OrderedDict[str, dict[str, HysteresisDecision]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._states)

    def update(self, track_id: str, probabilities: dict[str, np.ndarray]) -> dict[str, int]:
        """Feed one window's probabilities; return the decision (index or -1) per task."""
        states = self._states.get(track_id)
        if states is None:
            if len(self._states) >= self.max_tracks:
                self._states.popitem(last=False)
            states = {
                task: HysteresisDecision(n, self.config) for task, n in self.num_classes.items()
            }
            self._states[track_id] = states
        self._states.move_to_end(track_id)
        return {task: states[task].update(probabilities[task]) for task in self.num_classes}

    def current(self, track_id: str) -> dict[str, int]:
        """The decisions without an update (all -1 for a track never updated)."""
        states = self._states.get(track_id)
        if states is None:
            return dict.fromkeys(self.num_classes, UNKNOWN_DECISION)
        return {task: state.decision for task, state in states.items()}

    def forget(self, track_ids: Sequence[str]) -> None:
        for tid in track_ids:
            self._states.pop(tid, None)

    def retain(self, track_ids: Sequence[str]) -> None:
        """Drop the state of every track not in ``track_ids``."""
        keep = set(track_ids)
        for tid in [t for t in self._states if t not in keep]:
            del self._states[tid]

    def reset(self) -> None:
        self._states.clear()
