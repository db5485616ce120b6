"""Intent node: tracked poses in, one batched student forward pass per tick, intents out.

Subscribes ``socialego/poses`` (WholeBodyPoseArray); publishes ``socialego/intents``
(SocialIntentArray, at ``inference_rate_hz``, empty as a heartbeat) and ``socialego/model_info``
(ModelInfo, latched). Window building, expiry and hysteresis live in socialego_core.online; the
model and its window spec come from the artifact (socialego_core.artifact), never hard-coded.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from builtin_interfaces.msg import Duration
from rclpy.lifecycle import State, TransitionCallbackReturn
from rclpy.time import Time
from socialego_core.artifact import ArtifactError, StudentPredictor
from socialego_core.layouts import LAYOUTS_BY_CODE, get_layout
from socialego_core.online import (
    UNKNOWN_DECISION,
    AddResult,
    DecisionSmoother,
    HysteresisConfig,
    OnlineConfig,
    OnlineWindows,
    stack,
)
from socialego_perception.node_common import (
    LATCHED,
    RELIABLE_OUT,
    SocialEgoLifecycleNode,
    floats,
    qos_profile,
    run_lifecycle_node,
    stamp_seconds,
)
from socialego_perception.paramspec import INTENT_PARAMS

from socialego_msgs.msg import ModelInfo, SocialIntent, SocialIntentArray, WholeBodyPoseArray

TASKS = ("intent", "attitude", "action")
COASTING = 3  # WholeBodyPose.TRACK_STATE_COASTING
DEFAULT_MODEL = "models/socialego_student_synthetic.pt"


def default_model_path() -> str:
    """The student installed in this package's share folder (or next to the source tree)."""
    try:
        from ament_index_python.packages import get_package_share_directory

        return str(Path(get_package_share_directory("socialego_inference")) / DEFAULT_MODEL)
    except Exception:  # not installed with colcon: use the source tree's copy
        return str(Path(__file__).resolve().parents[1] / DEFAULT_MODEL)


