"""The lifecycle node base of every SocialEgo node: parameters declared from a ParamSpec table
(validated at configure, live ones applied while running, the others refused with a reason),
throttled and counted warnings, and /diagnostics with levels (socialego_core.health): while
active, OK / WARN / ERROR from the input, stamp lag, load, recent warnings and failures; after a
failed configure, ERROR naming why until a configure succeeds."""

from __future__ import annotations

import array
import math
import time
from collections import defaultdict, deque

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from lifecycle_msgs.msg import State as StateMsg
from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)
from rclpy.exceptions import (
    InvalidParameterTypeException,
    InvalidParameterValueException,
)
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import State, TransitionCallbackReturn
from rclpy.timer import Timer
from socialego_core import topics
from socialego_core.health import HealthSample, HealthThresholds, RecentCounter, assess

from socialego_ros.params import ParamSpec, validate_all
from socialego_ros.stamps import stamp_seconds


def descriptor(spec: ParamSpec) -> ParameterDescriptor:
    text = spec.description
    if spec.choices:
        text += f" (one of: {', '.join(spec.choices)})"
    text += " [applied at once]" if spec.live else " [read at configure]"
    desc = ParameterDescriptor(description=text)
    if spec.kind is float and spec.low is not None and spec.high is not None:
        desc.floating_point_range = [
            FloatingPointRange(from_value=float(spec.low), to_value=float(spec.high), step=0.0)
        ]
    elif spec.kind is int and spec.low is not None and spec.high is not None:
        desc.integer_range = [
            IntegerRange(from_value=int(spec.low), to_value=int(spec.high), step=1)
        ]
    return desc


def floats(values) -> array.array:
    """float32 array.array for a float32[] message field (fast in rclpy, unlike lists)."""
    out = array.array("f")
    out.frombytes(np.ascontiguousarray(values, dtype=np.float32).tobytes())
    return out


class Ema:
    """Exponential moving average that starts at the first value."""

    def __init__(self, weight: float = 0.1) -> None:
        self.weight = weight
        self.value: float | None = None

    def add(self, x: float) -> None:
        self.value = x if self.value is None else self.weight * x + (1 - self.weight) * self.value


class RollingMedian:
    """Median of the last ``size`` values: one absurd value (a bad stamp) cannot move it."""

    def __init__(self, size: int = 101) -> None:
        self.values: deque[float] = deque(maxlen=size)

    def add(self, x: float) -> None:
        if math.isfinite(x):
            self.values.append(x)

    @property
    def value(self) -> float | None:
        return float(np.median(self.values)) if self.values else None


