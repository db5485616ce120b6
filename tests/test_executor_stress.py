"""socialego_all --threads 2 in sim-time replays: the intent node must tick through every replay.

rclpy's MultiThreadedExecutor starved its own workers here (a stall of 0.2 to 0.9 s per
occurrence, ticks lost in 5 of 5 replays of this bag); ``socialego_ros.executors`` fixes it.
Runs scripts/stress_executor.py, the script that measured both.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rosnode_harness import require_ros

ROOT = Path(__file__).resolve().parents[1]


def test_multi_threaded_replays_lose_no_ticks(tmp_path):
    require_ros(("socialego_inference", "socialego_all"))
    cmd = [
        sys.executable,
        str(ROOT / "scripts" / "stress_executor.py"),
        "--replays",
        "2",
        "--threads",
        "2",
        "--workdir",
        str(tmp_path),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert "replays that lost ticks: 0 of 2" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0
