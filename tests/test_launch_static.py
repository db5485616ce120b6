"""Static checks of the launch files (launch/launch_ros are not installable here).

The launch files are parsed with ast, never imported. Every package, executable, parameter file,
parameter and launch argument they name must exist: packages in the repo, executables in the
packages' setup.py entry points (and their module:function in the source), parameter names in
the nodes' declared parameter tables, the YAML file installed by socialego_bringup.
"""

from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from socialego_perception.paramspec import NODE_PARAMS, validate_all

ROOT = Path(__file__).resolve().parents[1]
BRINGUP = ROOT / "launch"
LAUNCH_FILES = sorted((BRINGUP / "launch").glob("*.launch.py"))
CONFIG = BRINGUP / "config" / "socialego.yaml"
BUILTIN_PARAMS = {"use_sim_time"}
NODE_CLASSES = {
    "pose_node": ("socialego_perception", "pose_node.py", "POSE_PARAMS"),
    "gaze_node": ("socialego_perception", "gaze_node.py", "GAZE_PARAMS"),
    "intent_node": ("socialego_inference", "intent_node.py", "INTENT_PARAMS"),
    "behaviour_node": ("socialego_inference", "behaviour_node.py", "BEHAVIOUR_PARAMS"),
    "hri_bridge": ("socialego_inference", "hri_bridge.py", "HRI_BRIDGE_PARAMS"),
}


def packages() -> dict[str, Path]:
    """Package name -> folder, for every package.xml in the repo."""
    found = {}
    for xml in ROOT.glob("*/package.xml"):
        found[ET.parse(xml).getroot().findtext("name")] = xml.parent
    return found


def console_scripts(package_dir: Path) -> dict[str, str]:
    """Executable name -> 'module:function' from setup.py's entry_points literal."""
    tree = ast.parse((package_dir / "setup.py").read_text())
    scripts = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            m = re.fullmatch(r"\s*([\w-]+)\s*=\s*([\w.]+):(\w+)\s*", node.value)
            if m:
                scripts[m.group(1)] = f"{m.group(2)}:{m.group(3)}"
    return scripts


def call_name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def const(node) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def node_calls(tree: ast.AST) -> list[ast.Call]:
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and call_name(n) in ("Node", "LifecycleNode")
    ]


def keywords(call: ast.Call) -> dict[str, ast.AST]:
    return {k.arg: k.value for k in call.keywords if k.arg}


def declared_arguments(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "ARGUMENTS" for t in node.targets
        ):
            for element in node.value.elts:
                names.add(const(element.elts[0]))
        if isinstance(node, ast.Call) and call_name(node) == "DeclareLaunchArgument":
            if node.args and const(node.args[0]):
                names.add(const(node.args[0]))
    return names