class SocialEgoLifecycleNode(LifecycleNode):
    """Declares parameters from a ParamSpec table, validates them at configure, publishes
    /diagnostics while active, throttles warnings per kind and counts them."""

    PARAMS: tuple[ParamSpec, ...] = ()
    WARN_PERIOD_S = 5.0
    # warning kinds that mean the model or backend failed: ERROR in /diagnostics
    ERROR_KINDS: frozenset[str] = frozenset({"backend_error", "inference_failed"})

    def __init__(self, node_name: str, **kwargs) -> None:
        super().__init__(node_name, **kwargs)
        # an override that breaks a descriptor (range, type) must not kill the process at
        # start: keep the default, remember the problem, and fail configure with it
        self._startup_problems: list[str] = []
        for spec in self.PARAMS:
            try:
                self.declare_parameter(spec.name, spec.default, descriptor(spec))
            except (InvalidParameterValueException, InvalidParameterTypeException) as exc:
                self.declare_parameter(
                    spec.name, spec.default, descriptor(spec), ignore_override=True
                )
                self._startup_problems.append(f"parameter '{spec.name}' rejected: {exc}")
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.add_post_set_parameters_callback(self._after_set_parameters)
        # the validated parameters while configured (empty when unconfigured); nodes read their
        # live parameters from here at each use, so a live change takes effect at once
        self.cfg: dict = {}
        self.warning_counts: dict[str, int] = defaultdict(int)
        self._last_warn: dict[str, float] = {}
        self._diag_pub = None
        self._diag_timer = None
        # subscriptions and timers created on activate; on_deactivate destroys them
        self.inputs: list = []
        self.active = False
        self.input_period = Ema()
        self.processing_ms = Ema()
        self.latency_ms = RollingMedian()  # robust: a bad stamp is one sample of 101
        self._last_input_wall: float | None = None
        # /diagnostics levels: what the node's input is called, when it became active, the
        # processing time since the last report, recent warnings, why configure failed
        self.input_name = "input"
        self._active_since = time.monotonic()
        self._busy_s = 0.0
        self._last_report: float | None = None
        self._recent = RecentCounter()
        self._configure_errors: list[str] = []
        self.configure_failure = ""
        # every configure goes through _configure: a failure is reported on /diagnostics
        configuring = StateMsg.TRANSITION_STATE_CONFIGURING
        if configuring in getattr(self, "_callbacks", {}):
            self._callbacks[configuring] = self._configure

    # -- lifecycle ----------------------------------------------------------------------------
    def _configure(self, state: State) -> TransitionCallbackReturn:
        """``on_configure`` of the subclass; on failure /diagnostics says ERROR and why."""
        self._configure_errors = []
        self.stop_diagnostics()
        try:
            result = self.on_configure(state)
        except Exception as exc:  # rclpy would turn it into ERROR without a word
            self.configure_error(f"configure raised {exc!r}")
            result = TransitionCallbackReturn.ERROR
        if result == TransitionCallbackReturn.SUCCESS:
            self.configure_failure = ""
        else:
            self.configure_failure = "configure failed: " + (
                "; ".join(self._configure_errors) or "see the node log"
            )
            period = (
                self.get_parameter("diagnostics_period_s").value
                if self.has_parameter("diagnostics_period_s")
                else 1.0
            )
            self.start_diagnostics(float(period))
        return result

    def configure_error(self, text: str) -> None:
        """Log why configure fails; /diagnostics reports it as ERROR until a configure works."""
        self._configure_errors.append(text)
        self.get_logger().error(text)

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        self._active_since = time.monotonic()
        self._last_input_wall = None
        self._busy_s, self._last_report = 0.0, None
        return super().on_activate(state)

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self.active = False
        for entity in self.inputs:
            if isinstance(entity, Timer):
                self.destroy_timer(entity)
            else:
                self.destroy_subscription(entity)
        self.inputs = []
        self.stop_diagnostics()
        return super().on_deactivate(state)

    def release(self) -> None:
        """Free what configure created (publishers, models); subclasses extend it."""

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        self.release()
        self.cfg = {}
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        self.active = False
        self.release()
        self.cfg = {}
        return TransitionCallbackReturn.SUCCESS

    # -- parameters ---------------------------------------------------------------------------
    def _on_set_parameters(self, params) -> SetParametersResult:
        """Refuse invalid values always, and values a running node cannot apply (not ``live``)
        while it is configured, saying how to apply them."""
        by_name = {s.name: s for s in self.PARAMS}
        for p in params:
            spec = by_name.get(p.name)
            if spec is None:
                continue
            problem = spec.validate(p.value)
            if problem:
                return SetParametersResult(successful=False, reason=problem)
            if self.cfg and not spec.live and p.value != self.cfg.get(p.name):
                name = self.get_fully_qualified_name()
                return SetParametersResult(
                    successful=False,
                    reason=(
                        f"parameter '{p.name}' is read at configure and {name} is configured: "
                        f"run `ros2 lifecycle set {name} deactivate` (if active), then `cleanup`, "
                        f"set it, then `configure` and `activate`; or set it in the params file"
                    ),
                )
        return SetParametersResult(successful=True)

    def _after_set_parameters(self, params) -> None:
        if not self.cfg:
            return  # unconfigured: configure reads every parameter
        by_name = {s.name: s for s in self.PARAMS}
        changed = {}
        for p in params:
            spec = by_name.get(p.name)
            if spec is not None and spec.live:
                value = spec.coerce(p.value)
                if self.cfg.get(p.name) != value:
                    self.cfg[p.name] = value
                    changed[p.name] = value
        if changed:
            if "diagnostics_period_s" in changed and self._diag_timer is not None:
                self.stop_diagnostics()
                self.start_diagnostics(changed["diagnostics_period_s"])
            self.apply_live(changed)
            self.get_logger().info("applied " + ", ".join(f"{k}={v!r}" for k, v in changed.items()))

    def apply_live(self, changed: dict) -> None:
        """Act on live parameters that ``self.cfg`` alone does not carry (timers, objects
        built from them); ``self.cfg`` already holds the new values. Subclasses extend."""

    def param_values(self) -> dict:
        return {s.name: self.get_parameter(s.name).value for s in self.PARAMS}

    def validated_params(self) -> dict | None:
        """All parameters, or None (after logging every problem) if any is invalid. Floats are
        plain floats even where the YAML wrote an integer."""
        values = self.param_values()
        problems = self._startup_problems + validate_all(self.PARAMS, values)
        for problem in problems:
            self.configure_error(f"invalid configuration: {problem}")
        if problems:
            return None
        return {spec.name: spec.coerce(values[spec.name]) for spec in self.PARAMS}

    # -- warnings -----------------------------------------------------------------------------
    def warn_throttled(self, kind: str, text: str) -> None:
        """Log at most one warning of ``kind`` per WARN_PERIOD_S (wall clock); count all."""
        self.warning_counts[kind] += 1
        now = time.monotonic()
        self._recent.add(kind, now)
        if now - self._last_warn.get(kind, -1e9) >= self.WARN_PERIOD_S:
            self._last_warn[kind] = now
            count = self.warning_counts[kind]
            self.get_logger().warning(f"[{kind}] {text} (seen {count}x so far)")

    # -- statistics and diagnostics -------------------------------------------------------------
    def note_input(self) -> None:
        now = time.monotonic()
        if self._last_input_wall is not None:
            self.input_period.add(now - self._last_input_wall)
        self._last_input_wall = now

    def note_processing(self, ms: float) -> None:
        """Time one input (or tick) took: its average and the load in /diagnostics."""
        self.processing_ms.add(ms)
        self._busy_s += ms / 1000.0

    def note_latency(self, header_stamp) -> None:
        now = self.get_clock().now().nanoseconds * 1e-9
        self.latency_ms.add((now - stamp_seconds(header_stamp)) * 1000.0)

    def start_diagnostics(self, period_s: float) -> None:
        self.stop_diagnostics()
        self._diag_pub = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, 10)
        self._diag_timer = self.create_timer(period_s, self.publish_diagnostics)

    def stop_diagnostics(self) -> None:
        if self._diag_timer is not None:
            self.destroy_timer(self._diag_timer)
            self._diag_timer = None
        if self._diag_pub is not None:
            self.destroy_publisher(self._diag_pub)
            self._diag_pub = None

    def diagnostic_values(self) -> dict[str, str]:
        """Node-specific key/values; subclasses extend."""
        rate = 1.0 / self.input_period.value if self.input_period.value else 0.0
        values = {
            "input_rate_hz": f"{rate:.2f}",
            "processing_ms": f"{self.processing_ms.value or 0.0:.2f}",
            "stamp_latency_ms": f"{self.latency_ms.value or 0.0:.2f}",
        }
        for kind, count in sorted(self.warning_counts.items()):
            values[f"warnings.{kind}"] = str(count)
        return values

    def health(self) -> tuple[int, str]:
        """(level, message) of the next report (socialego_core.health.assess)."""
        now = time.monotonic()
        load = None
        if self._last_report is not None and now > self._last_report:
            load = self._busy_s / (now - self._last_report)
        self._busy_s, self._last_report = 0.0, now
        cfg = self.cfg or {s.name: s.default for s in self.PARAMS}
        try:
            limits = HealthThresholds.from_params(cfg)
        except KeyError:  # a node without the common parameters
            limits = HealthThresholds()
        recent = self._recent.recent(now, limits.window_s)
        lag_ms = self.latency_ms.value
        sample = HealthSample(
            active=self.active,
            input_name=self.input_name,
            seconds_without_input=now - (self._last_input_wall or self._active_since),
            stamp_lag_s=None if lag_ms is None else lag_ms / 1000.0,
            load=load,
            recent_warnings={k: n for k, n in recent.items() if k not in self.ERROR_KINDS},
            recent_errors={k: n for k, n in recent.items() if k in self.ERROR_KINDS},
            fatal=self.configure_failure,
        )
        return assess(sample, limits)

    def publish_diagnostics(self) -> None:
        if self._diag_pub is None:
            return
        status = DiagnosticStatus()
        status.name = f"{self.get_namespace().rstrip('/')}/{self.get_name()}"
        status.hardware_id = "socialego"
        level, status.message = self.health()
        status.level = bytes([level])
        values = self.diagnostic_values() if self.cfg else {}
        status.values = [KeyValue(key=k, value=v) for k, v in values.items()]
        msg = DiagnosticArray()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.status = [status]
        self._diag_pub.publish(msg)
