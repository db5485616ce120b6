"""scripts/setup.sh: refuses a bad machine clearly and early; re-runs are safe; setup.env is sane.

The refusal tests run a copy of setup.sh in an empty folder, so they can check that nothing was
created (no .venv) and that the message is the script's own, not a CMake or pip stack trace.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SETUP = REPO_ROOT / "scripts" / "setup.sh"


def _run_copy(tmp_path: Path, **env_overrides: str) -> subprocess.CompletedProcess:
    """Run a copy of setup.sh in an otherwise empty checkout under tmp_path."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(SETUP, tmp_path / "scripts" / "setup.sh")
    env = {k: v for k, v in os.environ.items() if k not in ("CC", "CXX", "CMAKE_COMMAND")}
    env.update({"SOCIALEGO_PYTHON": sys.executable, **env_overrides})
    return subprocess.run(
        ["bash", str(tmp_path / "scripts" / "setup.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _fake_python(tmp_path: Path, version: str) -> Path:
    """An executable that answers the version probe like a Python of another version."""
    fake = tmp_path / f"python{version}"
    fake.write_text(f'#!/bin/sh\necho "{version}"\n')
    fake.chmod(0o755)
    return fake


def _assert_refused(result: subprocess.CompletedProcess, tmp_path: Path, *phrases: str) -> None:
    assert result.returncode != 0, result.stdout + result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, f"{phrase!r} not in:\n{result.stderr}"
    assert "CMake Error" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / ".venv").exists(), "setup created .venv before refusing"
    assert not (tmp_path / "build").exists()


@pytest.mark.parametrize("version", ["3.12", "3.10", "2.7"])
def test_refuses_wrong_python_version(tmp_path, version):
    fake = _fake_python(tmp_path, version)
    result = _run_copy(tmp_path, SOCIALEGO_PYTHON=str(fake))
    _assert_refused(result, tmp_path, "wrong Python version", "needs Python 3.11")
    assert f"'{version}'" in result.stderr


def test_refuses_a_python_that_does_not_run(tmp_path):
    result = _run_copy(tmp_path, SOCIALEGO_PYTHON=str(tmp_path / "no-such-python"))
    _assert_refused(result, tmp_path, "wrong Python version", "not runnable")


@pytest.mark.parametrize(
    ("variable", "phrase"),
    [("CC", "no C compiler"), ("CXX", "no C++ compiler"), ("CMAKE_COMMAND", "CMake not found")],
)
def test_refuses_missing_compiler_or_cmake(tmp_path, variable, phrase):
    result = _run_copy(tmp_path, **{variable: str(tmp_path / "missing" / "tool")})
    _assert_refused(result, tmp_path, phrase, "apt-get install")


@pytest.mark.parametrize(("variable", "phrase"), [("CC", "C compiler"), ("CXX", "C++ compiler")])
def test_refuses_a_compiler_that_cannot_compile(tmp_path, variable, phrase):
    result = _run_copy(tmp_path, **{variable: shutil.which("false") or "/bin/false"})
    _assert_refused(result, tmp_path, f"the {phrase}", "cannot compile a trivial program")


def test_refuses_too_old_cmake(tmp_path):
    old = tmp_path / "cmake"
    old.write_text('#!/bin/sh\necho "cmake version 3.10.2"\n')
    old.chmod(0o755)
    result = _run_copy(tmp_path, CMAKE_COMMAND=str(old))
    _assert_refused(result, tmp_path, "CMake 3.10.2", "need >= 3.16")


def test_refuses_a_torch_wheel_folder_that_does_not_exist(tmp_path):
    result = _run_copy(tmp_path, SOCIALEGO_TORCH_WHEELS=str(tmp_path / "no-wheels"))
    _assert_refused(result, tmp_path, "SOCIALEGO_TORCH_WHEELS=", "is not a folder")


def test_rerun_is_safe_and_skips_installed_packages(repo_root):
    """A second run in the set-up checkout reinstalls nothing and leaves a working setup.env."""
    setup_env = repo_root / "setup.env"
    assert setup_env.is_file(), "run scripts/setup.sh first"
    runs = []
    for _ in range(2):  # the first run catches up with requirement edits made since the last one
        runs.append(
            subprocess.run(
                ["bash", str(SETUP)], capture_output=True, text=True, timeout=1200, env=os.environ
            )
        )
        assert runs[-1].returncode == 0, runs[-1].stdout[-3000:] + runs[-1].stderr[-3000:]
        runs[-1].env_text = setup_env.read_text()
    second = runs[1]
    assert "Python packages up to date" in second.stdout
    assert "pip install" not in second.stdout
    assert "colcon build finished" in second.stdout
    # Same setup.env apart from the generation time stamp.
    strip_time = re.compile(r"on \d{4}-\d\d-\d\dT\S+")
    assert strip_time.sub("", runs[0].env_text) == strip_time.sub("", runs[1].env_text)


def _sourced(repo_root: Path, script: str, **env: str) -> str:
    base = {"HOME": os.environ.get("HOME", "/root"), "PATH": "/usr/bin:/bin", **env}
    result = subprocess.run(
        ["bash", "-c", f"set -u; source {repo_root / 'setup.env'} && {script}"],
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_setup_env_keeps_dds_on_localhost_unless_overridden(repo_root):
    assert _sourced(repo_root, "echo $ROS_AUTOMATIC_DISCOVERY_RANGE") == "LOCALHOST"
    overridden = _sourced(
        repo_root, "echo $ROS_AUTOMATIC_DISCOVERY_RANGE", ROS_AUTOMATIC_DISCOVERY_RANGE="SUBNET"
    )
    assert overridden == "SUBNET"


def test_setup_env_activates_venv_and_workspace(repo_root):
    out = _sourced(
        repo_root,
        'python -c "import sys, rclpy, socialego_msgs.msg, socialego_core; print(sys.prefix)"'
        ' && echo "$AMENT_PREFIX_PATH"',
    )
    prefix, ament_prefix_path = out.splitlines()[-2:]
    assert Path(prefix) == repo_root / ".venv"
    assert str(repo_root / "install" / "socialego_msgs") in ament_prefix_path.split(":")
    assert str(repo_root / ".venv") in ament_prefix_path.split(":")


def test_requirements_are_pinned_and_torch_is_2_13_0(repo_root):
    loose = []
    for path in sorted((repo_root / "requirements").glob("*.txt")):
        for line in path.read_text().splitlines():
            spec = line.split("#")[0].strip()
            if spec and not re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[\w,\-]+\])?==[\w.+\-]+", spec):
                loose.append(f"{path.name}: {spec}")
            if spec.lower().startswith("torch=="):
                assert spec == "torch==2.13.0", f"{path.name}: {spec}"
    assert loose == [], f"unpinned requirements: {loose}"
    ros = (repo_root / "requirements" / "ros-kilted.txt").read_text()
    for needed in ("ros-kilted-rclpy==", "ros-rmw-fastrtps-cpp==", "colcon-common-extensions=="):
        assert needed in ros


def test_license_is_apache_2_everywhere(repo_root):
    assert "Apache License" in (repo_root / "LICENSE").read_text()
    assert "Version 2.0" in (repo_root / "LICENSE").read_text()
    package_xmls = sorted(repo_root.glob("*/package.xml"))
    assert package_xmls, "no ament package found"
    for package_xml in package_xmls:
        licenses = re.findall(r"<license>([^<]*)</license>", package_xml.read_text())
        assert licenses == ["Apache-2.0"], f"{package_xml}: {licenses}"
