"""Helpers for the ROS node tests: run colcon-installed node executables as separate processes
on a private DDS domain (loopback only) and talk to them from an in-test rclpy context."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from ros_domains import TEST_DOMAINS, claim_domain

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # never leave the machine

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "install"

try:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    import socialego_msgs.msg  # noqa: F401

    ROS_IMPORT_ERROR = ""
except ImportError as exc:  # pragma: no cover - depends on the environment
    ROS_IMPORT_ERROR = str(exc)


def require_ros(*executables: tuple[str, str]) -> None:
    """Skip (naming the reason) unless rclpy, socialego_msgs and the executables are there."""
    if ROS_IMPORT_ERROR:
        pytest.skip(f"ROS 2 not importable ({ROS_IMPORT_ERROR}): source setup.env first")
    for package, name in executables:
        if not executable(package, name).exists():
            pytest.skip(f"{executable(package, name)} missing: run scripts/setup.sh (colcon build)")


def executable(package: str, name: str) -> Path:
    return INSTALL / package / "lib" / package / name


_held_domains: list = []  # open lock files: each holds its domain until this process ends


def unique_domain_id() -> int:
    """A DDS domain of its own for one node setup, claimed through the same lock files as
    tests/conftest.py, so no other test session and no other setup of this session shares it."""
    domains = list(TEST_DOMAINS)
    random.Random(os.getpid() * 7919 + time.time_ns()).shuffle(domains)
    domain, handle = claim_domain(domains)
    _held_domains.append(handle)
    return domain


def _yaml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    return repr(value)


class NodeProcess:
    """One node executable in its own process; its output goes to a log file."""

    def __init__(
        self,
        package: str,
        name: str,
        domain_id: int,
        params: dict | None = None,
        remaps: dict[str, str] | None = None,
        extra_args: list[str] | None = None,
    ) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix=f"socialego_{name}_")
        self.log_path = Path(self.tmp.name) / "node.log"
        args = [str(executable(package, name)), *(extra_args or []), "--ros-args"]
        if params:
            params_path = Path(self.tmp.name) / "params.yaml"
            lines = ["/**:", "  ros__parameters:"]
            lines += [f"    {k}: {_yaml_value(v)}" for k, v in params.items()]
            params_path.write_text("\n".join(lines) + "\n")
            args += ["--params-file", str(params_path)]
        for src, dst in (remaps or {}).items():
            args += ["-r", f"{src}:={dst}"]
        env = dict(os.environ)
        env.update(
            ROS_DOMAIN_ID=str(domain_id),
            ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
            PYTHONUNBUFFERED="1",
            OMP_NUM_THREADS="1",
        )
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=env)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            if not self.alive():
                return text in self.log()
            time.sleep(0.1)
        return False

    def stop(self) -> int | None:
        if self.alive():
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()
        code = self.proc.returncode
        return code


class RosClient:
    """An rclpy context + node inside the test process, on the test's domain."""

    def __init__(self, domain_id: int, name: str = "socialego_test_client") -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = rclpy.create_node(f"{name}_{os.getpid()}", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def spin_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.02)

    def spin_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            self.executor.spin_once(timeout_sec=0.02)
        return predicate()

    def set_parameters(self, node: str, timeout: float = 10.0, **values) -> list:
        """``ros2 param set`` of ``values`` on ``node`` (its full name); the results (each with
        ``successful`` and ``reason``)."""
        from rcl_interfaces.srv import SetParameters
        from rclpy.parameter import Parameter

        client = self.node.create_client(SetParameters, f"{node}/set_parameters")
        try:
            if not client.wait_for_service(timeout_sec=timeout):
                raise TimeoutError(f"{node}/set_parameters is not available")
            request = SetParameters.Request(
                parameters=[Parameter(k, value=v).to_parameter_msg() for k, v in values.items()]
            )
            future = client.call_async(request)
            if not self.spin_until(future.done, timeout):
                raise TimeoutError(f"{node}/set_parameters did not answer")
            return list(future.result().results)
        finally:
            self.node.destroy_client(client)

    def collect(self, msg_type, topic: str, qos=10) -> list:
        received: list = []
        self.node.create_subscription(msg_type, topic, received.append, qos)
        return received

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
