"""What a consumer of SocialIntentArray needs, without ROS: label names instead of indices,
stale and low-quality forecasts filtered out, and events when a person's decision appears,
changes or goes.

``DecisionTracker`` reads messages by attribute (``SocialIntentArray`` / ``SocialIntent`` /
``ModelInfo`` of socialego_msgs, or anything shaped like them) and returns ``DecisionEvent``s;
``socialego_inference.listener.IntentListener`` wraps it in rclpy subscriptions and callbacks.

A forecast is *usable* when all of these hold:

- ModelInfo has arrived and the forecast's ``model_version`` is that model's;
- it is not ``stale`` and its ``input_quality`` is at least ``min_input_quality``;
- the intent is decided (not 0) and its probability discounted by the input quality
  (``socialego_core.calibration.quality_adjusted``) is at least ``min_probability``;
- its header stamp is at most ``max_age_s`` older than the consumer's clock.

A track *appears* with its first usable forecast, *changes* when a watched field (by default the
intent, attitude and action labels) of a usable forecast differs from the last reported one, and
*goes* when it leaves the intent stream, when its forecast stops being usable, or when no
forecast newer than ``max_age_s`` arrives (``expire``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from socialego_core.calibration import quality_adjusted

FIELDS = ("intent", "attitude", "action")
# why a track went (DecisionEvent.reason of a "gone" event)
LEFT, STALE, LOW_QUALITY, UNCERTAIN, EXPIRED, UNDECIDED = (
    "left",
    "stale",
    "low_quality",
    "uncertain",
    "expired",
    "undecided",
)


def stamp_s(stamp: Any) -> float:
    """builtin_interfaces/Time (anything with sec, nanosec) -> float seconds."""
    return float(stamp.sec) + float(stamp.nanosec) * 1e-9


@dataclass(frozen=True)
class ListenerConfig:
    """Thresholds of a usable forecast (see the module doc)."""

    min_probability: float = 0.5
    min_input_quality: float = 0.3
    max_age_s: float = 1.0
    watch: tuple[str, ...] = FIELDS

    def __post_init__(self) -> None:
        for name in ("min_probability", "min_input_quality"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if not self.max_age_s > 0:
            raise ValueError(f"max_age_s must be > 0, got {self.max_age_s}")
        unknown = set(self.watch) - set(FIELDS)
        if unknown or not self.watch:
            raise ValueError(f"watch must name some of {FIELDS}, got {self.watch}")


@dataclass(frozen=True)
class Labels:
    """The label tables and model version of ModelInfo."""

    intent: tuple[str, ...]
    attitude: tuple[str, ...]
    action: tuple[str, ...]
    model_version: str = ""
    model_name: str = ""

    @classmethod
    def from_model_info(cls, info: Any) -> Labels:
        return cls(
            intent=tuple(info.intent_labels),
            attitude=tuple(info.attitude_labels),
            action=tuple(info.action_labels),
            model_version=str(info.model_version),
            model_name=str(info.model_name),
        )

    def name(self, task: str, decision: int) -> str:
        """Label name of a decision field (label index + 1); '' for 0 = unknown or out of range."""
        table = getattr(self, task)
        return table[decision - 1] if 0 < decision <= len(table) else ""


@dataclass(frozen=True)
class Decision:
    """One person's usable forecast, by label name. Probabilities are quality-adjusted."""

    track_id: str
    person_id: str
    stamp_s: float
    intent: str
    attitude: str  # '' when undecided
    action: str  # '' when undecided
    input_quality: float
    probabilities: dict[str, dict[str, float]] = field(repr=False)  # task -> label -> p'

    def probability(self, task: str = "intent") -> float:
        """Quality-adjusted probability of the decided label of ``task`` (0 when undecided)."""
        label = getattr(self, task)
        return self.probabilities.get(task, {}).get(label, 0.0) if label else 0.0

    def key(self, watch: Sequence[str] = FIELDS) -> tuple[str, ...]:
        return tuple(getattr(self, name) for name in watch)


@dataclass(frozen=True)
class DecisionEvent:
    """``kind``: "appeared" (decision set), "changed" (previous and decision set) or "gone"
    (previous set, ``reason`` one of left, stale, low_quality, uncertain, undecided, expired)."""

    kind: str
    track_id: str
    decision: Decision | None = None
    previous: Decision | None = None
    reason: str = ""


def _adjusted(
    labels: tuple[str, ...], rows: Sequence[Sequence[float]], qualities: Sequence[float]
) -> list[dict[str, float]]:
    """Quality-adjusted probabilities by label name, one dict per row; {} for a row of the
    wrong length or with non-finite values. One batched ``quality_adjusted`` call."""
    out: list[dict[str, float]] = [{} for _ in rows]
    ok = [i for i, row in enumerate(rows) if labels and len(row) == len(labels)]
    if not ok:
        return out
    p = np.asarray([list(rows[i]) for i in ok], dtype=np.float64)
    adjusted = quality_adjusted(p, np.asarray([qualities[i] for i in ok], dtype=np.float64))
    finite = np.isfinite(p).all(axis=1)
    for k, i in enumerate(ok):
        if finite[k]:
            out[i] = dict(zip(labels, adjusted[k].tolist()))
    return out


