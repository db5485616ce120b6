"""Exit 0 when a message arrives on /socialego/intents within --wait seconds, else 1."""

from __future__ import annotations

import argparse
import sys
import time

import rclpy
from socialego_core.topics import INTENTS
from socialego_ros.qos import RELIABLE_OUT

from socialego_msgs.msg import SocialIntentArray

TOPIC = "/" + INTENTS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wait", type=float, default=15.0, help="seconds to wait for a message")
    args = parser.parse_args()
    rclpy.init()
    node = rclpy.create_node("socialego_healthcheck")
    received: list[float] = []
    node.create_subscription(
        SocialIntentArray, TOPIC, lambda _msg: received.append(1.0), RELIABLE_OUT
    )
    deadline = time.monotonic() + args.wait
    try:
        while not received and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.5)
    finally:
        node.destroy_node()
        rclpy.shutdown()
    if received:
        print(f"healthy: {TOPIC} is published")
        return 0
    print(f"unhealthy: nothing on {TOPIC} for {args.wait:.0f} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
