"""Replay a bag through SocialEgo under sim time and record the outputs (MCAP).

    ros2 launch socialego_bringup eval.launch.py bag:=/data/run1 output:=/tmp/run1_out
    ros2 launch socialego_bringup eval.launch.py bag:=/data/run2 output:=/tmp/run2_out \
        image_topic:=/camera/color/image_raw input_type:=compressed namespace:=robot1

The bag is played with --clock; every node runs with use_sim_time, so header stamps and
latencies are in bag time. If the bag already holds /socialego/poses (e.g. written by
`socialego bags`), set run_pose:=false to evaluate the intent node alone on recorded poses.
Parameters come from ``params_file`` (default: the installed config/socialego.yaml); the
replay's own settings (sim time, reliable image QoS) are applied on top, and ``model_path``
only when given. ``image_topic`` names the bag's camera topic; ``input_type:=compressed`` for a
bag of sensor_msgs/CompressedImage (at ``<image_topic>/compressed``, or ``image_topic`` itself
when it ends in /compressed). With ``namespace`` the nodes and their topics live under it and the
bag's ``/socialego/...`` topics are played into it. Needs the ros2 CLI (ros2 bag) of a full
ROS 2 install.
"""

from launch.actions import ExecuteProcess
from socialego_bringup import launch_args
from socialego_bringup.launch_actions import argument_values, launch_description, lifecycle_node
from socialego_bringup.launch_args import NOT_GIVEN
from socialego_core import topics

ARGUMENTS = launch_args.argument_declarations(
    (
        ("bag", "", "bag folder or file to replay"),
        ("output", "socialego_eval_out", "folder for the recorded outputs (MCAP)"),
        ("rate", "1.0", "playback rate"),
        ("run_pose", "true", "run the pose node (false: the bag holds /socialego/poses)"),
        ("namespace", "", "namespace of the nodes and their topics"),
        *launch_args.COMMON_ARGUMENTS,
    ),
    launch_args.EVAL_ARGUMENTS,
)
RECORDED = (
    topics.POSES,
    topics.GAZE,
    topics.INTENTS,
    topics.MODEL_INFO,
    topics.GROUND_TRUTH,
    topics.GROUND_TRUTH_POSES,
    topics.DIAGNOSTICS,
)
SIM = {"use_sim_time": True, "autostart": True}
# (package, executable = node name, the argument that enables it, the replay's own settings:
# a bag replays every image under sim time, so take them reliably and process all of them)
NODES = (
    (
        "socialego_perception",
        "pose_node",
        "run_pose",
        {**SIM, "image_reliability": "reliable", "image_qos_depth": 30},
    ),
    ("socialego_perception", "gaze_node", "enable_gaze", SIM),
    ("socialego_inference", "intent_node", None, SIM),
)


def launch_setup(context):
    values = argument_values(context, ARGUMENTS)
    namespace = values["namespace"]
    input_type = values["input_type"] if values["input_type"] != NOT_GIVEN else "raw"
    record = ExecuteProcess(
        cmd=[
            "ros2",
            "bag",
            "record",
            "--use-sim-time",  # receive times in bag time, like the header stamps (latency)
            "-s",
            "mcap",
            "-o",
            values["output"],
            *(topics.absolute(t, namespace) for t in RECORDED),
        ],
        output="screen",
    )
    nodes = [
        lifecycle_node(
            package,
            name,
            values,
            {**replay, **launch_args.given_overrides(name, values, launch_args.EVAL_ARGUMENTS)},
            namespace=namespace,
            remappings=(
                topics.image_remaps(values["image_topic"], input_type)
                if name == "pose_node"
                else ()
            ),
        )
        for package, name, switch, replay in NODES
        if switch is None or launch_args.is_true(values[switch])
    ]
    # a bag's own /socialego/... topics (poses, ground truth) are played into the namespace
    moved = [
        f"{topics.absolute(t)}:={topics.in_namespace(topics.absolute(t), namespace)}"
        for t in topics.OWN_TOPICS
        if topics.in_namespace(topics.absolute(t), namespace) != topics.absolute(t)
    ]
    play = ExecuteProcess(
        cmd=[
            "ros2",
            "bag",
            "play",
            values["bag"],
            "--clock",
            "--rate",
            values["rate"],
            *(["--remap", *moved] if moved else []),
        ],
        output="screen",
    )
    return [record, *nodes, play]


def generate_launch_description():
    return launch_description(ARGUMENTS, launch_setup)
