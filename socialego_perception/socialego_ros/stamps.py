"""Conversions between ROS time messages and float seconds."""

from __future__ import annotations

from builtin_interfaces.msg import Duration, Time


def stamp_seconds(stamp) -> float:
    """builtin_interfaces/Time (or anything with sec, nanosec) -> float seconds."""
    return float(stamp.sec) + float(stamp.nanosec) * 1e-9


def time_msg(seconds: float) -> Time:
    nanoseconds = int(round(seconds * 1e9))
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def duration_msg(seconds: float) -> Duration:
    sec = int(seconds)
    return Duration(sec=sec, nanosec=int(round((seconds - sec) * 1e9)))
