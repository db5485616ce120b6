"""Pose node (and gaze node, and pose -> intent end to end) as separate processes over DDS.

Real people: basketball1.png (Debian opencv-doc) and the walking man of the stream-pose-ml
wheel (scripts/fetch_footage.sh). Images are published one at a time (each waits for its
output), as a throttled camera would.
"""

from __future__ import annotations

import array
import time

import numpy as np
import pytest
from footage import read_rgb, video_frames
from rosnode_harness import NodeProcess, RosClient, require_ros, unique_domain_id

FRAME_ID = "camera_optical"
POSE = ("socialego_perception", "pose_node")
GAZE = ("socialego_perception", "gaze_node")
INTENT = ("socialego_inference", "intent_node")


def stamp_of(seconds: float):
    from builtin_interfaces.msg import Time

    sec = int(seconds)
    return Time(sec=sec, nanosec=int(round((seconds - sec) * 1e9)))


def image_msg(rgb: np.ndarray, t: float, encoding: str = "rgb8"):
    from sensor_msgs.msg import Image
    from socialego_perception.conversions import fill_image_msg

    msg = fill_image_msg(Image(), rgb, encoding)
    msg.header.stamp = stamp_of(t)
    msg.header.frame_id = FRAME_ID
    return msg


def same_stamp(a, b) -> bool:
    return a.sec == b.sec and a.nanosec == b.nanosec


class Camera:
    """Publishes one image and waits for the pose array with its stamp."""

    def __init__(self, client: RosClient, raw_topic="/camera/image_raw") -> None:
        from sensor_msgs.msg import CompressedImage, Image

        from socialego_msgs.msg import WholeBodyPoseArray

        self.client = client
        self.raw = client.node.create_publisher(Image, raw_topic, 1)
        self.compressed = client.node.create_publisher(
            CompressedImage, raw_topic + "/compressed", 1
        )
        self.poses = client.collect(WholeBodyPoseArray, "/socialego/poses")

    def send(self, msg, timeout: float = 60.0):
        """Publish and return the pose array whose header matches, or None."""
        is_compressed = msg.__class__.__name__ == "CompressedImage"
        publisher = self.compressed if is_compressed else self.raw
        found = {}

        def match() -> bool:
            for out in reversed(self.poses):
                if same_stamp(out.header.stamp, msg.header.stamp):
                    found["out"] = out
                    return True
            return False

        # best effort + fresh discovery can drop a first image: resend until it is answered
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            publisher.publish(msg)
            if self.client.spin_until(match, min(3.0, deadline - time.monotonic())):
                break
        return found.get("out")


@pytest.fixture(scope="module")
def ros():
    require_ros(POSE, GAZE)
    from diagnostic_msgs.msg import DiagnosticArray

    domain = unique_domain_id()
    params = {"diagnostics_period_s": 0.5, "max_persons": 3}
    remap = {"image": "/camera/image_raw"}
    # a raw 640x480 image (921 kB) is larger than Linux's default UDP receive buffer: under
    # load, best effort can lose every fragmented copy of it, so the raw-image node takes them
    # reliably; the compressed-image node (small JPEGs) keeps the default best-effort QoS
    pose = NodeProcess(*POSE, domain, {**params, "image_reliability": "reliable"}, remap)
    compressed = NodeProcess(
        *POSE,
        domain,
        {**params, "input_type": "compressed"},
        {
            "image/compressed": "/camera2/image_raw/compressed",
            "__node": "pose_node_compressed",
            "socialego/poses": "/camera2/poses",
        },
    )
    client = RosClient(domain)
    camera = Camera(client)
    env = {
        "pose": pose,
        "compressed": compressed,
        "client": client,
        "camera": camera,
        "diagnostics": client.collect(DiagnosticArray, "/diagnostics"),
    }
    ok = client.spin_until(
        lambda: (
            camera.raw.get_subscription_count() > 0
            and camera.poses is not None
            and client.node.count_publishers("/socialego/poses") > 0
        ),
        90,
    )
    assert ok, pose.log()
    # warm up: the first image waits for discovery on both sides and the model's first run
    warm = camera.send(image_msg(np.zeros((480, 640, 3), np.uint8), 1.0), timeout=180)
    assert warm is not None, pose.log()
    yield env
    client.close()
    pose.stop()
    compressed.stop()


def test_pose_arrays_copy_the_header_and_track_the_player(ros):
    rgb = read_rgb("basketball1.png")
    outputs = []
    for i in range(4):  # a track is confirmed after initialization_delay (2) matches
        msg = image_msg(rgb, 1000.0 + i / 30)
        out = ros["camera"].send(msg)
        assert out is not None, ros["pose"].log()
        assert out.header.frame_id == FRAME_ID and same_stamp(out.header.stamp, msg.header.stamp)
        outputs.append(out)
    last = outputs[-1]
    assert len(last.poses) >= 1, ros["pose"].log()
    pose = max(last.poses, key=lambda p: p.detection_score)
    assert pose.layout == 2 and len(pose.x) == len(pose.y) == len(pose.score) == 133
    assert pose.image_width == 640 and pose.image_height == 480
    assert pose.track_id and pose.track_state == 2
    assert same_stamp(pose.header.stamp, last.header.stamp)
    assert 0 <= pose.bbox_x and pose.bbox_x + pose.bbox_width <= 640 and pose.bbox_height > 150
    score = np.asarray(pose.score)
    assert (score[:17] > 0.5).sum() >= 12 and score[23:91].max() == 0
    ids = {p.track_id for p in outputs[-1].poses} & {p.track_id for p in outputs[-2].poses}
    assert ids, "the same player must keep the same track id"


