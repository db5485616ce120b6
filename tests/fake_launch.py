"""Stand-ins for the ``launch`` and ``launch_ros`` modules (which have no wheels here), so that
tests can run a launch file's Python: every action records its arguments, and
``LaunchConfiguration(name).perform(context)`` reads the launch arguments the test gives."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path


class Recorded:
    """Any launch action or substitution: keeps its positional and keyword arguments."""

    def __init__(self, *args, **kwargs) -> None:
        self.args, self.kwargs = args, kwargs


class DeclareLaunchArgument(Recorded):
    @property
    def name(self) -> str:
        return self.args[0]

    @property
    def default(self) -> str:
        return self.kwargs.get("default_value", "")


class LaunchConfiguration(Recorded):
    def perform(self, context: FakeContext) -> str:
        return context.value(self.args[0])


class OpaqueFunction(Recorded):
    pass


class LifecycleNode(Recorded):
    pass


class LaunchDescription(Recorded):
    @property
    def entities(self) -> list:
        return list(self.args[0])


class FakeContext:
    """The launch arguments given on the command line; the declared defaults otherwise."""

    def __init__(self, declared: dict[str, str], given: dict[str, str]) -> None:
        unknown = set(given) - set(declared)
        if unknown:
            raise KeyError(f"launch arguments not declared: {sorted(unknown)}")
        self.declared, self.given, self.performed = declared, given, set()

    def value(self, name: str) -> str:
        if name not in self.declared:
            raise KeyError(f"launch argument '{name}' is read but not declared")
        self.performed.add(name)
        return self.given.get(name, self.declared[name])


def fake_modules() -> dict[str, types.ModuleType]:
    def module(name: str, **attrs) -> types.ModuleType:
        mod = types.ModuleType(name)
        mod.__dict__.update(attrs)
        return mod

    return {
        "launch": module("launch", LaunchDescription=LaunchDescription),
        "launch.actions": module(
            "launch.actions",
            DeclareLaunchArgument=DeclareLaunchArgument,
            OpaqueFunction=OpaqueFunction,
            ExecuteProcess=Recorded,
        ),
        "launch.conditions": module("launch.conditions", IfCondition=Recorded),
        "launch.substitutions": module(
            "launch.substitutions",
            LaunchConfiguration=LaunchConfiguration,
            PathJoinSubstitution=Recorded,
        ),
        "launch_ros": module("launch_ros"),
        "launch_ros.actions": module(
            "launch_ros.actions", LifecycleNode=LifecycleNode, Node=Recorded
        ),
        "launch_ros.substitutions": module("launch_ros.substitutions", FindPackageShare=Recorded),
        "launch_ros.parameter_descriptions": module(
            "launch_ros.parameter_descriptions", ParameterValue=Recorded
        ),
    }


def run_launch_file(path: Path, given: dict[str, str], monkeypatch) -> tuple[list, FakeContext]:
    """Every action the launch file creates for ``given`` arguments, and the context."""
    for name, mod in fake_modules().items():
        monkeypatch.setitem(sys.modules, name, mod)
    spec = importlib.util.spec_from_file_location(path.stem.replace(".", "_"), path)
    launch_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launch_module)
    description = launch_module.generate_launch_description()
    declared = {
        e.name: e.default for e in description.entities if isinstance(e, DeclareLaunchArgument)
    }
    context = FakeContext(declared, given)
    actions = []
    for entity in description.entities:
        if isinstance(entity, OpaqueFunction):
            actions += entity.kwargs["function"](context)
        elif not isinstance(entity, DeclareLaunchArgument):
            actions.append(entity)
    return actions, context


def nodes_by_name(actions: list) -> dict[str, LifecycleNode]:
    return {a.kwargs["name"]: a for a in actions if isinstance(a, LifecycleNode)}
