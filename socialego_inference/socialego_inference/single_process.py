"""Run pose node, optional gaze node and intent node in ONE process and executor.

rclpy cannot compose nodes into a container (ros2/rclpy#575); this runner gives the same
low-latency deployment: one process, one executor, messages between the nodes still go through
the middleware (intra-process in DDS). Parameters come from the usual ``--ros-args`` (e.g.
``--params-file config/socialego.yaml``) and each node's ``autostart`` parameter.

    ros2 run socialego_inference socialego_all --image-topic /camera/image_raw \
        --ros-args --params-file socialego.yaml
    ros2 run socialego_inference socialego_all --image-topic /camera/image_raw \
        --input-type compressed
    (or: socialego_all --gaze --behaviour --hri-bridge --annotate ...)

``--image-topic`` remaps both camera inputs of the pose node, ``image`` and ``image/compressed``
(``<topic>/compressed``, or the topic itself when it ends in /compressed and ``--input-type
compressed``); ``--input-type`` sets the pose node's ``input_type`` over any params file.

Optional nodes are opt-in flags, as the launch file's ``enable_*`` arguments (default off):
``--gaze`` = enable_gaze, ``--behaviour`` = enable_behaviour, ``--hri-bridge`` =
enable_hri_bridge, ``--annotate`` = annotate (the annotator node: annotated image, RViz markers;
it reads the same ``image`` topic as the pose node, so one remap serves both). The REP-155
bridge needs hri_msgs: with ``--hri-bridge`` and no hri_msgs the runner exits at once with the
bridge's message (what to install) instead of starting the rest.
"""

from __future__ import annotations

import argparse
import sys

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from socialego_core import topics
from socialego_ros.executors import StarvationFreeExecutor
from socialego_ros.main import autostart, shut_down, spin_until_shutdown


def missing_hri_msgs() -> str | None:
    """The bridge's message when hri_msgs cannot be imported, else None."""
    try:
        import hri_msgs.msg  # noqa: F401
    except ImportError as exc:
        from socialego_inference.hri_bridge import missing_hri_msgs_message

        return missing_hri_msgs_message(exc)
    return None


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    ros_args = rclpy.utilities.remove_ros_args(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-pose", action="store_true", help="do not start the pose node")
    parser.add_argument("--gaze", action="store_true", help="also start the gaze node")
    parser.add_argument("--behaviour", action="store_true", help="also start the behaviour node")
    parser.add_argument(
        "--hri-bridge",
        action="store_true",
        help="also start the REP-155 bridge (as enable_hri_bridge:=true; needs hri_msgs)",
    )
    parser.add_argument(
        "--image-topic",
        default=None,
        help="camera topic: remaps the pose node's image and image/compressed inputs",
    )
    parser.add_argument(
        "--input-type",
        choices=topics.INPUT_TYPES,
        default=None,
        help="the camera's input_type (raw Image or CompressedImage) for the pose and annotator "
        "nodes, over the params file",
    )
    parser.add_argument(
        "--annotate",
        action="store_true",
        help="also start the annotator node (as annotate:=true: annotated image, RViz markers)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="executor threads (1 = SingleThreadedExecutor, the default; more: a multi-threaded "
        "executor that waits until a worker started each callback, see socialego_ros.executors)",
    )
    options = parser.parse_args(ros_args[1:])
    if options.hri_bridge:
        problem = missing_hri_msgs()
        if problem:
            # Fail before any node starts: the user asked for the bridge explicitly.
            sys.exit(f"socialego_all --hri-bridge: {problem}")

    if options.image_topic:
        remaps = topics.image_remaps(options.image_topic, options.input_type or "raw")
        argv.append("--ros-args")  # a further --ros-args block: the remaps apply to every node
        for name, target in remaps:
            argv += ["-r", f"{name}:={target}"]
    rclpy.init(args=argv)
    from socialego_inference.intent_node import IntentNode

    nodes = []
    # the camera's input type, for every node that reads the camera
    overrides = []
    if options.input_type:
        overrides.append(Parameter("input_type", Parameter.Type.STRING, options.input_type))
    if not options.no_pose:
        from socialego_perception.pose_node import PoseNode

        nodes.append(PoseNode(parameter_overrides=overrides))
    if options.gaze:
        from socialego_perception.gaze_node import GazeNode

        nodes.append(GazeNode())
    nodes.append(IntentNode())
    if options.behaviour:
        from socialego_inference.behaviour_node import BehaviourNode

        nodes.append(BehaviourNode())
    if options.hri_bridge:
        from socialego_inference.hri_bridge import HriBridgeNode

        nodes.append(HriBridgeNode())
    if options.annotate:
        from socialego_inference.annotator_node import AnnotatorNode

        nodes.append(AnnotatorNode(parameter_overrides=overrides))
    executor = (
        SingleThreadedExecutor()
        if options.threads <= 1
        else StarvationFreeExecutor(num_threads=options.threads)
    )

    def run() -> None:
        for node in nodes:
            autostart(node)
            executor.add_node(node)
        executor.spin()

    try:
        spin_until_shutdown(run)
    finally:
        shut_down(nodes, executor)


if __name__ == "__main__":
    main()
