"""Online (robot-side) window building: per-track ring buffers and hysteresis smoothing.

Pure Python + numpy; the intent node is a thin ROS adapter around it. Poses arrive with their
image stamps at whatever rate the camera and pose estimator manage; the model was trained on
windows of ``spec.length`` frames spaced ``spec.stride`` frames apart at ``spec.source_fps``.
So for each track we resample: T sample times ``spec.stride / spec.source_fps`` seconds apart,
ending at the newest stamp. A sample time that got a new pose since the previous sample time is
"observed"; one that did not repeats the previous pose (exactly the training loader's rule for a
missing frame id, see ``socialego_core.window``); sample times before the first pose stay zero.
Normalisation is ``window.normalise_keypoints`` itself and joints are selected by name, so the
numbers are the training code's; ``OnlineWindows._resample_reference`` builds the same window
through ``window.build_window`` and tests compare the two (and the previous per-track builder,
``socialego_core.online_reference``) on random input with churn.
"""

from __future__ import annotations

import dataclasses
import math
from collections import OrderedDict
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


@dataclass
class WindowBatch:
    """Every buffered track's model input at one instant, as arrays (row i = track_ids[i])."""

    track_ids: list[str]
    person_ids: list[str]
    keypoints: np.ndarray  # (B, T, J, 3) float32 normalised, the training window
    observed: np.ndarray  # (B, T) bool
    newest_stamp: np.ndarray  # (B,) float64 seconds
    newest_serial: np.ndarray  # (B,) int64: changes exactly when a track's window changes
    frames_used: np.ndarray  # (B,) int64 observed sample times
    input_quality: np.ndarray  # (B,) float64 share of (frame, joint) cells observed
    stale: np.ndarray  # (B,) bool

    def __len__(self) -> int:
        return len(self.track_ids)

    def track_window(self, i: int) -> TrackWindow:
        return TrackWindow(
            track_id=self.track_ids[i],
            person_id=self.person_ids[i],
            window=Window(keypoints=self.keypoints[i], observed=self.observed[i]),
            newest_stamp=float(self.newest_stamp[i]),
            frames_used=int(self.frames_used[i]),
            input_quality=float(self.input_quality[i]),
            stale=bool(self.stale[i]),
        )


def check_pose_args(track_id: str, stamp_s: float, width: float, height: float) -> None:
    """ValueError naming the problem for a pose that no window may take."""
    if not track_id:
        raise ValueError("track_id must not be empty")
    if not math.isfinite(stamp_s):
        raise ValueError(f"stamp must be finite, got {stamp_s}")
    if not (math.isfinite(width) and math.isfinite(height)) or width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")


