"""socialego_all (the single-process runner) and its opt-in REP-155 bridge flag --hri-bridge.

Without the flag the runner must start as before when hri_msgs is absent; with the flag and no
hri_msgs it must stop at once with the bridge's message (what to install), not a traceback; with
the flag and hri_msgs (the colcon-built test stand-ins of tests/fixtures/hri_msgs_min) the bridge
runs in the same process and turns the in-process intent node's intents into REP-155 topics.
The pose node is left out (--no-pose): the tests publish poses themselves.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from rosnode_harness import NodeProcess, RosClient, executable, require_ros, unique_domain_id

# the module-scoped fixture that builds the hri_msgs stand-ins, and its helpers
from test_hri_bridge_node import Listener, frame, hri_env, hri_prefix  # noqa: F401

RUNNER = ("socialego_inference", "socialego_all")
INTENT_PARAMS = {"stale_after_s": 60.0, "max_track_gap_s": 60.0, "inference_rate_hz": 10.0}


def require_no_hri_msgs() -> None:
    try:
        import hri_msgs  # noqa: F401
    except ImportError:
        return
    pytest.skip("hri_msgs is installed in this environment: the missing case cannot be shown")


def test_hri_bridge_flag_without_hri_msgs_exits_with_the_bridge_message():
    require_ros(RUNNER)
    require_no_hri_msgs()
    result = subprocess.run(
        [str(executable(*RUNNER)), "--no-pose", "--hri-bridge", "--ros-args"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    assert "socialego_all --hri-bridge" in result.stderr, output
    # the bridge's own wording: which package, and the apt/source install hint
    assert "the REP-155 bridge needs the ROS4HRI message package hri_msgs" in result.stderr
    assert "-hri-msgs (apt)" in result.stderr and "github.com/ros4hri/hri_msgs" in result.stderr


def test_without_the_flag_runner_starts_without_hri_msgs():
    require_ros(RUNNER)
    require_no_hri_msgs()
    from socialego_msgs.msg import SocialIntentArray

    domain = unique_domain_id()
    runner = NodeProcess(*RUNNER, domain, INTENT_PARAMS, extra_args=["--no-pose"])
    client = RosClient(domain)
    try:
        intents = client.collect(SocialIntentArray, "/socialego/intents")
        assert client.spin_until(lambda: len(intents) > 0, 120), runner.log()
        assert runner.alive(), runner.log()
        # graph discovery can lag the first message: wait for the node, then look at the rest
        assert client.spin_until(lambda: "intent_node" in client.node.get_node_names(), 30)
        client.spin_for(1.0)
        nodes = client.node.get_node_names()
        assert "hri_bridge" not in nodes and "pose_node" not in nodes, nodes
        assert "hri_msgs" not in runner.log(), runner.log()
    finally:
        client.close()
        code = runner.stop()
    assert code in (0, -2, 130), f"socialego_all exit code {code}\n{runner.log()}"


def test_hri_bridge_flag_runs_the_bridge_in_the_same_process(hri_prefix, monkeypatch):  # noqa: F811
    require_ros(RUNNER)
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from socialego_msgs.msg import WholeBodyPoseArray

    extra = hri_env(hri_prefix)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)  # inherited by the runner process
    domain = unique_domain_id()
    params = dict(INTENT_PARAMS, diagnostics_period_s=0.5, forget_after_s=30.0)
    runner = NodeProcess(*RUNNER, domain, params, extra_args=["--no-pose", "--hri-bridge"])
    topics = {
        "bodies": ("/humans/bodies/tracked", "hri_msgs/IdsList", False),
        # engagement comes from intents, so only the in-process intent node can cause it
        "eng7": ("/humans/persons/anonymous_b7/engagement_status", "hri_msgs/EngagementLevel", 0),
        "eng_alice": ("/humans/persons/alice/engagement_status", "hri_msgs/EngagementLevel", 0),
    }
    listener = Listener([list(v) for v in topics.values()], domain, extra)
    client = RosClient(domain, "single_process_test")
    try:
        assert runner.wait_for_log("REP-155 bridge configured", timeout=120), runner.log()
        assert client.spin_until(
            lambda: {"intent_node", "hri_bridge"} <= set(client.node.get_node_names()), 30
        ), (client.node.get_node_names(), runner.log())
        qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        poses_pub = client.node.create_publisher(WholeBodyPoseArray, "/socialego/poses", qos)

        def got(key: str) -> bool:
            listener.poll()
            return len(listener.on(topics[key][0])) > 0

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (
            listener.ready and got("bodies") and got("eng7") and got("eng_alice")
        ):
            poses_pub.publish(frame(time.time()))
            client.spin_for(0.1)
        assert got("bodies"), (runner.log(), listener.messages[-5:])
        assert listener.on(topics["bodies"][0])[-1]["ids"] == ["b7", "b12"]
        assert got("eng7") and got("eng_alice"), (runner.log(), listener.messages[-5:])
        level = listener.on(topics["eng7"][0])[-1]["level"]
        assert level in range(5), level  # UNKNOWN..DISENGAGING
        assert runner.alive(), runner.log()
    finally:
        client.close()
        errors = listener.stop()
        code = runner.stop()
    assert code in (0, -2, 130), f"socialego_all exit code {code}\n{runner.log()}\n{errors}"
