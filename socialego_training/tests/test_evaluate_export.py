"""Evaluation outputs, corruption sweep, baseline, export and loading in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from socialego_core.artifact import ArtifactError, StudentPredictor, load_artifact, save_artifact
from socialego_core.labels import JPL_SOCIAL, TASKS
from socialego_core.student import SocialEgoMobile
from socialego_core.window import WindowSpec
from socialego_training.cli import main as cli_main
from socialego_training.data import load_split
from socialego_training.datasets import PoseWindowDataset
from socialego_training.train import TrainConfig, train


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> tuple[Path, Path]:
    from sego_toydata import write_toy_dataset

    base = tmp_path_factory.mktemp("evalrun")
    root = write_toy_dataset(base / "toy")
    cfg = TrainConfig(
        data_root=str(root),
        epochs=2,
        min_steps=0,
        train_window_hop=0,
        mirror=0.0,
        batch_size=16,
        out_dir=str(base / "run"),
        progress=False,
        device="cpu",
    )
    train(cfg, log=lambda _: None)
    return root, base / "run"


def test_evaluate_writes_metrics_and_confusion_pngs(trained_run, tmp_path: Path) -> None:
    root, run = trained_run
    out = tmp_path / "eval"
    assert (
        cli_main(
            [
                "evaluate",
                "--model",
                str(run),
                "--data-root",
                str(root),
                "--out",
                str(out),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 20
    for key in (
        "intent_acc",
        "attitude_acc",
        "action_acc",
        "attitude_masked_acc",
        "intent_f1",
        "attitude_f1",
        "action_f1",
        "attitude_masked_f1",
    ):
        assert 0.0 <= metrics[key] <= 1.0
    assert np.array(metrics["confusion"]["action"]).sum() == 20
    assert metrics["attitude_masked_n"] == 12  # 6 of 10 toy actions are interactions
    for task in TASKS:
        png = out / f"confusion_{task}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| model / setting |" in (out / "metrics.md").read_text()


def test_sweep_is_deterministic_with_seven_rows(trained_run, tmp_path: Path) -> None:
    root, run = trained_run
    for name in ("s1", "s2"):
        assert (
            cli_main(
                [
                    "sweep",
                    "--model",
                    str(run / "best.pt"),
                    "--data-root",
                    str(root),
                    "--out",
                    str(tmp_path / name),
                    "--device",
                    "cpu",
                ]
            )
            == 0
        )
    one = json.loads((tmp_path / "s1" / "sweep.json").read_text())
    two = json.loads((tmp_path / "s2" / "sweep.json").read_text())
    assert one == two and len(one["results"]) == 7
    table = (tmp_path / "s1" / "sweep.md").read_text()
    assert "60% frame & joint" in table and table.count("\n| ") == 8  # header + 7 rows
    assert (tmp_path / "s1" / "sweep.png").read_bytes()[:4] == b"\x89PNG"


def test_baseline_reports_majority_and_linear(toy_root: Path, tmp_path: Path) -> None:
    assert cli_main(["baseline", "--data-root", str(toy_root), "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "baseline.json").read_text())
    assert rows["majority class"]["action_acc"] == pytest.approx(0.1)  # balanced toy test set
    assert rows["linear (mean pose)"]["action_acc"] > 0.1


def test_export_then_load_in_fresh_process_without_training_code(
    trained_run, tmp_path: Path
) -> None:
    root, run = trained_run
    artifact = tmp_path / "student.pt"
    assert (
        cli_main(
            [
                "export",
                "--model",
                str(run),
                "--out",
                str(artifact),
                "--data-root",
                str(root),
                "--notes",
                "test export",
            ]
        )
        == 0
    )
    payload = torch.load(artifact, weights_only=True)  # plain types only
    meta = payload["metadata"]
    assert meta["trained"] is True and meta["notes"] == "test export"
    assert meta["window_spec"]["length"] == 10 and meta["labels"]["action"][0] == "Handshake"
    assert meta["metrics"]["test"]["n"] == 20 and meta["training_data"]["train"]["tracks"] == 60
    # the toy set is small: the recipe adds the input BatchNorm (2 x 51 parameters)
    assert meta["model_kwargs"]["input_norm"] is True
    assert len(meta["version"]) == 12 and meta["num_parameters"] == 430_649 + 102

    windows = PoseWindowDataset(load_split(root, "test").tracks).windows[:4].numpy()
    np.save(tmp_path / "x.npy", windows)
    script = f"""
import sys, json, numpy as np
from socialego_core.artifact import StudentPredictor
p = StudentPredictor({str(artifact)!r}, threads=1)
out = p.predict(np.load({str(tmp_path / "x.npy")!r}))
heavy = sorted(m for m in sys.modules if m.startswith("socialego_training") or m == "sklearn"
               or m.startswith("matplotlib"))
