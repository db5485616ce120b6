"""The annotator node as a separate process (colcon-installed executable) over real DDS: the
annotated image checked by its pixels (a known person in a known place gets its box there, in
its intent's colour; grey once stale), the header copied from the camera image, the JPEG output,
the RViz markers (added, then DELETE when the track goes) and the optional vision_msgs output
(built from the stand-in of tests/fixtures/vision_msgs_min, read by a second process)."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from msg_fixtures import FIXTURES, Listener, build_fixture, fixture_env
from rosnode_harness import NodeProcess, RosClient, require_ros, unique_domain_id

W, H = 640, 480
FRAME_ID = "camera"
BOX = (200.0, 150.0, 100.0, 200.0)
GREEN, GREY = (40, 200, 60), (128, 128, 128)  # socialego_core.annotate colours
PARAMS = {"diagnostics_period_s": 0.5, "image_reliability": "reliable"}
EXE = ("socialego_inference", "annotator_node")


def stamp_of(t: float):
    from builtin_interfaces.msg import Time

    return Time(sec=int(t), nanosec=int(round((t % 1) * 1e9)))


def image_msg(t: float):
    from sensor_msgs.msg import Image
    from socialego_perception.conversions import fill_image_msg

    msg = fill_image_msg(Image(), np.full((H, W, 3), 20, np.uint8), "rgb8")
    msg.header.stamp, msg.header.frame_id = stamp_of(t), FRAME_ID
    return msg


def poses_msg(t: float, track_ids: list[str]):
    from socialego_ros.node import floats

    from socialego_msgs.msg import WholeBodyPose, WholeBodyPoseArray

    out = WholeBodyPoseArray()
    out.header.stamp, out.header.frame_id = stamp_of(t), FRAME_ID
    for i, track in enumerate(track_ids):
        x0 = BOX[0] + 250 * i
        kp = np.zeros((17, 3), np.float32)
        kp[:, 0] = x0 + 50
        kp[:, 1] = np.linspace(BOX[1] + 20, BOX[1] + 190, 17)
        kp[:, 2] = 0.9
        pose = WholeBodyPose()
        pose.header = out.header
        pose.track_id, pose.layout = track, 1
        pose.image_width, pose.image_height = W, H
        pose.x, pose.y, pose.score = floats(kp[:, 0]), floats(kp[:, 1]), floats(kp[:, 2])
        pose.bbox_x, pose.bbox_y, pose.bbox_width, pose.bbox_height = x0, *BOX[1:]
        pose.detection_score, pose.track_state = 0.9, 2
        out.poses.append(pose)
    return out


def intents_msg(track: str, stale: bool = False):
    from socialego_msgs.msg import SocialIntent, SocialIntentArray

    intent = SocialIntent(track_id=track, intent=1, attitude=1, action=4, stale=stale)
    intent.intent_probabilities = [0.82, 0.1, 0.08]
    intent.attitude_probabilities = [0.7, 0.2, 0.1]
    intent.action_probabilities = [0.05, 0.05, 0.05, 0.61] + [0.04] * 6
    intent.input_quality = 0.9
    return SocialIntentArray(intents=[intent])


class Feeder:
    """Publishes image + poses of one stamp (+ the intents) at ~10 Hz from the test client."""

    def __init__(self, client: RosClient) -> None:
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image

        from socialego_msgs.msg import SocialIntentArray, WholeBodyPoseArray

        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.client = client
        self.image = client.node.create_publisher(Image, "/image", qos)
        self.poses = client.node.create_publisher(WholeBodyPoseArray, "/socialego/poses", qos)
        self.intents = client.node.create_publisher(SocialIntentArray, "/socialego/intents", qos)
        self.t = float(int(time.time()))  # near the node clock: the intent node checks it
        self.sent: list[float] = []

    def step(self, tracks: list[str], intents=None) -> None:
        self.t += 0.1
        if intents is not None:
            self.intents.publish(intents)
        self.image.publish(image_msg(self.t))
        self.poses.publish(poses_msg(self.t, tracks))
        self.sent.append(self.t)
        self.client.spin_for(0.1)

    def until(self, predicate, tracks, intents=None, timeout: float = 45.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            self.step(tracks, intents)
        return predicate()


def pixels(msg) -> np.ndarray:
    assert msg.encoding == "rgb8" and msg.step == msg.width * 3
    return np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.width, 3)


def test_annotated_image_markers_and_jpeg_over_dds():
    require_ros(EXE)
    from sensor_msgs.msg import CompressedImage, Image
    from visualization_msgs.msg import Marker, MarkerArray

    domain = unique_domain_id()
    node = NodeProcess(*EXE, domain, PARAMS)
    client = RosClient(domain, "annotator_test")
    try:
        assert node.wait_for_log("annotator configured", timeout=60), node.log()
        images = client.collect(Image, "/socialego/annotated")
        jpegs = client.collect(CompressedImage, "/socialego/annotated/compressed")
        markers = client.collect(MarkerArray, "/socialego/markers")
        feed = Feeder(client)

        def coloured(colour) -> bool:
            return bool(images) and tuple(pixels(images[-1])[250, 201]) == colour

        assert feed.until(lambda: coloured(GREEN), ["7"], intents_msg("7")), node.log()
        out = images[-1]
        stamp = out.header.stamp.sec + out.header.stamp.nanosec * 1e-9
        assert min(abs(stamp - t) for t in feed.sent) < 1e-6  # the header of one of our images
        assert out.header.frame_id == FRAME_ID and (out.width, out.height) == (W, H)
        image = pixels(out)
        assert tuple(image[250, 299]) == GREEN and tuple(image[349, 250]) == GREEN  # box edges
        assert tuple(image[250, 190]) == (20, 20, 20) and tuple(image[40, 40]) == (20, 20, 20)
        assert (image[120:150, 200:260] == GREEN).all(axis=2).mean() > 0.5  # label above

        assert client.spin_until(lambda: bool(jpegs), 10), node.log()
        decoded = cv2.imdecode(np.frombuffer(bytes(jpegs[-1].data), np.uint8), cv2.IMREAD_COLOR)
        assert decoded.shape == (H, W, 3) and "jpeg" in jpegs[-1].format
        assert np.abs(decoded[250, 199:204, ::-1].astype(int) - GREEN).max(axis=1).min() < 40

        # markers: a box and a label for track 7, in the camera frame, text = the image's label
        labels = [m for a in markers for m in a.markers if m.type == Marker.TEXT_VIEW_FACING]
        assert labels and labels[-1].header.frame_id == FRAME_ID
        assert labels[-1].text.startswith("#7 Interacting 0.82"), labels[-1].text
        assert labels[-1].pose.position.z == pytest.approx(2.0)  # marker_depth_m
        assert labels[-1].color.g == pytest.approx(200 / 255, abs=1e-3)
        seven = labels[-1].id

        # a stale forecast turns the person grey
        assert feed.until(lambda: coloured(GREY), ["7"], intents_msg("7", stale=True), 20)

        # track 7 goes: its markers are deleted, the new track gets its own
        def deleted() -> bool:
            return any(
                m.action == Marker.DELETE and m.id == seven for a in markers for m in a.markers
            )

        assert feed.until(deleted, ["8"], None, 20), node.log()

        # the last viewer leaves: the camera subscription goes too
        assert client.node.count_subscribers("/image") == 1
        for sub in list(client.node.subscriptions):
            if sub.topic_name.startswith("/socialego/annotated"):
                client.node.destroy_subscription(sub)
        assert client.spin_until(lambda: client.node.count_subscribers("/image") == 0, 10)
        # the node logs after dropping the subscription: wait for the line, do not race it
        assert node.wait_for_log("no image viewer left: camera unsubscribed", 10), node.log()
        assert node.alive()
    finally:
        client.close()
        code = node.stop()
    assert code in (0, -2, 130), node.log()


def test_nothing_is_drawn_without_a_viewer_and_bad_poses_are_survived():
    require_ros(EXE)
    from diagnostic_msgs.msg import DiagnosticArray
    from visualization_msgs.msg import MarkerArray

    domain = unique_domain_id()
    node = NodeProcess(*EXE, domain, PARAMS)
    client = RosClient(domain, "annotator_idle_test")
    try:
        assert node.wait_for_log("annotator configured", timeout=60), node.log()
        # no viewer of any output yet: the node reads no input at all
        client.spin_for(1.5)
        assert client.node.count_subscribers("/socialego/poses") == 0
        assert client.node.count_subscribers("/socialego/intents") == 0
        assert client.node.count_subscribers("/image") == 0
        markers = client.collect(MarkerArray, "/socialego/markers")
        diagnostics = client.collect(DiagnosticArray, "/diagnostics")
        feed = Feeder(client)
        assert feed.until(lambda: len(markers) >= 5, ["7"], intents_msg("7"), 30), node.log()
        bad = poses_msg(feed.t + 0.05, ["9"])
        bad.poses[0].x = bad.poses[0].x[:3]  # 3 x values for 17 joints: skipped, named
        feed.poses.publish(bad)

        def values() -> dict[str, str]:
            for array in reversed(diagnostics):
                for status in array.status:
                    if status.name.endswith("annotator_node"):
                        return {kv.key: kv.value for kv in status.values}
            return {}

        assert client.spin_until(lambda: int(values().get("pose_frames", 0)) >= 5, 10)
        # nobody watches the annotated image: the camera is not even subscribed, nothing drawn
        assert values()["annotated_images"] == "0"
        assert client.node.count_subscribers("/image") == 0
        assert "an image viewer subscribed" not in node.log()
        assert client.spin_until(lambda: "track '9'" in node.log(), 10), node.log()
        assert node.alive()
    finally:
        client.close()
        code = node.stop()
    assert code in (0, -2, 130), node.log()


def test_detections_need_vision_msgs_and_name_it():
    require_ros(EXE)
    try:
        import vision_msgs  # noqa: F401

        pytest.skip("vision_msgs is installed here: the missing case cannot be shown")
    except ImportError:
        pass
    node = NodeProcess(*EXE, unique_domain_id(), {**PARAMS, "publish_detections": True})
    try:
        assert node.wait_for_log("configure failed", timeout=60), node.log()
        assert "vision_msgs" in node.log() and "-vision-msgs" in node.log(), node.log()
        assert node.alive(), "an unconfigured node must keep running (lifecycle node)"
    finally:
        node.stop()


def test_detection2d_array_over_dds(monkeypatch):
    require_ros(EXE)
    prefix = build_fixture(FIXTURES / "vision_msgs_min")
    extra = fixture_env(prefix)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)  # inherited by the node process
    domain = unique_domain_id()
    params = {**PARAMS, "publish_detections": True, "annotate_image": False}
    node = NodeProcess(*EXE, domain, params)
    topic = "/socialego/detections"
    listener = Listener([[topic, "vision_msgs/Detection2DArray", False]], domain, extra)
    client = RosClient(domain, "annotator_detections_test")
    try:
        assert node.wait_for_log("annotator configured", timeout=60), node.log()
        assert topic in node.log()
        feed = Feeder(client)

        def with_results() -> bool:
            listener.poll()
            got = listener.on(topic)
            return bool(got) and any(d["results"] for d in got[-1]["detections"])

        assert feed.until(with_results, ["7", "12"], intents_msg("7"), 45), node.log()
        msg = listener.on(topic)[-1]
        assert msg["header"]["frame_id"] == FRAME_ID
        by_id = {d["id"]: d for d in msg["detections"]}
        assert set(by_id) == {"7", "12"}
        seven = by_id["7"]
        assert seven["bbox"]["center"]["position"]["x"] == pytest.approx(250.0)
        assert seven["bbox"]["center"]["position"]["y"] == pytest.approx(250.0)
        assert (seven["bbox"]["size_x"], seven["bbox"]["size_y"]) == (100.0, 200.0)
        hypotheses = [
            (r["hypothesis"]["class_id"], r["hypothesis"]["score"]) for r in seven["results"]
        ]
        assert [name for name, _ in hypotheses] == ["Interacting", "Interested", "Not_Interested"]
        assert [s for _, s in hypotheses] == pytest.approx([0.82, 0.1, 0.08], rel=1e-5)
        assert by_id["12"]["results"] == []  # no forecast for track 12 yet
        assert node.alive()
    finally:
        client.close()
        errors = listener.stop()
        code = node.stop()
    assert code in (0, -2, 130), f"{node.log()}\n{errors}"


def test_socialego_all_annotates_in_the_same_process():
    """socialego_all --annotate: the annotator runs beside the in-process intent node (the pose
    node is left out: the test publishes image and poses itself) and draws what it decides."""
    runner = ("socialego_inference", "socialego_all")
    require_ros(runner)
    from sensor_msgs.msg import Image

    domain = unique_domain_id()
    params = {**PARAMS, "stale_after_s": 60.0, "max_track_gap_s": 60.0}
    node = NodeProcess(*runner, domain, params, extra_args=["--no-pose", "--annotate"])
    client = RosClient(domain, "annotator_all_test")
    try:
        assert node.wait_for_log("annotator configured", timeout=90), node.log()
        images = client.collect(Image, "/socialego/annotated")
        feed = Feeder(client)

        def labelled() -> bool:  # the box of track 7 in the colour of a decided intent
            return bool(images) and tuple(pixels(images[-1])[250, 201]) in (
                (40, 200, 60),
                (255, 170, 0),
                (70, 130, 255),
                (128, 128, 128),
            )

        assert feed.until(labelled, ["7"], None, 90), node.log()
        assert images[-1].header.frame_id == FRAME_ID
        assert node.alive()
    finally:
        client.close()
        code = node.stop()
    assert code in (0, -2, 130), node.log()


def test_compressed_camera_input():
    """input_type: compressed reads image/compressed (JPEG) and draws on the decoded image."""
    require_ros(EXE)
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CompressedImage, Image

    domain = unique_domain_id()
    node = NodeProcess(*EXE, domain, {**PARAMS, "input_type": "compressed"})
    client = RosClient(domain, "annotator_compressed_test")
    try:
        assert node.wait_for_log("annotator configured", timeout=60), node.log()
        images = client.collect(Image, "/socialego/annotated")
        feed = Feeder(client)
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        jpeg_pub = client.node.create_publisher(CompressedImage, "/image/compressed", qos)
        ok, jpeg = cv2.imencode(".jpg", np.full((H, W, 3), 20, np.uint8))
        assert ok

        def green() -> bool:  # drawn with the intent (the first image may precede it)
            return bool(images) and tuple(pixels(images[-1])[250, 201]) == GREEN

        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and not green():
            feed.t += 0.1
            msg = CompressedImage(format="jpeg", data=jpeg.tobytes())
            msg.header.stamp, msg.header.frame_id = stamp_of(feed.t), FRAME_ID
            feed.intents.publish(intents_msg("7"))
            jpeg_pub.publish(msg)
            feed.poses.publish(poses_msg(feed.t, ["7"]))
            client.spin_for(0.1)
        assert green(), node.log()
        assert "/image/compressed" in node.log()
    finally:
        client.close()
        code = node.stop()
    assert code in (0, -2, 130), node.log()
