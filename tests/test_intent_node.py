"""The intent node as a separate process (colcon-installed executable) over real DDS.

Synthetic poses go in; intents come out with the poses' stamps, frame ids, track ids and the
artifact's label/window shapes. Every malformed input is sent and the node is shown alive and
still correct afterwards.
"""

from __future__ import annotations

import array
import contextlib
import math
import time
from pathlib import Path

import numpy as np
import pytest
from rosnode_harness import NodeProcess, RosClient, require_ros, unique_domain_id
from test_onnx_runtime import unrunnable_copy

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "socialego_inference" / "models" / "socialego_student_synthetic.pt"
FRAME_ID = "camera_optical"
W, H = 640, 480

PARAMS = {
    "inference_rate_hz": 20.0,
    "max_track_gap_s": 1.0,
    "stale_after_s": 0.5,
    "min_frames": 3,
    "max_tracks": 16,
    "diagnostics_period_s": 0.5,
    "hysteresis_min_steps": 1,
    "hysteresis_enter": 0.0,  # any top class is adopted at once: decisions must become known
    "hysteresis_exit": 0.0,
}


def stamp_of(seconds: float):
    from builtin_interfaces.msg import Time

    sec = int(seconds)
    return Time(sec=sec, nanosec=int(round((seconds - sec) * 1e9)))


def seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def body_keypoints(cx: float, n: int = 133) -> np.ndarray:
    """A standing person around x = cx (pixels): body joints filled, the rest score 0."""
    kp = np.zeros((n, 3), dtype=np.float32)
    ys = np.linspace(100, 420, 17)
    kp[:17, 0] = cx + np.tile([-10.0, 10.0], 9)[:17]
    kp[:17, 1] = ys
    kp[:17, 2] = 0.9
    return kp


def pose_msg(track_id: str, t: float, kp: np.ndarray, layout: int = 2, state: int = 2):
    from socialego_msgs.msg import WholeBodyPose

    msg = WholeBodyPose()
    msg.header.stamp = stamp_of(t)
    msg.header.frame_id = FRAME_ID
    msg.track_id = track_id
    msg.layout = layout
    msg.image_width, msg.image_height = W, H
    msg.x = array.array("f", kp[:, 0].tolist())
    msg.y = array.array("f", kp[:, 1].tolist())
    msg.score = array.array("f", kp[:, 2].tolist())
    msg.track_state = state
    return msg


def pose_array(t: float, poses: list):
    from socialego_msgs.msg import WholeBodyPoseArray

    msg = WholeBodyPoseArray()
    msg.header.stamp = stamp_of(t)
    msg.header.frame_id = FRAME_ID
    msg.poses = poses
    return msg


@pytest.fixture(scope="module")
def predictor():
    import torch
    from socialego_core.artifact import StudentPredictor

    torch.set_num_threads(1)
    return StudentPredictor(MODEL, device="cpu", threads=1)


@contextlib.contextmanager
def intent_node_env(params: dict = PARAMS):
    """A running intent node process and a client: publisher of poses, collected intents,
    model info and diagnostics."""
    require_ros(("socialego_inference", "intent_node"))
    from diagnostic_msgs.msg import DiagnosticArray
    from socialego_ros.qos import LATCHED

    from socialego_msgs.msg import ModelInfo, SocialIntentArray, WholeBodyPoseArray

    domain = unique_domain_id()
    node = NodeProcess("socialego_inference", "intent_node", domain, params)
    client = RosClient(domain)
    latched = LATCHED  # as the intent node publishes ModelInfo
    env = {
        "node": node,
        "client": client,
        "pub": client.node.create_publisher(WholeBodyPoseArray, "/socialego/poses", 10),
        "intents": client.collect(SocialIntentArray, "/socialego/intents"),
        "info": client.collect(ModelInfo, "/socialego/model_info", latched),
        "diagnostics": client.collect(DiagnosticArray, "/diagnostics"),
    }
    try:
        assert client.spin_until(lambda: env["pub"].get_subscription_count() > 0, 60), node.log()
        yield env
    finally:
        client.close()
        node.stop()


