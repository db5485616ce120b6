"""The consumer API over real DDS: docs/examples/intent_listener.py (the README's "use it in
your node" snippet) is RUN as a subprocess against a published intent stream, and its output
checked: label names from the latched ModelInfo (published before it starts), appear / change /
go events, stale and uncertain forecasts filtered out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from rosnode_harness import RosClient, require_ros, unique_domain_id

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "intent_listener.py"


def one_hot(decision: int, p: float) -> list[float]:
    return [p if k == decision else (1 - p) / 2 for k in (1, 2, 3)]


def test_example_node_reports_decisions_by_name(ros_env):
    require_ros()
    from socialego_ros.qos import LATCHED

    from socialego_msgs.msg import ModelInfo, SocialIntent, SocialIntentArray

    domain = unique_domain_id()
    client = RosClient(domain)
    env = {**ros_env, "ROS_DOMAIN_ID": str(domain), "PYTHONUNBUFFERED": "1"}
    process = None
    try:
        latched = LATCHED  # as the intent node publishes ModelInfo
        info_pub = client.node.create_publisher(ModelInfo, "/socialego/model_info", latched)
        pub = client.node.create_publisher(SocialIntentArray, "/socialego/intents", 10)
        # a label order unlike the message constants: names must come from ModelInfo
        info_pub.publish(
            ModelInfo(
                model_version="v1",
                intent_labels=["Not_Interested", "Interested", "Interacting"],
                attitude_labels=["Positive", "Negative", "Not_Interacting"],
                action_labels=["Wave", "Punch"],
            )
        )
        process = subprocess.Popen(
            [sys.executable, str(EXAMPLE)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,
        )
        assert client.spin_until(lambda: pub.get_subscription_count() > 0, 60)
        assert client.spin_until(lambda: info_pub.get_subscription_count() > 0, 10)
        client.spin_for(1.0)  # the latched ModelInfo reaches the late subscriber

        def send(*items) -> None:
            msg = SocialIntentArray()
            msg.header.stamp = client.node.get_clock().now().to_msg()
            msg.intents = [
                SocialIntent(
                    header=msg.header,
                    track_id=track,
                    intent=intent,
                    intent_probabilities=one_hot(intent, p),
                    attitude=3,
                    attitude_probabilities=one_hot(3, 0.8),
                    input_quality=1.0,
                    stale=stale,
                    model_version="v1",
                )
                for track, intent, p, stale in items
            ]
            pub.publish(msg)
            client.spin_for(0.3)

        send(("7", 2, 0.9, False), ("8", 1, 0.9, True))  # 7 Interested; 8 stale: never shown
        send(("7", 2, 0.9, False), ("8", 1, 0.9, True))  # nothing new
        send(("7", 3, 0.8, False), ("9", 1, 0.4, False))  # 7 changes; 9 too uncertain
        send(("9", 1, 0.95, False))  # 7 left, 9 now sure
        send()  # everyone left
        client.spin_for(0.5)
    finally:
        if process is not None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                output, _ = process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                output, _ = process.communicate()
        client.close()
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines == [
        "7: Interested (0.90)",
        "7: Interested -> Interacting",
        "9: Not_Interested (0.95)",
        "7: gone (left)",
        "9: gone (left)",
    ], output
    assert process.returncode == 0, output
