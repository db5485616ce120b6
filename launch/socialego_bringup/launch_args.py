"""Launch arguments that set node parameters, and the rule that keeps a user's YAML in charge.

Every such argument defaults to ``NOT_GIVEN``: the launch files pass a parameter override only
for arguments actually given on the command line, after the params file. So a value in the
user's params file wins unless the user also gives the launch argument. ROS-free (the launch
files call it with the performed argument values; tests call it directly).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from socialego_core import topics
from socialego_inference.params import NODE_PARAMS

NOT_GIVEN = ""
TRUE_WORDS = ("true", "1", "yes", "on")
FALSE_WORDS = ("false", "0", "no", "off")


@dataclass(frozen=True)
class ParameterArgument:
    """Launch argument ``name`` sets parameter ``parameter`` of each node in ``nodes``."""

    name: str
    nodes: tuple[str, ...]
    parameter: str
    description: str


ALL_NODES = tuple(NODE_PARAMS)

# The robot launch file's parameter arguments (its other arguments choose nodes and topics).
ROBOT_ARGUMENTS: tuple[ParameterArgument, ...] = (
    ParameterArgument(
        "autostart", ALL_NODES, "autostart", "configure and activate the nodes at start"
    ),
    ParameterArgument("use_sim_time", ALL_NODES, "use_sim_time", "use /clock (bags, simulation)"),
    ParameterArgument("device", ("pose_node",), "device", "auto | cpu | cuda:N (pose backend)"),
    ParameterArgument("intent_device", ("intent_node",), "device", "auto | cpu | cuda:N (student)"),
    ParameterArgument(
        "backend", ("pose_node",), "backend", "mediapipe | yolo_onnx | onnx_wholebody"
    ),
    ParameterArgument(
        "input_type", ("pose_node", "annotator_node"), "input_type", "raw | compressed"
    ),
    ParameterArgument(
        "image_reliability", ("pose_node",), "image_reliability", "best_effort | reliable"
    ),
    ParameterArgument(
        "yolo_model_path", ("pose_node",), "yolo_model_path", "YOLO-pose .onnx (AGPL-3.0)"
    ),
    ParameterArgument(
        "wholebody_model_path", ("pose_node",), "wholebody_model_path", "SimCC whole-body .onnx"
    ),
    ParameterArgument(
        "model_path", ("intent_node",), "model_path", "student model (.pt artifact or .onnx)"
    ),
    ParameterArgument("runtime", ("intent_node",), "runtime", "auto | torch | onnx (student)"),
)

# The evaluation launch file's parameter arguments.
EVAL_ARGUMENTS: tuple[ParameterArgument, ...] = (
    ParameterArgument(
        "model_path", ("intent_node",), "model_path", "student model (.pt artifact or .onnx)"
    ),
    ParameterArgument(
        "input_type",
        ("pose_node",),
        "input_type",
        "raw | compressed (compressed: image_topic or image_topic/compressed is the bag's "
        "CompressedImage topic)",
    ),
)


# Launch arguments every launch file declares (name, default, description).
COMMON_ARGUMENTS = (
    ("log_level", "info", "log level of every node"),
    ("image_topic", topics.CAMERA_IMAGE, "camera image topic (compressed: <topic>/compressed)"),
    ("enable_gaze", "false", "start the gaze/face feature node"),
    (
        "params_file",
        NOT_GIVEN,
        "YAML of parameters (default: socialego_bringup/config/socialego.yaml)",
    ),
)


def is_true(text: str) -> bool:
    """A launch argument's text as a boolean (an ``enable_*`` switch)."""
    return text.strip().lower() in TRUE_WORDS


def argument_declarations(
    arguments: tuple[tuple[str, str, str], ...], parameters: tuple[ParameterArgument, ...]
) -> list[tuple[str, str, str]]:
    """(name, default, description) of every launch argument of a launch file: its own, and
    its parameter arguments, which default to NOT_GIVEN."""
    return [*arguments] + [
        (a.name, NOT_GIVEN, f"{a.description} (default: the params file)") for a in parameters
    ]


def typed_value(node: str, parameter: str, text: str) -> bool | int | float | str:
    """A launch argument's text as the parameter's type; ValueError names a bad value."""
    if parameter == "use_sim_time":
        kind: type = bool
    else:
        specs = {s.name: s for s in NODE_PARAMS[node]}
        if parameter not in specs:
            raise ValueError(f"node {node} has no parameter '{parameter}'")
        kind = specs[parameter].kind
    if kind is bool:
        word = text.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(f"{node}.{parameter}: '{text}' is not a boolean (true/false)")
    if kind is int:
        return int(text)
    if kind is float:
        return float(text)
    return text


def given_overrides(
    node: str, values: Mapping[str, str], arguments: tuple[ParameterArgument, ...]
) -> dict[str, bool | int | float | str]:
    """The parameter overrides of ``node`` from the launch arguments that were given."""
    overrides = {}
    for argument in arguments:
        if node in argument.nodes:
            text = values.get(argument.name, NOT_GIVEN)
            if text != NOT_GIVEN:
                overrides[argument.parameter] = typed_value(node, argument.parameter, text)
    return overrides