@pytest.fixture(scope="module")
def ros():
    with intent_node_env() as env:
        yield env


def publish_tracks(ros, tracks: dict[str, float], duration: float, t0: float, fps: float = 30.0):
    """Publish every track (id -> x centre) at ``fps`` for ``duration`` s of stamps from t0;
    return the last stamp sent. Stamps are wall time so that the node's clock agrees."""
    n = int(duration * fps)
    t = t0
    for i in range(n):
        t = t0 + i / fps
        ros["pub"].publish(
            pose_array(t, [pose_msg(k, t, body_keypoints(x)) for k, x in tracks.items()])
        )
        ros["client"].spin_for(1.0 / fps)
    return t


def latest_with(ros, track_ids: set[str], after: int, timeout: float = 10.0):
    """Wait for an intent array holding exactly ``track_ids``, among those received after
    index ``after`` of the collected list."""
    found = {}

    def check() -> bool:
        for msg in reversed(ros["intents"][after:]):
            if {i.track_id for i in msg.intents} == track_ids:
                found["msg"] = msg
                return True
        return False

    ros["client"].spin_until(check, timeout)
    return found.get("msg")


def test_model_info_is_latched_and_matches_the_artifact(ros, predictor):
    assert ros["client"].spin_until(lambda: len(ros["info"]) > 0, 20), ros["node"].log()
    info = ros["info"][-1]
    assert info.model_version == predictor.version
    assert list(info.intent_labels) == list(predictor.labels.intent)
    assert list(info.action_labels) == list(predictor.labels.action)
    assert info.window_length == predictor.window_spec.length
    assert list(info.joints) == list(predictor.window_spec.joints)
    assert info.normalisation == predictor.window_spec.normalisation


def test_empty_heartbeat_without_people(ros):
    assert ros["client"].spin_until(lambda: len(ros["intents"]) >= 3, 20), ros["node"].log()
    assert all(len(m.intents) == 0 for m in ros["intents"][:3])


def test_three_people_give_three_intents_with_their_stamps_and_shapes(ros, predictor):
    start = len(ros["intents"])
    tracks = {"1": 100.0, "2": 300.0, "3": 500.0}
    last = publish_tracks(ros, tracks, predictor.window_spec.duration_s + 0.4, time.time())
    msg = latest_with(ros, set(tracks), start)
    assert msg is not None, ros["node"].log()
    # the intents that arrive after the last pose must carry exactly its stamp
    ros["client"].spin_for(0.3)
    msg = ros["intents"][-1]
    assert {i.track_id for i in msg.intents} == set(tracks), ros["node"].log()[-3000:]
    n_action = len(predictor.labels.action)
    for intent in msg.intents:
        assert intent.header.stamp == stamp_of(last)  # exactly, to the nanosecond
        assert intent.header.frame_id == FRAME_ID
        assert len(intent.intent_probabilities) == 3
        assert len(intent.attitude_probabilities) == 3
        assert len(intent.action_probabilities) == n_action
        for probs in (intent.intent_probabilities, intent.action_probabilities):
            assert sum(probs) == pytest.approx(1.0, abs=1e-4)
        assert intent.model_version == predictor.version
        assert intent.frames_used == predictor.window_spec.length
        assert intent.input_quality == pytest.approx(1.0, abs=1e-6)
        assert 1 <= intent.intent <= 3  # enter threshold 0: a decision is made
        assert intent.action_label == predictor.labels.action[intent.action - 1]
        expected = predictor.window_spec.duration_s
        assert intent.observation_window.sec + intent.observation_window.nanosec * 1e-9 == (
            pytest.approx(expected, abs=1e-6)
        )
    assert msg.header.stamp == stamp_of(last)


