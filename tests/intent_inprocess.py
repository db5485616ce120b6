"""Drive IntentNode in this process (no executor, no DDS peer): poses go straight into
``on_poses``, ticks are called by hand at a clock the caller sets, and every published
SocialIntentArray is kept; ``ReferenceIntentNode`` does the same with the reference engine of
tests/oracles. Used by tests/test_intent_fast_path.py. rclpy must be initialised.
"""

from __future__ import annotations

import array
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "socialego_inference" / "models" / "socialego_student_synthetic.pt"
W, H = 640, 480


class InProcessIntentNode:
    """An activated IntentNode whose clock and publisher this object controls."""

    def __init__(self, params: dict | None = None, reference: bool = False) -> None:
        from rclpy.parameter import Parameter
        from socialego_inference.intent_node import IntentNode

        overrides = [Parameter("autostart", value=False), Parameter("model_path", value=str(MODEL))]
        overrides += [Parameter(k, value=v) for k, v in (params or {}).items()]
        self.node = IntentNode(parameter_overrides=overrides)
        self.now = 0.0
        self.node.now_s = lambda: self.now  # the tick's clock, set by the caller
        self.node.trigger_configure()
        if reference:  # the same node around the per-track reference engine (tests/oracles)
            from oracles.reference_engine import ReferenceIntentEngine
            from socialego_inference.intent_node import engine_configs

            cfg = self.node.cfg
            self.node.engine = ReferenceIntentEngine(self.node.predictor, *engine_configs(cfg))
        self.node.trigger_activate()
        if not self.node.active:
            raise RuntimeError("intent node did not activate (see its log)")
        self.published: list = []
        publish = self.node.pub.publish

        def keep(msg) -> None:
            publish(msg)  # the real (serialising) publish, so timings include it
            self.published.append(msg)

        self.node.pub.publish = keep

    def poses(self, msg) -> None:
        """Deliver a pose array at the instant it is stamped (a camera without latency)."""
        self.now = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        self.node.on_poses(msg)

    def tick(self, now: float):
        self.now = now
        self.node.on_tick()
        return self.published[-1]

    def close(self) -> None:
        self.node.trigger_deactivate()
        self.node.destroy_node()


def stamp_of(seconds: float):
    from builtin_interfaces.msg import Time

    sec = int(seconds)
    return Time(sec=sec, nanosec=int(round((seconds - sec) * 1e9)))


def pose_msg(track_id: str, t: float, kp: np.ndarray, layout: int = 2, **fields):
    from socialego_msgs.msg import WholeBodyPose

    msg = WholeBodyPose()
    msg.header.stamp = stamp_of(t)
    msg.header.frame_id = "cam"
    msg.track_id = track_id
    msg.layout = layout
    msg.image_width = fields.pop("width", W)
    msg.image_height = fields.pop("height", H)
    msg.x, msg.y, msg.score = (array.array("f", kp[:, c].tolist()) for c in range(3))
    msg.track_state = fields.pop("state", 2)
    msg.person_id = fields.pop("person_id", "")
    return msg


def pose_array(t: float, poses: list):
    from socialego_msgs.msg import WholeBodyPoseArray

    msg = WholeBodyPoseArray()
    msg.header.stamp = stamp_of(t)
    msg.header.frame_id = "cam"
    msg.poses = poses
    return msg


def moving_body(rng: np.random.Generator, cx: float, n: int = 133) -> np.ndarray:
    """A person around x = cx (pixels) with jittered joints; body joints scored, rest 0."""
    kp = np.zeros((n, 3), dtype=np.float32)
    kp[:17, 0] = cx + np.tile([-10.0, 10.0], 9)[:17] + rng.normal(0, 4, 17)
    kp[:17, 1] = np.linspace(100, 420, 17) + rng.normal(0, 4, 17)
    kp[:17, 2] = rng.uniform(0.3, 1.0, 17)
    return kp


def steady_stream(people: int, frames: int, rate_hz: float = 30.0, seed: int = 0):
    """(t, WholeBodyPoseArray) at ``rate_hz`` with ``people`` tracked people (the benchmark)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(frames):
        t = 1000.0 + i / rate_hz
        poses = [pose_msg(str(k), t, moving_body(rng, 20 + 30 * k)) for k in range(people)]
        out.append((t, pose_array(t, poses)))
    return out


def churn_stream(seed: int, steps: int = 160):
    """Random input with churn, as (tick time, pose array or None) pairs: tracks appear,
    vanish (shortly and past expiry) and come back, NaN/inf keypoints, COCO-17 input, image
    size changes, repeated stamps, a track's stamps going back, coasting poses, ticks without
    poses and ticks with several pose messages, and one clock jump back (bag loop)."""
    rng = np.random.default_rng(seed)
    t = 500.0
    alive: dict[str, float] = {}  # track id -> its x position
    next_id = 0
    events = []
    loop_at = int(rng.integers(steps // 2, steps - 20))
    for step in range(steps):
        t += float(
            rng.choice([1 / 60, 1 / 30, 1 / 15, 0.1, 0.4, 1.3], p=[0.2, 0.4, 0.2, 0.1, 0.06, 0.04])
        )
        if step == loop_at:
            t -= 30.0  # bag looped
        for _ in range(int(rng.integers(0, 3))):  # new or returning tracks
            if len(alive) < 12:
                tid = str(int(rng.integers(0, next_id + 1)))  # may reuse an old id
                next_id = max(next_id, int(tid) + 1)
                alive.setdefault(tid, float(rng.uniform(20, 600)))
        for tid in list(alive):
            if rng.random() < 0.04:
                del alive[tid]
        if rng.random() < 0.15:
            events.append((t, None))  # a tick with no new pose
            continue
        poses = []
        for tid, cx in alive.items():
            if rng.random() < 0.1:
                continue  # missed in this image
            stamp = t
            if rng.random() < 0.03:
                stamp = t - float(rng.uniform(0.6, 2.0))  # this track's stamp goes back
            layout, n = (1, 17) if rng.random() < 0.1 else (2, 133)
            kp = moving_body(rng, cx, n)
            if rng.random() < 0.1:
                kp[rng.integers(0, 17), rng.integers(0, 3)] = rng.choice([np.nan, np.inf])
            fields = {"person_id": f"p{tid}" if int(tid) % 2 else ""}
            if rng.random() < 0.05:
                fields["width"], fields["height"] = 1280, 720
            if rng.random() < 0.05:
                fields["state"] = 3  # coasting (ignored by default)
            poses.append(pose_msg(tid, stamp, kp, layout, **fields))
            if rng.random() < 0.05:  # the same stamp again: the newer message wins
                poses.append(pose_msg(tid, stamp, moving_body(rng, cx, n), layout))
        events.append((t, pose_array(t, poses)))
        if rng.random() < 0.1:  # a second message before the tick
            t2 = t + 1 / 120
            poses = [pose_msg(tid, t2, moving_body(rng, cx)) for tid, cx in alive.items()]
            events.append((None, pose_array(t2, poses)))
            t = t2
    return events
