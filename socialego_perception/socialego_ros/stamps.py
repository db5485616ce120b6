"""Conversions between ROS time messages and float seconds (``stamp_seconds`` is the ROS-free
one of socialego_core.stamps, re-exported here for the nodes)."""

from __future__ import annotations

from builtin_interfaces.msg import Duration, Time
from socialego_core.stamps import stamp_seconds

__all__ = ["duration_msg", "stamp_seconds", "time_msg"]


def time_msg(seconds: float) -> Time:
    nanoseconds = int(round(seconds * 1e9))
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def duration_msg(seconds: float) -> Duration:
    sec = int(seconds)
    return Duration(sec=sec, nanosec=int(round((seconds - sec) * 1e9)))
