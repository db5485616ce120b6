"""The launch actions both launch files build: argument values, the params file, a lifecycle
node with the params file first and the given overrides after it, the description. Needs
``launch`` and ``launch_ros`` (``launch_args`` does not, so tests and docs can read it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode
from launch_ros.substitutions import FindPackageShare

from launch import LaunchDescription


def argument_values(context, arguments: Sequence[tuple[str, str, str]]) -> dict[str, str]:
    """Every declared argument's value, as given or as declared ("" = not given)."""
    return {name: LaunchConfiguration(name).perform(context) for name, _, _ in arguments}


def params_file(values: dict[str, str]):
    """The user's ``params_file``, or the installed config/socialego.yaml."""
    return values["params_file"] or PathJoinSubstitution(
        [FindPackageShare("socialego_bringup"), "config", "socialego.yaml"]
    )


def lifecycle_node(
    package: str,
    name: str,
    values: dict[str, str],
    overrides: dict,
    namespace: str = "",
    remappings: Sequence[tuple[str, str]] = (),
) -> LifecycleNode:
    """The node (executable = node name) with the params file first, then ``overrides``: a
    later entry wins, so only what the launch itself must set, or the user gave, goes there."""
    return LifecycleNode(
        package=package,
        executable=name,
        name=name,
        namespace=namespace,
        output="screen",
        arguments=["--ros-args", "--log-level", values["log_level"]],
        parameters=[params_file(values), overrides],
        remappings=list(remappings),
    )


def launch_description(
    arguments: Sequence[tuple[str, str, str]], launch_setup: Callable
) -> LaunchDescription:
    declared = [DeclareLaunchArgument(n, default_value=d, description=t) for n, d, t in arguments]
    return LaunchDescription([*declared, OpaqueFunction(function=launch_setup)])
