"""A live per-person table of SocialIntent forecasts for a terminal (rich), without rclpy.

Fed with SocialIntentArray / ModelInfo messages (rclpy or rosbags objects: only attributes are
read), so the replay tool, the monitor node and tests share it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

INTENT_STYLES = {
    "Interacting": "bold green",
    "Interested": "bold yellow",
    "Not_Interested": "dim",
}
ATTITUDE_STYLES = {"Positive": "green", "Negative": "bold red", "Not_Interacting": "dim"}
DEFAULT_INTENT = ("Interacting", "Interested", "Not_Interested")
DEFAULT_ATTITUDE = ("Positive", "Negative", "Not_Interacting")


@dataclass
class PersonRow:
    track_id: str
    intent: str
    intent_p: float
    attitude: str
    attitude_p: float
    action: str
    action_p: float
    decided: tuple[bool, bool, bool]
    quality: float
    frames: int
    stale: bool
    stamp_s: float
    updates: int = 0


def _prob(probabilities: Any, value: int) -> float:
    probs = list(probabilities)
    return float(probs[value - 1]) if 1 <= value <= len(probs) else 0.0


def _decision(value: int, probabilities: Any, labels: tuple[str, ...]) -> tuple[str, float, bool]:
    """(label, probability, decided). Undecided (0): the most probable label, marked so."""
    if 1 <= value <= len(labels):
        return labels[value - 1], _prob(probabilities, value), True
    probs = list(probabilities)
    if probs and len(probs) <= len(labels):
        best = max(range(len(probs)), key=probs.__getitem__)
        return labels[best], float(probs[best]), False
    return "?", 0.0, False


def _cell(label: str, probability: float, decided: bool, styles: dict[str, str]) -> Text:
    if decided:
        return Text(f"{label} {probability:.2f}", style=styles.get(label, ""))
    # not (yet) decided by the node's hysteresis: the raw top class, dimmed, with a '?'
    return Text(f"{label}? {probability:.2f}", style="dim italic")


def table_console() -> Console:
    """A rich console; logs and pipes (no terminal) get 120 columns instead of 80."""
    return Console(width=None if sys.stdout.isatty() else 120)


class IntentTable:
    """Keeps the newest forecast per track; ``render()`` gives a rich Table."""

    def __init__(self, forget_after_s: float = 3.0, max_rows: int = 12) -> None:
        self.rows: dict[str, PersonRow] = {}
        self.forget_after_s = forget_after_s
        self.max_rows = max_rows
        self.intent_labels: tuple[str, ...] = DEFAULT_INTENT
        self.attitude_labels: tuple[str, ...] = DEFAULT_ATTITUDE
        self.action_labels: tuple[str, ...] = ()
        self.model = ""
        self.latest_stamp_s = 0.0
        self.messages = 0
        self.caption = ""

    def set_model_info(self, info: Any) -> None:
        self.intent_labels = tuple(info.intent_labels) or DEFAULT_INTENT
        self.attitude_labels = tuple(info.attitude_labels) or DEFAULT_ATTITUDE
        self.action_labels = tuple(info.action_labels)
        self.model = f"{info.model_name} {info.model_version}"

    def update(self, array: Any) -> None:
        self.messages += 1
        stamp = array.header.stamp
        self.latest_stamp_s = max(self.latest_stamp_s, stamp.sec + stamp.nanosec * 1e-9)
        for intent in array.intents:
            s = intent.header.stamp
            intent_d = _decision(intent.intent, intent.intent_probabilities, self.intent_labels)
            attitude_d = _decision(
                intent.attitude, intent.attitude_probabilities, self.attitude_labels
            )
            action_d = _decision(intent.action, intent.action_probabilities, self.action_labels)
            if intent.action and intent.action_label:
                action_d = (intent.action_label, action_d[1], True)
            previous = self.rows.get(intent.track_id)
            self.rows[intent.track_id] = PersonRow(
                track_id=intent.track_id,
                intent=intent_d[0],
                intent_p=intent_d[1],
                attitude=attitude_d[0],
                attitude_p=attitude_d[1],
                action=action_d[0],
                action_p=action_d[1],
                decided=(intent_d[2], attitude_d[2], action_d[2]),
                quality=float(intent.input_quality),
                frames=int(intent.frames_used),
                stale=bool(intent.stale),
                stamp_s=s.sec + s.nanosec * 1e-9,
                updates=(previous.updates + 1) if previous else 1,
            )
            self.latest_stamp_s = max(self.latest_stamp_s, self.rows[intent.track_id].stamp_s)

    def visible_rows(self) -> list[PersonRow]:
        """The most recently updated tracks first (people who left stay, marked gone)."""
        newest = sorted(self.rows.values(), key=lambda r: r.stamp_s, reverse=True)
        return sorted(newest[: self.max_rows], key=lambda r: r.track_id)

    def is_gone(self, row: PersonRow) -> bool:
        return self.latest_stamp_s - row.stamp_s > self.forget_after_s

    def _state(self, row: PersonRow) -> Text:
        if self.is_gone(row):
            return Text("gone", style="dim")
        return Text("stale", style="yellow") if row.stale else Text("live", style="green")

    def render(self, title: str = "SocialEgo: social intent per person") -> Table:
        table = Table(title=title, caption=self.caption or None, expand=False)
        table.add_column("track", style="cyan", no_wrap=True)
        table.add_column("intent", no_wrap=True)
        table.add_column("attitude", no_wrap=True)
        table.add_column("next action", no_wrap=True)
        table.add_column("quality", justify="right")
        table.add_column("frames", justify="right")
        table.add_column("state")
        rows = self.visible_rows()
        for r in rows:
            table.add_row(
                r.track_id,
                _cell(r.intent, r.intent_p, r.decided[0], INTENT_STYLES),
                _cell(r.attitude, r.attitude_p, r.decided[1], ATTITUDE_STYLES),
                _cell(r.action, r.action_p, r.decided[2], {}),
                f"{r.quality:.2f}",
                str(r.frames),
                self._state(r),
            )
        if not rows:
            table.add_row("-", "nobody tracked yet", "", "", "", "", "")
        return table
