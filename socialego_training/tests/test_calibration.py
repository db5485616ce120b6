"""Probability calibration: fitting, the artifact, applying it, and the measures."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sego_toydata import write_toy_dataset
from socialego_core.artifact import (
    ArtifactError,
    StudentPredictor,
    load_artifact,
    save_artifact,
    write_calibration,
)
from socialego_core.calibration import Calibration, TaskCalibration, quality_adjusted, softmax
from socialego_core.calibration_measures import calibration_measures
from socialego_core.fast_forward import CachedStudentForward
from socialego_core.labels import JPL_SOCIAL, TASKS
from socialego_core.student import SocialEgoMobile
from socialego_core.window import WindowSpec
from socialego_training.calibrate import fit_calibration
from socialego_training.cli import main as cli_main
from socialego_training.data import load_split
from socialego_training.datasets import PoseWindowDataset
from socialego_training.evaluate import evaluate_split, predict_dataset
from socialego_training.train import TrainConfig, load_model, train

REPO = Path(__file__).resolve().parents[2]


def overconfident_logits(n: int, classes: int, seed: int, sharpen: float = 3.0):
    """Labels drawn from known probabilities p; the 'model' reports softmax(sharpen * log p)."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(classes, 0.7), size=n)
    labels = np.array([rng.choice(classes, p=row) for row in p])
    return sharpen * np.log(p), labels


def test_temperature_recovers_known_overconfidence_and_lowers_held_out_nll() -> None:
    logits, labels = {}, []
    for seed in (0, 1):  # 0: fit split, 1: held-out split
        parts = {
            t: overconfident_logits(4000, 10 if t == "action" else 3, seed + 7 * i)
            for i, t in enumerate(TASKS)
        }
        logits[seed] = {t: parts[t][0] for t in TASKS}
        labels.append(np.stack([parts[t][1] for t in TASKS], axis=1))
    for method in ("temperature", "vector", "isotonic"):
        calibration = fit_calibration(logits[0], labels[0], method)
        for i, task in enumerate(TASKS):
            before = calibration_measures(softmax(logits[1][task]), labels[1][:, i])
            after = calibration_measures(calibration.apply(task, logits[1][task]), labels[1][:, i])
            assert after["nll"] < before["nll"] - 0.05, (method, task, before, after)
            assert after["ece"] < before["ece"], (method, task)
            if method == "temperature":
                t = calibration.tasks[task].params["temperature"]
                assert t == pytest.approx(3.0, rel=0.1), (task, t)


@pytest.fixture(scope="module")
def calibrated_run(tmp_path_factory) -> tuple[Path, Path]:
    """A student trained on generated toy data; training ends with a calibration fit."""
    base = tmp_path_factory.mktemp("calrun")
    root = write_toy_dataset(base / "toy", per_action={"train": 8, "validation": 6, "test": 8})
    cfg = TrainConfig(
        data_root=str(root),
        epochs=3,
        min_steps=0,  # the method's schedule: one window a track, 3 epochs, no mirroring
        train_window_hop=0,
        mirror=0.0,
        batch_size=16,
        out_dir=str(base / "run"),
        progress=False,
        device="cpu",
        joint_rate=0.3,
        seed=1,
    )
    train(cfg, log=lambda _: None)
    return root, base / "run" / "best.pt"


def test_training_stores_calibration_that_lowers_held_out_nll(calibrated_run) -> None:
    root, best = calibrated_run
    meta = load_artifact(best)["metadata"]
    calibration = Calibration.from_metadata(meta)
    assert calibration.method == "temperature"
    fitted_on = meta["calibration"]["fitted_on"]
    assert fitted_on["split"] == "validation" and fitted_on["windows"] == 60
    assert fitted_on["dataset"] == "toy" and fitted_on["method"] == "temperature"
    assert fitted_on["corruption"] == [{"joint_rate": 0.3, "frame_rate": 0.0}]
    assert "/" not in json.dumps(fitted_on)  # a name, never a machine path
    test = PoseWindowDataset(load_split(root, "test", "jpl_social").tracks, WindowSpec())
    pred = predict_dataset(load_model(best), test, joint_rate=0.3)
    nll = {
        variant: sum(
            calibration_measures(probs(task), pred.labels[:, i])["nll"]
            for i, task in enumerate(TASKS)
        )
        for variant, probs in (
            ("before", lambda t: softmax(pred.logits[t])),
            ("after", lambda t: calibration.apply(t, pred.logits[t])),
        )
    }
    assert nll["after"] < nll["before"], nll


