"""Intent node: tracked poses in, one batched student forward pass per tick, intents out.

Subscribes ``socialego/poses`` (WholeBodyPoseArray); publishes ``socialego/intents``
(SocialIntentArray, at ``inference_rate_hz``, empty as a heartbeat) and ``socialego/model_info``
(ModelInfo, latched). Window building, expiry and hysteresis live in socialego_core.online; the
model and its window spec come from the artifact (socialego_core.artifact), never hard-coded.
"""

from __future__ import annotations

import array
import json
import time
from pathlib import Path

import numpy as np
from builtin_interfaces.msg import Duration
from rclpy.lifecycle import State, TransitionCallbackReturn
from rclpy.time import Time
from socialego_core.artifact import ArtifactError, StudentPredictor
from socialego_core.fast_forward import CachedStudentForward, supports_cached_forward
from socialego_core.layouts import LAYOUTS_BY_CODE, get_layout
from socialego_core.online import (
    UNKNOWN_DECISION,
    AddResult,
    BatchDecisionSmoother,
    DecisionSmoother,
    HysteresisConfig,
    OnlineConfig,
    OnlineWindows,
    WindowBatch,
    stack,
)
from socialego_core.online_reference import ReferenceOnlineWindows
from socialego_perception.node_common import (
    LATCHED,
    RELIABLE_OUT,
    Ema,
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
STAGES = ("windows", "forward", "hysteresis", "messages", "publish")
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
    """``reference_path=True`` (tests and benchmarks only, not a ROS parameter) runs the
    previous per-track implementation: deque buffers, one HysteresisDecision per track, the
    plain model forward and per-field messages. The default path gives the same messages."""

    PARAMS = INTENT_PARAMS

    def __init__(self, reference_path: bool = False, **kwargs) -> None:
        super().__init__("intent_node", **kwargs)
        self.reference_path = reference_path
        self.predictor: StudentPredictor | None = None
        self.forward: CachedStudentForward | None = None
        self.online: OnlineWindows | ReferenceOnlineWindows | None = None
        self.smoother: BatchDecisionSmoother | DecisionSmoother | None = None
        self.cfg: dict = {}
        self.pub = None
        self.info_pub = None
        self.frame_id = ""
        self._last_fed: dict[str, float] = {}
        # exact header stamp of each track's newest pose (float seconds lose nanoseconds)
        self._stamps: dict[str, tuple[float, object]] = {}
        self._prob_cache: dict[str, tuple[object, dict]] = {}
        # fast path: per track, the window serial its probabilities belong to, and the rows
        self._prob_rows: dict[str, tuple[int, tuple[np.ndarray, ...]]] = {}
        self.poses_in = 0
        self.ticks = 0
        self.stage_ms = dict.fromkeys(STAGES, 0.0)  # the last tick's time per stage
        self.stage_ema = {stage: Ema() for stage in STAGES}  # reported in /diagnostics

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
        labels = self.predictor.labels
        num_classes = {task: labels.num_classes(task) for task in TASKS}
        if self.reference_path:
            self.online = ReferenceOnlineWindows(spec, online_cfg)
            self.smoother = DecisionSmoother(num_classes, hysteresis, cfg["max_tracks"])
        else:
            self.online = OnlineWindows(spec, online_cfg)
            self.smoother = BatchDecisionSmoother(num_classes, hysteresis, cfg["max_tracks"])
            if supports_cached_forward(self.predictor.model):
                self.forward = CachedStudentForward(self.predictor.model)
        # constant message fields, built once
        self._observation_window = seconds_to_duration(spec.duration_s)
        self._action_labels = list(labels.action)
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
        self.predictor = self.online = self.smoother = self.forward = None
        self._last_fed.clear()
        self._stamps.clear()
        self._prob_cache.clear()
        self._prob_rows.clear()

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
            self._prob_rows.clear()
        gone = self.online.expire(now)
        if gone:
            self.smoother.forget(gone)
            for tid in gone:
                self._last_fed.pop(tid, None)
        if len(self._stamps) > len(self.online):  # evicted or expired tracks
            live = set(self.online.track_ids)
            self._stamps = {k: v for k, v in self._stamps.items() if k in live}
        if self.reference_path:
            out = self._tick_reference(now)
        else:
            out = self._tick(now)
        t1 = time.perf_counter()
        self.pub.publish(out)
        self.stage_ms["publish"] = (time.perf_counter() - t1) * 1000.0
        for stage, ms in self.stage_ms.items():
            self.stage_ema[stage].add(ms)
        self.ticks += 1
        self.processing_ms.add((time.perf_counter() - t0) * 1000.0)

    def _tick(self, now: float) -> SocialIntentArray:
        """All tracks at once: one vectorised window batch, one forward pass over the changed
        windows (frames embedded once, see CachedStudentForward), array hysteresis."""
        stage = self.stage_ms
        t0 = time.perf_counter()
        out = SocialIntentArray()
        out.header.frame_id = self.frame_id
        batch = self.online.batch(now) if len(self.online) else None
        t1 = time.perf_counter()
        stage["windows"] = (t1 - t0) * 1000.0
        stage["forward"] = stage["hysteresis"] = stage["messages"] = 0.0
        if batch is None:
            out.header.stamp = self.get_clock().now().to_msg()
            return out
        probs = self._batch_probabilities(batch)
        t2 = time.perf_counter()
        stage["forward"] = (t2 - t1) * 1000.0
        if probs is None:
            out.header.stamp = time_msg(float(batch.newest_stamp.max()))
            return out
        decisions = self._batch_decisions(batch, probs)
        t3 = time.perf_counter()
        stage["hysteresis"] = (t3 - t2) * 1000.0
        out.intents = self._intent_msgs(batch, probs, decisions)
        newest = max(out.intents, key=lambda i: (i.header.stamp.sec, i.header.stamp.nanosec))
        out.header.stamp = newest.header.stamp
        stage["messages"] = (time.perf_counter() - t3) * 1000.0
        return out

    def _batch_probabilities(self, batch: WindowBatch) -> dict[str, np.ndarray] | None:
        """Probabilities (B, classes) per task; only windows that changed since they were last
        computed (a new pose) go through the model."""
        cache = self._prob_rows
        serials = batch.newest_serial.tolist()
        changed = [
            i
            for i, (tid, serial) in enumerate(zip(batch.track_ids, serials))
            if cache.get(tid, (None,))[0] != serial
        ]
        if changed:
            x = batch.keypoints if len(changed) == len(batch) else batch.keypoints[changed]
            try:
                if self.forward is not None:
                    self._check_input(x)
                    fresh = self.forward.predict(x)
                else:
                    fresh = self.predictor.predict(x)
            except (ValueError, RuntimeError) as exc:
                self.warn_throttled("inference_failed", f"forward pass failed: {exc}")
                return None
            rows = zip(*(fresh[task] for task in TASKS))
            for i, row in zip(changed, rows):
                cache[batch.track_ids[i]] = (serials[i], row)
        if len(cache) > len(batch):
            live = set(batch.track_ids)
            self._prob_rows = cache = {k: v for k, v in cache.items() if k in live}
        if len(changed) == len(batch):
            return fresh
        rows = [cache[tid][1] for tid in batch.track_ids]
        return {task: np.stack([r[k] for r in rows]) for k, task in enumerate(TASKS)}

    def _check_input(self, x: np.ndarray) -> None:
        """What StudentPredictor.predict refuses, refused here too (names the problem)."""
        spec, p = self.predictor.window_spec, self.predictor
        if x.shape[1:] != (spec.length, p.num_joints, p.in_channels):
            raise ValueError(f"window batch has shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("input holds NaN or infinite values")

    def _batch_decisions(
        self, batch: WindowBatch, probs: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Feed the smoother once per new window (not per tick), only with enough evidence."""
        last_fed = self._last_fed
        stamps = batch.newest_stamp.tolist()
        stale = batch.stale.tolist()
        feed = [
            i
            for i, tid in enumerate(batch.track_ids)
            if not stale[i] and last_fed.get(tid) != stamps[i]
        ]
        if len(feed) == len(batch):  # the usual tick: every track has a new window
            decisions = self.smoother.update_many(batch.track_ids, probs)
        else:
            decisions = self.smoother.current_many(batch.track_ids)
            if feed:
                ids = [batch.track_ids[i] for i in feed]
                fed = self.smoother.update_many(ids, {task: probs[task][feed] for task in TASKS})
                for task in TASKS:
                    decisions[task][feed] = fed[task]
        for i in feed:
            last_fed[batch.track_ids[i]] = stamps[i]
        return decisions

    def _intent_msgs(
        self, batch: WindowBatch, probs: dict[str, np.ndarray], decisions: dict[str, np.ndarray]
    ) -> list[SocialIntent]:
        """One SocialIntent per track; array fields filled from bytes, not numpy."""
        frame_id, version = self.frame_id, self.predictor.version
        window_duration = self._observation_window
        labels = self._action_labels
        blobs = {}
        for task in TASKS:
            values = np.ascontiguousarray(probs[task], dtype=np.float32)
            blobs[task] = (values.tobytes(), values.shape[1] * 4)
        intent, attitude, action = (decisions[task].tolist() for task in TASKS)
        stamps = batch.newest_stamp.tolist()
        frames_used = batch.frames_used.tolist()
        quality = batch.input_quality.tolist()
        stale = batch.stale.tolist()
        msgs = []
        for i, (tid, person) in enumerate(zip(batch.track_ids, batch.person_ids)):
            msg = SocialIntent()
            exact = self._stamps.get(tid)
            if exact is not None and abs(exact[0] - stamps[i]) < 1e-6:
                msg.header.stamp = exact[1]
            else:
                msg.header.stamp = time_msg(stamps[i])
            msg.header.frame_id = frame_id
            msg.track_id = tid
            msg.person_id = person
            msg.intent = intent[i] + 1
            msg.attitude = attitude[i] + 1
            msg.action = action[i] + 1
            msg.action_label = labels[action[i]] if action[i] != UNKNOWN_DECISION else ""
            for task, field in (
                ("intent", "intent_probabilities"),
                ("attitude", "attitude_probabilities"),
                ("action", "action_probabilities"),
            ):
                blob, width = blobs[task]
                values = array.array("f")
                values.frombytes(blob[i * width : (i + 1) * width])
                setattr(msg, field, values)
            msg.observation_window = window_duration
            msg.frames_used = frames_used[i]
            msg.input_quality = quality[i]
            msg.stale = stale[i]
            msg.model_version = version
            msgs.append(msg)
        return msgs

    # -- reference path (the previous per-track implementation) -------------------------------
    def _tick_reference(self, now: float) -> SocialIntentArray:
        stage = self.stage_ms
        t0 = time.perf_counter()
        out = SocialIntentArray()
        out.header.frame_id = self.frame_id
        windows = self.online.windows(now)
        t1 = time.perf_counter()
        stage["windows"] = (t1 - t0) * 1000.0
        stage["forward"] = stage["hysteresis"] = stage["messages"] = 0.0
        if windows:
            probs = self._probabilities(windows)
            t2 = time.perf_counter()
            stage["forward"] = (t2 - t1) * 1000.0
            if probs is not None:
                out.intents = [self._intent_msg(i, tw, probs) for i, tw in enumerate(windows)]
                # hysteresis runs inside _intent_msg: its share is timed there
                stage["messages"] = (time.perf_counter() - t2) * 1000.0 - stage["hysteresis"]
            if out.intents:
                newest = max(
                    out.intents, key=lambda i: (i.header.stamp.sec, i.header.stamp.nanosec)
                )
                out.header.stamp = newest.header.stamp
            else:
                out.header.stamp = time_msg(max(tw.newest_stamp for tw in windows))
        else:
            out.header.stamp = self.get_clock().now().to_msg()
        return out

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
        t0 = time.perf_counter()
        # feed the smoother once per new window (not per tick) and only with enough evidence
        if not tw.stale and self._last_fed.get(tw.track_id) != tw.newest_stamp:
            decisions = self.smoother.update(tw.track_id, p)
            self._last_fed[tw.track_id] = tw.newest_stamp
        else:
            decisions = self.smoother.current(tw.track_id)
        if i == 0:
            self.stage_ms["hysteresis"] = 0.0
        self.stage_ms["hysteresis"] += (time.perf_counter() - t0) * 1000.0
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
        for stage, ema in self.stage_ema.items():
            values[f"tick_{stage}_ms"] = f"{ema.value or 0.0:.2f}"
        return values


def main(args=None) -> None:
    run_lifecycle_node(IntentNode, args)


if __name__ == "__main__":
    main()
