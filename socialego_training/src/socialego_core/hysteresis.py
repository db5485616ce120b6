"""Decision smoothing: an EMA of each task's probabilities plus enter/exit hysteresis, for many
tracks at once (the intent engine's last stage). Pure numpy."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


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


class BatchDecisionSmoother:
    """Hysteresis decisions for many tracks and all tasks at once: one state machine per
    (track, task) on arrays (track row, task, class), classes padded to the largest task with
    probability -1 (never on top, never above a threshold).

    Row-for-row equal to a per-track, per-task scalar state machine (same float64 operations in
    the same order; the tests hold that reference and compare on random sequences). Tracks are
    evicted least recently updated first.
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
        """One track: the decision (index or -1) per task."""
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
