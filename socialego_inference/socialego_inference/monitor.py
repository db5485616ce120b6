"""Live per-person table of /socialego/intents in the terminal (rich): try the suite on any camera.

intent_monitor            (ros2 run socialego_inference intent_monitor)
"""

from __future__ import annotations

import sys

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from socialego_inference.intent_table import IntentTable
from socialego_msgs.msg import ModelInfo, SocialIntentArray

LATCHED = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.live import Live

    rclpy.init(args=sys.argv if argv is None else argv)
    node = rclpy.create_node("socialego_intent_monitor")
    table = IntentTable()
    node.create_subscription(SocialIntentArray, "/socialego/intents", table.update, 10)
    node.create_subscription(ModelInfo, "/socialego/model_info", table.set_model_info, LATCHED)
    try:
        with Live(table.render(), console=Console(), refresh_per_second=4) as live:
            while rclpy.ok():
                rclpy.spin_once(node, timeout_sec=0.25)
                table.caption = table.model or "waiting for /socialego/model_info"
                live.update(table.render())
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
