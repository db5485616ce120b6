"""The student on ONNX Runtime: the runtime is chosen by parameter and file type, the engine
gives PyTorch's intents with it, its cached forward embeds each frame once, and a process that
runs the intent node's ONNX path never imports torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from intent_inprocess import moving_body
from socialego_core.hysteresis import HysteresisConfig
from socialego_core.intent_engine import IntentEngine
from socialego_core.labels import TASKS
from socialego_core.model_loader import load_predictor, model_runtime
from socialego_core.onnx_predictor import OnnxCachedForward, OnnxStudentPredictor
from socialego_core.track_buffers import OnlineConfig
from test_fast_forward import sliding_windows

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_ONNX = ROOT / "socialego_inference" / "models" / "socialego_student_synthetic.onnx"
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def onnx_predictor() -> OnnxStudentPredictor:
    return OnnxStudentPredictor(SHIPPED_ONNX, threads=1)


def test_runtime_follows_the_file_type_and_refuses_a_mismatch(tmp_path):
    assert model_runtime("m.onnx") == "onnx" and model_runtime("m.pt", "auto") == "torch"
    assert model_runtime("m.onnx", "onnx") == "onnx" and model_runtime("m.pt", "torch") == "torch"
    with pytest.raises(ValueError, match=r"runtime 'torch' cannot run m.onnx"):
        model_runtime("m.onnx", "torch")
    with pytest.raises(ValueError, match=r"runtime 'onnx' cannot run m.pt.*--format onnx"):
        model_runtime("m.pt", "onnx")
    with pytest.raises(ValueError, match=r"unknown type '.tflite'"):
        model_runtime("m.tflite")
    with pytest.raises(ValueError, match=r"runtime 'tensorrt' is unknown"):
        model_runtime("m.onnx", "tensorrt")
    assert load_predictor(SHIPPED_ONNX, threads=1).runtime == "onnx"


def test_engine_on_onnx_runtime_gives_the_pytorch_intents(predictor, onnx_predictor):
    rng = np.random.default_rng(4)
    online = OnlineConfig(max_tracks=8, min_frames=2)
    hysteresis = HysteresisConfig(min_steps=1, enter_threshold=0.4, exit_threshold=0.3)
    engines = [IntentEngine(p, online, hysteresis) for p in (predictor, onnx_predictor)]
    assert type(engines[1].forward) is OnnxCachedForward
    t, people = 50.0, {str(i): 80.0 + 70.0 * i for i in range(6)}
    compared = 0
    for step in range(60):
        t += 1 / 15
        for tid, cx in people.items():
            if rng.random() < 0.2:
                continue
            kp = moving_body(rng, cx + step)
            for engine in engines:
                engine.add_pose(tid, t, kp, 640.0, 480.0, 2)
        torch_tick, onnx_tick = (engine.tick(t + 0.01) for engine in engines)
        assert (torch_tick.intents is None) == (onnx_tick.intents is None)
        if torch_tick.intents is None:
            continue
        a, b = torch_tick.intents, onnx_tick.intents
        assert a.track_ids == b.track_ids
        for task in TASKS:
            worst = float(np.abs(a.probabilities[task] - b.probabilities[task]).max())
            assert worst <= TOLERANCE, f"step {step}: {task} differs by {worst}"
            np.testing.assert_array_equal(a.decisions[task], b.decisions[task])
        compared += 1
    assert compared > 50


def test_onnx_cached_forward_embeds_each_frame_once_and_overflows_safely(onnx_predictor):
    rng = np.random.default_rng(0)
    fast = onnx_predictor.cached_forward()
    small = OnnxCachedForward(onnx_predictor, max_cached_frames=16)  # < one batch's frames
    ticks = sliding_windows(rng, tracks=12, frames=30, length=10)
    for k, batch in enumerate(ticks):
        before = fast.frames_computed
        expected = onnx_predictor.predict(batch)
        for forward in (fast, small):
            out = forward.predict(batch)
            for task in TASKS:
                assert float(np.abs(out[task] - expected[task]).max()) <= 1e-5
        if k:
            assert fast.frames_computed - before <= 12
    distinct = len({f.tobytes() for f in ticks.reshape(-1, 17, 3)})
    assert fast.frames_computed == distinct
    assert small.frames_computed == distinct  # frames that slid out never come back
    assert len(small) <= 12 * 10 < len(fast)  # the small cache kept only the batch's frames


def test_onnx_predictor_checks_its_input_like_the_pytorch_one(onnx_predictor):
    with pytest.raises(ValueError, match=r"\.onnx: expected input \(B, 10, 17, 3\)"):
        onnx_predictor.predict(np.zeros((2, 30, 17, 3), np.float32))
    bad = np.zeros((1, 10, 17, 3), np.float32)
    bad[0, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        onnx_predictor.predict(bad)
    assert onnx_predictor.predict(np.zeros((0, 10, 17, 3), np.float32))["action"].shape == (0, 10)
    assert onnx_predictor.predict(np.zeros((10, 17, 3), np.float32))["intent"].shape == (1, 3)


NO_TORCH = """
import sys
sys.modules["torch"] = None  # any import of torch now fails
import numpy as np
from socialego_inference import intent_node
from socialego_core.intent_engine import IntentEngine
from socialego_core.model_loader import load_predictor