class DecisionTracker:
    """Turns intent arrays into appear / change / go events per track (see the module doc)."""

    def __init__(self, config: ListenerConfig | None = None) -> None:
        self.config = config or ListenerConfig()
        self.labels: Labels | None = None
        self.current: dict[str, Decision] = {}  # track -> last reported usable decision
        self.ignored: dict[str, int] = {"no_model_info": 0, "other_model": 0}

    def set_model_info(self, info: Any) -> list[DecisionEvent]:
        """Adopt a (new) ModelInfo; a different model ends every current decision."""
        labels = Labels.from_model_info(info)
        events = []
        if self.labels is not None and labels != self.labels:
            events = [self._gone(track, EXPIRED) for track in list(self.current)]
        self.labels = labels
        return events

    def decisions(self, intents: Sequence[Any]) -> list[tuple[Decision | None, str]]:
        """Per SocialIntent: its usable decision and '', or None and why it is not usable
        (stale, low_quality, undecided, uncertain); the age is checked by ``update``."""
        labels, cfg = self.labels, self.config
        results: list[tuple[Decision | None, str]] = []
        usable = []  # (index in results, intent, quality, intent label)
        for intent in intents:
            quality = float(intent.input_quality)
            name = labels.name("intent", int(intent.intent))
            if intent.stale:
                results.append((None, STALE))
            elif not np.isfinite(quality) or quality < cfg.min_input_quality:
                results.append((None, LOW_QUALITY))
            elif not name:
                results.append((None, UNDECIDED))
            else:
                usable.append((len(results), intent, quality, name))
                results.append((None, UNCERTAIN))
        if not usable:
            return results
        qualities = [u[2] for u in usable]
        probabilities = {
            task: _adjusted(
                getattr(labels, task),
                [getattr(u[1], f"{task}_probabilities") for u in usable],
                qualities,
            )
            for task in FIELDS
        }
        for k, (index, intent, quality, name) in enumerate(usable):
            mine = {task: probabilities[task][k] for task in FIELDS}
            if mine["intent"].get(name, 0.0) < cfg.min_probability:
                continue  # stays UNCERTAIN
            decision = Decision(
                track_id=str(intent.track_id),
                person_id=str(intent.person_id),
                stamp_s=stamp_s(intent.header.stamp),
                intent=name,
                attitude=labels.name("attitude", int(intent.attitude)),
                action=labels.name("action", int(intent.action)) or str(intent.action_label),
                input_quality=quality,
                probabilities=mine,
            )
            results[index] = (decision, "")
        return results

    def update(self, array: Any, now_s: float) -> list[DecisionEvent]:
        """Events of one SocialIntentArray received at ``now_s`` (the consumer's clock)."""
        if self.labels is None:
            self.ignored["no_model_info"] += 1
            return []
        events: list[DecisionEvent] = []
        intents = []
        for intent in array.intents:
            if intent.model_version and intent.model_version != self.labels.model_version:
                self.ignored["other_model"] += 1
            else:
                intents.append(intent)
        seen = set()
        for intent, (decision, reason) in zip(intents, self.decisions(intents)):
            track = str(intent.track_id)
            seen.add(track)
            if decision is not None and now_s - decision.stamp_s > self.config.max_age_s:
                decision, reason = None, EXPIRED
            events += self._apply(track, decision, reason)
        for track in [t for t in self.current if t not in seen]:
            events.append(self._gone(track, LEFT))
        return events

    def expire(self, now_s: float) -> list[DecisionEvent]:
        """ "gone" events of tracks whose last usable forecast is older than ``max_age_s``
        (the intent stream stopped); call it periodically."""
        old = [t for t, d in self.current.items() if now_s - d.stamp_s > self.config.max_age_s]
        return [self._gone(track, EXPIRED) for track in old]

    def reset(self) -> list[DecisionEvent]:
        """End every current decision (e.g. the clock jumped back): their "gone" events."""
        return [self._gone(track, EXPIRED) for track in list(self.current)]

    def _apply(self, track: str, decision: Decision | None, reason: str) -> list[DecisionEvent]:
        previous = self.current.get(track)
        if decision is None:
            return [self._gone(track, reason)] if previous is not None else []
        self.current[track] = decision
        if previous is None:
            return [DecisionEvent("appeared", track, decision=decision)]
        watch = self.config.watch
        if decision.key(watch) != previous.key(watch):
            return [DecisionEvent("changed", track, decision=decision, previous=previous)]
        return []

    def _gone(self, track: str, reason: str) -> DecisionEvent:
        return DecisionEvent("gone", track, previous=self.current.pop(track), reason=reason)
