"""``main`` of every SocialEgo node: init, autostart, spin, and a shutdown that stays clean
when a second SIGINT arrives (a terminal's Ctrl-C reaches the whole process group, and
``ros2 launch`` forwards another SIGINT to each node)."""

from __future__ import annotations

import signal

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.lifecycle import TransitionCallbackReturn


def run_lifecycle_node(node_class, args=None) -> None:
    """main() of every node: init, autostart (configure + activate) if asked, spin, shut down."""
    rclpy.init(args=args)
    node = None
    try:
        node = node_class()
        autostart(node)
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        # we are shutting down: a further SIGINT must not interrupt the cleanup below
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()


def autostart(node) -> bool:
    """Configure and activate ``node`` if its ``autostart`` parameter is true."""
    if not node.get_parameter("autostart").value:
        return False
    result = node.trigger_configure()
    if result != TransitionCallbackReturn.SUCCESS:
        node.get_logger().error("autostart: configure failed; the node stays unconfigured")
        return False
    result = node.trigger_activate()
    if result != TransitionCallbackReturn.SUCCESS:
        node.get_logger().error("autostart: activate failed")
        return False
    return True