def test_probabilities_equal_an_offline_forward_pass(ros, predictor):
    """The node's window is the training window: its probabilities match build_window + model."""
    from socialego_core.window import build_window

    t0 = time.time()
    kp = body_keypoints(250.0)
    last = publish_tracks(ros, {"same": 250.0}, predictor.window_spec.duration_s + 0.3, t0)
    ros["client"].spin_for(0.3)
    msg = ros["intents"][-1]
    intent = next(i for i in msg.intents if i.track_id == "same")
    assert intent.header.stamp == stamp_of(last)  # exactly, to the nanosecond
    window = build_window({0: kp}, W, H, predictor.window_spec)
    expected = predictor.predict(window.keypoints[None])
    np.testing.assert_allclose(intent.intent_probabilities, expected["intent"][0], atol=1e-4)
    np.testing.assert_allclose(intent.action_probabilities, expected["action"][0], atol=1e-4)


def test_tracks_vanish_turn_stale_expire_and_come_back(ros):
    last = publish_tracks(ros, {"v": 320.0}, 0.5, time.time())
    ros["client"].spin_for(0.7)  # past stale_after_s (0.5), before max_track_gap_s (1.0)
    current = [i for i in ros["intents"][-1].intents if i.track_id == "v"]
    assert current and current[0].stale
    ros["client"].spin_for(1.0)  # past max_track_gap_s: gone
    assert "v" not in {i.track_id for i in ros["intents"][-1].intents}
    start = len(ros["intents"])
    publish_tracks(ros, {"v": 320.0}, 0.1, time.time())
    msg = latest_with(ros, {"v"}, start)
    assert msg is not None
    back = msg.intents[0]
    assert seconds(back.header.stamp) > last
    assert back.frames_used <= 4  # a fresh track, not the old history


def malformed_inputs(t: float) -> list[tuple[str, list]]:
    good = body_keypoints(200.0)
    nan = good.copy()
    nan[0, 0] = math.nan
    nan[5, 1] = math.inf
    nan[6, 2] = math.nan
    sparse = np.zeros_like(good)
    return [
        ("wrong_length", [pose_msg("bad1", t, good[:50])]),
        ("unknown_layout", [pose_msg("bad2", t, good, layout=42)]),
        ("coco17_wrong_length", [pose_msg("bad3", t, good, layout=1)]),
        ("nan_inf", [pose_msg("nan", t, nan)]),
        ("sparse", [pose_msg("sparse", t, sparse)]),
        ("empty_track_id", [pose_msg("", t, good)]),
    ]


def test_malformed_inputs_are_survived_and_handled(ros):
    t = time.time()
    for _, poses in malformed_inputs(t):
        ros["pub"].publish(pose_array(t, poses))
        ros["client"].spin_for(0.05)
    zero_size = pose_msg("zero", t, body_keypoints(1.0))
    zero_size.image_width = 0
    ros["pub"].publish(pose_array(t, [zero_size]))
    # time going backwards for one track (a bag loop restarting)
    ros["pub"].publish(pose_array(t, [pose_msg("loop", t, body_keypoints(1.0))]))
    ros["client"].spin_for(0.05)
    ros["pub"].publish(pose_array(t - 3, [pose_msg("loop", t - 3, body_keypoints(1.0))]))
    ros["client"].spin_for(0.5)
    assert ros["node"].alive(), ros["node"].log()
    log = ros["node"].log()
    kinds = ("wrong_length", "unknown_layout", "bad_image_size", "empty_track_id", "non_finite")
    for kind in (*kinds, "time_backwards"):
        assert f"[{kind}]" in log, f"no {kind} warning in:\n{log}"
    assert "has 133 keypoints" in log or "needs 133 keypoints" in log
    assert "unknown layout code 42" in log
    assert "image size must be positive" in log
    ids = {i.track_id for m in ros["intents"][-5:] for i in m.intents}
    assert not ids & {"bad1", "bad2", "bad3", "zero", ""}
    # NaN/inf poses and all-zero poses become tracks with finite, low-quality windows
    msg = ros["intents"][-1]
    by_id = {i.track_id: i for i in msg.intents}
    if "sparse" in by_id:
        assert by_id["sparse"].input_quality == pytest.approx(0.0)
    for intent in msg.intents:
        assert all(math.isfinite(p) for p in intent.intent_probabilities)
    # and the node still answers correctly
    start = len(ros["intents"])
    publish_tracks(ros, {"after": 400.0}, 0.4, time.time())
    found = latest_with(ros, {"after"} | ({"loop"} & set(by_id)), start, timeout=5)
    ids_after = {i.track_id for i in ros["intents"][-1].intents}
    assert found is not None or "after" in ids_after, ros["node"].log()


