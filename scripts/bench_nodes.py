#!/usr/bin/env python3
"""Benchmarks of the ROS nodes on this machine (prints figures; asserts nothing).

1. Pose backends: frames per second at 640x480 (decode + estimator + tracker, in process) on
   real footage (Sports2D demo, two people), per available backend.
2. Intent node (separate process, real DDS): time per inference tick (from its diagnostics),
   pose-message -> intent-message latency and resident memory (VmRSS from /proc after the
   run) with 1, 5 and 20 people, before (PyTorch, 30 Hz timer) and after (ONNX Runtime, tick
   on pose arrival) in the same run.
   In process (``--only stages``): the tick's stages (the intent engine's windows / forward /
   hysteresis, then the node's messages) with 1, 5 and 20 people, PyTorch and ONNX Runtime.
3. End to end (pose node + intent node processes): images published at --camera-fps, latency
   from the image's header stamp to the arrival of the intent carrying it, and images per
   second the pose node keeps up with; before and after as in 2.

    source setup.env && python scripts/bench_nodes.py [--frames 60] [--yolo-model m.onnx]

Targets (idle machine, 1 thread): 15 images/s end to end with the default estimator, image ->
intent p95 <= 60 ms; an intent-node tick <= 2 ms with 20 people; intent node <= 150 MB resident
at 20 people with ONNX Runtime.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from socialego_core import topics

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts" / "harness"))  # footage + node process harness


def pad_to_640x480(rgb: np.ndarray) -> np.ndarray:
    """A 640-wide frame padded (not stretched: stretching hides people from MediaPipe) to
    640x480."""
    out = np.zeros((480, 640, 3), np.uint8)
    top = (480 - rgb.shape[0]) // 2
    out[top : top + rgb.shape[0]] = rgb[:480]
    return out


def pct(values, q):
    return float(np.percentile(values, q)) if values else float("nan")


# the intent node before this change's defaults and after them, compared in one run
NODE_CONFIGS = {
    "before: PyTorch, 30 Hz timer": {"runtime": "torch", "tick_on_pose": False},
    "after: ONNX Runtime, tick on pose": {"runtime": "onnx", "tick_on_pose": True},
    "after, int8 model (opt-in): ONNX Runtime, tick on pose": {
        "runtime": "onnx",
        "tick_on_pose": True,
        "quantize": "int8",  # turned into model_path by node_parameters
    },
}
# the model variants of the in-process stage figures: name -> (runtime, quantize)
VARIANTS = {
    "PyTorch eager": ("torch", "none"),
    "ONNX Runtime": ("onnx", "none"),
    "ONNX Runtime, int8 recurrence": ("onnx", "int8"),
}


def node_parameters(config: dict) -> dict:
    """Intent-node parameters of a NODE_CONFIGS entry (``quantize`` picks the shipped file)."""
    from socialego_inference.intent_node import default_model_path

    params = {k: v for k, v in config.items() if k != "quantize"}
    if config.get("quantize", "none") != "none":
        params["model_path"] = default_model_path(config["runtime"], config["quantize"])
    return params


def resident_mb(pid: int) -> float:
    """VmRSS of process ``pid`` in MB (from /proc; NaN where there is no /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def bench_backends(args) -> dict[str, float]:
    from footage import FILES, video_frames
    from socialego_perception.backends import BackendError, create_backend
    from socialego_perception.tracking import PoseTracker

    if not FILES["sports2d_demo.mp4"].is_file():
        print("  footage missing: run scripts/fetch_footage.sh")
        return {}

    frames = [
        pad_to_640x480(f)
        for f in video_frames("sports2d_demo.mp4", count=args.frames, step=2, start=0, width=640)
    ]
    configs = [
        ("mediapipe (pose, max_persons 5)", "mediapipe", {"mediapipe_mode": "pose"}),
        ("mediapipe (pose, max_persons 1)", "mediapipe", {"max_persons": 1}),
        ("mediapipe (holistic, 1 person)", "mediapipe", {"mediapipe_mode": "holistic"}),
    ]
    if args.yolo_model:
        configs.append(
            ("yolo_onnx (AGPL-3.0 weights)", "yolo_onnx", {"yolo_model_path": args.yolo_model})
        )
    if args.wholebody_model:
        configs.append(
            (
                "onnx_wholebody (mediapipe boxes)",
                "onnx_wholebody",
                {"wholebody_model_path": args.wholebody_model},
            )
        )
    results = {}
    for label, name, kwargs in configs:
        try:
            backend = create_backend(name, device="cpu", threads=args.threads, **kwargs)
        except BackendError as exc:
            print(f"  {label:36s} skipped: {exc}")
            continue
        tracker = PoseTracker()
        backend.infer(frames[0])  # warm-up
        times, people = [], []
        for f in frames:
            t0 = time.perf_counter()
            tracked = tracker.update(backend.infer(f))
            times.append(time.perf_counter() - t0)
            people.append(len(tracked))
        backend.close()
        fps = 1.0 / statistics.mean(times)
        results[label] = fps
        print(
            f"  {label:36s} {fps:6.1f} frames/s  (mean {1000 * statistics.mean(times):6.1f} ms, "
            f"p95 {1000 * pct(times, 95):6.1f} ms, {statistics.mean(people):.1f} tracked/frame, "
            f"{len(frames)} frames)"
        )
    return results


def body(cx: float) -> np.ndarray:
    kp = np.zeros((133, 3), np.float32)
    kp[:17, 0] = cx + np.tile([-10.0, 10.0], 9)[:17]
    kp[:17, 1] = np.linspace(100, 420, 17)
    kp[:17, 2] = 0.9
    return kp


def bench_intent_node(args) -> None:
    for label, config in NODE_CONFIGS.items():
        print(f" {label}")
        for people in (1, 5, 20):
            _bench_intent_people(people, args, config)


def _bench_intent_people(people: int, args, config: dict) -> None:
    import array

    from builtin_interfaces.msg import Time
    from diagnostic_msgs.msg import DiagnosticArray
    from rosnode_harness import NodeProcess, RosClient, unique_domain_id

    from socialego_msgs.msg import SocialIntentArray, WholeBodyPose, WholeBodyPoseArray

    domain = unique_domain_id()
    node = NodeProcess(
        "socialego_inference",
        "intent_node",
        domain,
        {
            "inference_rate_hz": 30.0,
            "diagnostics_period_s": 0.5,
            "max_tracks": 64,
            **node_parameters(config),
        },
        {"__ns": args.namespace},
    )
    client = RosClient(domain)
    pub = client.node.create_publisher(
        WholeBodyPoseArray, topics.absolute(topics.POSES, args.namespace), 10
    )
    intents = client.collect(SocialIntentArray, topics.absolute(topics.INTENTS, args.namespace))
    diags = client.collect(DiagnosticArray, "/diagnostics")
    client.spin_until(lambda: pub.get_subscription_count() > 0 and intents, 90)
    sent: dict[tuple[int, int], float] = {}
    latencies: list[float] = []
    seen: set[tuple[int, int]] = set()

    def on_intent(msg):
        key = (msg.header.stamp.sec, msg.header.stamp.nanosec)
        if msg.intents and key in sent and key not in seen:
            seen.add(key)
            latencies.append(time.monotonic() - sent[key])

    client.node.create_subscription(
        SocialIntentArray, topics.absolute(topics.INTENTS, args.namespace), on_intent, 10
    )
    duration, rate = args.intent_seconds, 30.0
    start = time.monotonic()
    i = 0
    while time.monotonic() - start < duration:
        t = time.time()
        stamp = Time(sec=int(t), nanosec=int((t - int(t)) * 1e9))
        msg = WholeBodyPoseArray()
        msg.header.stamp = stamp
        msg.header.frame_id = "cam"
        for k in range(people):
            kp = body(20 + 30 * k)
            pose = WholeBodyPose(track_id=str(k), layout=2, image_width=640, image_height=480)
            pose.header = msg.header
            pose.x, pose.y, pose.score = (array.array("f", kp[:, c].tolist()) for c in range(3))
            pose.track_state = 2
            msg.poses.append(pose)
        sent[(stamp.sec, stamp.nanosec)] = time.monotonic()
        pub.publish(msg)
        i += 1
        client.spin_for(max(0.0, start + i / rate - time.monotonic()))
    client.spin_for(0.5)
    rss = resident_mb(node.proc.pid)  # after warm-up and the whole run

    def diag_mean(key: str) -> float:
        values = [
            float(kv.value)
            for m in diags[len(diags) // 3 :]
            for s in m.status
            if s.name.endswith("intent_node")
            for kv in s.values
            if kv.key == key
        ]
        return statistics.mean(values) if values else float("nan")

    ticks = [diag_mean("processing_ms")]
    stages = ("windows", "forward", "hysteresis", "messages", "publish")
    split = ", ".join(f"{s} {diag_mean(f'tick_{s}_ms'):.2f}" for s in stages)
    print(
        f"  {people:2d} people: intent-node time per tick {statistics.mean(ticks):5.2f} ms "
        f"(EMA from /diagnostics); pose msg -> intent msg latency median "
        f"{1000 * statistics.median(latencies):5.1f} ms, p95 {1000 * pct(latencies, 95):5.1f} "
        f"ms ({len(latencies)} poses at 30 Hz)\n      tick stages (ms): {split}; "
        f"resident memory {rss:.0f} MB"
    )
    client.close()
    node.stop()


def bench_intent_stages(args) -> None:
    """Per-stage time of one intent-node tick in process: the engine's stages (windows, forward,
    hysteresis) and the node's message building, with 1, 5 and 20 people at 30 Hz, on PyTorch
    and on ONNX Runtime (1 thread each)."""
    import rclpy
    from socialego_core.intent_engine import ENGINE_STAGES, IntentEngine
    from socialego_core.model_loader import load_predictor
    from socialego_core.track_buffers import OnlineConfig
    from socialego_inference.intent_messages import IntentMessageBuilder
    from socialego_inference.intent_node import default_model_path
    from socialego_ros.stamps import time_msg

    stages = (*ENGINE_STAGES, "messages", "tick", "add_pose")
    medians: dict[tuple[str, int, str], float] = {}
    rclpy.init()  # message classes only; nothing is published
    try:
        predictors = {
            name: load_predictor(default_model_path(rt, quantize), rt, threads=1)
            for name, (rt, quantize) in VARIANTS.items()
        }
        builders = {rt: IntentMessageBuilder(p) for rt, p in predictors.items()}
        rng = np.random.default_rng(0)
        for people in (1, 5, 20):
            engines = {
                rt: IntentEngine(p, OnlineConfig(max_tracks=64)) for rt, p in predictors.items()
            }
            times = {(rt, stage): [] for rt in VARIANTS for stage in stages}
            ticks = []  # the same poses for every variant
            for k in range(args.stage_ticks + 40):
                poses = [body(20 + 30 * p) for p in range(people)]
                for kp in poses:
                    kp[:17, :2] += rng.normal(0, 4, (17, 2))
                ticks.append((1000.0 + k / 30.0, poses))
            # the variants take turns in rounds of 20 ticks: the same load on the CPU for each,
            # and each engine's caches stay its own within a round (as on a robot, one engine)
            for first in range(0, len(ticks), 20):
                for rt, engine in engines.items():
                    for k in range(first, min(first + 20, len(ticks))):
                        t, poses = ticks[k]
                        t0 = time.perf_counter()
                        for p, kp in enumerate(poses):
                            engine.add_pose(str(p), t, kp, 640.0, 480.0, 2)
                        t1 = time.perf_counter()
                        result = engine.tick(t + 0.002)
                        t2 = time.perf_counter()
                        builders[rt].array(result, time_msg(t + 0.002))
                        t3 = time.perf_counter()
                        if k >= 40:  # windows full (0.9 s) and caches warm
                            times[rt, "add_pose"].append((t1 - t0) * 1000)
                            times[rt, "messages"].append((t3 - t2) * 1000)
                            times[rt, "tick"].append((t3 - t1) * 1000)
                            for stage in ENGINE_STAGES:
                                times[rt, stage].append(result.stage_ms[stage])
            for (rt, stage), values in times.items():
                medians[rt, people, stage] = statistics.median(values)
    finally:
        rclpy.shutdown()
    labels = {"tick": "tick (engine + messages)", "add_pose": "add_pose (all people)"}
    print(f"  median ms of {args.stage_ticks} ticks, 1 thread")
    names = list(VARIANTS)
    print(
        "  | people | stage | "
        + " | ".join(names)
        + " | "
        + " | ".join(f"PyTorch / {n}" for n in names[1:])
        + " |"
    )
    print("  |---|---|" + "---|" * (2 * len(names) - 1))
    for people in (1, 5, 20):
        for stage in stages:
            ms = [medians[n, people, stage] for n in names]
            print(
                f"  | {people} | {labels.get(stage, stage)} | "
                + " | ".join(f"{v:.3f}" for v in ms)
                + " | "
                + " | ".join(f"{ms[0] / max(v, 1e-9):.1f}x" for v in ms[1:])
                + " |"
            )


def bench_end_to_end(args) -> None:
    for label, config in NODE_CONFIGS.items():
        print(f" intent node {label}")
        _end_to_end(args, config)


def _end_to_end(args, config: dict) -> None:
    from footage import FILES, video_frames
    from rosnode_harness import NodeProcess, RosClient, unique_domain_id
    from sensor_msgs.msg import Image
    from socialego_perception.conversions import fill_image_msg

    from socialego_msgs.msg import SocialIntentArray, WholeBodyPoseArray

    if not FILES["sports2d_demo.mp4"].is_file():
        print("  footage missing: run scripts/fetch_footage.sh")
        return
    frames = [
        pad_to_640x480(f)
        for f in video_frames("sports2d_demo.mp4", count=args.frames, step=1, start=0, width=640)
    ]
    domain = unique_domain_id()
    pose = NodeProcess(
        "socialego_perception",
        "pose_node",
        domain,
        # reliable, depth 1: the newest image always arrives whole (a 921 kB best-effort image
        # can lose fragments on loopback under load); older ones are still dropped when busy
        {"max_persons": 3, "diagnostics_period_s": 1.0, "image_reliability": "reliable"},
        {"image": topics.CAMERA_IMAGE, "__ns": args.namespace},
    )
    intent = NodeProcess(
        "socialego_inference",
        "intent_node",
        domain,
        {"inference_rate_hz": 30.0, **node_parameters(config)},
        {"__ns": args.namespace},
    )
    client = RosClient(domain)
    pub = client.node.create_publisher(Image, topics.CAMERA_IMAGE, 1)
    poses = client.collect(WholeBodyPoseArray, topics.absolute(topics.POSES, args.namespace))
    intents_rx: list[tuple[float, object]] = []
    client.node.create_subscription(
        SocialIntentArray,
        topics.absolute(topics.INTENTS, args.namespace),
        lambda m: intents_rx.append((time.time(), m)),
        10,
    )
    client.spin_until(
        lambda: (
            pub.get_subscription_count() > 0
            and client.node.count_publishers(topics.absolute(topics.INTENTS, args.namespace)) > 0
        ),
        120,
    )
    # warm-up until the pose node answers
    warm = fill_image_msg(Image(), frames[0])
    client.spin_until(lambda: (pub.publish(warm), len(poses) > 0)[1], 60)
    sent_stamps = set()
    n_poses_before = len(poses)
    start = time.monotonic()
    for i, rgb in enumerate(frames):
        msg = fill_image_msg(Image(), rgb)
        t = time.time()
        msg.header.stamp.sec, msg.header.stamp.nanosec = int(t), int((t - int(t)) * 1e9)
        msg.header.frame_id = "cam"
        sent_stamps.add((msg.header.stamp.sec, msg.header.stamp.nanosec))
        pub.publish(msg)
        client.spin_for(max(0.0, start + (i + 1) / args.camera_fps - time.monotonic()))
    elapsed = time.monotonic() - start
    client.spin_for(1.0)
    processed = len(poses) - n_poses_before
    latency = {}
    for rx, m in intents_rx:
        for it in m.intents:
            key = (it.header.stamp.sec, it.header.stamp.nanosec)
            if key in sent_stamps and key not in latency:
                latency[key] = rx - (key[0] + key[1] * 1e-9)
    values = list(latency.values())
    print(
        f"  camera {args.camera_fps:.0f} images/s for {elapsed:.1f} s: pose node processed "
        f"{processed}/{len(frames)} images = {processed / elapsed:.1f} images/s"
    )
    if values:
        print(
            f"  image stamp -> intent arrival: median {1000 * statistics.median(values):.0f} ms, "
            f"p95 {1000 * pct(values, 95):.0f} ms over {len(values)} stamped intents"
        )
    else:
        print("  no intent carried an image stamp (nobody tracked?)")
    client.close()
    pose.stop()
    intent.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60, help="frames per measurement")
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0=default)")
    parser.add_argument("--yolo-model", default="", help="YOLO-pose .onnx to include")
    parser.add_argument("--wholebody-model", default="", help="RTMW/DWPose .onnx to include")
    parser.add_argument("--intent-seconds", type=float, default=6.0)
    parser.add_argument("--camera-fps", type=float, default=15.0)
    parser.add_argument("--stage-ticks", type=int, default=200, help="ticks per stage figure")
    parser.add_argument("--only", choices=("backends", "intent", "stages", "e2e"), default=None)
    parser.add_argument("--namespace", default="", help="run the nodes in this namespace")
    args = parser.parse_args()
    args.namespace = topics.namespace_of(args.namespace)
    import os
    import platform

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    if args.only in (None, "backends"):
        print("pose backends at 640x480 (decode excluded; estimator + tracker):")
        bench_backends(args)
    if args.only in (None, "intent"):
        print("intent node (separate process, DDS):")
        bench_intent_node(args)
    if args.only in (None, "stages"):
        print("intent engine stages + message building (in process, no DDS):")
        bench_intent_stages(args)
    if args.only in (None, "e2e"):
        print("end to end (pose node + intent node processes, default backend):")
        bench_end_to_end(args)


if __name__ == "__main__":
    main()
