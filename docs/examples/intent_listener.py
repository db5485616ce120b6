"""Act on SocialEgo's forecasts in your own node (python docs/examples/intent_listener.py)."""

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from socialego_inference.listener import IntentListener


def main() -> None:
    rclpy.init()
    node = Node("my_behaviour")
    IntentListener(  # label names; stale, uncertain and old forecasts already filtered out
        node,
        on_appear=lambda d: print(f"{d.track_id}: {d.intent} ({d.probability():.2f})", flush=True),
        on_change=lambda old, d: print(f"{d.track_id}: {old.intent} -> {d.intent}", flush=True),
        on_gone=lambda old, why: print(f"{old.track_id}: gone ({why})", flush=True),
    )
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass  # Ctrl-C or SIGTERM: leave quietly
    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
