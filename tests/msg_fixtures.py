"""Build the minimal message-package stand-ins of tests/fixtures/*_min (hri_msgs, vision_msgs:
no wheels exist) with colcon into a temporary folder, once per content hash, and the environment
that puts them on a child process's paths (the test process itself cannot load them: its loader
paths are fixed at start)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LISTENER = FIXTURES / "hri_msgs_min" / "listener.py"  # generic: any package/Type on its path


def fixture_hash(fixture: Path) -> str:
    digest = hashlib.sha256(sys.executable.encode())
    for path in sorted(fixture.rglob("*")):
        if path.is_file() and path.suffix in (".msg", ".xml", ".txt"):
            digest.update(str(path.relative_to(fixture)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def build_fixture(fixture: Path) -> Path:
    """Install prefix of the packages under ``fixture`` (built once per content; skip naming
    the missing tool when colcon, CMake or a compiler is absent; fail with colcon's output)."""
    tools = {
        "colcon": shutil.which("colcon"),
        "cmake": shutil.which(os.environ.get("CMAKE_COMMAND", "cmake")),
        "C compiler": shutil.which(os.environ.get("CC", "cc")),
        "C++ compiler": shutil.which(os.environ.get("CXX", "c++")),
    }
    missing = [name for name, path in tools.items() if not path]
    if missing:
        pytest.skip(f"cannot build the test fixture {fixture.name}: no {', '.join(missing)}")
    name = fixture.name.replace("_", "-")
    base = Path(tempfile.gettempdir()) / f"socialego-{name}-{fixture_hash(fixture)}"
    base.mkdir(exist_ok=True)
    prefix = base / "install"
    with open(base / ".lock", "w") as lock:  # one build at a time across test sessions
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (prefix / ".built").exists():
            venv = Path(sys.executable).parent.parent
            env = dict(os.environ)
            env["CMAKE_PREFIX_PATH"] = f"{venv}:{env.get('CMAKE_PREFIX_PATH', '')}".rstrip(":")
            result = subprocess.run(
                ["nice", tools["colcon"], "--log-base", str(base / "log"), "build"]
                + ["--merge-install", "--base-paths", str(fixture)]
                + ["--build-base", str(base / "build"), "--install-base", str(prefix)]
                + ["--cmake-args", "-DBUILD_TESTING=OFF"]
                + [f"-DPython3_EXECUTABLE={sys.executable}", "-DPython3_FIND_VIRTUALENV=ONLY"],
                cwd=base,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            if result.returncode != 0:
                pytest.fail(
                    f"colcon build of {fixture} failed:\n{result.stdout[-3000:]}\n"
                    f"{result.stderr[-3000:]}"
                )
            (prefix / ".built").touch()
    return prefix


def fixture_env(*prefixes: Path) -> dict[str, str]:
    """Environment additions that put the fixtures' packages on Python/loader/ament paths."""
    extra: dict[str, str] = {}
    for name in ("PYTHONPATH", "LD_LIBRARY_PATH", "AMENT_PREFIX_PATH"):
        parts = []
        for prefix in prefixes:
            if name == "PYTHONPATH":
                parts.append(str(next((prefix / "lib").glob("python3*/site-packages"))))
            elif name == "LD_LIBRARY_PATH":
                parts.append(str(prefix / "lib"))
            else:
                parts.append(str(prefix))
        rest = os.environ.get(name, "")
        extra[name] = ":".join(parts + ([rest] if rest else []))
    return extra


class Listener:
    """listener.py in its own process; its message lines are collected by a thread."""

    def __init__(self, specs: list, domain_id: int, extra_env: dict[str, str]) -> None:
        env = dict(os.environ, **extra_env)
        env.update(ROS_DOMAIN_ID=str(domain_id), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, str(LISTENER), json.dumps(specs)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue = queue.Queue()
        self.messages: list[dict] = []
        self.ready = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def poll(self) -> None:
        while not self.lines.empty():
            line = self.lines.get()
            if line == "READY":
                self.ready = True
            elif line.startswith("{"):
                self.messages.append(json.loads(line))

    def on(self, topic: str) -> list[dict]:
        self.poll()
        return [m["msg"] for m in self.messages if m["topic"] == topic]

    def stop(self) -> str:
        try:
            self.proc.stdin.write("DONE\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=10)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=5)
        return self.proc.stderr.read()
