"""Per-track ring buffers of poses, resampled into the student's training windows.

Pure Python + numpy (the intent engine's first stage). Poses arrive with their image stamps at
whatever rate the camera and pose estimator manage; the model was trained on windows of
``spec.length`` frames spaced ``spec.stride`` frames apart at ``spec.source_fps``. So for each
track we resample: T sample times ``spec.stride / spec.source_fps`` seconds apart, ending at the
newest stamp. A sample time that got a new pose since the previous sample time is "observed";
one that did not repeats the previous pose (exactly the training loader's rule for a missing
frame id, see ``socialego_core.window``); sample times before the first pose stay zero.
Normalisation is ``window.normalise_keypoints`` itself and joints are selected by name, so the
numbers are the training code's; the tests compare the windows with ``window.build_window`` and
with a per-track reference builder on random input with churn.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from socialego_core.layouts import Layout, get_layout
from socialego_core.window import Window, WindowSpec, normalise_keypoints

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


def check_image_size(width: float, height: float, max_side: float | None = None) -> None:
    """ValueError naming the problem for an image size that is not finite and positive, or
    (with ``max_side``) larger than ``max_side`` pixels a side."""
    if not (math.isfinite(width) and math.isfinite(height)) or width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width:g}x{height:g}")
    if max_side is not None and (width > max_side or height > max_side):
        raise ValueError(f"image size {width:g}x{height:g} beyond {max_side:g} px a side")


def check_pose_args(track_id: str, stamp_s: float, width: float, height: float) -> None:
    """ValueError naming the problem for a pose that no window may take."""
    if not track_id:
        raise ValueError("track_id must not be empty")
    if not math.isfinite(stamp_s):
        raise ValueError(f"stamp must be finite, got {stamp_s}")
    check_image_size(width, height)


class TrackBuffersBase:
    """What every per-track pose buffer shares: the window spec, the joint mapper, the sample
    period, the memory bound, and the clock rule (a clock that moves back, as when a bag loops
    or a simulation restarts, resets everything). Subclasses store the samples and ``reset``."""

    def __init__(self, spec: WindowSpec, config: OnlineConfig | None = None) -> None:
        self.spec = spec
        self.config = config or OnlineConfig()
        self.mapper = JointMapper(spec)
        self.sample_period_s = spec.stride / spec.source_fps
        # samples are pruned by time; this count bound only caps memory for absurd input rates
        # (a camera up to 8x source_fps still keeps a full window)
        self._max_samples = 8 * spec.length * spec.stride + 64
        self._person_ids: dict[str, str] = {}
        self._last_now: float | None = None

    def reset(self) -> None:
        raise NotImplementedError

    def observe_time(self, now_s: float) -> bool:
        """Tell the buffers the current time; True (and everything reset) if time jumped back."""
        jumped = (
            self._last_now is not None and now_s < self._last_now - self.config.time_jump_back_s
        )
        if jumped:
            self.reset()
        self._last_now = now_s
        return jumped


class OnlineWindows(TrackBuffersBase):
    """Per-track ring buffers of poses, resampled into model windows on demand.

    The buffers are rows of preallocated arrays (one slot per track, samples in time order in
    ``[start, end)`` of the slot), so ``batch`` builds the windows of all tracks with a few
    vectorised gathers instead of per-track Python work. Results equal ``window.build_window``
    and a per-track reference builder (tests compare).

    Memory is bounded: at most ``config.max_tracks`` tracks, each holding at most the samples
    that one window can use (plus the one before it, which seeds the fill).
    """

    def __init__(self, spec: WindowSpec, config: OnlineConfig | None = None) -> None:
        super().__init__(spec, config)
        # newest_stamp - _steps_s = the window's sample times (oldest first)
        self._steps_s = np.arange(spec.length - 1, -1, -1, dtype=np.float64) * self.sample_period_s
        self._slots: OrderedDict[str, int] = OrderedDict()  # least recently updated first
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

    def drop(self, track_ids: Sequence[str]) -> None:
        """Forget these tracks (unknown ids are ignored)."""
        for tid in track_ids:
            if tid in self._slots:
                self._drop(tid)

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
        """The model window of one track ending at its newest pose. KeyError for unknown ids."""
        if track_id not in self._slots:
            raise KeyError(track_id)
        return self.batch(now_s, [track_id]).track_window(0)

    def newest_stamp(self, track_id: str) -> float:
        """The stamp of a track's newest pose (KeyError for unknown ids)."""
        slot = self._slots[track_id]
        return float(self._stamp[slot, self._end[slot] - 1])