class OnlineWindows:
    """Per-track ring buffers of poses, resampled into model windows on demand.

    The buffers are rows of preallocated arrays (one slot per track, samples in time order in
    ``[start, end)`` of the slot), so ``batch`` builds the windows of all tracks with a few
    vectorised gathers instead of per-track Python work. Results equal the per-track
    reference (``socialego_core.online_reference``) and ``window.build_window``; tests compare.

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
        # newest_stamp - _steps_s = the window's sample times (oldest first)
        self._steps_s = np.arange(spec.length - 1, -1, -1, dtype=np.float64) * self.sample_period_s
        self._slots: OrderedDict[str, int] = OrderedDict()  # least recently updated first
        self._person_ids: dict[str, str] = {}
        self._window_cache: dict[str, tuple[int, Window]] = {}
        self._last_now: float | None = None
        self._next_serial = 1
        self._allocate(min(self.config.max_tracks, 16))

    # -- storage ------------------------------------------------------------------------------
    def _allocate(self, slots: int) -> None:
        """(Re)size the slot arrays to ``slots`` rows, keeping the existing rows."""
        cap, joints = self._max_samples, self.spec.num_joints
        old = getattr(self, "_kp", None)
        kp = np.zeros((slots, cap, joints, 3), dtype=np.float32)
        stamp = np.zeros((slots, cap), dtype=np.float64)
        serial = np.zeros((slots, cap), dtype=np.int64)
        size = np.ones((slots, 2), dtype=np.float64)  # newest sample's width, height
        start = np.zeros(slots, dtype=np.int64)
        end = np.zeros(slots, dtype=np.int64)
        if old is not None:
            n = old.shape[0]
            kp[:n], stamp[:n], serial[:n] = self._kp, self._stamp, self._serial
            size[:n], start[:n], end[:n] = self._size, self._start, self._end
            free = self._free + list(range(slots - 1, n - 1, -1))
        else:
            free = list(range(slots - 1, -1, -1))
        self._kp, self._stamp, self._serial, self._size = kp, stamp, serial, size
        self._start, self._end = start, end
        self._free = free

    def _take_slot(self) -> int:
        if not self._free:
            self._allocate(min(2 * self._kp.shape[0], self.config.max_tracks))
        slot = self._free.pop()
        self._start[slot] = self._end[slot] = 0
        return slot

    def _drop(self, track_id: str) -> None:
        self._free.append(self._slots.pop(track_id))
        self._person_ids.pop(track_id, None)
        self._window_cache.pop(track_id, None)

    def __len__(self) -> int:
        return len(self._slots)

    @property
    def track_ids(self) -> list[str]:
        return list(self._slots)

    def buffered_samples(self, track_id: str) -> int:
        """How many poses a track's buffer holds (KeyError for unknown ids)."""
        slot = self._slots[track_id]
        return int(self._end[slot] - self._start[slot])

    def reset(self) -> None:
        for track_id in list(self._slots):
            self._drop(track_id)
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
        check_pose_args(track_id, stamp_s, width, height)
        mapped = self.mapper.map(keypoints, layout)
        stamp_s = float(stamp_s)
        result = AddResult.ADDED
        slot = self._slots.get(track_id)
        if slot is None:
            result = AddResult.NEW_TRACK
            if len(self._slots) >= self.config.max_tracks:
                self._drop(next(iter(self._slots)))
                result = AddResult.EVICTED_OTHER
            slot = self._take_slot()
            self._slots[track_id] = slot
        else:
            end = int(self._end[slot])
            newest = float(self._stamp[slot, end - 1])
            if stamp_s < newest - _STAMP_EPS_S:
                self._start[slot] = self._end[slot] = 0
                result = AddResult.RESET_BACKWARDS
            elif abs(stamp_s - newest) <= _STAMP_EPS_S:
                self._end[slot] = end - 1
                result = AddResult.REPLACED
        self._append(slot, stamp_s, mapped, float(width), float(height))
        self._slots.move_to_end(track_id)
        if person_id:
            self._person_ids[track_id] = person_id
        return result

    def _append(self, slot: int, stamp_s: float, mapped: np.ndarray, width: float, height: float):
        start, end = int(self._start[slot]), int(self._end[slot])
        if end == self._max_samples:  # end of the row: move the live samples to its front
            count = end - start
            if count == self._max_samples:  # full (absurd input rate): drop the oldest
                start += 1
                count -= 1
            self._kp[slot, :count] = self._kp[slot, start:end]
            self._stamp[slot, :count] = self._stamp[slot, start:end]
            self._serial[slot, :count] = self._serial[slot, start:end]
            start, end = 0, count
        self._kp[slot, end] = mapped
        self._stamp[slot, end] = stamp_s
        self._serial[slot, end] = self._next_serial
        self._next_serial += 1
        self._size[slot] = (width, height)
        end += 1
        # drop samples older than the one that seeds the oldest slot of the next window
        oldest_needed = stamp_s - self.spec.length * self.sample_period_s
        start += int(np.searchsorted(self._stamp[slot, start + 1 : end], oldest_needed, "right"))
        self._start[slot], self._end[slot] = start, end

    def expire(self, now_s: float) -> list[str]:
        """Drop tracks whose newest pose is older than ``max_track_gap_s``; return their ids."""
        if not self._slots:
            return []
        slots = np.fromiter(self._slots.values(), dtype=np.int64, count=len(self._slots))
        newest = self._stamp[slots, self._end[slots] - 1]
        old = np.flatnonzero(now_s - newest > self.config.max_track_gap_s)
        if not len(old):
            return []
        ids = list(self._slots)
        gone = [ids[i] for i in old.tolist()]
        for tid in gone:
            self._drop(tid)
        return gone

    # -- windows ------------------------------------------------------------------------------
    def batch(self, now_s: float | None = None, track_ids: Sequence[str] | None = None):
        """The windows of every buffered track (oldest updated first), or of ``track_ids``,
        built together: sample time k takes the newest pose at or before it; it is observed
        when that pose falls in (t_k - period, t_k]; before the first pose the window stays
        zero (the rule of ``window.build_window`` for missing frame ids)."""
        ids = list(self._slots) if track_ids is None else list(track_ids)
        count = len(ids)
        slots = np.array([self._slots[t] for t in ids], dtype=np.int64)
        period = self.sample_period_s
        # a pose up to 0.1 % of a period late still belongs to the slot (stamp rounding)
        slack = period * 1e-3
        starts, ends = self._start[slots], self._end[slots]
        stamps = self._stamp[slots]  # (B, C)
        newest = stamps[np.arange(count), ends - 1]
        times = newest[:, None] - self._steps_s[None, :]  # (B, T)
        # only the live samples [start, end) of each row count (+inf elsewhere: never <= t)
        width = int(ends.max()) if count else 0
        column = np.arange(width)
        live = (column >= starts[:, None]) & (column < ends[:, None])  # (B, C)
        live_stamps = np.where(live, stamps[:, :width], np.inf)
        counts = np.count_nonzero(
            live_stamps[:, None, :] <= (times + slack)[:, :, None], axis=2
        )  # (B, T): live samples at or before each sample time
        filled = counts > 0
        index = np.where(filled, starts[:, None] + counts - 1, starts[:, None])
        rows = np.broadcast_to(slots[:, None], index.shape)
        observed = filled & (self._stamp[rows, index] > times - period + slack)
        pixels = self._kp[rows, index]  # (B, T, J, 3)
        sizes = self._size[slots]
        # normalise with the training code's function, once per image size (usually one)
        if count == 0:
            keypoints = pixels
        elif (sizes == sizes[0]).all():
            width, height = sizes[0].tolist()
            keypoints = normalise_keypoints(pixels, width, height, self.spec.normalisation)
        else:
            keypoints = np.empty_like(pixels)
            for width, height in np.unique(sizes, axis=0).tolist():
                same = (sizes[:, 0] == width) & (sizes[:, 1] == height)
                keypoints[same] = normalise_keypoints(
                    pixels[same], width, height, self.spec.normalisation
                )
        keypoints[~filled] = 0.0
        frames_used = np.count_nonzero(observed, axis=1)
        seen = (keypoints[..., 2] > 0) & observed[:, :, None]
        input_quality = seen.mean(axis=(1, 2)) if seen.size else np.zeros(count)
        stale = frames_used < self.config.min_frames
        if now_s is not None:
            stale |= now_s - newest > self.config.stale_after_s
        return WindowBatch(
            track_ids=ids,
            person_ids=[self._person_ids.get(t, "") for t in ids],
            keypoints=keypoints.astype(np.float32, copy=False),
            observed=observed,
            newest_stamp=newest,
            newest_serial=self._serial[slots, ends - 1],
            frames_used=frames_used,
            input_quality=input_quality,
            stale=stale,
        )

    def window(self, track_id: str, now_s: float | None = None) -> TrackWindow:
        """The model window of one track ending at its newest pose. KeyError for unknown ids.

        The Window object is reused until the track's next pose (callers may cache on it).
        """
        if track_id not in self._slots:
            raise KeyError(track_id)
        tw = self.batch(now_s, [track_id]).track_window(0)
        return self._reuse_window(tw, self._newest_serial(track_id))

    def windows(self, now_s: float | None = None) -> list[TrackWindow]:
        """Windows of every buffered track (oldest updated first)."""
        batch = self.batch(now_s)
        return [
            self._reuse_window(batch.track_window(i), int(batch.newest_serial[i]))
            for i in range(len(batch))
        ]

    def _newest_serial(self, track_id: str) -> int:
        slot = self._slots[track_id]
        return int(self._serial[slot, self._end[slot] - 1])

    def _reuse_window(self, tw: TrackWindow, serial: int) -> TrackWindow:
        cached = self._window_cache.get(tw.track_id)
        if cached is not None and cached[0] == serial:
            tw.window = cached[1]
        else:
            self._window_cache[tw.track_id] = (serial, tw.window)
        return tw

    def _resample_reference(self, track_id: str) -> Window:
        """The same window through ``window.build_window`` itself (the training code path)."""
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
        return build_window(frames, width, height, self._inner_spec, first_frame_id=0)


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


