"""SocialEgo on a robot: pose node, optional gaze node, intent node (+ optional behaviour node
, REP-155 bridge and annotator).

    ros2 launch socialego_bringup robot.launch.py image_topic:=/camera/image_raw
    ros2 launch socialego_bringup robot.launch.py params_file:=my_robot.yaml

Parameters come from ``params_file`` (default: the installed config/socialego.yaml). A launch
argument that sets a parameter (device, input_type, model_path, ...) is passed only when given,
so the params file wins unless you give the argument too (socialego_bringup.launch_args).
Every node is a lifecycle node that configures and activates itself when its ``autostart``
parameter is true (the default); with autostart:=false drive them with
``ros2 lifecycle set <node> configure|activate``.
"""

from socialego_bringup.launch_actions import argument_values, launch_description, lifecycle_node
from socialego_bringup.launch_args import (
    COMMON_ARGUMENTS,
    NOT_GIVEN,
    ROBOT_ARGUMENTS,
    argument_declarations,
    given_overrides,
    is_true,
)
from socialego_core import topics

ARGUMENTS = argument_declarations(
    (
        ("namespace", "", "namespace of every node and topic"),
        *COMMON_ARGUMENTS,
        ("enable_behaviour", "false", "start the example behaviour node"),
        ("enable_hri_bridge", "false", "start the REP-155 bridge (needs hri_msgs installed)"),
        ("annotate", "false", "start the annotator node (annotated image, RViz markers)"),
    ),
    ROBOT_ARGUMENTS,
)
# (package, executable = node name, the argument that enables it; None: always started)
NODES = (
    ("socialego_perception", "pose_node", None),
    ("socialego_perception", "gaze_node", "enable_gaze"),
    ("socialego_inference", "intent_node", None),
    ("socialego_inference", "behaviour_node", "enable_behaviour"),
    ("socialego_inference", "hri_bridge", "enable_hri_bridge"),
    ("socialego_inference", "annotator_node", "annotate"),
)


def launch_setup(context):
    values = argument_values(context, ARGUMENTS)
    input_type = values["input_type"] if values["input_type"] != NOT_GIVEN else "raw"
    camera = topics.image_remaps(values["image_topic"], input_type)
    remappings = {"pose_node": camera, "annotator_node": camera}
    return [
        lifecycle_node(
            package,
            name,
            values,
            given_overrides(name, values, ROBOT_ARGUMENTS),
            namespace=values["namespace"],
            remappings=remappings.get(name, ()),
        )
        for package, name, switch in NODES
        if switch is None or is_true(values[switch])
    ]


def generate_launch_description():
    return launch_description(ARGUMENTS, launch_setup)
