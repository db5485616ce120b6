"""Live per-person table of /socialego/intents in the terminal (rich): try the suite on any camera.

intent_monitor                                   # watch nodes that already run
intent_monitor --namespace /robot1               # nodes in a namespace
intent_monitor --start-nodes --topic /my/camera/image_raw   # also start pose + intent nodes
intent_monitor --start-nodes --topic /my/camera/image_raw --input-type compressed
"""

from __future__ import annotations

import argparse
import sys

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.utilities import remove_ros_args
from socialego_core import topics
from socialego_ros.qos import LATCHED, RELIABLE_OUT

from socialego_inference.intent_table import IntentTable, table_console
from socialego_msgs.msg import ModelInfo, SocialIntentArray


def main(argv: list[str] | None = None) -> int:
    from rich.live import Live

    argv = sys.argv if argv is None else argv
    parser = argparse.ArgumentParser(prog="intent_monitor", description=__doc__.splitlines()[0])
    parser.add_argument("--start-nodes", action="store_true", help="start pose + intent nodes")
    parser.add_argument("--topic", default=topics.CAMERA_IMAGE, help="camera image topic")
    parser.add_argument(
        "--input-type",
        choices=topics.INPUT_TYPES,
        default="raw",
        help="raw Image, or CompressedImage on <topic>/compressed (--start-nodes)",
    )
    parser.add_argument("--namespace", default="", help="namespace of the nodes")
    parser.add_argument("--model", default="", help="student artifact (--start-nodes)")
    parser.add_argument("--params-file", default="", help="ROS parameter YAML (--start-nodes)")
    args = parser.parse_args(remove_ros_args(argv)[1:])
    try:
        namespace = topics.namespace_of(args.namespace)
    except ValueError as error:
        parser.error(str(error))
    nodes = None
    if args.start_nodes:
        from socialego_inference.pipeline import NodeProcesses

        nodes = NodeProcesses(
            ["pose", "intent"],
            sim_time=False,
            model_path=args.model,
            params_file=args.params_file,
            image_topic=args.topic,
            input_type=args.input_type,
            namespace=namespace,
            all_frames=False,  # live: drop frames rather than fall behind
        )
        nodes.start()
        print(f"nodes started (image topic {args.topic}); log: {nodes.log_path}; Ctrl-C to stop")
    rclpy.init(args=argv)
    node = rclpy.create_node("socialego_intent_monitor")
    table = IntentTable()
    intents = topics.absolute(topics.INTENTS, namespace)
    model_info = topics.absolute(topics.MODEL_INFO, namespace)
    node.create_subscription(SocialIntentArray, intents, table.update, RELIABLE_OUT)
    node.create_subscription(ModelInfo, model_info, table.set_model_info, LATCHED)
    code = 0
    try:
        with Live(table.render(), console=table_console(), refresh_per_second=4) as live:
            while rclpy.ok():
                rclpy.spin_once(node, timeout_sec=0.25)
                table.caption = table.model or f"waiting for {model_info}"
                live.update(table.render())
                if nodes is not None and nodes.process.poll() is not None:
                    nodes.print_log_tail()
                    code = 1
                    break
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
        if nodes is not None:
            nodes.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
