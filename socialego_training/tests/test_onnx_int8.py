"""``export --format onnx --quantize int8``: the Bi-LSTM recurrence's products in int8. The file
says so, agrees with the float model on real windows (its own metrics and the agreement are
stored when a test split is given), gives each window the same result whatever else is in the
batch, and runs through the engine's cached forward as the whole graph does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from socialego_core.artifact import StudentPredictor
from socialego_core.labels import TASKS
from socialego_core.onnx_predictor import OnnxStudentPredictor
from socialego_core.window import WindowSpec
from socialego_training.cli import main as cli_main
from socialego_training.data import load_split
from socialego_training.datasets import PoseWindowDataset
from test_onnx_export import SHIPPED, max_difference, random_windows

SHIPPED_INT8 = SHIPPED.with_suffix(".int8.onnx")
# the int8 file against the float model: probabilities move by a few hundredths at most
# (measured 0.038 on 900 test windows of the shipped model)
PROBABILITY_CHANGE = 0.1


def export_int8(tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "m.int8.onnx"
    args = ["export", "--model", str(SHIPPED), "--out", str(out), "--format", "onnx"]
    assert cli_main([*args, "--quantize", "int8", *extra]) == 0
    return out


def test_int8_export_quantises_only_the_recurrence_and_says_so(tmp_path: Path) -> None:
    path = export_int8(tmp_path)
    proto = onnx.load(str(path))
    ops = [node.op_type for node in proto.graph.node]
    steps = OnnxStudentPredictor(path).window_spec.length
    assert ops.count("MatMulIntegerToFloat") == steps - 1  # every step but the first
    assert ops.count("QuantizeLinear") == steps - 1
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["socialego.quantize"] == "int8"
    predictor = OnnxStudentPredictor(path)
    assert predictor.quantize == "int8"
    assert predictor.version == StudentPredictor(SHIPPED).version  # the same trained weights


def test_int8_agrees_with_the_float_model_and_stores_its_own_metrics(
    tmp_path: Path, toy_root: Path
) -> None:
    path = export_int8(tmp_path, "--data-root", str(toy_root))
    int8 = OnnxStudentPredictor(path, threads=1)
    float_model = StudentPredictor(SHIPPED, threads=1)
    test_set = PoseWindowDataset(load_split(toy_root, "test", "jpl_social").tracks, WindowSpec())
    windows, labels = test_set.windows.numpy(), test_set.labels.numpy()
    a, b = int8.predict(windows), float_model.predict(windows)
    assert max_difference(a, b) <= PROBABILITY_CHANGE
    check = int8.metadata["quantization_check"]
    assert check["split"] == "test" and check["n"] == len(windows)
    for i, task in enumerate(TASKS):
        equal = float((a[task].argmax(1) == b[task].argmax(1)).mean())
        assert check[f"{task}_decisions_equal"] == equal
        assert check[f"{task}_max_probability_change"] <= PROBABILITY_CHANGE
        # the stored metrics are the int8 file's own decisions
        accuracy = float((a[task].argmax(1) == labels[:, i]).mean())
        assert int8.metadata["metrics"]["test"][f"{task}_acc"] == accuracy


def test_int8_results_do_not_depend_on_the_rest_of_the_batch(tmp_path: Path) -> None:
    predictor = OnnxStudentPredictor(export_int8(tmp_path), threads=1)
    crowd = random_windows(20, seed=7)
    together = predictor.predict_logits(crowd)
    for i in (0, 13):
        alone = predictor.predict_logits(crowd[i : i + 1])
        for task in TASKS:
            np.testing.assert_allclose(alone[task][0], together[task][i], atol=1e-5)


def test_int8_cached_forward_equals_its_whole_graph(tmp_path: Path) -> None:
    predictor = OnnxStudentPredictor(export_int8(tmp_path), threads=1)
    x = random_windows(12, seed=11)
    cached = predictor.cached_forward()
    assert max_difference(cached.predict(x), predictor.predict(x)) <= 1e-5


def test_quantize_needs_the_onnx_format(tmp_path: Path, capsys) -> None:
    out = tmp_path / "m.pt"
    args = ["export", "--model", str(SHIPPED), "--out", str(out), "--quantize", "int8"]
    assert cli_main(args) == 2
    assert "--quantize int8 needs --format onnx" in capsys.readouterr().err
    assert not out.exists()


def test_the_shipped_int8_model_is_the_quantised_export_of_the_shipped_artifact() -> None:
    int8 = OnnxStudentPredictor(SHIPPED_INT8, threads=1)
    float_model = StudentPredictor(SHIPPED, threads=1)
    assert int8.quantize == "int8" and int8.version == float_model.version
    assert int8.metadata.get("calibration") == float_model.metadata.get("calibration")
    check = int8.metadata["quantization_check"]
    assert check["n"] >= 900 and min(check[f"{t}_decisions_equal"] for t in TASKS) >= 0.99
    x = random_windows(8, seed=5)
    assert max_difference(int8.predict(x), float_model.predict(x)) <= PROBABILITY_CHANGE
    notes = int8.metadata["notes"]
    assert "--quantize int8" in notes