@pytest.mark.parametrize("encoding", ["bgr8", "rgba8", "mono8"])
def test_other_encodings_are_converted(ros, encoding):
    rgb = read_rgb("basketball1.png")
    msg = image_msg(rgb, 2000.0 + ord(encoding[0]) + len(encoding) / 10, encoding)
    out = ros["camera"].send(msg)
    assert out is not None, ros["pose"].log()
    if encoding != "mono8":  # colour images of the same player: still found
        assert len(out.poses) >= 1


def test_compressed_input(ros):
    import cv2
    from sensor_msgs.msg import CompressedImage

    from socialego_msgs.msg import WholeBodyPoseArray

    client = ros["client"]
    pub = client.node.create_publisher(CompressedImage, "/camera2/image_raw/compressed", 1)
    outs = client.collect(WholeBodyPoseArray, "/camera2/poses")
    assert client.spin_until(lambda: pub.get_subscription_count() > 0, 60), ros["compressed"].log()
    ok, jpeg = cv2.imencode(".jpg", read_rgb("basketball1.png")[..., ::-1])
    for i in range(4):
        msg = CompressedImage(format="jpeg", data=array.array("B", jpeg.tobytes()))
        msg.header.stamp = stamp_of(3000.0 + i)
        msg.header.frame_id = FRAME_ID
        pub.publish(msg)
        client.spin_until(lambda i=i: any(o.header.stamp.sec == 3000 + i for o in outs), 20)
    assert [o.header.stamp.sec for o in outs][-1] == 3003, ros["compressed"].log()
    assert len(outs[-1].poses) >= 1


def test_blank_image_gives_an_empty_heartbeat(ros):
    out = ros["camera"].send(image_msg(np.zeros((480, 640, 3), np.uint8), 4000.0))
    assert out is not None and len(out.poses) == 0


def test_bad_images_are_survived(ros):
    from sensor_msgs.msg import Image

    bad = []
    depth = Image(height=4, width=4, encoding="16UC1", step=8, data=array.array("B", bytes(32)))
    bad.append(depth)
    bad.append(
        Image(height=4, width=4, encoding="yuv422", step=8, data=array.array("B", bytes(32)))
    )
    bad.append(
        Image(height=480, width=640, encoding="rgb8", step=1920, data=array.array("B", bytes(99)))
    )
    bad.append(Image(height=0, width=0, encoding="rgb8", step=0))
    for i, msg in enumerate(bad):
        msg.header.stamp = stamp_of(5000.0 + i)
        ros["camera"].raw.publish(msg)
        ros["client"].spin_for(0.3)
    assert ros["pose"].alive()
    log = ros["pose"].log()
    assert "[bad_image]" in log and "unsupported image encoding '16UC1'" in log
    # still working
    out = ros["camera"].send(image_msg(read_rgb("basketball1.png"), 5100.0))
    assert out is not None and len(out.poses) >= 1


def test_walking_man_keeps_one_track_id(ros):
    frames = video_frames("stream_pose_ml_walk.webm", count=15, step=4, start=40)
    ids = []
    for i, rgb in enumerate(frames):
        out = ros["camera"].send(image_msg(rgb, 6000.0 + i / 7.5))
        assert out is not None, ros["pose"].log()
        ids += [p.track_id for p in out.poses]
    assert len(ids) >= 0.7 * len(frames)
    assert ids.count(max(set(ids), key=ids.count)) >= 0.8 * len(ids), ids


def test_pose_diagnostics(ros):
    assert ros["client"].spin_until(lambda: len(ros["diagnostics"]) > 0, 10)
    status = [s for m in ros["diagnostics"] for s in m.status if s.name.endswith("/pose_node")]
    values = {kv.key: kv.value for kv in status[-1].values}
    assert int(values["images_processed"]) > 0 and float(values["processing_ms"]) > 0
    assert {"input_rate_hz", "stamp_latency_ms", "active_tracks", "backend"} <= set(values)


def test_missing_backend_model_fails_configure_naming_the_file(tmp_path):
    require_ros(POSE)
    missing = tmp_path / "yolo11n-pose.onnx"
    node = NodeProcess(
        *POSE, unique_domain_id(), {"backend": "yolo_onnx", "yolo_model_path": str(missing)}
    )
    try:
        assert node.wait_for_log("configure failed", 60), node.log()
        assert f"{missing} does not exist" in node.log()
        assert node.alive()
    finally:
        node.stop()


