"""Parameter tables of the SocialEgo nodes: name, default, range, choices, description, and
whether a running node applies a change at once (``live``). ROS-free.

Each node's table lives beside that node (``socialego_perception.params``,
``socialego_inference.params``); nodes declare their ROS parameters from it, and the YAML of
defaults and the parameter reference in the docs are generated from it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
RELIABILITIES = ("best_effort", "reliable")


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: bool | int | float | str
    description: str
    low: float | None = None  # inclusive range for numbers
    high: float | None = None
    choices: tuple[str, ...] | None = None
    pattern: str | None = None  # regular expression a string must match
    # True: a running node applies a new value at once (ros2 param set); False: the value is
    # read at configure, and a running node refuses a change with a reason saying how to apply it
    live: bool = False

    @property
    def kind(self) -> type:
        return type(self.default)

    def coerce(self, value):
        """``value`` as the parameter's kind where YAML may have written it otherwise: an
        integer for a float parameter becomes a float; anything else is returned as it is."""
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value

    def validate(self, value) -> str | None:
        """None if ``value`` is acceptable, else a message naming the parameter and problem."""
        kind = self.kind
        value = self.coerce(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return f"parameter '{self.name}' must be {kind.__name__}, got {value!r}"
        if kind in (int, float):
            if self.low is not None and value < self.low:
                return f"parameter '{self.name}' must be >= {self.low}, got {value}"
            if self.high is not None and value > self.high:
                return f"parameter '{self.name}' must be <= {self.high}, got {value}"
        if kind is str:
            if self.choices is not None and value not in self.choices:
                return f"parameter '{self.name}' must be one of {self.choices}, got {value!r}"
            if self.pattern is not None and not re.match(self.pattern, value):
                return f"parameter '{self.name}' {value!r} does not match {self.pattern}"
        return None


def validate_all(specs: tuple[ParamSpec, ...], values: Mapping[str, object]) -> list[str]:
    """Problems with ``values`` (unknown names, wrong types or ranges); empty if all is well."""
    by_name = {s.name: s for s in specs}
    problems = [f"unknown parameter '{name}'" for name in values if name not in by_name]
    for name, value in values.items():
        if name in by_name:
            problem = by_name[name].validate(value)
            if problem:
                problems.append(problem)
    return problems


def device_param(default: str) -> ParamSpec:
    """The ``device`` parameter (auto | cpu | cuda:N) with a node's own default."""
    return ParamSpec(
        "device",
        default,
        "auto | cpu | cuda:N (falls back to CPU, logged)",
        pattern=DEVICE_PATTERN.pattern,
    )


COMMON_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("autostart", True, "configure and activate the lifecycle node at start"),
    ParamSpec(
        "diagnostics_period_s",
        1.0,
        "period of /diagnostics messages (s)",
        low=0.1,
        high=60.0,
        live=True,
    ),
    ParamSpec(
        "diag_no_input_s",
        5.0,
        "/diagnostics WARN when no input has arrived for this long (s); 0 = never",
        low=0.0,
        high=3600.0,
        live=True,
    ),
    ParamSpec(
        "diag_max_stamp_lag_s",
        1.0,
        "/diagnostics WARN when input stamps lag the node clock by more than this "
        "(median, s); 0 = never",
        low=0.0,
        high=3600.0,
        live=True,
    ),
    ParamSpec(
        "diag_max_load",
        0.9,
        "/diagnostics WARN when processing takes more than this share of the time "
        "(it falls behind its input)",
        low=0.001,
        high=1.0,
        live=True,
    ),
    ParamSpec(
        "diag_window_s",
        10.0,
        "/diagnostics WARN (warnings) or ERROR (model or backend failures) while any was "
        "counted in the last this many seconds",
        low=0.1,
        high=3600.0,
        live=True,
    ),
)

# The camera input of every node that reads images (pose node, annotator): one definition.
CAMERA_INPUT_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "input_type",
        "raw",
        "raw: sensor_msgs/Image on 'image'; compressed: "
        "sensor_msgs/CompressedImage on 'image/compressed'",
        choices=("raw", "compressed"),
    ),
    ParamSpec(
        "image_reliability",
        "best_effort",
        "image subscription QoS reliability",
        choices=RELIABILITIES,
    ),
)
