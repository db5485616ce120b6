"""Every node's lifecycle: deactivate drops exactly what activate created; a node re-activates."""

from __future__ import annotations

import pytest
from rosnode_harness import require_ros, unique_domain_id


@pytest.fixture
def rclpy_context(monkeypatch):
    require_ros(("socialego_inference", "intent_node"))
    import rclpy

    monkeypatch.setenv("ROS_DOMAIN_ID", str(unique_domain_id()))
    rclpy.init()
    yield
    rclpy.shutdown()


def _node_classes():
    from socialego_inference.behaviour_node import BehaviourNode
    from socialego_inference.intent_node import IntentNode
    from socialego_perception.gaze_node import GazeNode

    return [GazeNode, BehaviourNode, IntentNode]


@pytest.mark.parametrize("index", range(3), ids=["gaze", "behaviour", "intent"])
def test_deactivate_drops_inputs_and_activate_restores_them(rclpy_context, index):
    from lifecycle_msgs.msg import State
    from rclpy.parameter import Parameter

    cls = _node_classes()[index]
    node = cls(parameter_overrides=[Parameter("autostart", value=False)])
    try:
        base_subs, base_timers = len(list(node.subscriptions)), len(list(node.timers))
        node.trigger_configure()
        node.trigger_activate()
        assert node.active and node.inputs
        active_subs, active_timers = len(list(node.subscriptions)), len(list(node.timers))
        assert active_subs > base_subs
        node.trigger_deactivate()
        assert not node.active and node.inputs == []
        assert len(list(node.subscriptions)) == base_subs
        assert len(list(node.timers)) == base_timers  # diagnostics and tick timers gone too
        node.trigger_activate()
        assert node.active
        assert len(list(node.subscriptions)) == active_subs
        assert len(list(node.timers)) == active_timers
        node.trigger_deactivate()
        node.trigger_cleanup()
        assert node._state_machine.current_state[0] == State.PRIMARY_STATE_UNCONFIGURED
    finally:
        node.destroy_node()