def test_track_churn_keeps_at_most_max_tracks(ros):
    t0 = time.time()
    for i in range(120):  # 120 people appear once each, 6 per message
        t = t0 + i / 600
        poses = [pose_msg(f"churn{i}_{k}", t, body_keypoints(50.0 + 5 * k)) for k in range(6)]
        ros["pub"].publish(pose_array(t, poses))
        if i % 10 == 0:
            ros["client"].spin_for(0.02)
    ros["client"].spin_for(0.5)
    assert ros["node"].alive()
    assert 0 < len(ros["intents"][-1].intents) <= PARAMS["max_tracks"]
    assert "[too_many_tracks]" in ros["node"].log()
    ros["client"].spin_for(2.0)  # everyone expires
    assert len(ros["intents"][-1].intents) == 0


def test_diagnostics_report_rate_latency_and_tracks(ros):
    assert ros["client"].spin_until(lambda: len(ros["diagnostics"]) > 0, 10)
    status = [s for m in ros["diagnostics"] for s in m.status if s.name.endswith("intent_node")]
    assert status
    keys = {kv.key for kv in status[-1].values}
    assert {"input_rate_hz", "processing_ms", "stamp_latency_ms", "active_tracks"} <= keys
    values = {kv.key: kv.value for kv in status[-1].values}
    assert float(values["processing_ms"]) > 0
    assert int(values["pose_messages"]) > 0


def start_failing(params: dict, expect: str) -> str:
    require_ros(("socialego_inference", "intent_node"))
    node = NodeProcess("socialego_inference", "intent_node", unique_domain_id(), params)
    try:
        assert node.wait_for_log(expect, timeout=60), node.log()
        time.sleep(0.5)
        assert node.alive(), "a failed configure must not kill the process"
        assert "configure failed" in node.log()
        return node.log()
    finally:
        node.stop()


def test_missing_model_fails_configure_naming_the_file(tmp_path):
    missing = tmp_path / "nope.pt"
    log = start_failing({"model_path": str(missing)}, str(missing))
    assert "does not exist" in log


def test_corrupt_model_fails_configure_naming_the_file(tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"this is not a torch file" * 10)
    log = start_failing({"model_path": str(corrupt)}, "cannot load model file")
    assert str(corrupt) in log


def test_out_of_range_parameter_fails_configure_with_its_name():
    log = start_failing({"inference_rate_hz": 0.0}, "invalid configuration")
    assert "inference_rate_hz" in log


def test_inconsistent_hysteresis_fails_configure():
    log = start_failing({"hysteresis_enter": 0.2, "hysteresis_exit": 0.5}, "invalid configuration")
    assert "exit_threshold" in log