path = intent_node.default_model_path("auto")
assert path.endswith(".onnx"), path
predictor = load_predictor(path, "auto", threads=1)
engine = IntentEngine(predictor)
kp = np.zeros((133, 3), np.float32)
kp[:17, 0] = np.linspace(200, 260, 17)
kp[:17, 1] = np.linspace(100, 420, 17)
kp[:17, 2] = 0.9
for k in range(12):
    engine.add_pose("1", 10.0 + k / 10, kp + k, 640.0, 480.0, 2)
    result = engine.tick(10.0 + k / 10)
assert result.intents is not None and result.error is None, result.error
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "torch" and sys.modules[m])
print(loaded)
sys.exit(1 if loaded else 0)
"""


def test_the_onnx_path_of_the_intent_node_never_imports_torch():
    result = subprocess.run(
        [sys.executable, "-c", NO_TORCH], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_onnx_runtime_failure_is_a_tick_error_not_a_crash(onnx_predictor):
    from onnxruntime.capi.onnxruntime_pybind11_state import Fail

    class FailingSession:
        def run(self, outputs, feeds):
            raise Fail("simulated kernel failure")

    engine = IntentEngine(onnx_predictor)
    engine.forward.window_session = FailingSession()
    kp = moving_body(np.random.default_rng(0), 300.0)
    engine.add_pose("1", 10.0, kp, 640.0, 480.0, 2)
    result = engine.tick(10.0)
    assert result.intents is None
    assert "socialego_student_synthetic.onnx: ONNX Runtime failed: simulated" in result.error


def unrunnable_copy(tmp_path: Path) -> Path:
    """The shipped ONNX model with one operator renamed to one that does not exist."""
    import onnx

    proto = onnx.load(str(SHIPPED_ONNX))
    proto.graph.node[-1].op_type = "NoSuchOperator"
    path = tmp_path / "unrunnable.onnx"
    onnx.save(proto, str(path))
    return path


def test_a_model_the_runtime_cannot_run_is_refused_naming_it(tmp_path):
    from socialego_core.predictor_base import ArtifactError

    predictor = OnnxStudentPredictor(unrunnable_copy(tmp_path))  # metadata reads fine
    with pytest.raises(ArtifactError, match="unrunnable.onnx"):
        predictor.cached_forward()
    with pytest.raises(ArtifactError, match="unrunnable.onnx: ONNX Runtime cannot run"):
        predictor.predict(np.zeros((1, 10, 17, 3), np.float32))
