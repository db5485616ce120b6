"""SocialEgo on a robot: pose node, optional gaze node, intent node (+ optional behaviour node).

    ros2 launch socialego_bringup robot.launch.py image_topic:=/camera/image_raw

Every node is a lifecycle node that configures and activates itself when its ``autostart``
parameter is true (the default); with autostart:=false drive them with
``ros2 lifecycle set <node> configure|activate``. Defaults live in config/socialego.yaml;
launch arguments override the few that differ per robot.
"""

from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from launch import LaunchDescription

ARGUMENTS = (
    ("namespace", "", "namespace of every node and topic"),
    ("use_sim_time", "false", "use /clock (bag replay, simulation)"),
    ("autostart", "true", "configure and activate the lifecycle nodes at start"),
    ("log_level", "info", "log level of every node"),
    ("image_topic", "/camera/image_raw", "camera image topic (compressed: <topic>/compressed)"),
    ("input_type", "raw", "raw | compressed"),
    ("image_reliability", "best_effort", "image QoS: best_effort | reliable"),
    ("device", "auto", "auto | cpu | cuda:N for the pose backend"),
    ("intent_device", "cpu", "auto | cpu | cuda:N for the student"),
    ("backend", "mediapipe", "pose backend: mediapipe | yolo_onnx | onnx_wholebody"),
    ("yolo_model_path", "", "YOLO-pose .onnx (AGPL-3.0 weights, opt-in)"),
    ("wholebody_model_path", "", "RTMPose/RTMW/DWPose SimCC .onnx"),
    ("model_path", "", "student artifact .pt; empty = the installed synthetic student"),
    ("enable_gaze", "false", "start the gaze/face feature node"),
    ("enable_behaviour", "false", "start the example behaviour node"),
    ("enable_hri_bridge", "false", "start the REP-155 bridge (needs hri_msgs installed)"),
)


def generate_launch_description():
    default_params = PathJoinSubstitution(
        [FindPackageShare("socialego_bringup"), "config", "socialego.yaml"]
    )
    declared = [DeclareLaunchArgument(n, default_value=d, description=t) for n, d, t in ARGUMENTS]
    declared.append(
        DeclareLaunchArgument(
            "params_file",
            default_value=default_params,
            description="YAML of parameters (default: socialego_bringup/config/socialego.yaml)",
        )
    )
    namespace = LaunchConfiguration("namespace")
    params_file = LaunchConfiguration("params_file")
    ros_args = ["--ros-args", "--log-level", LaunchConfiguration("log_level")]
    common = {
        "use_sim_time": ParameterValue(LaunchConfiguration("use_sim_time"), value_type=bool),
        "autostart": ParameterValue(LaunchConfiguration("autostart"), value_type=bool),
    }
    image_topic = LaunchConfiguration("image_topic")

    pose_node = LifecycleNode(
        package="socialego_perception",
        executable="pose_node",
        name="pose_node",
        namespace=namespace,
        output="screen",
        arguments=ros_args,
        parameters=[
            params_file,
            common,
            {
                "device": LaunchConfiguration("device"),
                "backend": LaunchConfiguration("backend"),
                "input_type": LaunchConfiguration("input_type"),
                "image_reliability": LaunchConfiguration("image_reliability"),
                "yolo_model_path": ParameterValue(
                    LaunchConfiguration("yolo_model_path"), value_type=str
                ),
                "wholebody_model_path": ParameterValue(
                    LaunchConfiguration("wholebody_model_path"), value_type=str
                ),
            },
        ],
        remappings=[("image", image_topic), ("image/compressed", [image_topic, "/compressed"])],
    )
    gaze_node = LifecycleNode(
        package="socialego_perception",
        executable="gaze_node",
        name="gaze_node",
        namespace=namespace,
        output="screen",
        arguments=ros_args,
        parameters=[params_file, common],
        condition=IfCondition(LaunchConfiguration("enable_gaze")),
    )
    intent_node = LifecycleNode(
        package="socialego_inference",
        executable="intent_node",
        name="intent_node",
        namespace=namespace,
        output="screen",
        arguments=ros_args,
        parameters=[
            params_file,
            common,
            {
                "device": LaunchConfiguration("intent_device"),
                "model_path": ParameterValue(LaunchConfiguration("model_path"), value_type=str),
            },
        ],
    )
    behaviour_node = LifecycleNode(
        package="socialego_inference",
        executable="behaviour_node",
        name="behaviour_node",
        namespace=namespace,
        output="screen",
        arguments=ros_args,
        parameters=[params_file, common],
        condition=IfCondition(LaunchConfiguration("enable_behaviour")),
    )
    hri_bridge = LifecycleNode(
        package="socialego_inference",
        executable="hri_bridge",
        name="hri_bridge",
        namespace=namespace,
        output="screen",
        arguments=ros_args,
        parameters=[params_file, common],
        condition=IfCondition(LaunchConfiguration("enable_hri_bridge")),
    )
    return LaunchDescription(
        [*declared, pose_node, gaze_node, intent_node, behaviour_node, hri_bridge]
    )
