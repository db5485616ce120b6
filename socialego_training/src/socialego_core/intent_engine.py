"""The intent engine: tracked poses in, per-track probabilities and smoothed decisions out.

Windows (``track_buffers.OnlineWindows``) -> one batched student forward pass over the windows
that changed (the predictor's ``cached_forward()`` where the model has one: PyTorch's
``fast_forward.CachedStudentForward`` or ONNX Runtime's ``onnx_predictor.OnnxCachedForward``;
else its ``predict``) -> hysteresis (``hysteresis.BatchDecisionSmoother``). Plain arrays
in and out, no ROS: the intent node, the single-process runner, the replay tools and the
benchmarks all drive this one object.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from socialego_core.hysteresis import BatchDecisionSmoother, HysteresisConfig
from socialego_core.labels import TASKS
from socialego_core.predictor_base import PredictorBase, WindowForward
from socialego_core.track_buffers import AddResult, OnlineConfig, OnlineWindows, WindowBatch

# per-tick stages timed by the engine (the node adds its own "messages" and "publish")
ENGINE_STAGES = ("windows", "forward", "hysteresis")


@dataclass
class IntentBatch:
    """Row i describes track ``track_ids[i]`` at one tick."""

    track_ids: list[str]
    person_ids: list[str]
    probabilities: dict[str, np.ndarray]  # task -> (B, classes) float32
    decisions: dict[str, np.ndarray]  # task -> (B,) int64 class index or UNKNOWN_DECISION
    newest_stamp: np.ndarray  # (B,) float64 seconds of each track's newest pose
    frames_used: np.ndarray  # (B,) observed sample times in the window
    input_quality: np.ndarray  # (B,) share of (frame, joint) cells observed
    stale: np.ndarray  # (B,) bool
    sources: list[Any]  # what the caller passed with each track's newest pose (e.g. its header)

    def __len__(self) -> int:
        return len(self.track_ids)


@dataclass
class TickResult:
    """What one tick found and produced."""

    clock_reset: bool = False  # time jumped back (bag loop): every track was dropped
    expired: list[str] = field(default_factory=list)
    intents: IntentBatch | None = None  # None: no tracks, or the forward pass failed
    newest_stamp: float | None = None  # newest pose stamp of any track (None: no tracks)
    error: str | None = None  # why the forward pass failed
    stage_ms: dict[str, float] = field(default_factory=dict)


class IntentEngine:
    """Buffers tracked poses and turns them into intents, one ``tick`` at a time.

    ``add_pose`` takes pixel keypoints of any known layout (mapped by joint name); ``tick(now)``
    expires old tracks, builds every window, runs the model on the windows that changed since
    they were last computed (a new pose), and feeds the smoother once per new window when the
    window has enough evidence (not stale).
    """

    def __init__(
        self,
        predictor: PredictorBase,
        online: OnlineConfig | None = None,
        hysteresis: HysteresisConfig | None = None,
        cached_forward: bool = True,
    ) -> None:
        self.predictor = predictor
        self.spec = predictor.window_spec
        self.labels = predictor.labels
        self.online_config = online or OnlineConfig()
        self.hysteresis_config = hysteresis or HysteresisConfig()
        self.windows = OnlineWindows(self.spec, self.online_config)
        self.num_classes = {task: self.labels.num_classes(task) for task in TASKS}
        self.smoother = BatchDecisionSmoother(
            self.num_classes, self.hysteresis_config, self.online_config.max_tracks
        )
        self.forward: WindowForward | None = predictor.cached_forward() if cached_forward else None
        self._sources: dict[str, Any] = {}
        # tracks whose newest pose is stamped ahead of the time it arrived: their age counts
        # from the arrival, so a stamp from the future never keeps a track fresh
        self._arrived: dict[str, float] = {}
        self._last_fed: dict[str, float] = {}
        # per track: the window serial its probabilities belong to, and the rows
        self._prob_rows: dict[str, tuple[int, tuple[np.ndarray, ...]]] = {}

    # -- state --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.windows)

    @property
    def track_ids(self) -> list[str]:
        return self.windows.track_ids

    def reset(self) -> None:
        """Forget every track (buffers, cached probabilities, decisions)."""
        self.windows.reset()
        self.smoother.reset()
        self._sources.clear()
        self._arrived.clear()
        self._last_fed.clear()
        self._prob_rows.clear()

    def reconfigure(
        self, online: OnlineConfig | None = None, hysteresis: HysteresisConfig | None = None
    ) -> None:
        """Apply new limits or smoothing at once, keeping every track and its state.

        ``max_tracks`` cannot change here (it sizes the buffers): make a new engine for that.
        """
        if online is not None:
            if online.max_tracks != self.online_config.max_tracks:
                raise ValueError("max_tracks cannot change on a running engine")
            self.online_config = self.windows.config = online
        if hysteresis is not None:
            self.hysteresis_config = self.smoother.config = hysteresis

    def _forget(self, track_ids: list[str], smoother: bool = True) -> None:
        if smoother:  # (on eviction the smoother has already dropped its own rows)
            self.smoother.forget(track_ids)
        for tid in track_ids:
            self._sources.pop(tid, None)
            self._arrived.pop(tid, None)
            self._last_fed.pop(tid, None)
            self._prob_rows.pop(tid, None)

    # -- input --------------------------------------------------------------------------------
    def add_pose(
        self,
        track_id: str,
        stamp_s: float,
        keypoints: np.ndarray,
        width: float,
        height: float,
        layout: str | int,
        person_id: str = "",
        source: Hashable | Any = None,
        received_s: float | None = None,
    ) -> AddResult:
        """Buffer one pose ((N, 3) pixels in ``layout``); ValueError names bad input.

        ``source`` (e.g. the pose's header) comes back with the track's outputs while this is
        its newest pose. A pose older than the track's newest restarts the track. With
        ``received_s`` (the clock when the pose arrived) a stamp ahead of it ages from
        ``received_s`` instead: staleness and expiry never wait for a stamp from the future.
        """
        result = self.windows.add(
            track_id, stamp_s, keypoints, width, height, layout, person_id=person_id
        )
        if result is AddResult.RESET_BACKWARDS:
            self.smoother.forget([track_id])
            self._last_fed.pop(track_id, None)
        self._sources[track_id] = source
        if received_s is not None and stamp_s > received_s:
            self._arrived[track_id] = float(received_s)
        else:
            self._arrived.pop(track_id, None)
        return result

    # -- one tick -----------------------------------------------------------------------------
    def tick(self, now_s: float) -> TickResult:
        result = TickResult()
        stage = result.stage_ms
        t0 = time.perf_counter()
        if self.windows.observe_time(now_s):
            result.clock_reset = True
            self.reset()
        result.expired = self.windows.expire(now_s)
        if self._arrived:  # stamped in the future: gone when unseen since arrival too long
            gap = self.online_config.max_track_gap_s
            late = [t for t, r in self._arrived.items() if now_s - r > gap]
            self.windows.drop(late)
            result.expired += late
        if result.expired:
            self._forget(result.expired)
        if len(self._sources) > len(self.windows):  # evicted by max_tracks
            live = set(self.windows.track_ids)
            self._forget([t for t in self._sources if t not in live], smoother=False)
        batch = self.windows.batch(now_s) if len(self.windows) else None
        if batch is not None and self._arrived:
            for i, tid in enumerate(batch.track_ids):
                arrived = self._arrived.get(tid)
                if arrived is not None and now_s - arrived > self.online_config.stale_after_s:
                    batch.stale[i] = True
        t1 = time.perf_counter()
        stage["windows"] = (t1 - t0) * 1000.0
        stage["forward"] = stage["hysteresis"] = 0.0
        if batch is None:
            return result
        result.newest_stamp = float(batch.newest_stamp.max())
        try:
            probs = self._probabilities(batch)
        except (ValueError, RuntimeError) as exc:
            result.error = f"forward pass failed: {exc}"
            stage["forward"] = (time.perf_counter() - t1) * 1000.0
            return result
        t2 = time.perf_counter()
        stage["forward"] = (t2 - t1) * 1000.0
        decisions = self._decisions(batch, probs)
        stage["hysteresis"] = (time.perf_counter() - t2) * 1000.0
        result.intents = IntentBatch(
            track_ids=batch.track_ids,
            person_ids=batch.person_ids,
            probabilities=probs,
            decisions=decisions,
            newest_stamp=batch.newest_stamp,
            frames_used=batch.frames_used,
            input_quality=batch.input_quality,
            stale=batch.stale,
            sources=[self._sources.get(t) for t in batch.track_ids],
        )
        return result

    def _probabilities(self, batch: WindowBatch) -> dict[str, np.ndarray]:
        """Probabilities (B, classes) per task; only windows that changed since they were last
        computed (a new pose) go through the model."""
        cache = self._prob_rows
        serials = batch.newest_serial.tolist()
        changed = [
            i
            for i, (tid, serial) in enumerate(zip(batch.track_ids, serials))
            if cache.get(tid, (None,))[0] != serial
        ]
        fresh: dict[str, np.ndarray] = {}
        if changed:
            x = batch.keypoints if len(changed) == len(batch) else batch.keypoints[changed]
            if self.forward is not None:
                fresh = self.forward.predict(self.predictor.check_input(x))
            else:
                fresh = self.predictor.predict(x)
            rows = zip(*(fresh[task] for task in TASKS))
            for i, row in zip(changed, rows):
                cache[batch.track_ids[i]] = (serials[i], row)
        if len(changed) == len(batch):
            return fresh
        rows = [cache[tid][1] for tid in batch.track_ids]
        return {task: np.stack([r[k] for r in rows]) for k, task in enumerate(TASKS)}

    def _decisions(self, batch: WindowBatch, probs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Feed the smoother once per new window (not per tick), only with enough evidence."""
        last_fed = self._last_fed
        stamps = batch.newest_stamp.tolist()
        stale = batch.stale.tolist()
        feed = [
            i
            for i, tid in enumerate(batch.track_ids)
            if not stale[i] and last_fed.get(tid) != stamps[i]
        ]
        if len(feed) == len(batch):  # the usual tick: every track has a new window
            decisions = self.smoother.update_many(batch.track_ids, probs)
        else:
            decisions = self.smoother.current_many(batch.track_ids)
            if feed:
                ids = [batch.track_ids[i] for i in feed]
                fed = self.smoother.update_many(ids, {task: probs[task][feed] for task in TASKS})
                for task in TASKS:
                    decisions[task][feed] = fed[task]
        for i in feed:
            last_fed[batch.track_ids[i]] = stamps[i]
        return decisions
