"""``main`` of every SocialEgo node: init, autostart, spin, and a shutdown that never raises:
not when a second SIGINT arrives (a terminal's Ctrl-C reaches the whole process group, and
``ros2 launch`` forwards another SIGINT to each node), and not when SIGINT shuts the context down
while the executor is taking a message (rclpy then raises RuntimeError from
``Executor._take_subscription``, "Unable to convert call argument '0' to Python object": the
subscription's message is gone with the context)."""

from __future__ import annotations

import signal
import sys

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.lifecycle import TransitionCallbackReturn


def run_lifecycle_node(node_class, args=None) -> None:
    """main() of every node: init, autostart (configure + activate) if asked, spin, shut down."""
    rclpy.init(args=args)
    nodes = []

    def run() -> None:
        nodes.append(node_class())
        autostart(nodes[0])
        rclpy.spin(nodes[0])

    try:
        spin_until_shutdown(run)
    finally:
        shut_down(nodes)


def spin_until_shutdown(spin) -> None:
    """Run ``spin()`` until Ctrl-C / shutdown; a RuntimeError raised because the context was
    shut down under a running executor (SIGINT mid-take) ends it quietly, any other is raised."""
    try:
        spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RuntimeError:
        if rclpy.ok():
            raise  # the context is alive: a real error


def shut_down(nodes, executor=None) -> None:
    """Destroy the executor and nodes and shut rclpy down, ignoring further SIGINTs and the
    errors of entities whose context is already gone."""
    # we are shutting down: a further SIGINT must not interrupt the cleanup below
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for entity in ([executor] if executor is not None else []) + list(nodes):
        try:
            if entity is executor:
                entity.shutdown()
            else:
                entity.destroy_node()
        except (RuntimeError, ExternalShutdownException) as exc:
            print(f"shutdown: {type(exc).__name__}: {exc} (ignored)", file=sys.stderr)
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
