"""Intent node: tracked poses in, intents out; a ROS adapter around the intent engine.

Subscribes ``socialego/poses`` (WholeBodyPoseArray); publishes ``socialego/intents``
(SocialIntentArray: with ``tick_on_pose`` one per pose array, at once, and at
``inference_rate_hz`` while no pose array arrives; empty as a heartbeat) and
``socialego/model_info`` (ModelInfo, latched). The student runs on ONNX Runtime (a ``.onnx``
model; torch is then never imported) or PyTorch (a ``.pt`` artifact), parameter ``runtime``.
Windows, the forward pass and the smoothing are ``socialego_core.intent_engine.IntentEngine``;
the model and its window spec come from the artifact, never hard-coded. This node turns messages
into engine calls and engine results into messages, and owns the parameters, timers and
diagnostics.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from rclpy.lifecycle import State, TransitionCallbackReturn
from socialego_core import topics
from socialego_core.hysteresis import HysteresisConfig
from socialego_core.intent_engine import ENGINE_STAGES, IntentEngine
from socialego_core.layouts import get_layout
from socialego_core.model_loader import AUTO_RUNTIME, load_predictor
from socialego_core.onnx_format import QUANTIZE
from socialego_core.pose_reader import read_pose_array, short_id
from socialego_core.predictor_base import ArtifactError, PredictorBase
from socialego_core.track_buffers import AddResult, OnlineConfig
from socialego_ros.main import run_lifecycle_node
from socialego_ros.node import Ema, SocialEgoLifecycleNode
from socialego_ros.qos import LATCHED, RELIABLE_OUT, qos_profile

from socialego_inference.intent_messages import IntentMessageBuilder
from socialego_inference.params import INTENT_PARAMS
from socialego_msgs.msg import ModelInfo, SocialIntentArray, WholeBodyPose, WholeBodyPoseArray

STAGES = (*ENGINE_STAGES, "messages", "publish")
DEFAULT_MODEL = "models/socialego_student_synthetic"
MODEL_SUFFIX = {"torch": ".pt", "onnx": ".onnx"}


def default_model_path(runtime: str = "torch", quantize: str = "none") -> str:
    """The student installed in this package's share folder (or next to the source tree), as
    the ``.pt`` artifact (runtime 'torch') or its ONNX export ('onnx'; 'auto': AUTO_RUNTIME);
    ``quantize`` "int8": the ONNX export with its recurrence in int8 (opt-in, by model_path)."""
    if quantize not in QUANTIZE:
        raise ValueError(f"quantize {quantize!r} is unknown; known: {', '.join(QUANTIZE)}")
    suffix = MODEL_SUFFIX[AUTO_RUNTIME if runtime == "auto" else runtime]
    if quantize != "none":
        if suffix != ".onnx":
            raise ValueError(f"a {quantize} model runs on ONNX Runtime only, not {runtime!r}")
        suffix = f".{quantize}.onnx"
    name = DEFAULT_MODEL + suffix
    try:
        from ament_index_python.packages import get_package_share_directory

        return str(Path(get_package_share_directory("socialego_inference")) / name)
    except Exception:  # not installed with colcon: use the source tree's copy
        return str(Path(__file__).resolve().parents[1] / name)


def engine_configs(cfg: dict) -> tuple[OnlineConfig, HysteresisConfig]:
    """The engine's buffer limits and smoothing from the node's parameters (ValueError names a
    bad combination, e.g. hysteresis_exit above hysteresis_enter)."""
    online = OnlineConfig(
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
    return online, hysteresis


class IntentNode(SocialEgoLifecycleNode):
    PARAMS = INTENT_PARAMS

    def __init__(self, **kwargs) -> None:
        super().__init__("intent_node", **kwargs)
        self.predictor: PredictorBase | None = None
        self.engine: IntentEngine | None = None
        self.messages: IntentMessageBuilder | None = None
        self.pub = None
        self.info_pub = None
        self.timer = None
        self.poses_in = 0
        self.ticks = 0
        self.stage_ms = dict.fromkeys(STAGES, 0.0)  # the last tick's time per stage
        self.stage_ema = {stage: Ema() for stage in STAGES}  # reported in /diagnostics
        self.last_tick_s = float("-inf")  # time.monotonic() of the last tick (pose or timer)

    # -- lifecycle ----------------------------------------------------------------------------
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        cfg = self.validated_params()
        if cfg is None:
            return TransitionCallbackReturn.FAILURE
        path = cfg["model_path"] or default_model_path(cfg["runtime"])
        try:
            online, hysteresis = engine_configs(cfg)
        except ValueError as exc:
            self.configure_error(f"invalid configuration: {exc}")
            return TransitionCallbackReturn.FAILURE
        if not Path(path).is_file():
            self.configure_error(f"model file {path} does not exist (parameter model_path)")
            return TransitionCallbackReturn.FAILURE
        try:
            self.predictor = load_predictor(
                path, cfg["runtime"], device=cfg["device"], threads=cfg["threads"]
            )
            get_layout(self.predictor.window_spec.layout)
            # the engine builds the runtime's sessions: a model the runtime cannot run fails here
            engine = IntentEngine(self.predictor, online, hysteresis)
        except (ArtifactError, ValueError, OSError, RuntimeError, KeyError) as exc:
            self.configure_error(f"cannot load model file {path}: {exc}")
            self.predictor = None
            return TransitionCallbackReturn.FAILURE
        if str(self.predictor.device) != cfg["device"] and cfg["device"] != "auto":
            self.get_logger().warning(
                f"device {cfg['device']} is not available: running on {self.predictor.device}"
            )
        if not self.predictor.trained:
            self.get_logger().warning(f"model {path} is UNTRAINED (random weights): demo only")
        self.cfg = cfg
        self.engine = engine
        self.messages = IntentMessageBuilder(self.predictor)
        self.pub = self.create_lifecycle_publisher(SocialIntentArray, topics.INTENTS, RELIABLE_OUT)
        self.info_pub = self.create_lifecycle_publisher(ModelInfo, topics.MODEL_INFO, LATCHED)
        spec = self.predictor.window_spec
        self.get_logger().info(
            f"configured: model {path} version {self.predictor.version}, window "
            f"{spec.length} x stride {spec.stride} @ {spec.source_fps} fps "
            f"({spec.duration_s:.2f} s), {spec.num_joints} joints of {spec.layout}, "
            f"runtime {self.predictor.runtime}"
            + (f" ({self.predictor.quantize})" if self.predictor.quantize != "none" else "")
            + f" on {self.predictor.device}"
        )
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        result = super().on_activate(state)  # activates the lifecycle publishers
        self.timer = self.create_timer(1.0 / self.cfg["inference_rate_hz"], self.on_timer)
        self.inputs += [
            self.create_subscription(
                WholeBodyPoseArray,
                topics.POSES,
                self.on_poses,
                qos_profile(self.cfg["poses_reliability"], 10),
            ),
            self.timer,
        ]
        self.input_name = self.inputs[0].topic_name
        self.start_diagnostics(self.cfg["diagnostics_period_s"])
        self.active = True
        self.info_pub.publish(self.model_info())
        return result

    def apply_live(self, changed: dict) -> None:
        if self.engine is None:
            return
        online, hysteresis = engine_configs(self.cfg)
        self.engine.reconfigure(online=online, hysteresis=hysteresis)
        if "inference_rate_hz" in changed and self.timer is not None:
            self.destroy_timer(self.timer)
            self.inputs.remove(self.timer)
            self.timer = self.create_timer(1.0 / self.cfg["inference_rate_hz"], self.on_timer)
            self.inputs.append(self.timer)

    def _on_set_parameters(self, params):
        # hysteresis thresholds must stay ordered; refuse a change that would break them
        result = super()._on_set_parameters(params)
        if result.successful and self.cfg:
            trial = {**self.cfg, **{p.name: p.value for p in params}}
            try:
                engine_configs(trial)
            except (ValueError, KeyError) as exc:
                result.successful, result.reason = False, str(exc)
        return result

    def release(self) -> None:
        for pub in (self.pub, self.info_pub):
            if pub is not None:
                self.destroy_lifecycle_publisher(pub)
        self.pub = self.info_pub = self.timer = None
        self.predictor = self.engine = self.messages = None

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
        now_s = self.now_s()
        readings, problems = read_pose_array(
            msg, now_s, self.cfg["max_stamp_offset_s"], skip=self._skip
        )
        added = 0
        for problem in problems:
            self.warn_throttled(problem.kind, problem.text)
        for r in readings:
            try:
                result = self.engine.add_pose(
                    r.track_id,
                    r.stamp_s,
                    r.keypoints,
                    float(r.pose.image_width),
                    float(r.pose.image_height),
                    r.layout.code,
                    person_id=r.pose.person_id,
                    source=r.source,
                    received_s=now_s,
                )
            except ValueError as exc:
                kind = getattr(exc, "kind", "bad_pose")
                self.warn_throttled(kind, f"pose of track {short_id(r.track_id)} skipped: {exc}")
                continue
            if result is AddResult.RESET_BACKWARDS:
                self.warn_throttled(
                    "time_backwards",
                    f"track {short_id(r.track_id)}: pose stamp went back in time; track restarted",
                )
            elif result is AddResult.EVICTED_OTHER:
                self.warn_throttled(
                    "too_many_tracks",
                    f"more than max_tracks={self.cfg['max_tracks']} tracks: dropped the oldest",
                )
            self.note_latency(r.source.stamp)
            added += 1
        if added and self.cfg["tick_on_pose"]:
            self.on_tick()  # answered at once: one forward pass over this array's people

    def _skip(self, pose: WholeBodyPose) -> bool:
        """COASTING poses carry no new evidence (the buffers repeat the last pose by
        themselves) unless use_coasting."""
        return (
            pose.track_state == WholeBodyPose.TRACK_STATE_COASTING and not self.cfg["use_coasting"]
        )

    def on_timer(self) -> None:
        """With tick_on_pose the timer ticks only when no pose array did within its period:
        heartbeats, expiry and staleness while no poses come."""
        if self.cfg["tick_on_pose"]:
            period = 1.0 / self.cfg["inference_rate_hz"]
            if time.monotonic() - self.last_tick_s < 0.9 * period:
                return
        self.on_tick()

    def on_tick(self) -> None:
        if not self.active:
            return
        self.last_tick_s = time.monotonic()
        t0 = time.perf_counter()
        result = self.engine.tick(self.now_s())
        if result.clock_reset:
            self.warn_throttled("clock_backwards", "clock jumped back (bag loop?): state reset")
        if result.error:
            self.warn_throttled("inference_failed", result.error)
        t1 = time.perf_counter()
        out = self.messages.array(result, self.get_clock().now().to_msg())
        t2 = time.perf_counter()
        self.pub.publish(out)
        self.stage_ms.update(result.stage_ms)
        self.stage_ms["messages"] = (t2 - t1) * 1000.0
        self.stage_ms["publish"] = (time.perf_counter() - t2) * 1000.0
        for stage, ms in self.stage_ms.items():
            self.stage_ema[stage].add(ms)
        self.ticks += 1
        self.note_processing((time.perf_counter() - t0) * 1000.0)

    def diagnostic_values(self) -> dict[str, str]:
        values = super().diagnostic_values()
        values.update(
            {
                "active_tracks": str(len(self.engine) if self.engine is not None else 0),
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
