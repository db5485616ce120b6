"""Test oracle: the scalar hysteresis state machine, one object per track and task, that
``socialego_core.hysteresis.BatchDecisionSmoother`` must equal row for row."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from socialego_core.hysteresis import UNKNOWN_DECISION, HysteresisConfig


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

    def __init__(self, num_classes, config=None, max_tracks=64):
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
