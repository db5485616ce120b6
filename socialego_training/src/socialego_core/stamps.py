"""ROS time stamps (builtin_interfaces/Time, or anything with ``sec`` and ``nanosec``) as seconds.

ROS-free: shared by the nodes (``socialego_ros.stamps`` adds the conversions back to messages) and
the offline tools that read bags.
"""

from __future__ import annotations

from typing import Any


def stamp_seconds(stamp: Any) -> float:
    """builtin_interfaces/Time (or anything with sec, nanosec) -> float seconds."""
    return float(stamp.sec) + float(stamp.nanosec) * 1e-9
