"""The level of a node's /diagnostics status from its statistics and thresholds. ROS-free.

- ERROR: the model or backend failed (configure failed, or a failure counted in the last
  ``window_s``);
- WARN: no input for ``no_input_s``; input stamps lag the node clock by more than
  ``max_stamp_lag_s`` (median); processing took more than ``max_load`` of the time (it cannot
  keep up with its input); warnings counted in the last ``window_s``; or the node is inactive;
- OK otherwise.

The message names every reason, most severe first; levels are those of
diagnostic_msgs/DiagnosticStatus (OK=0, WARN=1, ERROR=2).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

OK, WARN, ERROR = 0, 1, 2


@dataclass(frozen=True)
class HealthThresholds:
    no_input_s: float = 5.0  # 0 = never warn about missing input
    max_stamp_lag_s: float = 1.0  # 0 = never warn about lag
    max_load: float = 0.9  # share of wall time spent processing
    window_s: float = 10.0  # how long a counted warning or failure keeps its level

    @classmethod
    def from_params(cls, cfg: Mapping[str, float]) -> HealthThresholds:
        """From the common node parameters ``diag_*`` (socialego_ros.params.COMMON_PARAMS)."""
        return cls(
            no_input_s=cfg["diag_no_input_s"],
            max_stamp_lag_s=cfg["diag_max_stamp_lag_s"],
            max_load=cfg["diag_max_load"],
            window_s=cfg["diag_window_s"],
        )


@dataclass
class HealthSample:
    """What a node knows about itself when it reports."""

    active: bool = True
    input_name: str = "input"
    seconds_without_input: float = 0.0  # since the last input (or activation when none yet)
    stamp_lag_s: float | None = None  # median input age by the node clock
    load: float | None = None  # processing time / wall time since the last report
    recent_warnings: dict[str, int] = field(default_factory=dict)  # kind -> count in window
    recent_errors: dict[str, int] = field(default_factory=dict)  # failures in window
    fatal: str = ""  # e.g. why configure failed


class RecentCounter:
    """Counts events per kind and says how many of each happened in the last seconds (the
    newest ``keep`` times per kind are kept, so memory stays bounded)."""

    def __init__(self, keep: int = 1000) -> None:
        self.keep = keep
        self.times: dict[str, deque[float]] = {}

    def add(self, kind: str, now: float) -> None:
        self.times.setdefault(kind, deque(maxlen=self.keep)).append(now)

    def recent(self, now: float, window_s: float) -> dict[str, int]:
        """Kind -> events in (now - window_s, now]; kinds without any are left out."""
        counts = {}
        for kind, times in self.times.items():
            n = sum(1 for t in times if now - t < window_s)
            if n:
                counts[kind] = n
        return counts


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{kind} x{n}" for kind, n in sorted(counts.items()))


def assess(sample: HealthSample, limits: HealthThresholds) -> tuple[int, str]:
    """(level, message) of one report."""
    errors, warnings = [], []
    if sample.fatal:
        errors.append(sample.fatal)
    if sample.recent_errors:
        errors.append(
            f"failures in the last {limits.window_s:g} s: {_counts(sample.recent_errors)}"
        )
    if not sample.active and not sample.fatal:
        warnings.append("inactive")
    if sample.active:
        if limits.no_input_s > 0 and sample.seconds_without_input > limits.no_input_s:
            warnings.append(
                f"no input on {sample.input_name} for {sample.seconds_without_input:.1f} s"
            )
        lag = sample.stamp_lag_s
        if limits.max_stamp_lag_s > 0 and lag is not None and lag > limits.max_stamp_lag_s:
            warnings.append(
                f"input stamps lag the clock by {lag:.2f} s (> {limits.max_stamp_lag_s:g} s)"
            )
        if sample.load is not None and sample.load > limits.max_load:
            warnings.append(
                f"processing falls behind: busy {100 * sample.load:.0f}% of the time "
                f"(> {100 * limits.max_load:.0f}%)"
            )
    if sample.recent_warnings:
        warnings.append(
            f"warnings in the last {limits.window_s:g} s: {_counts(sample.recent_warnings)}"
        )
    if errors:
        return ERROR, "; ".join(errors + warnings)
    if warnings:
        return WARN, "; ".join(warnings)
    return OK, "active"
