"""Package boundaries: the ROS node packages run with the runtime core only (no import of the
offline socialego_training package, statically anywhere in them and at run time when a node
module loads), and no runtime code imports the tests' reference implementations."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NODE_PACKAGES = ("socialego_perception", "socialego_inference", "launch")
RUNTIME_TREES = (*NODE_PACKAGES, "socialego_training/src", "scripts")
TEST_ONLY_MODULES = {"oracles", "intent_inprocess", "msg_samples", "ros_echo_peer", "conftest"}
NODE_MODULES = (
    "socialego_perception.pose_node",
    "socialego_perception.gaze_node",
    "socialego_inference.intent_node",
    "socialego_inference.behaviour_node",
    "socialego_inference.listener",
    "socialego_inference.hri_bridge",
    "socialego_inference.single_process",
    "socialego_inference.bag_replay",
    "socialego_inference.pipeline",
    "socialego_inference.monitor",
)


def python_files(tree: str) -> list[Path]:
    return [p for p in (ROOT / tree).rglob("*.py") if "test" not in p.relative_to(ROOT).parts]


def imported_modules(path: Path) -> set[str]:
    """Every module an import statement in ``path`` names, at any depth (functions too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", NODE_PACKAGES)
def test_node_packages_never_import_the_offline_package(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] == "socialego_training"
        )
        for path in python_files(package)
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"runtime code imports socialego_training: {offenders}"


@pytest.mark.parametrize("tree", RUNTIME_TREES)
def test_runtime_code_imports_no_test_oracle(tree):
    offenders = {}
    for path in python_files(tree):
        bad = {m for m in imported_modules(path) if m.split(".")[0] in TEST_ONLY_MODULES}
        text = path.read_text()
        if '"tests"' in text and "sys.path" in text:
            bad.add("tests/ on sys.path")
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert not offenders, f"runtime code uses test-only code: {offenders}"


def test_node_modules_load_without_the_offline_package():
    """Each node module imports with socialego_training made unimportable."""
    code = (
        "import sys\n"
        "sys.modules['socialego_training'] = None  # any import of it now fails\n"
        f"for name in {NODE_MODULES!r}:\n"
        "    __import__(name)\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('socialego_training', 'oracles',"
        " 'sklearn', 'matplotlib')) and sys.modules[m] is not None)\n"
        "print(loaded)\n"
        "sys.exit(1 if loaded else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