def test_behaviour_node_greets_and_alerts_by_label_name():
    require_ros(("socialego_inference", "behaviour_node"))
    from socialego_ros.qos import LATCHED
    from std_msgs.msg import String

    from socialego_msgs.msg import ModelInfo, SocialIntent, SocialIntentArray

    domain = unique_domain_id()
    node = NodeProcess("socialego_inference", "behaviour_node", domain, {"greet_cooldown_s": 100.0})
    client = RosClient(domain)
    try:
        latched = LATCHED  # as the intent node publishes ModelInfo
        info_pub = client.node.create_publisher(ModelInfo, "/socialego/model_info", latched)
        pub = client.node.create_publisher(SocialIntentArray, "/socialego/intents", 10)
        greets = client.collect(String, "/socialego/behaviour/greet")
        alerts = client.collect(String, "/socialego/behaviour/alert")
        # a label order unlike the constants: the node must go by names
        info = ModelInfo(
            intent_labels=["Not_Interested", "Interested", "Interacting"],
            attitude_labels=["Positive", "Negative", "Not_Interacting"],
            action_labels=["Wave", "Punch"],
        )
        info_pub.publish(info)
        assert client.spin_until(lambda: pub.get_subscription_count() > 0, 60), node.log()
        assert node.wait_for_log("model", 20)

        def one_hot(decision: int, p: float = 0.9) -> list[float]:
            return [p if k == decision else (1 - p) / 2 for k in (1, 2, 3)]

        def intents(*items):
            # stamped now (the node drops forecasts older than max_age_s by its clock)
            msg = SocialIntentArray()
            msg.header.stamp = client.node.get_clock().now().to_msg()
            msg.intents = [
                SocialIntent(
                    header=msg.header,
                    track_id=tid,
                    intent=intent,
                    intent_probabilities=one_hot(intent),
                    attitude=attitude,
                    attitude_probabilities=one_hot(attitude),
                    action=2 if punch > 0.5 else 1,
                    action_probabilities=[1 - punch, punch],
                    input_quality=1.0,
                    stale=stale,
                )
                for tid, intent, attitude, punch, stale in items
            ]
            return msg

        sequence = [
            intents(("a", 1, 3, 0.0, False), ("b", 2, 3, 0.0, True)),  # b Interested but stale
            intents(("a", 2, 3, 0.0, False), ("b", 2, 3, 0.0, True)),  # a becomes Interested
            intents(("a", 2, 3, 0.0, False), ("c", 3, 2, 0.0, False)),  # c Negative
            intents(("a", 2, 3, 0.0, False), ("d", 3, 1, 0.9, False)),  # d Punch forecast
        ]
        for msg in sequence:
            pub.publish(msg)
            client.spin_for(0.3)
        client.spin_until(lambda: len(alerts) >= 2, 10)
        assert [g.data for g in greets] == ["a"]  # once, not b (stale), not again for a
        assert [a.data.split(":")[0] for a in alerts] == ["c", "d"]
        assert "Negative" in alerts[0].data and "Punch" in alerts[1].data
        # the listener's thresholds are live parameters: at 0.95, e (Interested at 0.9) is
        # not acted on; back at 0.5 it appears and is greeted
        results = client.set_parameters("/behaviour_node", min_probability=0.95)
        assert all(r.successful for r in results), results
        pub.publish(intents(("e", 2, 3, 0.0, False)))
        client.spin_for(0.5)
        assert [g.data for g in greets] == ["a"]
        assert not client.set_parameters("/behaviour_node", min_probability=1.5)[0].successful
        client.set_parameters("/behaviour_node", min_probability=0.5)
        pub.publish(intents(("e", 2, 3, 0.0, False)))
        client.spin_until(lambda: len(greets) >= 2, 5)
        assert [g.data for g in greets] == ["a", "e"]
        assert node.alive()
    finally:
        client.close()
        node.stop()