def test_unknown_calibration_is_refused_before_training(tmp_path: Path) -> None:
    cfg = TrainConfig(data_root=str(tmp_path / "none"), out_dir=str(tmp_path / "run"))
    with pytest.raises(ValueError, match=r"calibration 'platt' is unknown; known: none, temp"):
        train(dataclasses.replace(cfg, calibration="platt"), log=lambda _: None)
    assert not (tmp_path / "run").exists()


def _artifact(path: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    save_artifact(
        path,
        SocialEgoMobile().eval(),
        {"window_spec": WindowSpec().to_dict(), "labels": JPL_SOCIAL.to_dict()},
    )
    return path


def test_artifacts_with_and_without_calibration_load(tmp_path: Path) -> None:
    plain = _artifact(tmp_path / "plain.pt")
    windows = np.random.default_rng(0).uniform(-0.5, 0.5, (5, 10, 17, 3)).astype(np.float32)
    old = StudentPredictor(plain)
    assert old.calibration.is_identity
    logits = old.predict_logits(windows)
    out = old.predict(windows)
    for task in TASKS:  # unchanged behaviour: torch's softmax of the logits, bit for bit
        expected = torch.softmax(torch.from_numpy(logits[task]), dim=1).numpy()
        assert np.array_equal(out[task], expected)

    calibration = Calibration(
        {t: TaskCalibration("temperature", {"temperature": 2.5}) for t in TASKS},
        {"dataset": "toy", "split": "validation", "n": 3, "method": "temperature"},
    )
    written = write_calibration(plain, tmp_path / "cal.pt", calibration.to_metadata())
    assert written["version"] == load_artifact(plain)["metadata"]["version"]
    new = StudentPredictor(tmp_path / "cal.pt")
    assert new.calibration.method == "temperature"
    calibrated = new.predict(windows)
    for task in TASKS:
        assert np.allclose(calibrated[task], softmax(logits[task] / 2.5), atol=1e-6)
        assert not np.allclose(calibrated[task], out[task], atol=1e-3)
        assert np.array_equal(calibrated[task].argmax(1), out[task].argmax(1))

    committed = REPO / "socialego_inference" / "models" / "socialego_student_synthetic.pt"
    if committed.exists():  # the shipped artifact, calibrated or not, loads
        StudentPredictor(committed).predict(windows)

    broken = calibration.to_metadata()
    broken["tasks"]["intent"] = {"method": "temperature", "temperature": -1.0}
    with pytest.raises(ArtifactError, match="temperature must be a finite number > 0"):
        write_calibration(plain, tmp_path / "bad.pt", broken)
    payload = load_artifact(plain)
    payload["metadata"]["calibration"] = {"format": 1, "tasks": {"action": {"method": "platt"}}}
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(ArtifactError, match=r"bad.pt: bad calibration: .*'action'.*platt"):
        StudentPredictor(tmp_path / "bad.pt")


def test_predictor_equals_offline_evaluation(calibrated_run, tmp_path: Path) -> None:
    """The Calibration object on the artifact's logits gives exactly what evaluate reports."""
    root, best = calibrated_run
    predictor = StudentPredictor(best)
    assert not predictor.calibration.is_identity
    test = PoseWindowDataset(load_split(root, "test", "jpl_social").tracks, WindowSpec())
    online = predictor.predict(test.windows.numpy())
    metrics = evaluate_split(
        load_model(best), test, JPL_SOCIAL, tmp_path, calibration=predictor.calibration
    )
    offline = predict_dataset(load_model(best), test, calibration=predictor.calibration)
    for i, task in enumerate(TASKS):
        assert np.allclose(online[task], offline.probabilities[task], atol=1e-6)
        reported = metrics["calibration"][task]["after"]
        measured = calibration_measures(online[task], offline.labels[:, i])
        for key in ("ece", "nll", "brier"):
            assert measured[key] == pytest.approx(reported[key], abs=1e-6)
        # the engine may hold only softmax probabilities: the same result from them
        from_probs = predictor.calibration.apply_probabilities(
            task, softmax(predictor.predict_logits(test.windows.numpy())[task])
        )
        assert np.allclose(from_probs, online[task], atol=1e-5)
    for task in TASKS:
        assert (tmp_path / f"reliability_{task}.png").read_bytes()[:4] == b"\x89PNG"
    assert "| setting | task |" in (tmp_path / "calibration.md").read_text()


@pytest.mark.parametrize("method", ["temperature", "vector", "isotonic"])
def test_cached_forward_probabilities_calibrate_like_the_predictor(
    calibrated_run, tmp_path: Path, method: str
) -> None:
    """The runtime's cached forward, given the artifact's calibration, returns what the
    calibrated artifact's ``StudentPredictor.predict`` returns (one function applies it)."""
    root, best = calibrated_run
    path = tmp_path / f"{method}.pt"
    argv = ["calibrate", "--model", str(best), "--data-root", str(root), "--out", str(path)]
    assert cli_main([*argv, "--method", method, "--device", "cpu"]) == 0
    predictor = StudentPredictor(path)
    test = PoseWindowDataset(load_split(root, "test", "jpl_social").tracks, WindowSpec())
    windows = test.windows.numpy()
    fast = CachedStudentForward(predictor.model, calibration=predictor.calibration)
    plain = CachedStudentForward(predictor.model, calibration=Calibration.identity())
    plain = plain.predict(windows)
    engine = fast.predict(windows)
    expected = predictor.predict(windows)
    for task in TASKS:
        assert np.allclose(engine[task], expected[task], atol=1e-5), task
        assert not np.allclose(plain[task], expected[task], atol=1e-4), task  # it did change
        from_softmax = predictor.calibration.apply_probabilities(task, plain[task])
        assert np.allclose(from_softmax, expected[task], atol=1e-5), task


@pytest.mark.parametrize("method", ["temperature", "vector", "isotonic"])
def test_apply_probabilities_matches_apply_on_logits(method: str) -> None:
    logits, labels = overconfident_logits(500, 10, seed=3)
    all_logits = {t: logits[:, :3] if t != "action" else logits for t in TASKS}
    all_labels = np.stack([labels % 3, labels % 3, labels], axis=1)
    calibration = fit_calibration(all_logits, all_labels, method)
    restored = Calibration.from_metadata(
        json.loads(json.dumps({"calibration": calibration.to_metadata()}))
    )
    for task in TASKS:
        a = restored.apply(task, all_logits[task])
        b = restored.apply_probabilities(task, softmax(all_logits[task]))
        assert np.allclose(a.sum(1), 1.0, atol=1e-5)
        assert np.allclose(a, b, atol=1e-5)
        assert np.allclose(a, calibration.apply(task, all_logits[task]))
    if method != "temperature":  # a temperature fits any number of classes
        with pytest.raises(ValueError, match="fitted for 10 classes, got 3"):
            restored.apply("action", logits[:, :3])


def test_measures_on_known_cases() -> None:
    labels = np.array([0, 1, 2, 0])
    perfect = np.eye(3)[labels]
    m = calibration_measures(perfect, labels)
    assert m["ece"] == 0 and m["brier"] == 0 and m["nll"] < 1e-9 and m["accuracy"] == 1
    uniform = np.full((4, 3), 1 / 3)
    m = calibration_measures(uniform, labels)
    assert m["nll"] == pytest.approx(np.log(3))
    assert m["brier"] == pytest.approx(2 / 3)  # (2/3)^2 + 2 (1/3)^2
    # two samples at confidence 0.9, one right: ECE = |0.5 - 0.9| = 0.4
    p = np.array([[0.9, 0.1], [0.9, 0.1]])
    assert calibration_measures(p, np.array([0, 1]))["ece"] == pytest.approx(0.4)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\)"):
        calibration_measures(p, np.array([0, 2]))