def test_gaze_node_matches_poses_by_header():
    require_ros(GAZE)
    from socialego_msgs.msg import GazeFeaturesArray, WholeBodyPose, WholeBodyPoseArray

    domain = unique_domain_id()
    node = NodeProcess(*GAZE, domain, {"diagnostics_period_s": 0.5})
    client = RosClient(domain)
    try:
        pub = client.node.create_publisher(WholeBodyPoseArray, "/socialego/poses", 10)
        gaze = client.collect(GazeFeaturesArray, "/socialego/gaze")
        assert client.spin_until(lambda: pub.get_subscription_count() > 0, 60), node.log()
        kp = np.zeros((133, 3), np.float32)
        kp[0] = (320, 111, 0.9)  # nose
        kp[1] = (330, 100, 0.9)  # left eye (image right)
        kp[2] = (310, 100, 0.9)
        msg = WholeBodyPoseArray()
        msg.header.stamp = stamp_of(7000.5)
        msg.header.frame_id = FRAME_ID
        good = WholeBodyPose(track_id="7", layout=2, image_width=640, image_height=480)
        good.header = msg.header
        good.x, good.y, good.score = (array.array("f", kp[:, i].tolist()) for i in range(3))
        broken = WholeBodyPose(track_id="8", layout=2)
        broken.x = array.array("f", [1.0, 2.0])
        msg.poses = [broken, good]
        pub.publish(msg)
        assert client.spin_until(lambda: len(gaze) > 0, 20), node.log()
        out = gaze[-1]
        assert same_stamp(out.header.stamp, msg.header.stamp) and out.header.frame_id == FRAME_ID
        assert [g.track_id for g in out.people] == ["7"]
        assert out.people[0].mutual_gaze_probability > 0.5
        assert list(out.people[0].head_point) == pytest.approx([320, 100])
        assert node.alive() and "[wrong_length]" in node.log()
    finally:
        client.close()
        node.stop()


def test_image_to_intent_end_to_end():
    """Camera images -> pose node -> intent node: intents carry the images' stamps and the
    player's track id."""
    require_ros(POSE, INTENT)
    from socialego_msgs.msg import SocialIntentArray

    domain = unique_domain_id()
    pose = NodeProcess(
        *POSE,
        domain,
        {"max_persons": 2, "image_reliability": "reliable"},
        {"image": "/camera/image_raw"},
    )
    # generous time limits: this checks headers and ids, not speed (the CPU may be shared)
    intent = NodeProcess(
        *INTENT,
        domain,
        {"inference_rate_hz": 20.0, "stale_after_s": 60.0, "max_track_gap_s": 60.0},
    )
    client = RosClient(domain)
    try:
        camera = Camera(client)
        intents = client.collect(SocialIntentArray, "/socialego/intents")
        ok = client.spin_until(
            lambda: camera.raw.get_subscription_count() > 0 and len(intents) > 0, 90
        )
        assert ok, pose.log() + intent.log()
        rgb = read_rgb("basketball1.png")
        sent = []
        for _ in range(8):
            msg = image_msg(rgb, time.time())
            sent.append(msg.header.stamp)
            assert camera.send(msg) is not None, pose.log()
        client.spin_for(0.3)
        last = intents[-1]
        assert last.intents, intent.log()
        track_ids = {p.track_id for p in camera.poses[-1].poses}
        person = next(i for i in last.intents if i.track_id in track_ids)
        assert same_stamp(person.header.stamp, sent[-1])
        assert person.header.frame_id == FRAME_ID
        assert len(person.intent_probabilities) == 3 and person.frames_used >= 1
    finally:
        client.close()
        pose.stop()
        intent.stop()


def test_single_process_runner_runs_pose_and_intent_nodes():
    """socialego_all: pose node + intent node in one process and one executor."""
    require_ros(("socialego_inference", "socialego_all"))
    from socialego_msgs.msg import SocialIntentArray

    domain = unique_domain_id()
    both = NodeProcess(
        "socialego_inference",
        "socialego_all",
        domain,
        {
            "stale_after_s": 60.0,
            "max_track_gap_s": 60.0,
            "max_persons": 2,
            "image_reliability": "reliable",
        },
        {"image": "/camera/image_raw"},
    )
    client = RosClient(domain)
    try:
        camera = Camera(client)
        intents = client.collect(SocialIntentArray, "/socialego/intents")
        assert client.spin_until(
            lambda: camera.raw.get_subscription_count() > 0 and len(intents) > 0, 120
        ), both.log()
        rgb = read_rgb("basketball1.png")
        for _ in range(5):
            assert camera.send(image_msg(rgb, time.time())) is not None, both.log()
        client.spin_for(0.3)
        assert intents[-1].intents, both.log()
        assert both.alive()
        nodes = client.node.get_node_names()
        assert "pose_node" in nodes and "intent_node" in nodes
    finally:
        client.close()
        both.stop()
