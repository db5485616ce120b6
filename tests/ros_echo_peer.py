"""The second OS process of the DDS round-trip test (tests/test_messages.py).

For every socialego_msgs type it subscribes to /socialego_test/to_peer/<Type>, checks each message
it receives against its own, independently built copy of the samples (msg_samples), and publishes
it back unchanged on /socialego_test/from_peer/<Type>. Protocol on stdout, one line each:
  READY            endpoints created
  MATCHED          every endpoint matched the test process's counterpart
  RESULT <json>    after "DONE" on stdin: {"received": {type: n}, "mismatches": [...]}
Exit code 0 after RESULT; 2 on timeout (the reason on stderr).

Run only by the test, inside the sourced environment (ROS_DOMAIN_ID/LOCALHOST set by conftest).
"""

from __future__ import annotations

import json
import select
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import msg_samples  # noqa: E402
import rclpy  # noqa: E402
from rclpy.duration import Duration  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy  # noqa: E402

QOS = QoSProfile(
    history=HistoryPolicy.KEEP_ALL,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)
TIMEOUT_S = 300.0


def say(line: str) -> None:
    print(line, flush=True)


def main() -> int:
    type_names = sys.argv[1:] or list(msg_samples.MESSAGE_TYPES)
    rclpy.init()
    node = rclpy.create_node("socialego_echo_peer")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    received: dict[str, list] = {name: [] for name in type_names}
    publishers = {}
    subscriptions = []
    for name in type_names:
        cls = msg_samples.message_class(name)
        pub = node.create_publisher(cls, f"/socialego_test/from_peer/{name}", QOS)
        publishers[name] = pub

        def echo(msg, name=name, pub=pub):
            received[name].append(msg)
            pub.publish(msg)

        subscriptions.append(
            node.create_subscription(cls, f"/socialego_test/to_peer/{name}", echo, QOS)
        )
    say("READY")

    matched = False
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.02)
            if not matched and all(p.get_subscription_count() > 0 for p in publishers.values()):
                if all(s.get_publisher_count() > 0 for s in subscriptions):
                    matched = True
                    say("MATCHED")
            ready, _, _ = select.select([sys.stdin], [], [], 0)
            if ready:
                line = sys.stdin.readline()
                if line.strip() == "DONE" or line == "":
                    break
        else:
            print(f"ros_echo_peer: no DONE within {TIMEOUT_S} s", file=sys.stderr)
            return 2
        # Let the last echoes reach the reliable reader before the writers disappear.
        for pub in publishers.values():
            pub.wait_for_all_acked(Duration(seconds=10))
        mismatches = []
        for name in type_names:
            expected = msg_samples.samples(name)
            got = received[name]
            if len(got) != len(expected):
                mismatches.append(f"{name}: received {len(got)} messages, expected {len(expected)}")
            for index, (want, have) in enumerate(zip(expected, got)):
                mismatches += [f"{name}[{index}].{d}" for d in msg_samples.differences(want, have)]
        result = {"received": {n: len(v) for n, v in received.items()}, "mismatches": mismatches}
        say("RESULT " + json.dumps(result))
        return 0
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    sys.exit(main())
