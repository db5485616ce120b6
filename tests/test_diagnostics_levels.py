"""/diagnostics levels over real DDS: each level provoked on a running node and seen on
/diagnostics (WARN: no input, input stamps lagging the clock, processing behind its input,
warnings counted; ERROR: the model failing to load, a backend failure; OK otherwise), with the
thresholds as live parameters; and the level rules themselves (socialego_core.health)."""

from __future__ import annotations

import time

import pytest
from rosnode_harness import NodeProcess, RosClient, require_ros, unique_domain_id
from socialego_core.health import (
    ERROR,
    OK,
    WARN,
    HealthSample,
    HealthThresholds,
    RecentCounter,
    assess,
)
from test_intent_node import body_keypoints, pose_array, pose_msg

NODE = "/intent_node"


# -- the rules (no ROS) -------------------------------------------------------------------------
def test_levels_from_statistics():
    limits = HealthThresholds(no_input_s=2.0, max_stamp_lag_s=0.5, max_load=0.8, window_s=5.0)
    assert assess(HealthSample(seconds_without_input=1.0, stamp_lag_s=0.1, load=0.5), limits) == (
        OK,
        "active",
    )
    cases = {
        "no input on poses": HealthSample(input_name="poses", seconds_without_input=3.0),
        "lag the clock": HealthSample(stamp_lag_s=0.6),
        "falls behind": HealthSample(load=0.85),
        "bad_stamp x3": HealthSample(recent_warnings={"bad_stamp": 3}),
        "inactive": HealthSample(active=False),
    }
    for text, sample in cases.items():
        level, message = assess(sample, limits)
        assert level == WARN and text in message, (text, message)
    level, message = assess(
        HealthSample(recent_errors={"inference_failed": 1}, stamp_lag_s=0.6), limits
    )
    assert level == ERROR and "inference_failed x1" in message and "lag" in message
    level, message = assess(HealthSample(active=False, fatal="configure failed: no model"), limits)
    assert (level, message) == (ERROR, "configure failed: no model")
    # 0 switches a check off
    off = HealthThresholds(no_input_s=0.0, max_stamp_lag_s=0.0)
    assert assess(HealthSample(seconds_without_input=1e6, stamp_lag_s=1e6), off)[0] == OK


def test_recent_counter_forgets_old_events():
    counter = RecentCounter(keep=3)
    for t in (0.0, 1.0, 2.0, 9.5):
        counter.add("x", t)
    assert counter.recent(10.0, 5.0) == {"x": 1}
    assert counter.recent(10.0, 100.0) == {"x": 3}  # only the newest 3 are kept
    assert counter.recent(20.0, 5.0) == {}


# -- over DDS -----------------------------------------------------------------------------------
class Diagnostics:
    def __init__(self, client: RosClient, name: str) -> None:
        from diagnostic_msgs.msg import DiagnosticArray

        self.client, self.name = client, name
        self.seen: list = []
        client.node.create_subscription(DiagnosticArray, "/diagnostics", self._on, 50)

    def _on(self, msg) -> None:
        self.seen += [s for s in msg.status if s.name == self.name]

    def wait_for(self, level: int, text: str, timeout: float, feed=None) -> str:
        """Spin (calling ``feed`` every 50 ms) until a status of ``level`` whose message holds
        ``text`` arrives; returns its message."""
        self.seen.clear()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if feed is not None:
                feed()
            self.client.spin_for(0.05)
            for status in self.seen:
                if status.level == bytes([level]) and text in status.message:
                    return status.message
        last = [(s.level, s.message) for s in self.seen[-3:]]
        raise AssertionError(f"no level {level} status with {text!r}; last: {last}")


def set_params(client: RosClient, node: str, **values) -> None:
    results = client.set_parameters(node, **values)
    assert all(r.successful for r in results), results