def test_sim_time_drives_staleness_and_a_bag_loop_resets():
    """With use_sim_time the node's clock is /clock: poses stamped in bag time are fresh, and
    /clock jumping back (a looping bag) resets the state."""
    require_ros(("socialego_inference", "intent_node"))
    from rosgraph_msgs.msg import Clock

    from socialego_msgs.msg import SocialIntentArray, WholeBodyPoseArray

    domain = unique_domain_id()
    node = NodeProcess(
        "socialego_inference",
        "intent_node",
        domain,
        {"use_sim_time": True, "inference_rate_hz": 20.0, "stale_after_s": 0.5},
    )
    client = RosClient(domain)
    try:
        clock = client.node.create_publisher(Clock, "/clock", 10)
        pub = client.node.create_publisher(WholeBodyPoseArray, "/socialego/poses", 10)
        intents = client.collect(SocialIntentArray, "/socialego/intents")
        assert client.spin_until(lambda: pub.get_subscription_count() > 0, 60), node.log()
        bag_t = 500.0  # bag time, far from wall time
        for i in range(40):
            t = bag_t + i / 30
            clock.publish(Clock(clock=stamp_of(t)))
            pub.publish(pose_array(t, [pose_msg("bag", t, body_keypoints(300.0))]))
            client.spin_for(1 / 30)
        client.spin_until(lambda: intents and intents[-1].intents, 10)
        # timers run on /clock: let bag time move on a little (less than stale_after_s)
        for k in range(1, 5):
            clock.publish(Clock(clock=stamp_of(bag_t + 39 / 30 + 0.05 * k)))
            client.spin_for(0.1)
        fresh = intents[-1].intents[0]
        assert fresh.track_id == "bag" and not fresh.stale, node.log()
        assert abs(seconds(fresh.header.stamp) - (bag_t + 39 / 30)) < 1e-6
        # bag time moves on without poses: stale, although wall time hardly moved
        clock.publish(Clock(clock=stamp_of(bag_t + 2.0)))
        client.spin_for(0.5)
        later = [i for i in intents[-1].intents if i.track_id == "bag"]
        assert not later or later[0].stale
        # the bag loops: clock back to its start -> everything reset
        for k in range(5):
            clock.publish(Clock(clock=stamp_of(bag_t + 0.05 * k)))
            client.spin_for(0.1)
        assert node.wait_for_log("[clock_backwards]", 10), node.log()
        client.spin_for(0.3)
        assert intents[-1].intents == []  # the buffers were emptied
        assert node.alive()
    finally:
        client.close()
        node.stop()


def set_parameter(ros, name: str, value):
    """``ros2 param set`` over the node's parameter service; the SetParametersResult."""
    from rclpy.parameter import Parameter
    from rclpy.parameter_client import AsyncParameterClient

    params = AsyncParameterClient(ros["client"].node, "/intent_node")
    assert params.wait_for_services(timeout_sec=10), "no parameter services"
    future = params.set_parameters([Parameter(name, value=value)])
    assert ros["client"].spin_until(future.done, 10)
    return future.result().results[0]


def heartbeat_rate(ros, seconds: float) -> float:
    start = len(ros["intents"])
    ros["client"].spin_for(seconds)
    return (len(ros["intents"]) - start) / seconds


def test_live_parameters_apply_at_once_and_the_others_are_refused_with_a_reason(ros):
    assert ros["client"].spin_until(lambda: len(ros["intents"]) >= 3, 20), ros["node"].log()
    before = heartbeat_rate(ros, 2.0)
    result = set_parameter(ros, "inference_rate_hz", 2.0)
    assert result.successful, result.reason
    ros["client"].spin_for(0.6)
    after = heartbeat_rate(ros, 3.0)
    assert set_parameter(ros, "inference_rate_hz", PARAMS["inference_rate_hz"]).successful
    assert before > 12 and after < 4, (before, after)  # 20 Hz -> 2 Hz, no reconfigure
    assert "applied inference_rate_hz=2.0" in ros["node"].log()

    refused = set_parameter(ros, "model_path", "/elsewhere/model.pt")
    assert not refused.successful
    assert "read at configure" in refused.reason and "cleanup" in refused.reason
    assert "model_path" in refused.reason
    bad_order = set_parameter(ros, "hysteresis_exit", 0.5)  # above hysteresis_enter (0.0)
    assert not bad_order.successful and "exit" in bad_order.reason
    out_of_range = set_parameter(ros, "hysteresis_alpha", 7.0)
    assert not out_of_range.successful
    assert ros["node"].alive()


