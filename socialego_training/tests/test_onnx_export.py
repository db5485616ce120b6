"""The student's own GAT equals PyG's on the shipped weights; ``export --format onnx`` writes a
graph whose outputs are within 1e-4 of PyTorch (random and real windows, any batch) and which
carries the artifact's metadata."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from socialego_core import onnx_format as fmt
from socialego_core.artifact import StudentPredictor, build_model, load_artifact, write_calibration
from socialego_core.labels import TASKS
from socialego_core.onnx_predictor import OnnxStudentPredictor
from socialego_core.predictor_base import ArtifactError
from socialego_core.window import WindowSpec
from socialego_training.cli import main as cli_main
from socialego_training.data import load_split
from socialego_training.datasets import PoseWindowDataset

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "socialego_inference" / "models" / "socialego_student_synthetic.pt"
SHIPPED_ONNX = SHIPPED.with_suffix(".onnx")
TOLERANCE = 1e-4


def random_windows(batch: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.6, 0.6, (batch, 10, 17, 3)).astype(np.float32)
    x[..., 2] = rng.uniform(0, 1, x.shape[:3])
    x[rng.random(x.shape[:3]) < 0.1] = 0.0  # undetected joints
    return x


def max_difference(a: dict, b: dict) -> float:
    return max(float(np.abs(a[t] - b[t]).max()) for t in TASKS)


# PyG's import warns about torch.jit.script; this test is the only place that still imports it
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
def test_own_gat_equals_pyg_gat_on_the_shipped_weights() -> None:
    from socialego_core.layouts import BODY_EDGES
    from socialego_core.student import symmetric_edge_index
    from torch_geometric.nn import GAT

    model = build_model(load_artifact(SHIPPED))
    reference = GAT(in_channels=3, hidden_channels=16, num_layers=2).eval()  # self-loops on
    reference.load_state_dict(model.gat.state_dict())  # same names, same shapes
    frames = torch.from_numpy(random_windows(8).reshape(80, 17, 3))
    edges = symmetric_edge_index(BODY_EDGES)
    batched = torch.cat([edges + 17 * g for g in range(80)], dim=1)
    with torch.no_grad():
        expected = reference(frames.reshape(80 * 17, 3), batched).reshape(80, 17, 16)
        actual = model.gat(frames, model.adjacency)
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-6)
    # and in training mode (gradients flow through the same math)
    model.train()
    reference.train()
    out = model.gat(frames, model.adjacency)
    out.square().sum().backward()
    ref = reference(frames.reshape(80 * 17, 3), batched)
    ref.square().sum().backward()
    expected_grads = {name: p.grad for name, p in reference.named_parameters()}
    for name, p in model.gat.named_parameters():
        torch.testing.assert_close(p.grad, expected_grads[name], rtol=1e-4, atol=1e-5)


def export(tmp_path: Path, source: Path = SHIPPED, name: str = "m.onnx") -> Path:
    out = tmp_path / name
    assert cli_main(["export", "--model", str(source), "--out", str(out), "--format", "onnx"]) == 0
    return out


@pytest.mark.parametrize("batch", [1, 5, 20])
def test_onnx_outputs_equal_pytorch_on_random_windows(tmp_path: Path, batch: int) -> None:
    torch_model = StudentPredictor(SHIPPED, threads=1)
    onnx_model = OnnxStudentPredictor(export(tmp_path), threads=1)
    x = random_windows(batch, seed=batch)
    logits = onnx_model.predict_logits(x)
    shapes = {t: v.shape for t, v in logits.items()}
    assert shapes == {"intent": (batch, 3), "attitude": (batch, 3), "action": (batch, 10)}
    assert max_difference(logits, torch_model.predict_logits(x)) <= TOLERANCE
    assert max_difference(onnx_model.predict(x), torch_model.predict(x)) <= TOLERANCE


def test_onnx_outputs_equal_pytorch_on_real_windows_with_calibration(
    tmp_path: Path, toy_root: Path
) -> None:
    calibration = {
        "format": 1,
        "tasks": {"intent": {"method": "temperature", "temperature": 1.7}},
    }
    calibrated = tmp_path / "cal.pt"
    write_calibration(SHIPPED, calibrated, calibration)
    torch_model = StudentPredictor(calibrated, threads=1)
    onnx_model = OnnxStudentPredictor(export(tmp_path, calibrated), threads=1)
    assert onnx_model.calibration.method == "temperature"
    tracks = load_split(toy_root, "test", "jpl_social").tracks
    windows = PoseWindowDataset(tracks, WindowSpec()).windows.numpy()
    assert len(windows) >= 20
    logits = onnx_model.predict_logits(windows)
    assert max_difference(logits, torch_model.predict_logits(windows)) <= TOLERANCE
    assert max_difference(onnx_model.predict(windows), torch_model.predict(windows)) <= TOLERANCE


def test_onnx_file_carries_the_artifact_metadata(tmp_path: Path) -> None:
    path = export(tmp_path)
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    source = load_artifact(SHIPPED)["metadata"]
    assert props["version"] == source["version"]
    spec = source["window_spec"]
    assert props["layout"] == json.dumps(spec["layout"])
    assert json.loads(props["joints"]) == spec["joints"]
    assert json.loads(props["window"]) == {
        "length": spec["length"],
        "stride": spec["stride"],
        "source_fps": spec["source_fps"],
    }
    assert json.loads(props["normalisation"]) == spec["normalisation"]
    assert json.loads(props["labels"]) == source["labels"]
    assert json.loads(props["calibration"]) == source.get("calibration")
    meta = fmt.read_metadata(props)
    for key in ("model", "model_kwargs", "window_spec", "labels", "trained", "version"):
        assert meta[key] == source[key], key
    predictor = OnnxStudentPredictor(path)
    assert predictor.version == source["version"]
    assert predictor.window_spec.to_dict() == spec
    assert predictor.labels.to_dict() == source["labels"]


def test_export_refuses_a_mismatched_suffix(tmp_path: Path, capsys) -> None:
    out = tmp_path / "m.pt"
    assert cli_main(["export", "--model", str(SHIPPED), "--out", str(out), "--format", "onnx"]) == 2
    assert "must end in .onnx" in capsys.readouterr().err
    assert not out.exists()


def test_a_foreign_or_broken_onnx_file_is_refused_naming_it(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.onnx"
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
    )
    onnx.save(onnx.helper.make_model(graph), str(foreign))
    with pytest.raises(ArtifactError, match="foreign.onnx is not a SocialEgo ONNX model"):
        OnnxStudentPredictor(foreign)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a protobuf at all")
    with pytest.raises(ArtifactError, match="broken.onnx could not be read as ONNX"):
        OnnxStudentPredictor(broken)
    with pytest.raises(ArtifactError, match="missing.onnx does not exist"):
        OnnxStudentPredictor(tmp_path / "missing.onnx")


def test_the_shipped_onnx_model_is_the_export_of_the_shipped_artifact() -> None:
    torch_model = StudentPredictor(SHIPPED, threads=1)
    onnx_model = OnnxStudentPredictor(SHIPPED_ONNX, threads=1)
    assert onnx_model.version == torch_model.version
    assert onnx_model.metadata["window_spec"] == torch_model.metadata["window_spec"]
    assert onnx_model.metadata.get("calibration") == torch_model.metadata.get("calibration")
    x = random_windows(6, seed=3)
    assert max_difference(onnx_model.predict(x), torch_model.predict(x)) <= TOLERANCE
