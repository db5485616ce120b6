"""SocialEgo topic names, defined once (relative: they resolve in the node's namespace).

Used by the nodes, the launch files, the replay and bag tools, and the tests.
"""

from __future__ import annotations

POSES = "socialego/poses"  # socialego_msgs/WholeBodyPoseArray
GAZE = "socialego/gaze"  # socialego_msgs/GazeFeaturesArray
INTENTS = "socialego/intents"  # socialego_msgs/SocialIntentArray
MODEL_INFO = "socialego/model_info"  # socialego_msgs/ModelInfo, latched
GROUND_TRUTH = "socialego/ground_truth"  # socialego_msgs/PersonLabelsArray (evaluation bags)
GROUND_TRUTH_POSES = "socialego/ground_truth_poses"  # WholeBodyPoseArray (evaluation bags)
ANNOTATED = "socialego/annotated"  # sensor_msgs/Image, the annotated camera image (opt-in)
ANNOTATED_COMPRESSED = "socialego/annotated/compressed"  # sensor_msgs/CompressedImage (JPEG)
MARKERS = "socialego/markers"  # visualization_msgs/MarkerArray (annotator node)
DETECTIONS = "socialego/detections"  # vision_msgs/Detection2DArray (annotator node, opt-in)
BEHAVIOUR_GREET = "socialego/behaviour/greet"  # std_msgs/String
BEHAVIOUR_ALERT = "socialego/behaviour/alert"  # std_msgs/String
DIAGNOSTICS = "/diagnostics"  # diagnostic_msgs/DiagnosticArray (absolute, as ROS tools expect)
IMAGE = "image"  # sensor_msgs/Image, remapped to the camera topic
CAMERA_IMAGE = "/camera/image_raw"  # the usual camera topic: launch and tool defaults, bags
IMAGE_COMPRESSED = "image/compressed"  # sensor_msgs/CompressedImage

# message types of camera images in bags
IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")


def absolute(topic: str, namespace: str = "") -> str:
    """The full name of ``topic`` in ``namespace`` ('' or '/' = the root)."""
    if topic.startswith("/"):
        return topic
    ns = "/" + namespace.strip("/") if namespace.strip("/") else ""
    return f"{ns}/{topic}"
