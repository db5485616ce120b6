"""Workspace-level test settings: DDS stays on this machine, one ROS domain per test session.

Set at import time, before any test module imports rclpy, and inherited by every subprocess the
tests start (os.environ):
- ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, unconditionally: tests never send DDS traffic off this
  machine, whatever the developer's shell says.
- ROS_DOMAIN_ID: a domain no other running test session holds (an exclusive file lock per domain,
  released when the session's process ends), so parallel test runs of several developers or CI
  jobs on one machine never see each other's topics.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
SHIPPED_MODEL = REPO_ROOT / "socialego_inference" / "models" / "socialego_student_synthetic.pt"
# Helper modules of these tests (msg_samples, ros_echo_peer, oracles) and the harness shared with
# the benchmarks (scripts/harness) import by plain name, any import mode.
for helper_dir in (TESTS_DIR, REPO_ROOT / "scripts" / "harness"):
    if str(helper_dir) not in sys.path:
        sys.path.insert(0, str(helper_dir))

from ros_domains import TEST_DOMAINS, claim_domain  # noqa: E402 - needs TESTS_DIR on sys.path

_domain_lock_file = None  # kept open for the whole session: the open file *is* the lock


def _claim_ros_domain() -> int:
    global _domain_lock_file
    start = os.getpid() % len(TEST_DOMAINS)
    order = (TEST_DOMAINS[(start + step) % len(TEST_DOMAINS)] for step in range(len(TEST_DOMAINS)))
    domain, _domain_lock_file = claim_domain(order)
    return domain


os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.pop("ROS_STATIC_PEERS", None)  # static peers could name hosts off this machine
os.environ.pop("ROS_LOCALHOST_ONLY", None)  # deprecated; Kilted warns when it is set
os.environ["ROS_DOMAIN_ID"] = str(_claim_ros_domain())


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout's root folder."""
    return REPO_ROOT


@pytest.fixture(scope="module")
def predictor():
    """The shipped student on one torch thread (what the intent node's default gives)."""
    import torch
    from socialego_core.artifact import StudentPredictor

    torch.set_num_threads(1)
    return StudentPredictor(SHIPPED_MODEL, threads=1)


@pytest.fixture(scope="session")
def ros_env() -> dict[str, str]:
    """Environment for ROS subprocesses: this session's domain, discovery on localhost only."""
    env = dict(os.environ)
    assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    return env


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']} "
        f"ROS_AUTOMATIC_DISCOVERY_RANGE={os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE']}"
    )