def test_intent_node_levels_are_provoked_and_seen(repo_root):
    require_ros(("socialego_inference", "intent_node"))
    from socialego_msgs.msg import WholeBodyPoseArray

    domain = unique_domain_id()
    params = {
        "diagnostics_period_s": 0.2,
        "diag_no_input_s": 1.0,
        "diag_window_s": 1.0,
        "diag_max_stamp_lag_s": 1.0,
        "inference_rate_hz": 10.0,
    }
    node = NodeProcess("socialego_inference", "intent_node", domain, params)
    client = RosClient(domain)
    try:
        diagnostics = Diagnostics(client, NODE)
        pub = client.node.create_publisher(WholeBodyPoseArray, "/socialego/poses", 10)
        assert client.spin_until(lambda: pub.get_subscription_count() > 0, 90), node.log()
        age = {"s": 0.0}

        def feed() -> None:  # five people, stamped age s before the client's clock
            t = client.node.get_clock().now().nanoseconds * 1e-9 - age["s"]
            people = [pose_msg(str(k), t, body_keypoints(100.0 + 100 * k)) for k in range(5)]
            pub.publish(pose_array(t, people))

        message = diagnostics.wait_for(WARN, "no input on /socialego/poses", 10)
        assert "s" in message
        diagnostics.wait_for(OK, "active", 15, feed)
        # a pose stamped far in the past is refused and counted as a warning
        age["s"] = 100.0
        feed()
        age["s"] = 0.0
        assert "warnings in the last 1 s" in diagnostics.wait_for(WARN, "stamp", 5, feed)
        diagnostics.wait_for(OK, "active", 10, feed)
        # the thresholds are live: any processing at all is "falling behind" at 0.001
        set_params(client, NODE, diag_max_load=0.001)
        diagnostics.wait_for(WARN, "processing falls behind", 5, feed)
        set_params(client, NODE, diag_max_load=0.9)
        diagnostics.wait_for(OK, "active", 5, feed)
        # stamps 2.5 s old: accepted (max_stamp_offset_s 5) but lagging
        age["s"] = 2.5
        diagnostics.wait_for(WARN, "input stamps lag the clock", 15, feed)
        set_params(client, NODE, diag_max_stamp_lag_s=5.0)
        diagnostics.wait_for(OK, "active", 5, feed)
        assert node.alive()
    finally:
        client.close()
        node.stop()


def test_a_model_that_fails_to_load_is_an_error_on_diagnostics(tmp_path):
    require_ros(("socialego_inference", "intent_node"))
    missing = tmp_path / "missing.pt"
    domain = unique_domain_id()
    node = NodeProcess(
        "socialego_inference",
        "intent_node",
        domain,
        {"model_path": str(missing), "diagnostics_period_s": 0.2},
    )
    client = RosClient(domain)
    try:
        message = Diagnostics(client, NODE).wait_for(ERROR, "configure failed", 60)
        assert str(missing) in message and "does not exist" in message
        assert node.alive()
    finally:
        client.close()
        node.stop()


@pytest.mark.parametrize("kind, level", [("backend_error", ERROR), ("bad_stamp", WARN)])
def test_a_counted_failure_is_an_error_and_a_warning_a_warn(kind, level):
    """A lifecycle node in this process (the base class of every node) over DDS: a failure
    kind counted while active turns /diagnostics to ERROR, another warning kind to WARN, and
    both clear after diag_window_s."""
    require_ros()
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter
    from socialego_ros.node import SocialEgoLifecycleNode
    from socialego_ros.params import COMMON_PARAMS

    class Probe(SocialEgoLifecycleNode):
        PARAMS = COMMON_PARAMS

        def __init__(self, **kwargs) -> None:
            super().__init__("diag_probe", **kwargs)

        def on_configure(self, state):
            self.cfg = self.validated_params()
            return TransitionCallbackReturn.SUCCESS

        def on_activate(self, state):
            self.start_diagnostics(0.2)
            self.active = True
            return super().on_activate(state)

    domain = unique_domain_id()
    client = RosClient(domain)
    overrides = [
        Parameter("diag_window_s", value=1.0),
        Parameter("diag_no_input_s", value=0.0),
    ]
    probe = Probe(context=client.context, parameter_overrides=overrides)
    executor = SingleThreadedExecutor(context=client.context)
    executor.add_node(probe)
    try:
        probe.trigger_configure()
        probe.trigger_activate()
        diagnostics = Diagnostics(client, "/diag_probe")

        def spin_probe() -> None:
            executor.spin_once(timeout_sec=0.01)

        diagnostics.wait_for(OK, "active", 10, spin_probe)
        probe.warn_throttled(kind, "provoked")
        diagnostics.wait_for(level, f"{kind} x1", 5, spin_probe)
        diagnostics.wait_for(OK, "active", 5, spin_probe)
    finally:
        executor.shutdown()
        probe.destroy_node()
        client.close()