def answered_stamps(ros, after: int) -> set[tuple[int, int]]:
    return {
        (m.header.stamp.sec, m.header.stamp.nanosec) for m in ros["intents"][after:] if m.intents
    }


def publish_spaced(ros, count: int, period: float) -> list[tuple[int, int]]:
    """``count`` pose arrays of two people, ``period`` s apart; their stamps."""
    sent = []
    for _ in range(count):
        t = time.time()
        ros["pub"].publish(
            pose_array(
                t, [pose_msg(k, t, body_keypoints(x)) for k, x in (("a", 150.0), ("b", 450.0))]
            )
        )
        stamp = stamp_of(t)
        sent.append((stamp.sec, stamp.nanosec))
        ros["client"].spin_for(period)
    return sent


def test_tick_on_pose_answers_every_pose_array_and_the_timer_alone_does_not():
    """With a 0.2 Hz timer only pose-driven ticks can answer 10 arrays a second."""
    params = {**PARAMS, "inference_rate_hz": 0.2, "tick_on_pose": True}
    with intent_node_env(params) as ros:
        start = len(ros["intents"])
        sent = publish_spaced(ros, 12, 0.1)
        ros["client"].spin_for(0.5)
        answered = answered_stamps(ros, start)
        assert set(sent) <= answered, (len(set(sent) & answered), len(sent), ros["node"].log())
        assert {i.track_id for i in ros["intents"][-1].intents} == {"a", "b"}

        assert set_parameter(ros, "tick_on_pose", False).successful
        start = len(ros["intents"])
        sent = publish_spaced(ros, 12, 0.1)
        ros["client"].spin_for(0.5)
        assert len(set(sent) & answered_stamps(ros, start)) <= 2  # at most the timer's tick
        assert ros["node"].alive()


def test_torch_runtime_runs_the_pt_artifact(predictor):
    params = {**PARAMS, "runtime": "torch"}
    with intent_node_env(params) as ros:
        assert ros["client"].spin_until(lambda: len(ros["info"]) > 0, 20), ros["node"].log()
        assert ros["info"][-1].model_version == predictor.version
        start = len(ros["intents"])
        publish_spaced(ros, 4, 0.1)
        assert latest_with(ros, {"a", "b"}, start) is not None, ros["node"].log()
        assert "runtime torch" in ros["node"].log()


def test_the_int8_model_runs_in_the_node_and_says_so(predictor):
    int8 = MODEL.with_suffix(".int8.onnx")
    with intent_node_env({**PARAMS, "model_path": str(int8)}) as ros:
        assert ros["client"].spin_until(lambda: len(ros["info"]) > 0, 20), ros["node"].log()
        assert ros["info"][-1].model_version == predictor.version  # the same trained weights
        start = len(ros["intents"])
        publish_spaced(ros, 4, 0.1)
        assert latest_with(ros, {"a", "b"}, start) is not None, ros["node"].log()
        assert "runtime onnx (int8) on cpu" in ros["node"].log()


def test_a_runtime_that_cannot_read_the_model_fails_configure_naming_both():
    onnx_model = MODEL.with_suffix(".onnx")
    log = start_failing({"runtime": "torch", "model_path": str(onnx_model)}, "cannot load model")
    assert "runtime 'torch' cannot run socialego_student_synthetic.onnx" in log


def test_an_onnx_model_the_runtime_cannot_run_fails_configure(tmp_path):
    log = start_failing({"model_path": str(unrunnable_copy(tmp_path))}, "cannot load model file")
    assert "unrunnable.onnx" in log