class BatchDecisionSmoother:
    """``DecisionSmoother`` for many tracks and all tasks at once: the same state machine on
    arrays (track row, task, class), classes padded to the largest task with probability -1
    (never on top, never above a threshold).

    Row-for-row equal to ``HysteresisDecision`` (same float64 operations in the same order;
    tests compare them on random sequences). Tracks are evicted least recently updated first,
    like ``DecisionSmoother``.
    """

    def __init__(
        self,
        num_classes: dict[str, int],
        config: HysteresisConfig | None = None,
        max_tracks: int = 64,
    ) -> None:
        if not num_classes or any(n < 1 for n in num_classes.values()):
            raise ValueError(f"num_classes must be >= 1 per task, got {num_classes}")
        if max_tracks < 1:
            raise ValueError(f"max_tracks must be >= 1, got {max_tracks}")
        self.num_classes = dict(num_classes)
        self.tasks = tuple(self.num_classes)
        self.config = config or HysteresisConfig()
        self.max_tracks = max_tracks
        self._width = max(self.num_classes.values())
        self._rows: OrderedDict[str, int] = OrderedDict()
        self._free: list[int] = []
        self._capacity = 0
        self._grow(min(max_tracks, 16))

    def _grow(self, capacity: int) -> None:
        tasks, old = len(self.tasks), self._capacity
        arrays = {
            "_smoothed": np.zeros((capacity, tasks, self._width), dtype=np.float64),
            "_has": np.zeros((capacity, tasks), dtype=bool),
            "_decision": np.full((capacity, tasks), UNKNOWN_DECISION, dtype=np.int64),
            "_candidate": np.full((capacity, tasks), UNKNOWN_DECISION, dtype=np.int64),
            "_count": np.zeros((capacity, tasks), dtype=np.int64),
        }
        for name, array in arrays.items():
            if old:
                array[:old] = getattr(self, name)
            setattr(self, name, array)
        self._free = list(range(capacity - 1, old - 1, -1)) + self._free
        self._capacity = capacity

    def __len__(self) -> int:
        return len(self._rows)

    def _row_for_update(self, track_id: str) -> int:
        row = self._rows.get(track_id)
        if row is None:
            if len(self._rows) >= self.max_tracks:
                _, evicted = self._rows.popitem(last=False)
                self._free.append(evicted)
            if not self._free:
                self._grow(min(2 * self._capacity, self.max_tracks))
            row = self._free.pop()
            self._has[row] = False
            self._decision[row] = self._candidate[row] = UNKNOWN_DECISION
            self._count[row] = 0
            self._rows[track_id] = row
        else:
            self._rows.move_to_end(track_id)
        return row

    def update_many(
        self, track_ids: Sequence[str], probabilities: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Feed one window per track (``probabilities[task]``: (n, classes) rows in
        ``track_ids`` order); return the decisions (n,) per task (index or -1)."""
        n = len(track_ids)
        if n > self.max_tracks or len(set(track_ids)) != n:
            raise ValueError(
                f"update_many takes at most max_tracks={self.max_tracks} distinct track ids, "
                f"got {n} ({len(set(track_ids))} distinct)"
            )
        p = np.full((n, len(self.tasks), self._width), -1.0)
        for j, (task, k) in enumerate(self.num_classes.items()):
            values = np.asarray(probabilities[task]).reshape(n, -1)
            if values.shape[1] != k:
                raise ValueError(f"expected {k} probabilities for {task}, got {values.shape[1]}")
            p[:, j, :k] = values
        rows = np.array([self._row_for_update(t) for t in track_ids], dtype=np.int64)
        cfg = self.config
        a = cfg.alpha
        # a broken forward pass (non-finite row) must not move that track's decision
        ok = np.isfinite(p).all(axis=2)
        old = self._smoothed[rows]
        has = self._has[rows]
        smoothed = np.where(has[:, :, None], a * p + (1 - a) * old, p)
        smoothed = np.where(ok[:, :, None], smoothed, old)
        decision, candidate = self._decision[rows], self._candidate[rows]
        top = np.argmax(smoothed, axis=2)
        top_p = np.take_along_axis(smoothed, top[:, :, None], axis=2)[:, :, 0]
        held_p = np.take_along_axis(smoothed, np.maximum(decision, 0)[:, :, None], axis=2)
        settled = ((decision != UNKNOWN_DECISION) & (held_p[:, :, 0] >= cfg.exit_threshold)) | (
            top == decision
        )
        wanted = np.where(top_p >= cfg.enter_threshold, top, UNKNOWN_DECISION)
        settled |= wanted == decision
        # the current decision has lost its hold: count how long ``wanted`` qualifies
        count = np.where(settled, 0, np.where(wanted == candidate, self._count[rows] + 1, 1))
        switch = ~settled & (count >= cfg.min_steps)
        new_decision = np.where(switch, wanted, decision)
        new_candidate = np.where(settled | switch, UNKNOWN_DECISION, wanted)
        count[switch] = 0
        self._smoothed[rows] = smoothed
        self._has[rows] = has | ok
        self._decision[rows] = np.where(ok, new_decision, decision)
        self._candidate[rows] = np.where(ok, new_candidate, candidate)
        self._count[rows] = np.where(ok, count, self._count[rows])
        decided = self._decision[rows]
        return {task: decided[:, j] for j, task in enumerate(self.tasks)}

    def current_many(self, track_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The decisions (n,) per task without an update (-1 for tracks never updated)."""
        rows = np.array([self._rows.get(t, -1) for t in track_ids], dtype=np.int64)
        decided = np.where((rows >= 0)[:, None], self._decision[rows], UNKNOWN_DECISION)
        return {task: decided[:, j] for j, task in enumerate(self.tasks)}

    def update(self, track_id: str, probabilities: dict[str, np.ndarray]) -> dict[str, int]:
        """One track (the ``DecisionSmoother`` interface)."""
        result = self.update_many(
            [track_id], {t: np.asarray(probabilities[t])[None] for t in self.num_classes}
        )
        return {task: int(v[0]) for task, v in result.items()}

    def current(self, track_id: str) -> dict[str, int]:
        return {task: int(v[0]) for task, v in self.current_many([track_id]).items()}

    def forget(self, track_ids: Sequence[str]) -> None:
        for tid in track_ids:
            row = self._rows.pop(tid, None)
            if row is not None:
                self._free.append(row)

    def retain(self, track_ids: Sequence[str]) -> None:
        """Drop the state of every track not in ``track_ids``."""
        keep = set(track_ids)
        self.forget([t for t in self._rows if t not in keep])

    def reset(self) -> None:
        self.forget(list(self._rows))
