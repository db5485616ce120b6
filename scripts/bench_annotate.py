#!/usr/bin/env python3
"""Benchmark of the annotated image (prints figures; asserts nothing).

1. In process: cost per frame at 640x480 with 5 people (COCO-WholeBody: body, face and hands),
   split into decoding the camera image, drawing (socialego_core.annotate), filling the raw
   sensor_msgs/Image and JPEG-encoding the compressed one.
2. Pipeline (``--pipeline-seconds`` > 0, separate process, real DDS): CPU time of
   ``socialego_all --no-pose`` (intent node) fed images + poses at ``--fps``, without the
   annotator (absent), with it but nobody watching (off), and with a viewer on
   /socialego/annotated (on); CPU ms per image, and the ratios against "absent".

    source setup.env && python scripts/bench_annotate.py [--frames 200] [--pipeline-seconds 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts" / "harness"))
W, H, PEOPLE = 640, 480, 5


def people(rng: np.random.Generator):
    """5 whole-body people side by side, every keypoint seen, with forecasts."""
    from socialego_core.annotate import IntentValues
    from socialego_core.layouts import FACE, HANDS

    out = []
    for i in range(PEOPLE):
        x0, y0, bw, bh = 20 + i * 125, 60, 110, 380
        kp = np.zeros((133, 3), np.float32)
        kp[:, 0] = x0 + rng.uniform(0, bw, 133)
        kp[:, 1] = y0 + rng.uniform(0, bh, 133)
        kp[:, 2] = 0.9
        kp[FACE.start : FACE.stop, 1] = y0 + rng.uniform(0, 40, len(FACE))
        kp[HANDS.start : HANDS.stop, 1] = y0 + rng.uniform(150, 250, len(HANDS))
        probabilities = rng.dirichlet(np.ones(3))
        intent = IntentValues(
            intent=int(np.argmax(probabilities)) + 1,
            intent_probabilities=tuple(probabilities),
            attitude=1,
            attitude_probabilities=(0.6, 0.3, 0.1),
            action=4,
            action_probabilities=tuple(rng.dirichlet(np.ones(10))),
            input_quality=0.9,
            stale=i == 4,
        )
        out.append((str(i + 1), (x0, y0, bw, bh), kp, intent))
    return out


def timed(fn, frames: int) -> float:
    """Median ms of ``fn()`` over ``frames`` calls (after 5 warm-up calls)."""
    for _ in range(5):
        fn()
    times = []
    for _ in range(frames):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def bench_in_process(frames: int) -> None:
    import cv2
    from sensor_msgs.msg import Image
    from socialego_core.annotate import draw_people, person_view
    from socialego_perception.conversions import fill_image_msg, image_to_rgb

    rng = np.random.default_rng(0)
    camera = fill_image_msg(Image(), rng.integers(0, 255, (H, W, 3), dtype=np.uint8), "bgr8")
    rgb = image_to_rgb(camera)
    crowd = people(rng)
    views = [person_view(t, box, kp, 2, intent) for t, box, kp, intent in crowd]
    drawn = draw_people(rgb, views)
    figures = {
        "decode camera image (bgr8)": timed(lambda: image_to_rgb(camera), frames),
        "person views (labels, colours)": timed(
            lambda: [person_view(t, b, k, 2, i) for t, b, k, i in crowd], frames
        ),
        "draw 5 people": timed(lambda: draw_people(rgb, views), frames),
        "fill raw Image (rgb8)": timed(lambda: fill_image_msg(Image(), drawn, "rgb8"), frames),
        "JPEG encode (quality 80)": timed(
            lambda: cv2.imencode(".jpg", drawn[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 80]),
            frames,
        ),
    }
    total = sum(figures.values())
    print(f"1. annotated image, {W}x{H}, {PEOPLE} whole-body people, median of {frames} frames")
    for name, ms in figures.items():
        print(f"   {name:34s} {ms:7.2f} ms  ({100 * ms / total:4.1f} %)")
    print(f"   {'total per annotated frame':34s} {total:7.2f} ms  (~{1000 / total:.0f} frames/s)")
    print(f"   {'of which drawing alone':34s} {figures['draw 5 people']:7.2f} ms")
    print("   nobody watching: the annotator subscribes to no input at all (no callback)")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its threads (/proc)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_pipeline(seconds: float, fps: float) -> None:
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rosnode_harness import NodeProcess, RosClient, require_ros, unique_domain_id
    from sensor_msgs.msg import Image
    from socialego_perception.conversions import fill_image_msg
    from socialego_ros.node import floats

    from socialego_msgs.msg import WholeBodyPose, WholeBodyPoseArray

    require_ros(("socialego_inference", "socialego_all"))
    rng = np.random.default_rng(1)
    crowd = people(rng)
    frame = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    template = []
    for track, box, kp, _ in crowd:
        pose = WholeBodyPose(track_id=track, layout=2, image_width=W, image_height=H)
        pose.x, pose.y, pose.score = floats(kp[:, 0]), floats(kp[:, 1]), floats(kp[:, 2])
        pose.bbox_x, pose.bbox_y, pose.bbox_width, pose.bbox_height = box
        pose.track_state = 2
        template.append(pose)

    def run(mode: str) -> float:
        domain = unique_domain_id()
        extra = ["--no-pose"] + (["--annotate"] if mode != "absent" else [])
        params = {"stale_after_s": 60.0, "max_track_gap_s": 60.0, "image_reliability": "reliable"}
        node = NodeProcess("socialego_inference", "socialego_all", domain, params, None, extra)
        client = RosClient(domain, f"bench_annotate_{mode}")
        try:
            ready = "annotator configured" if mode != "absent" else "intent node"
            node.wait_for_log(ready, timeout=120)
            qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
            images = client.node.create_publisher(Image, "/image", qos)
            poses = client.node.create_publisher(WholeBodyPoseArray, "/socialego/poses", qos)
            received: list = []
            if mode == "on":
                client.node.create_subscription(Image, "/socialego/annotated", received.append, 10)
            client.spin_for(2.0)
            sent, cpu0, t = 0, cpu_seconds(node.proc.pid), time.time()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                t += 1.0 / fps
                stamp = {"sec": int(t), "nanosec": int((t % 1) * 1e9)}
                image = fill_image_msg(Image(), frame, "rgb8")
                image.header.stamp.sec, image.header.stamp.nanosec = stamp["sec"], stamp["nanosec"]
                array = WholeBodyPoseArray(header=image.header, poses=template)
                for pose in array.poses:
                    pose.header = image.header
                images.publish(image)
                poses.publish(array)
                sent += 1
                client.spin_for(1.0 / fps)
            cpu = cpu_seconds(node.proc.pid) - cpu0
            suffix = f", {len(received)} annotated images received" if mode == "on" else ""
            print(f"   {mode:7s} {1000 * cpu / sent:7.2f} CPU ms per image ({sent} images{suffix})")
            return cpu / sent
        finally:
            client.close()
            node.stop()

    print(f"2. socialego_all --no-pose (intent node), {fps:g} images/s for {seconds:g} s each")
    absent = run("absent")
    off = run("off")
    on = run("on")
    print(f"   off / absent = {off / absent:.2f}x, on / absent = {on / absent:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200, help="frames per in-process figure")
    parser.add_argument(
        "--pipeline-seconds", type=float, default=20.0, help="0 skips the pipeline part"
    )
    parser.add_argument("--fps", type=float, default=15.0, help="images per second (pipeline)")
    args = parser.parse_args()
    bench_in_process(args.frames)
    if args.pipeline_seconds > 0:
        bench_pipeline(args.pipeline_seconds, args.fps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