class PoseError(ValueError):
    """A malformed pose; ``kind`` names the problem class for throttled warnings."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(text)
        self.kind = kind


def pose_to_array(pose) -> np.ndarray:
    """WholeBodyPose -> (N, 3) float32; PoseError names the malformed field."""
    if pose.layout not in LAYOUTS_BY_CODE:
        known = ", ".join(f"{lay.name}={code}" for code, lay in LAYOUTS_BY_CODE.items())
        raise PoseError("unknown_layout", f"unknown layout code {pose.layout} (known: {known})")
    n = LAYOUTS_BY_CODE[pose.layout].num_joints
    if not (len(pose.x) == len(pose.y) == len(pose.score) == n):
        raise PoseError(
            "wrong_length",
            f"layout {LAYOUTS_BY_CODE[pose.layout].name} needs {n} keypoints, got "
            f"x={len(pose.x)} y={len(pose.y)} score={len(pose.score)}",
        )
    return np.stack(
        [
            np.asarray(pose.x, dtype=np.float32),
            np.asarray(pose.y, dtype=np.float32),
            np.asarray(pose.score, dtype=np.float32),
        ],
        axis=1,
    )


def seconds_to_duration(seconds: float) -> Duration:
    sec = int(seconds)
    return Duration(sec=sec, nanosec=int(round((seconds - sec) * 1e9)))


def time_msg(seconds: float):
    return Time(nanoseconds=int(round(seconds * 1e9))).to_msg()


class IntentNode(SocialEgoLifecycleNode):
    PARAMS = INTENT_PARAMS

    def __init__(self, **kwargs) -> None:
        super().__init__("intent_node", **kwargs)
        self.predictor: StudentPredictor | None = None
        self.online: OnlineWindows | None = None
        self.smoother: DecisionSmoother | None = None
        self.cfg: dict = {}
        self.pub = None
        self.info_pub = None
        self.frame_id = ""
        self._last_fed: dict[str, float] = {}
        # exact header stamp of each track's newest pose (float seconds lose nanoseconds)
        self._stamps: dict[str, tuple[float, object]] = {}
        self._prob_cache: dict[str, tuple[object, dict]] = {}
        self.poses_in = 0
        self.ticks = 0

    # -- lifecycle ----------------------------------------------------------------------------
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        cfg = self.validated_params()
        if cfg is None:
            return TransitionCallbackReturn.FAILURE
        path = cfg["model_path"] or default_model_path()
        try:
            online_cfg = OnlineConfig(
                max_track_gap_s=cfg["max_track_gap_s"],
                max_tracks=cfg["max_tracks"],
                min_frames=cfg["min_frames"],
                stale_after_s=cfg["stale_after_s"],
            )
            hysteresis = HysteresisConfig(
                alpha=cfg["hysteresis_alpha"],
                enter_threshold=cfg["hysteresis_enter"],
                exit_threshold=cfg["hysteresis_exit"],
                min_steps=cfg["hysteresis_min_steps"],
            )
        except ValueError as exc:
            self.get_logger().error(f"invalid configuration: {exc}")
            return TransitionCallbackReturn.FAILURE
        if not Path(path).is_file():
            self.get_logger().error(f"model file {path} does not exist (parameter model_path)")
            return TransitionCallbackReturn.FAILURE
        try:
            self.predictor = StudentPredictor(path, device=cfg["device"], threads=cfg["threads"])
            get_layout(self.predictor.window_spec.layout)
        except (ArtifactError, ValueError, OSError, RuntimeError, KeyError) as exc:
            self.get_logger().error(f"cannot load model file {path}: {exc}")
            return TransitionCallbackReturn.FAILURE
        if str(self.predictor.device) != cfg["device"] and cfg["device"] not in ("auto",):
            self.get_logger().warning(
                f"device {cfg['device']} is not available: running on {self.predictor.device}"
            )
        if not self.predictor.trained:
            self.get_logger().warning(f"model {path} is UNTRAINED (random weights): demo only")
        self.cfg = cfg
        spec = self.predictor.window_spec
        self.online = OnlineWindows(spec, online_cfg)
        labels = self.predictor.labels
        self.smoother = DecisionSmoother(
            {task: labels.num_classes(task) for task in TASKS}, hysteresis, cfg["max_tracks"]
        )
        self.pub = self.create_lifecycle_publisher(
            SocialIntentArray, "socialego/intents", RELIABLE_OUT
        )
        self.info_pub = self.create_lifecycle_publisher(ModelInfo, "socialego/model_info", LATCHED)
        self.get_logger().info(
            f"configured: model {path} version {self.predictor.version}, window "
            f"{spec.length} x stride {spec.stride} @ {spec.source_fps} fps "
            f"({spec.duration_s:.2f} s), {spec.num_joints} joints of {spec.layout}, "
            f"device {self.predictor.device}"
        )
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        result = super().on_activate(state)  # activates the lifecycle publishers
        self.inputs += [
            self.create_subscription(
                WholeBodyPoseArray,
                "socialego/poses",
                self.on_poses,
                qos_profile(self.cfg["poses_reliability"], 10),
            ),
            self.create_timer(1.0 / self.cfg["inference_rate_hz"], self.on_tick),
        ]
        self.start_diagnostics(self.cfg["diagnostics_period_s"])
        self.active = True
        self.info_pub.publish(self.model_info())
        return result

    def release(self) -> None:
        for pub in (self.pub, self.info_pub):
            if pub is not None:
                self.destroy_lifecycle_publisher(pub)
        self.pub = self.info_pub = None
        self.predictor = self.online = self.smoother = None
        self._last_fed.clear()
        self._stamps.clear()
        self._prob_cache.clear()

    # -- messages -----------------------------------------------------------------------------
    def model_info(self) -> ModelInfo:
        p = self.predictor
        spec = p.window_spec
        msg = ModelInfo()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.model_name = str(p.metadata.get("model", ""))
        msg.model_version = p.version
        msg.dataset = p.labels.dataset
        msg.intent_labels = list(p.labels.intent)
        msg.attitude_labels = list(p.labels.attitude)
        msg.action_labels = list(p.labels.action)
        msg.layout = get_layout(spec.layout).code
        msg.joints = [int(j) for j in spec.joints]
        msg.window_length = spec.length
        msg.window_stride = spec.stride
        msg.source_fps = float(spec.source_fps)
        msg.normalisation = spec.normalisation
        msg.metadata_json = json.dumps(p.metadata, default=str)
        return msg

    def now_s(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def on_poses(self, msg: WholeBodyPoseArray) -> None:
        if not self.active:
            return
        self.note_input()
        self.poses_in += 1
        if msg.header.frame_id:
            self.frame_id = msg.header.frame_id
        for pose in msg.poses:
            if pose.track_state == COASTING and not self.cfg["use_coasting"]:
                continue  # no new evidence: the buffers repeat the last pose by themselves
            if not pose.track_id:
                self.warn_throttled("empty_track_id", "pose without track_id skipped")
                continue
            try:
                keypoints = pose_to_array(pose)
                # each pose carries its own header (copied from its image); trust it first
                has_own = pose.header.stamp.sec or pose.header.stamp.nanosec
                stamp_msg = pose.header.stamp if has_own else msg.header.stamp
                stamp = stamp_seconds(stamp_msg)
                result = self.online.add(
                    pose.track_id,
                    stamp,
                    keypoints,
                    float(pose.image_width),
                    float(pose.image_height),
                    int(pose.layout),
                    person_id=pose.person_id,
                )
            except ValueError as exc:
                kind = getattr(exc, "kind", "bad_pose")
                self.warn_throttled(kind, f"pose of track '{pose.track_id}' skipped: {exc}")
                continue
            self._stamps[pose.track_id] = (stamp, stamp_msg)
            if not np.isfinite(keypoints).all():
                self.warn_throttled(
                    "non_finite", f"track '{pose.track_id}': NaN/inf keypoints treated as unseen"
                )
            if result is AddResult.RESET_BACKWARDS:
                self.warn_throttled(
                    "time_backwards",
                    f"track '{pose.track_id}': pose stamp went back in time; track restarted",
                )
                self.smoother.forget([pose.track_id])
                self._last_fed.pop(pose.track_id, None)
            elif result is AddResult.EVICTED_OTHER:
                self.warn_throttled(
                    "too_many_tracks",
                    f"more than max_tracks={self.cfg['max_tracks']} tracks: dropped the oldest",
                )
        self.note_latency(msg.header.stamp)

    def on_tick(self) -> None:
        if not self.active:
            return
        t0 = time.perf_counter()
        now = self.now_s()
        if self.online.observe_time(now):
            self.warn_throttled("clock_backwards", "clock jumped back (bag loop?): state reset")
            self.smoother.reset()
            self._last_fed.clear()
            self._stamps.clear()
            self._prob_cache.clear()
        gone = self.online.expire(now)
        if gone:
            self.smoother.forget(gone)
            for tid in gone:
                self._last_fed.pop(tid, None)
        if len(self._stamps) > len(self.online):  # evicted or expired tracks
            live = set(self.online.track_ids)
            self._stamps = {k: v for k, v in self._stamps.items() if k in live}
        out = SocialIntentArray()
        out.header.frame_id = self.frame_id
        windows = self.online.windows(now)
        if windows:
            probs = self._probabilities(windows)
            if probs is not None:
                out.intents = [self._intent_msg(i, tw, probs) for i, tw in enumerate(windows)]
            if out.intents:
                newest = max(
                    out.intents, key=lambda i: (i.header.stamp.sec, i.header.stamp.nanosec)
                )
                out.header.stamp = newest.header.stamp
            else:
                out.header.stamp = time_msg(max(tw.newest_stamp for tw in windows))
        else:
            out.header.stamp = self.get_clock().now().to_msg()
        self.pub.publish(out)
        self.ticks += 1
        self.processing_ms.add((time.perf_counter() - t0) * 1000.0)

    def _probabilities(self, windows) -> dict[str, np.ndarray] | None:
        """One batched forward pass over the tracks whose window changed since the last tick;
        unchanged windows reuse their probabilities (windows are cached objects)."""
        changed = [
            i
            for i, tw in enumerate(windows)
            if self._prob_cache.get(tw.track_id, (None,))[0] is not tw.window
        ]
        if changed:
            try:
                fresh = self.predictor.predict(stack([windows[i] for i in changed]))
            except (ValueError, RuntimeError) as exc:
                self.warn_throttled("inference_failed", f"forward pass failed: {exc}")
                return None
            for row, i in enumerate(changed):
                tw = windows[i]
                self._prob_cache[tw.track_id] = (tw.window, {t: fresh[t][row] for t in TASKS})
        if len(self._prob_cache) > len(windows):
            live = {tw.track_id for tw in windows}
            self._prob_cache = {k: v for k, v in self._prob_cache.items() if k in live}
        return {
            task: np.stack([self._prob_cache[tw.track_id][1][task] for tw in windows])
            for task in TASKS
        }

    def _intent_msg(self, i: int, tw, probs: dict[str, np.ndarray]) -> SocialIntent:
        labels = self.predictor.labels
        p = {task: probs[task][i] for task in TASKS}
        # feed the smoother once per new window (not per tick) and only with enough evidence
        if not tw.stale and self._last_fed.get(tw.track_id) != tw.newest_stamp:
            decisions = self.smoother.update(tw.track_id, p)
            self._last_fed[tw.track_id] = tw.newest_stamp
        else:
            decisions = self.smoother.current(tw.track_id)
        msg = SocialIntent()
        exact = self._stamps.get(tw.track_id)
        if exact is not None and abs(exact[0] - tw.newest_stamp) < 1e-6:
            msg.header.stamp = exact[1]
        else:
            msg.header.stamp = time_msg(tw.newest_stamp)
        msg.header.frame_id = self.frame_id
        msg.track_id = tw.track_id
        msg.person_id = tw.person_id
        msg.intent = decisions["intent"] + 1
        msg.attitude = decisions["attitude"] + 1
        msg.action = decisions["action"] + 1
        msg.action_label = (
            labels.action[decisions["action"]] if decisions["action"] != UNKNOWN_DECISION else ""
        )
        msg.intent_probabilities = floats(p["intent"])
        msg.attitude_probabilities = floats(p["attitude"])
        msg.action_probabilities = floats(p["action"])
        msg.observation_window = seconds_to_duration(self.predictor.window_spec.duration_s)
        msg.frames_used = tw.frames_used
        msg.input_quality = float(tw.input_quality)
        msg.stale = bool(tw.stale)
        msg.model_version = self.predictor.version
        return msg

    def diagnostic_values(self) -> dict[str, str]:
        values = super().diagnostic_values()
        values.update(
            {
                "active_tracks": str(len(self.online) if self.online is not None else 0),
                "pose_messages": str(self.poses_in),
                "inference_ticks": str(self.ticks),
                "model_version": self.predictor.version if self.predictor else "",
            }
        )
        return values


def main(args=None) -> None:
    run_lifecycle_node(IntentNode, args)


if __name__ == "__main__":
    main()