def test_there_are_launch_files():
    names = {p.name for p in LAUNCH_FILES}
    assert {"robot.launch.py", "eval.launch.py"} <= names


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_every_package_executable_and_module_exists(path):
    tree = ast.parse(path.read_text())
    assert any(
        isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description"
        for n in tree.body
    )
    pkgs = packages()
    calls = node_calls(tree)
    assert calls, f"{path.name} starts no node"
    for call in calls:
        kw = keywords(call)
        package, exe, name = const(kw["package"]), const(kw["executable"]), const(kw.get("name"))
        assert package in pkgs, f"{path.name}: package {package} is not in the repo"
        scripts = console_scripts(pkgs[package])
        assert exe in scripts, f"{path.name}: {package} has no executable {exe} ({scripts})"
        module, function = scripts[exe].split(":")
        source = pkgs[package] / (module.replace(".", "/") + ".py")
        assert source.is_file(), f"{source} (entry point of {exe}) does not exist"
        defs = {
            n.name for n in ast.parse(source.read_text()).body if isinstance(n, ast.FunctionDef)
        }
        assert function in defs, f"{source} has no {function}()"
        assert name in NODE_PARAMS, f"{path.name}: node name {name} has no parameter table"


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_every_parameter_and_launch_argument_is_declared(path):
    tree = ast.parse(path.read_text())
    arguments = declared_arguments(tree)
    used = {
        const(n.args[0])
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and call_name(n) == "LaunchConfiguration" and n.args
    }
    assert used <= arguments, f"undeclared launch arguments: {used - arguments}"
    for call in node_calls(tree):
        kw = keywords(call)
        name = const(kw["name"])
        declared = {s.name for s in NODE_PARAMS[name]} | BUILTIN_PARAMS
        params = kw.get("parameters")
        assert isinstance(params, ast.List)
        constants = {}
        for element in params.elts:
            dicts = [element] if isinstance(element, ast.Dict) else []
            if isinstance(element, ast.Name):  # a dict bound to a variable in the function
                for n in ast.walk(tree):
                    if (
                        isinstance(n, ast.Assign)
                        and isinstance(n.value, ast.Dict)
                        and any(isinstance(t, ast.Name) and t.id == element.id for t in n.targets)
                    ):
                        dicts.append(n.value)
            for d in dicts:
                for key, value in zip(d.keys, d.values):
                    key = const(key)
                    assert key in declared, f"{path.name}: {name} does not declare '{key}'"
                    if const(value) is not None and key not in BUILTIN_PARAMS:
                        constants[key] = const(value)
        assert not validate_all(NODE_PARAMS[name], constants), validate_all(
            NODE_PARAMS[name], constants
        )


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_parameter_files_exist_and_are_installed(path):
    tree = ast.parse(path.read_text())
    joins = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and call_name(n) == "PathJoinSubstitution"
    ]
    assert joins, f"{path.name} loads no parameter file"
    setup = (BRINGUP / "setup.py").read_text()
    for join in joins:
        parts = join.args[0].elts
        share = parts[0]
        assert call_name(share) == "FindPackageShare"
        assert const(share.args[0]) == "socialego_bringup"
        relative = Path(*[const(p) for p in parts[1:]])
        assert (BRINGUP / relative).is_file(), f"{relative} is not in socialego_bringup"
        assert f'glob("{relative.parent}/*{relative.suffix}")' in setup, f"{relative} not installed"
    assert 'glob("launch/*.launch.py")' in setup


def test_yaml_is_the_complete_and_valid_source_of_defaults():
    data = yaml.safe_load(CONFIG.read_text())
    sections = {key.split("/")[-1]: value["ros__parameters"] for key, value in data.items()}
    assert set(sections) == set(NODE_PARAMS)
    for node, values in sections.items():
        specs = NODE_PARAMS[node]
        assert not validate_all(specs, values), f"{node}: {validate_all(specs, values)}"
        missing = {s.name for s in specs} - set(values)
        assert not missing, f"{node}: {missing} missing from {CONFIG.name}"
        for spec in specs:  # the code's fallback defaults agree with the YAML
            assert values[spec.name] == spec.default, f"{node}.{spec.name}"


@pytest.mark.parametrize("node", sorted(NODE_CLASSES))
def test_nodes_declare_their_parameter_table(node):
    package, filename, table = NODE_CLASSES[node]
    source = packages()[package] / package / filename
    tree = ast.parse(source.read_text())
    assigned = [
        n.value.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "PARAMS" for t in n.targets)
        and isinstance(n.value, ast.Name)
    ]
    assert assigned == [table]
    names = [
        const(c.args[0])
        for c in ast.walk(tree)
        if isinstance(c, ast.Call)
        and c.args
        and isinstance(c.func, ast.Attribute)
        and c.func.attr == "__init__"
    ]
    assert node in names, f"{filename} does not create a node named {node}"


def test_bringup_depends_on_what_it_launches():
    xml = ET.parse(BRINGUP / "package.xml").getroot()
    depends = {e.text for e in xml.findall("exec_depend")}
    launched = set()
    for path in LAUNCH_FILES:
        for call in node_calls(ast.parse(path.read_text())):
            launched.add(const(keywords(call)["package"]))
    assert launched <= depends
    assert {"launch", "launch_ros"} <= depends
