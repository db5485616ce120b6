"""Topic names from their one definition (socialego_core.topics): namespaces, bag topics moved
into a namespace, and the camera topics / remaps of raw and compressed inputs."""

from __future__ import annotations

import pytest
from socialego_core import topics


def test_namespaces_and_absolute_names():
    assert topics.namespace_of("") == topics.namespace_of("/") == "/"
    assert topics.namespace_of("robot1/") == "/robot1"
    assert topics.namespace_of("/a/b") == "/a/b"
    assert topics.absolute(topics.INTENTS, "/a/b") == "/a/b/socialego/intents"
    assert topics.absolute(topics.INTENTS, topics.namespace_of("")) == "/socialego/intents"
    for bad in ("robot-1", "1robot", "a__b"):
        with pytest.raises(ValueError, match="not a valid ROS name"):
            topics.namespace_of(bad)


def test_a_bags_own_topics_move_into_the_namespace_and_nothing_else():
    assert topics.in_namespace("/socialego/poses", "robot1") == "/robot1/socialego/poses"
    assert topics.in_namespace("/socialego/ground_truth", "/r") == "/r/socialego/ground_truth"
    assert topics.in_namespace("/camera/image_raw", "/r") == "/camera/image_raw"
    assert topics.in_namespace("/r/socialego/poses", "/r") == "/r/socialego/poses"
    assert topics.in_namespace("/socialego/poses", "") == "/socialego/poses"


def test_camera_topics_and_remaps():
    assert topics.camera_topics("/cam/image") == ("/cam/image", "/cam/image/compressed")
    assert topics.camera_topics("/cam/image", "compressed") == (
        "/cam/image",
        "/cam/image/compressed",
    )
    assert topics.camera_topics("/cam/image/compressed", "compressed") == (
        "/cam/image",
        "/cam/image/compressed",
    )
    # both inputs of the pose node are remapped: a remap of `image` leaves image/compressed
    assert topics.image_remaps("/cam/image", "compressed") == [
        ("image", "/cam/image"),
        ("image/compressed", "/cam/image/compressed"),
    ]
    with pytest.raises(ValueError, match="input type"):
        topics.camera_topics("/cam/image", "jpeg")
