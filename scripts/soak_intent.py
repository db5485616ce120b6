#!/usr/bin/env python3
"""Soak the intent node: endless track churn at a camera's rate, memory sampled over time.

Starts the installed ``intent_node`` in a DDS domain of its own and publishes pose arrays at
``--fps`` (15) holding ``--concurrent`` people; each person stays for 5 to 20 frames and is then
replaced by a new track id (ids are never reused: the worst case for anything keyed by id).
Every ``--sample-s`` seconds the node's resident memory (VmRSS) is sampled, with the intent
arrays received and the tracks created so far. At the end: a CSV and a PNG plot in ``--out``,
and the growth after warm-up (the least-squares slope over the samples after ``--warmup-s``).

    python scripts/soak_intent.py --minutes 30 --out docs/results   # the documented soak
    python scripts/soak_intent.py --minutes 2 --sample-s 10          # a quick look
"""

from __future__ import annotations

import argparse
import array
import csv
import sys
import time
from pathlib import Path

import numpy as np
from socialego_core import topics

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))
from rosnode_harness import NodeProcess, RosClient, unique_domain_id  # noqa: E402

W, H = 640, 480


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def stamp_of(seconds: float):
    from builtin_interfaces.msg import Time

    sec = int(seconds)
    return Time(sec=sec, nanosec=int(round((seconds - sec) * 1e9)))


def pose_msg(track_id: str, t: float, cx: float, rng: np.random.Generator):
    from socialego_msgs.msg import WholeBodyPose

    kp = np.zeros((133, 3), np.float32)
    kp[:17, 0] = cx + np.tile([-10.0, 10.0], 9)[:17] + rng.normal(0, 2, 17)
    kp[:17, 1] = np.linspace(100, 420, 17) + rng.normal(0, 2, 17)
    kp[:17, 2] = 0.9
    msg = WholeBodyPose(track_id=track_id, layout=2, image_width=W, image_height=H)
    msg.header.stamp = stamp_of(t)
    msg.header.frame_id = "camera_optical"
    msg.x = array.array("f", kp[:, 0].tobytes())
    msg.y = array.array("f", kp[:, 1].tobytes())
    msg.score = array.array("f", kp[:, 2].tobytes())
    msg.track_state = 2
    return msg


def growth_mb_per_min(rows: list[dict], warmup_s: float) -> float | None:
    after = [r for r in rows if r["elapsed_s"] >= warmup_s]
    if len(after) < 2:
        return None
    x = np.array([r["elapsed_s"] / 60 for r in after])
    y = np.array([r["rss_mb"] for r in after])
    return float(np.polyfit(x, y, 1)[0])


def plot(rows: list[dict], path: Path, title: str, warmup_s: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [r["elapsed_s"] / 60 for r in rows]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(minutes, [r["rss_mb"] for r in rows], marker="o")
    ax.axvspan(0, warmup_s / 60, color="0.9", label="warm-up")
    ax.set_xlabel("minutes of churn")
    ax.set_ylabel("intent node RSS (MB)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--concurrent", type=int, default=20, help="people in every frame")
    parser.add_argument("--sample-s", type=float, default=60.0, help="memory sample period")
    parser.add_argument("--warmup-s", type=float, default=120.0, help="excluded from the slope")
    parser.add_argument("--max-tracks", type=int, default=64, help="the node's max_tracks")
    parser.add_argument("--out", type=Path, default=None, help="write soak_intent.{csv,png} here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--namespace", default="", help="run the node in this namespace")
    parser.add_argument(
        "--runtime", choices=("auto", "torch", "onnx"), default="auto", help="the node's runtime"
    )
    args = parser.parse_args(argv)
    namespace = topics.namespace_of(args.namespace)

    from socialego_msgs.msg import SocialIntentArray, WholeBodyPoseArray

    rng = np.random.default_rng(args.seed)
    domain = unique_domain_id()
    params = {"max_tracks": args.max_tracks, "inference_rate_hz": 10.0, "runtime": args.runtime}
    node = NodeProcess(
        "socialego_inference", "intent_node", domain, params, remaps={"__ns": namespace}
    )
    client = RosClient(domain, "socialego_soak")
    pub = client.node.create_publisher(
        WholeBodyPoseArray, topics.absolute(topics.POSES, namespace), 10
    )
    intents = [0]

    def count(_msg) -> None:
        intents[0] += 1

    client.node.create_subscription(
        SocialIntentArray, topics.absolute(topics.INTENTS, namespace), count, 10
    )
    if not client.spin_until(lambda: pub.get_subscription_count() > 0, 120):
        print(node.log(), file=sys.stderr)
        return 1
    people: list[list] = []  # [track id, frames left, x]
    created = 0
    rows: list[dict] = []
    t0 = time.monotonic()
    next_sample = t0
    period = 1.0 / args.fps
    frame = 0
    print(
        f"soak: {args.minutes} min, {args.concurrent} people per frame at {args.fps} Hz, "
        f"5-20 frames per track, max_tracks {args.max_tracks}, runtime {args.runtime}, "
        f"ROS domain {domain}",
        flush=True,
    )
    try:
        while (now := time.monotonic()) - t0 < args.minutes * 60:
            if now >= next_sample:
                row = {
                    "elapsed_s": round(now - t0, 1),
                    "rss_mb": round(rss_mb(node.proc.pid), 1),
                    "tracks_created": created,
                    "intent_arrays": intents[0],
                }
                rows.append(row)
                print(
                    f"{row['elapsed_s']:8.1f} s  RSS {row['rss_mb']:7.1f} MB  tracks "
                    f"{created:7d}  intent arrays {intents[0]:7d}",
                    flush=True,
                )
                next_sample += args.sample_s
            while len(people) < args.concurrent:
                created += 1
                people.append([f"soak{created}", int(rng.integers(5, 21)), rng.uniform(40, 600)])
            t = time.time()
            msg = WholeBodyPoseArray()
            msg.header.stamp = stamp_of(t)
            msg.header.frame_id = "camera_optical"
            msg.poses = [pose_msg(tid, t, x, rng) for tid, _, x in people]
            pub.publish(msg)
            for person in people:
                person[1] -= 1
            people = [p for p in people if p[1] > 0]
            frame += 1
            client.spin_until(lambda: False, max(0.0, t0 + frame * period - time.monotonic()))
            if not node.alive():
                print("the intent node died:\n" + node.log()[-2000:], file=sys.stderr)
                return 1
        rows.append(
            {
                "elapsed_s": round(time.monotonic() - t0, 1),
                "rss_mb": round(rss_mb(node.proc.pid), 1),
                "tracks_created": created,
                "intent_arrays": intents[0],
            }
        )
    finally:
        client.close()
        node.stop()
    slope = growth_mb_per_min(rows, args.warmup_s)
    first = next((r for r in rows if r["elapsed_s"] >= args.warmup_s), rows[-1])
    summary = (
        f"after warm-up ({args.warmup_s:.0f} s): RSS {first['rss_mb']} -> {rows[-1]['rss_mb']} MB, "
        + (f"slope {slope:+.3f} MB/min" if slope is not None else "too short for a slope")
        + f"; {created} tracks created, {intents[0]} intent arrays"
    )
    print(summary)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        with open(args.out / "soak_intent.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        title = (
            f"intent node ({args.runtime} runtime), {args.concurrent} people/frame at "
            f"{args.fps:g} Hz, tracks of 5-20 frames ({created} tracks)\n{summary.split(';')[0]}"
        )
        plot(rows, args.out / "soak_intent.png", title, args.warmup_s)
        print(f"wrote {args.out / 'soak_intent.csv'} and {args.out / 'soak_intent.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
