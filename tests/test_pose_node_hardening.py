"""The pose node against images a robot can send by mistake, over real DDS: a decompression
bomb (a tiny JPEG declaring 20000 x 20000 pixels), raw images of absurd or tiny declared size
and raw data longer than ``height * step`` are dropped before decoding, warned about naming the
topic and counted in /diagnostics; and SIGINT while images are in flight never makes the node
exit with an error."""

from __future__ import annotations

import array
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from footage import read_rgb
from rosnode_harness import NodeProcess, RosClient, require_ros, unique_domain_id

POSE = ("socialego_perception", "pose_node")
TOPIC = "/camera/image_raw"


def stamp_of(seconds: float):
    from builtin_interfaces.msg import Time

    sec = int(seconds)
    return Time(sec=sec, nanosec=int(round((seconds - sec) * 1e9)))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def jpeg(rgb: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", rgb[..., ::-1])
    assert ok
    return buf.tobytes()


def jpeg_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A real 16 x 16 JPEG whose frame header is patched to declare ``width`` x ``height``."""
    data = bytearray(jpeg(np.zeros((16, 16, 3), np.uint8)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def compressed(data: bytes, t: float):
    from sensor_msgs.msg import CompressedImage

    msg = CompressedImage(format="jpeg", data=array.array("B", data))
    msg.header.stamp = stamp_of(t)
    msg.header.frame_id = "camera_optical"
    return msg


def warnings_of(client_diagnostics, node_name: str) -> dict[str, int]:
    for msg in reversed(client_diagnostics):
        for status in msg.status:
            if status.name.endswith(node_name):
                return {
                    kv.key.removeprefix("warnings."): int(kv.value)
                    for kv in status.values
                    if kv.key.startswith("warnings.")
                }
    return {}


class PoseNodeUnderTest:
    """A pose node process (raw or compressed input on TOPIC) and a client that feeds it."""

    def __init__(self, input_type: str) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from sensor_msgs.msg import CompressedImage, Image

        from socialego_msgs.msg import WholeBodyPoseArray

        domain = unique_domain_id()
        params = {
            "diagnostics_period_s": 0.3,
            "max_persons": 2,
            "input_type": input_type,
            "image_reliability": "reliable",
            "image_qos_depth": 5,
        }
        remaps = {"image": TOPIC, "image/compressed": TOPIC + "/compressed"}
        self.node = NodeProcess(*POSE, domain, params, remaps)
        self.client = RosClient(domain)
        if input_type == "compressed":
            self.pub = self.client.node.create_publisher(CompressedImage, TOPIC + "/compressed", 5)
        else:
            self.pub = self.client.node.create_publisher(Image, TOPIC, 5)
        self.poses = self.client.collect(WholeBodyPoseArray, "/socialego/poses")
        self.diagnostics = self.client.collect(DiagnosticArray, "/diagnostics")
        ok = self.client.spin_until(lambda: self.pub.get_subscription_count() > 0, 90)
        assert ok, self.node.log()
        assert self.client.spin_until(lambda: "configured" in self.node.log(), 90), self.node.log()

    def answered(self, t: float, timeout: float = 60.0) -> bool:
        stamp = stamp_of(t)
        return self.client.spin_until(
            lambda: any(p.header.stamp == stamp for p in self.poses), timeout
        )

    def warnings(self) -> dict[str, int]:
        self.client.spin_for(0.5)
        return warnings_of(self.diagnostics, "pose_node")

    def close(self) -> int | None:
        self.client.close()
        return self.node.stop()


@pytest.fixture(scope="module")
def raw_node():
    require_ros(POSE)
    node = PoseNodeUnderTest("raw")
    yield node
    node.close()


def raw_image(t: float, height: int, width: int, data: bytes, step: int | None = None):
    from sensor_msgs.msg import Image

    msg = Image(height=height, width=width, encoding="rgb8", step=step or width * 3)
    msg.data = array.array("B", data)
    msg.header.stamp = stamp_of(t)
    return msg


def test_raw_images_of_absurd_size_too_much_data_or_tiny_are_dropped(raw_node):
    good = read_rgb("basketball1.png")
    h, w = good.shape[:2]
    cases = [
        raw_image(9000.0, 20000, 20000, bytes(64)),  # declares 400 Mpx, carries 64 bytes
        raw_image(9001.0, h, w, good.tobytes() + bytes(10)),  # 10 bytes too many
        raw_image(9002.0, 1, 1, bytes(3)),
    ]
    for msg in cases:
        raw_node.pub.publish(msg)
        raw_node.client.spin_for(0.3)
    raw_node.pub.publish(raw_image(9003.0, h, w, good.tobytes()))
    assert raw_node.answered(9003.0), raw_node.node.log()
    assert not any(p.header.stamp.sec in (9000, 9001, 9002) for p in raw_node.poses)
    log = raw_node.node.log()
    assert f"[image_too_large] image on {TOPIC} dropped" in log
    assert "20000x20000 = 400000000 pixels, more than max_image_pixels = 40000000" in log
    assert f"image data has {good.size + 10} bytes, expected" in log
    assert "1x1 is smaller than 16 px a side" in log
    counts = raw_node.warnings()
    for kind in ("image_too_large", "bad_image", "image_too_small"):
        assert counts.get(kind, 0) >= 1, (kind, counts)


def test_compressed_bomb_is_dropped_before_decoding_and_sigint_never_fails():
    """The bomb costs neither memory nor time; then SIGINT while a stream of images is in
    flight ends the node with exit code 0, three times over (the race was 1 in 7)."""
    require_ros(POSE)
    good = jpeg(read_rgb("basketball1.png"))
    for attempt in range(3):
        under = PoseNodeUnderTest("compressed")
        try:
            if attempt == 0:
                under.pub.publish(compressed(good, 9100.0))
                assert under.answered(9100.0, 120), under.node.log()  # warm: model loaded
                before = rss_mb(under.node.proc.pid)
                bomb = jpeg_bomb()
                assert len(bomb) < 1000
                t0 = time.monotonic()
                under.pub.publish(compressed(bomb, 9101.0))
                under.pub.publish(compressed(good, 9102.0))
                assert under.answered(9102.0, 20), under.node.log()
                assert time.monotonic() - t0 < 5.0
                assert rss_mb(under.node.proc.pid) < before + 200
                assert not any(p.header.stamp.sec == 9101 for p in under.poses)
                log = under.node.log()
                assert f"[image_too_large] image on {TOPIC}/compressed dropped" in log
                assert "declares 20000x20000 = 400000000 pixels" in log
                assert under.warnings().get("image_too_large", 0) == 1
            for i in range(40):  # a stream in flight, then SIGINT
                under.pub.publish(compressed(good, 9200.0 + i / 30))
                under.client.spin_for(0.01)
        finally:
            code = under.close()
        log = under.node.log_path.read_text(errors="replace")
        assert code == 0, f"attempt {attempt}: exit code {code}\n{log}"
        assert "Traceback" not in log, log


def test_an_error_from_a_shut_down_context_ends_spinning_quietly(monkeypatch):
    """What SIGINT mid-take raises (rclpy's RuntimeError from _take_subscription) ends the node
    quietly once the context is shut down; the same error while it runs is still raised."""
    require_ros(POSE)
    import rclpy
    from socialego_ros.main import spin_until_shutdown

    def take_after_shutdown():
        raise RuntimeError("Unable to convert call argument '0' to Python object")

    monkeypatch.setenv("ROS_DOMAIN_ID", str(unique_domain_id()))
    rclpy.init()
    try:
        with pytest.raises(RuntimeError, match="Unable to convert"):
            spin_until_shutdown(take_after_shutdown)
    finally:
        rclpy.shutdown()
    spin_until_shutdown(take_after_shutdown)  # the context is gone: no error
