"""Checks of the launch files without launch/launch_ros (they have no wheels here).

Parsed with ast: every package, executable and parameter file they name exists (packages in the
repo, executables in the packages' setup.py entry points and their module:function in the
source, the YAML installed by socialego_bringup). Run against stand-in launch modules
(tests/fake_launch.py): the user's params file comes first and a launch argument reaches a node
only when it was given, so a YAML value is never overridden by a launch default. The YAML of
defaults and docs/parameters.md are the generator's output from the nodes' tables.
"""

from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from fake_launch import nodes_by_name, run_launch_file
from socialego_bringup import launch_args, param_docs
from socialego_inference.params import NODE_PARAMS
from socialego_ros.params import validate_all

ROOT = Path(__file__).resolve().parents[1]
BRINGUP = ROOT / "launch"
LAUNCH_FILES = sorted((BRINGUP / "launch").glob("*.launch.py"))
CONFIG = BRINGUP / "config" / "socialego.yaml"
BUILTIN_PARAMS = {"use_sim_time"}
# what eval.launch.py always sets for a replay (sim time, every image reliably)
EVAL_FIXED = {
    "pose_node": {
        "use_sim_time": True,
        "autostart": True,
        "image_reliability": "reliable",
        "image_qos_depth": 30,
    },
    "gaze_node": {"use_sim_time": True, "autostart": True},
    "intent_node": {"use_sim_time": True, "autostart": True},
}
NODE_CLASSES = {
    "pose_node": ("socialego_perception", "pose_node.py", "POSE_PARAMS"),
    "gaze_node": ("socialego_perception", "gaze_node.py", "GAZE_PARAMS"),
    "intent_node": ("socialego_inference", "intent_node.py", "INTENT_PARAMS"),
    "behaviour_node": ("socialego_inference", "behaviour_node.py", "BEHAVIOUR_PARAMS"),
    "hri_bridge": ("socialego_inference", "hri_bridge.py", "HRI_BRIDGE_PARAMS"),
    "annotator_node": ("socialego_inference", "annotator_node.py", "ANNOTATOR_PARAMS"),
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


ALL_ON = {"enable_gaze": "true", "enable_behaviour": "true", "enable_hri_bridge": "true"}


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_every_package_executable_and_module_exists(path, monkeypatch):
    tree = ast.parse(path.read_text())
    assert any(
        isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description"
        for n in tree.body
    )
    actions, context = run_launch_file(path, {}, monkeypatch)
    given = {k: v for k, v in ALL_ON.items() if k in context.declared}
    actions, _ = run_launch_file(path, given, monkeypatch)
    nodes = nodes_by_name(actions)
    assert nodes, f"{path.name} starts no node"
    pkgs = packages()
    for name, call in nodes.items():
        package, exe = call.kwargs["package"], call.kwargs["executable"]
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
def test_parameter_files_exist_and_are_installed(path):
    # the launch files build their nodes with socialego_bringup.launch_actions.lifecycle_node,
    # which loads the params file
    actions = BRINGUP / "socialego_bringup" / "launch_actions.py"
    calls = {call_name(n) for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)}
    assert "lifecycle_node" in calls, f"{path.name} builds its nodes another way"
    tree = ast.parse(actions.read_text())
    joins = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and call_name(n) == "PathJoinSubstitution"
    ]
    assert joins, f"{actions.name} loads no parameter file"
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


def test_generated_yaml_and_parameter_reference_are_current():
    for path, text in param_docs.outputs().items():
        assert path.is_file(), f"{path} is missing: run python -m socialego_bringup.param_docs"
        assert path.read_text() == text, (
            f"{path.relative_to(ROOT)} differs from the nodes' parameter tables: "
            "run python -m socialego_bringup.param_docs"
        )


def test_yaml_is_the_complete_and_valid_source_of_defaults():
    data = yaml.safe_load(CONFIG.read_text())
    sections = {key.split("/")[-1]: value["ros__parameters"] for key, value in data.items()}
    assert set(sections) == set(NODE_PARAMS)
    for node, values in sections.items():
        specs = NODE_PARAMS[node]
        assert not validate_all(specs, values), f"{node}: {validate_all(specs, values)}"
        assert [s.name for s in specs] == list(values), node
        for spec in specs:
            assert values[spec.name] == spec.default, f"{node}.{spec.name}"


