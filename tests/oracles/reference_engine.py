"""Test oracle: the intent engine built the simple way, one track at a time.

Per-track deque buffers (``ReferenceOnlineWindows``), one scalar hysteresis object per track and
task (``DecisionSmoother``), the plain model forward of ``StudentPredictor.predict``. Same
interface as ``socialego_core.intent_engine.IntentEngine`` (``add_pose`` / ``tick``) and the
same outputs; tests and the old-vs-new benchmark compare the two.
"""

from __future__ import annotations

import numpy as np
from socialego_core.artifact import StudentPredictor
from socialego_core.hysteresis import HysteresisConfig
from socialego_core.intent_engine import IntentBatch, IntentEngine, TickResult
from socialego_core.labels import TASKS
from socialego_core.track_buffers import OnlineConfig

from oracles.online_reference import ReferenceOnlineWindows, stack
from oracles.reference_hysteresis import DecisionSmoother


class ReferenceIntentEngine(IntentEngine):
    """``add_pose`` and the track bookkeeping are the engine's; windows, forward and smoothing
    are the simple ones. ``IntentEngine.__init__`` is not called: nothing vectorised is built."""

    def __init__(
        self,
        predictor: StudentPredictor,
        online: OnlineConfig | None = None,
        hysteresis: HysteresisConfig | None = None,
    ) -> None:
        self.predictor = predictor
        self.online_config = online or OnlineConfig()
        self.windows = ReferenceOnlineWindows(predictor.window_spec, self.online_config)
        classes = {task: predictor.labels.num_classes(task) for task in TASKS}
        self.smoother = DecisionSmoother(
            classes, hysteresis or HysteresisConfig(), self.online_config.max_tracks
        )
        self._sources: dict = {}
        self._arrived: dict[str, float] = {}  # set by IntentEngine.add_pose
        self._last_fed: dict[str, float] = {}
        self._prob_cache: dict[str, tuple[object, dict]] = {}

    def tick(self, now_s: float) -> TickResult:
        result = TickResult()
        if self.windows.observe_time(now_s):
            result.clock_reset = True
            self.smoother.reset()
            self._sources.clear()
            self._arrived.clear()
            self._last_fed.clear()
            self._prob_cache.clear()
        result.expired = self.windows.expire(now_s, self._arrived)
        self.smoother.forget(result.expired)
        for tid in result.expired:
            self._last_fed.pop(tid, None)
            self._arrived.pop(tid, None)
        windows = self.windows.windows(now_s)
        for tw in windows:  # a pose stamped ahead of its arrival ages from the arrival
            arrived = self._arrived.get(tw.track_id)
            if arrived is not None and now_s - arrived > self.online_config.stale_after_s:
                tw.stale = True
        if not windows:
            return result
        result.newest_stamp = max(tw.newest_stamp for tw in windows)
        changed = [
            i
            for i, tw in enumerate(windows)
            if self._prob_cache.get(tw.track_id, (None,))[0] is not tw.window
        ]
        if changed:
            try:
                fresh = self.predictor.predict(stack([windows[i] for i in changed]))
            except (ValueError, RuntimeError) as exc:
                result.error = f"forward pass failed: {exc}"
                return result
            for row, i in enumerate(changed):
                tw = windows[i]
                self._prob_cache[tw.track_id] = (tw.window, {t: fresh[t][row] for t in TASKS})
        live = {tw.track_id for tw in windows}
        self._prob_cache = {k: v for k, v in self._prob_cache.items() if k in live}
        probs = {
            task: np.stack([self._prob_cache[tw.track_id][1][task] for tw in windows])
            for task in TASKS
        }
        decisions = {task: [] for task in TASKS}
        for i, tw in enumerate(windows):
            p = {task: probs[task][i] for task in TASKS}
            if not tw.stale and self._last_fed.get(tw.track_id) != tw.newest_stamp:
                decided = self.smoother.update(tw.track_id, p)
                self._last_fed[tw.track_id] = tw.newest_stamp
            else:
                decided = self.smoother.current(tw.track_id)
            for task in TASKS:
                decisions[task].append(decided[task])
        result.intents = IntentBatch(
            track_ids=[tw.track_id for tw in windows],
            person_ids=[tw.person_id for tw in windows],
            probabilities=probs,
            decisions={task: np.array(v, dtype=np.int64) for task, v in decisions.items()},
            newest_stamp=np.array([tw.newest_stamp for tw in windows]),
            frames_used=np.array([tw.frames_used for tw in windows]),
            input_quality=np.array([tw.input_quality for tw in windows]),
            stale=np.array([tw.stale for tw in windows]),
            sources=[self._sources.get(tw.track_id) for tw in windows],
        )
        return result