print(json.dumps({{"heavy": heavy, "version": p.version, "T": p.window_spec.length,
                  "action": out["action"].tolist()}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["heavy"] == [] and result["version"] == meta["version"] and result["T"] == 10
    probs = np.array(result["action"])
    assert probs.shape == (4, 10) and np.allclose(probs.sum(1), 1.0, atol=1e-5)
    local = StudentPredictor(artifact).predict(windows)["action"]
    np.testing.assert_allclose(probs, local, atol=1e-5)


def test_artifact_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pt"
    with pytest.raises(ArtifactError, match="nope.pt"):
        StudentPredictor(missing)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(ArtifactError, match="garbage.pt"):
        load_artifact(garbage)
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, other)
    with pytest.raises(ArtifactError, match="other.pt.*not a SocialEgo model artifact"):
        load_artifact(other)


def test_tampered_weights_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "m.pt"
    save_artifact(
        path,
        SocialEgoMobile(),
        {"window_spec": WindowSpec().to_dict(), "labels": JPL_SOCIAL.to_dict()},
    )
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["fc.0.bias"] += 1.0
    torch.save(payload, path)
    with pytest.raises(ArtifactError, match="do not match the recorded version"):
        load_artifact(path)


def test_predictor_validates_input(tmp_path: Path) -> None:
    path = tmp_path / "m.pt"
    save_artifact(
        path,
        SocialEgoMobile(),
        {"window_spec": WindowSpec().to_dict(), "labels": JPL_SOCIAL.to_dict()},
    )
    predictor = StudentPredictor(path)
    with pytest.raises(ValueError, match=r"m.pt: expected input \(B, 10, 17, 3\)"):
        predictor.predict(np.zeros((2, 30, 17, 3), np.float32))
    bad = np.zeros((1, 10, 17, 3), np.float32)
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        predictor.predict(bad)
    assert predictor.predict(np.zeros((0, 10, 17, 3), np.float32))["action"].shape == (0, 10)
    single = predictor.predict(np.zeros((10, 17, 3), np.float32))
    assert single["intent"].shape == (1, 3)


def test_committed_demo_artifact_loads() -> None:
    path = Path(__file__).resolve().parents[2] / "socialego_inference" / "models"
    artifact = path / "socialego_student_synthetic.pt"
    if not artifact.exists():
        pytest.skip(f"no demo artifact at {artifact} in this checkout")
    predictor = StudentPredictor(artifact)
    assert predictor.window_spec.length == 10 and predictor.labels.dataset == "jpl_social"
    out = predictor.predict(np.zeros((2, 10, 17, 3), np.float32))
    assert np.allclose(out["attitude"].sum(1), 1.0, atol=1e-5)


def test_old_artifact_with_a_data_path_still_loads_and_exports_without_it(
    trained_run, tmp_path: Path
) -> None:
    """Artifacts of older versions recorded training_data.root and config.data_root."""
    root, run = trained_run
    payload = load_artifact(run / "best.pt")
    old_meta = {
        k: v for k, v in payload["metadata"].items() if k not in ("version", "num_parameters")
    }
    old_root = "/data/old-machine/synth_old"
    data = {k: v for k, v in old_meta["training_data"].items() if k != "content_sha256"}
    old_meta["training_data"] = {**data, "root": old_root}
    old_meta["training_data"].pop("name")
    old_meta["training"] = {
        **old_meta["training"],
        "config": {**old_meta["training"]["config"], "data_root": old_root},
    }
    model = SocialEgoMobile(**old_meta["model_kwargs"])
    model.load_state_dict(payload["state_dict"])
    old = tmp_path / "old.pt"
    save_artifact(old, model, old_meta)

    assert load_artifact(old)["metadata"]["training_data"]["root"] == old_root
    windows = PoseWindowDataset(load_split(root, "test").tracks).windows[:3].numpy()
    assert StudentPredictor(old).predict(windows)["action"].shape == (3, 10)
    out = tmp_path / "eval"
    args = ["evaluate", "--model", str(old), "--data-root", str(root), "--out", str(out)]
    assert cli_main(args + ["--device", "cpu"]) == 0
    assert json.loads((out / "metrics.json").read_text())["n"] == 20

    new = tmp_path / "new.pt"
    assert cli_main(["export", "--model", str(old), "--out", str(new)]) == 0
    meta = load_artifact(new)["metadata"]
    assert meta["training_data"]["name"] == "synth_old"
    assert "root" not in meta["training_data"]
    assert "data_root" not in meta["training"]["config"]
    assert old_root not in json.dumps(meta)
    assert meta["training_data"]["train"]["tracks"] == 60  # the rest is kept
