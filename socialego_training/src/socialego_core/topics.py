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
INPUT_TYPES = ("raw", "compressed")  # the pose node's input_type parameter
COMPRESSED_SUFFIX = "/compressed"  # image_transport: <topic>/compressed carries CompressedImage
# the SocialEgo topics a namespace prefixes (relative names above)
OWN_TOPICS = (POSES, GAZE, INTENTS, MODEL_INFO, GROUND_TRUTH, GROUND_TRUTH_POSES)


def absolute(topic: str, namespace: str = "") -> str:
    """The full name of ``topic`` in ``namespace`` ('' or '/' = the root)."""
    if topic.startswith("/"):
        return topic
    ns = "/" + namespace.strip("/") if namespace.strip("/") else ""
    return f"{ns}/{topic}"


def namespace_of(namespace: str) -> str:
    """``namespace`` written as ROS does ('/' for the root, else '/a/b'); ValueError names a
    namespace that is not a valid ROS name."""
    parts = [p for p in namespace.strip().strip("/").split("/") if p]
    for part in parts:
        if not part.replace("_", "a").isalnum() or part[0].isdigit() or "__" in part:
            raise ValueError(f"namespace {namespace!r}: {part!r} is not a valid ROS name token")
    return "/" + "/".join(parts)


def in_namespace(topic: str, namespace: str) -> str:
    """A root-level SocialEgo topic name (``/socialego/...``, as bags made here hold them) moved
    into ``namespace``; any other name, or one already in the namespace, as it is."""
    ns = namespace_of(namespace).rstrip("/")
    own = {absolute(t) for t in OWN_TOPICS}
    return f"{ns}{topic}" if ns and topic in own else topic


def camera_topics(image_topic: str, input_type: str = "raw") -> tuple[str, str]:
    """(raw topic, compressed topic) of a camera: ``image_topic`` is the raw one, or for
    ``input_type`` compressed either the raw one (``<topic>/compressed`` is then the compressed
    one, as image_transport names it) or a name ending in /compressed."""
    if input_type not in INPUT_TYPES:
        raise ValueError(f"input type must be one of {INPUT_TYPES}, got {input_type!r}")
    if input_type == "compressed" and image_topic.endswith(COMPRESSED_SUFFIX):
        return image_topic[: -len(COMPRESSED_SUFFIX)], image_topic
    return image_topic, image_topic + COMPRESSED_SUFFIX


def image_remaps(image_topic: str, input_type: str = "raw") -> list[tuple[str, str]]:
    """ROS remappings of the pose node's camera inputs: ``image`` (raw) and ``image/compressed``
    (a remap of ``image`` does not move ``image/compressed``)."""
    raw, compressed = camera_topics(image_topic, input_type)
    return [(IMAGE, raw), (IMAGE_COMPRESSED, compressed)]