def test_quality_adjustment() -> None:
    p = np.array([[0.8, 0.15, 0.05], [0.1, 0.2, 0.7]])
    assert np.allclose(quality_adjusted(p, 1.0), p)
    assert np.allclose(quality_adjusted(p, 0.0), 1 / 3)
    half = quality_adjusted(p, np.array([0.5, 1.0]), stale=np.array([False, True]))
    assert np.allclose(half[0], 0.5 * p[0] + 0.5 / 3) and np.allclose(half[1], 1 / 3)
    assert np.allclose(quality_adjusted(p[0], 0.5).sum(), 1.0)


def test_calibrate_command(calibrated_run, tmp_path: Path) -> None:
    root, best = calibrated_run
    out = tmp_path / "vector.pt"
    report = tmp_path / "report"
    argv = ["calibrate", "--model", str(best), "--data-root", str(root), "--out", str(out)]
    argv += ["--method", "vector", "--report", str(report), "--device", "cpu"]
    assert cli_main(argv) == 0
    meta = load_artifact(out)["metadata"]
    assert meta["version"] == load_artifact(best)["metadata"]["version"]
    fitted_on = meta["calibration"]["fitted_on"]
    assert (fitted_on["method"], fitted_on["split"], fitted_on["dataset"]) == (
        "vector",
        "validation",
        "toy",
    )
    assert fitted_on["windows"] == 60 and fitted_on["n"] == 60
    assert len(meta["calibration"]["tasks"]["action"]["weight"]) == 10
    table = (report / "methods.md").read_text()
    assert "temperature ECE / NLL / Brier" in table and "60% frame & joint" in table
    assert cli_main([*argv[:-4], "--method", "platt"]) == 1