def test_launch_arguments_that_set_parameters_default_to_not_given():
    for arguments in (launch_args.ROBOT_ARGUMENTS, launch_args.EVAL_ARGUMENTS):
        for argument in arguments:
            for node in argument.nodes:
                declared = {s.name for s in NODE_PARAMS[node]} | BUILTIN_PARAMS
                assert argument.parameter in declared, (argument, node)
    assert launch_args.given_overrides("pose_node", {}, launch_args.ROBOT_ARGUMENTS) == {}
    assert launch_args.given_overrides(
        "intent_node",
        {"intent_device": "cuda:0", "device": "cpu", "autostart": "false"},
        launch_args.ROBOT_ARGUMENTS,
    ) == {"device": "cuda:0", "autostart": False}
    with pytest.raises(ValueError, match="not a boolean"):
        launch_args.given_overrides(
            "pose_node", {"autostart": "maybe"}, launch_args.ROBOT_ARGUMENTS
        )


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_defaults_never_override_the_params_file(path, monkeypatch):
    """No argument given: each node gets the params file and nothing that the user's YAML
    could set (only the replay's fixed settings in eval.launch.py); every argument read is
    declared, and every parameter-setting argument defaults to not given."""
    actions, context = run_launch_file(path, {"params_file": "/robot/my.yaml"}, monkeypatch)
    nodes = nodes_by_name(actions)
    assert nodes, f"{path.name} starts no node"
    fixed = {"eval.launch.py": EVAL_FIXED}.get(path.name, {})
    for name, node in nodes.items():
        params = node.kwargs["parameters"]
        assert params[0] == "/robot/my.yaml", f"{name}: the params file must come first"
        overrides = {k: v for d in params[1:] for k, v in d.items()}
        assert overrides == fixed.get(name, {}), f"{name}: launch defaults {overrides}"
        declared = {s.name for s in NODE_PARAMS[name]} | BUILTIN_PARAMS
        assert set(overrides) <= declared
        assert not validate_all(
            NODE_PARAMS[name], {k: v for k, v in overrides.items() if k not in BUILTIN_PARAMS}
        )
    parameter_arguments = {a.name for a in launch_args.ROBOT_ARGUMENTS + launch_args.EVAL_ARGUMENTS}
    for name in parameter_arguments & set(context.declared):
        assert context.declared[name] == launch_args.NOT_GIVEN, f"{name} has a default"


@pytest.mark.parametrize(
    ("given", "node", "expected"),
    [
        ({"device": "cpu"}, "pose_node", {"device": "cpu"}),
        ({"intent_device": "cpu"}, "intent_node", {"device": "cpu"}),
        ({"input_type": "compressed"}, "pose_node", {"input_type": "compressed"}),
        ({"image_reliability": "reliable"}, "pose_node", {"image_reliability": "reliable"}),
        ({"autostart": "false"}, "intent_node", {"autostart": False}),
        ({"model_path": "/m.pt"}, "intent_node", {"model_path": "/m.pt"}),
        ({"use_sim_time": "true"}, "pose_node", {"use_sim_time": True}),
    ],
)
def test_given_robot_arguments_reach_their_node(given, node, expected, monkeypatch):
    actions, _ = run_launch_file(BRINGUP / "launch" / "robot.launch.py", given, monkeypatch)
    params = nodes_by_name(actions)[node].kwargs["parameters"]
    assert params[1] == expected
    for other, action in nodes_by_name(actions).items():
        if other != node and "use_sim_time" not in given and "autostart" not in given:
            assert action.kwargs["parameters"][1] == {}, other


def test_optional_nodes_follow_their_enable_arguments(monkeypatch):
    robot = BRINGUP / "launch" / "robot.launch.py"
    actions, _ = run_launch_file(robot, {}, monkeypatch)
    assert set(nodes_by_name(actions)) == {"pose_node", "intent_node"}
    given = {"enable_gaze": "true", "enable_behaviour": "true", "enable_hri_bridge": "true"}
    given["annotate"] = "true"
    actions, _ = run_launch_file(robot, given, monkeypatch)
    assert set(nodes_by_name(actions)) == set(NODE_PARAMS)
    compressed = dict(nodes_by_name(actions)["pose_node"].kwargs["remappings"])
    assert compressed["image/compressed"] == "/camera/image_raw/compressed"


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


def test_bringup_depends_on_what_it_launches(monkeypatch):
    xml = ET.parse(BRINGUP / "package.xml").getroot()
    depends = {e.text for e in xml.findall("exec_depend")}
    launched = set()
    for path in LAUNCH_FILES:
        actions, context = run_launch_file(path, {}, monkeypatch)
        given = {k: v for k, v in ALL_ON.items() if k in context.declared}
        actions, _ = run_launch_file(path, given, monkeypatch)
        launched |= {n.kwargs["package"] for n in nodes_by_name(actions).values()}
    assert launched <= depends
