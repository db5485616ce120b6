"""Replay a bag through SocialEgo under sim time and record the outputs (MCAP).

    ros2 launch socialego_bringup eval.launch.py bag:=/data/run1 output:=/tmp/run1_out

The bag is played with --clock; every node runs with use_sim_time, so header stamps and
latencies are in bag time. If the bag already holds /socialego/poses (e.g. written by
`socialego bags`), set run_pose:=false to evaluate the intent node alone on recorded poses.
Needs the ros2 CLI (ros2 bag) of a full ROS 2 install.
"""

from launch.actions import DeclareLaunchArgument, ExecuteProcess
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from launch import LaunchDescription

ARGUMENTS = (
    ("bag", "", "bag folder or file to replay"),
    ("output", "socialego_eval_out", "folder for the recorded outputs (MCAP)"),
    ("rate", "1.0", "playback rate"),
    ("image_topic", "/camera/image_raw", "image topic inside the bag"),
    ("run_pose", "true", "run the pose node (false: the bag holds /socialego/poses)"),
    ("enable_gaze", "false", "start the gaze node too"),
    ("model_path", "", "student artifact .pt; empty = the installed synthetic student"),
    ("log_level", "info", "log level of every node"),
)


def generate_launch_description():
    declared = [DeclareLaunchArgument(n, default_value=d, description=t) for n, d, t in ARGUMENTS]
    params = PathJoinSubstitution(
        [FindPackageShare("socialego_bringup"), "config", "socialego.yaml"]
    )
    ros_args = ["--ros-args", "--log-level", LaunchConfiguration("log_level")]
    sim = {"use_sim_time": True, "autostart": True}
    play = ExecuteProcess(
        cmd=[
            "ros2",
            "bag",
            "play",
            LaunchConfiguration("bag"),
            "--clock",
            "--rate",
            LaunchConfiguration("rate"),
        ],
        output="screen",
    )
    record = ExecuteProcess(
        cmd=[
            "ros2",
            "bag",
            "record",
            "--use-sim-time",  # receive times in bag time, like the header stamps (latency)
            "-s",
            "mcap",
            "-o",
            LaunchConfiguration("output"),
            "/socialego/poses",
            "/socialego/gaze",
            "/socialego/intents",
            "/socialego/model_info",
            "/socialego/ground_truth",
            "/socialego/ground_truth_poses",
            "/diagnostics",
        ],
        output="screen",
    )
    pose_node = LifecycleNode(
        package="socialego_perception",
        executable="pose_node",
        name="pose_node",
        namespace="",
        output="screen",
        arguments=ros_args,
        # a bag replays every image: take them reliably and process all of them
        parameters=[params, sim, {"image_reliability": "reliable", "image_qos_depth": 30}],
        remappings=[("image", LaunchConfiguration("image_topic"))],
        condition=IfCondition(LaunchConfiguration("run_pose")),
    )
    gaze_node = LifecycleNode(
        package="socialego_perception",
        executable="gaze_node",
        name="gaze_node",
        namespace="",
        output="screen",
        arguments=ros_args,
        parameters=[params, sim],
        condition=IfCondition(LaunchConfiguration("enable_gaze")),
    )
    intent_node = LifecycleNode(
        package="socialego_inference",
        executable="intent_node",
        name="intent_node",
        namespace="",
        output="screen",
        arguments=ros_args,
        parameters=[
            params,
            sim,
            {"model_path": ParameterValue(LaunchConfiguration("model_path"), value_type=str)},
        ],
    )
    return LaunchDescription([*declared, record, pose_node, gaze_node, intent_node, play])
