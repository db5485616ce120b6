"""The robustness study end to end on a tiny generated dataset, and the teacher/distill CLIs."""

import json

import pytest
import torch
from socialego_core.artifact import load_artifact
from socialego_training.cli import main
from socialego_training.data import load_split
from socialego_training.distill import DistillConfig, prepare_distillation
from socialego_training.modalities import ModalityConfig, build_modalities
from socialego_training.study import run_study
from socialego_training.study_config import StudyConfig
from socialego_training.teacher_codes import compute_teacher_representations
from socialego_training.teacher_io import load_teacher
from test_distill_unlabelled import strip_labels
from test_teacher_training import write_tiny_dataset

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    return write_tiny_dataset(tmp_path_factory.mktemp("study_data"))


def test_study_runs_end_to_end_and_resumes(tiny_root, tmp_path):
    cfg = StudyConfig(
        out_dir=str(tmp_path / "study"),
        data_root=str(tiny_root),
        settings=("full", "both30"),
        seeds=(0, 1),
        methods=("none", "infonce"),
        teacher_crop=32,
        teacher_epochs=2,
        teacher_batch_size=8,
        student_epochs=2,
        warmup_epochs=1,
        batch_size=8,
        latency_runs=3,
        progress=False,
    )
    logs = []
    summary = run_study(cfg, log=logs.append)
    out = tmp_path / "study"
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 8
    assert {(r["setting"], r["method"]) for r in rows} == {
        (s, m) for s in ("full", "both30") for m in ("none", "infonce")
    }
    assert all(0 <= r["intent_acc"] <= 1 for r in rows)
    assert summary["both30"]["infonce"]["n"] == 2
    text = (out / "study.md").read_text()
    assert "| 30% frame & joint | InfoNCE distillation |" in text
    assert "Gain over no distillation" in text and "teacher SocialC3D, full config" in text
    assert (out / "study.png").stat().st_size > 10_000
    cost = json.loads((out / "cost.json").read_text())
    assert cost["teacher_full"]["params"] == 48_490_307
    assert cost["teacher_full"]["macs"] > 1e10 and cost["teacher_full"]["params_ratio"] > 100
    # the distilled runs carry the teacher's version in their artifact
    artifact = load_artifact(out / "runs" / "both30" / "infonce" / "seed0" / "best.pt")
    assert artifact["metadata"]["training"]["distillation_method"] == "infonce"
    # a rerun reuses every finished run (no new result lines) and the teacher
    run_study(cfg, log=logs.append)
    assert len((out / "results.jsonl").read_text().splitlines()) == 8


def test_study_rejects_unknown_settings(tmp_path):
    with pytest.raises(ValueError, match="unknown setting 'both45'"):
        run_study(StudyConfig(out_dir=str(tmp_path), settings=("both45",), progress=False))


def test_train_teacher_and_distill_cli(tiny_root, tmp_path, capsys):
    teacher_dir = tmp_path / "teacher"
    common = ["--data-root", str(tiny_root), "--progress", "false", "--device", "cpu"]
    rc = main(
        [
            "train-teacher",
            *common,
            "--crop-size",
            "32",
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--out-dir",
            str(teacher_dir),
        ]
    )
    assert rc == 0 and (teacher_dir / "best.pt").is_file()
    for method in ("kd", "none"):
        out_dir = tmp_path / f"student_{method}"
        rc = main(
            [
                "distill",
                *common,
                "--teacher",
                str(teacher_dir / "best.pt"),
                "--method",
                method,
                "--epochs",
                "2",
                "--corruption-warmup-epochs",
                "1",
                "--batch-size",
                "8",
                "--joint-rate",
                "0.3",
                "--frame-rate",
                "0.3",
                "--out-dir",
                str(out_dir),
            ]
        )
        assert rc == 0
        meta = load_artifact(out_dir / "best.pt")["metadata"]
        assert meta["training"]["distillation_method"] == method
        assert meta["training"]["config"]["epochs"] == 2
    assert "[kd] best epoch" in capsys.readouterr().out
    # a missing teacher is one clear error line, not a traceback
    rc = main(["distill", *common, "--method", "infonce", "--out-dir", str(tmp_path / "x")])
    assert rc == 1
    assert "needs --teacher" in capsys.readouterr().err


def test_study_refuses_a_generated_set_from_another_generator_version(tmp_path):
    from socialego_training.study import ensure_data
    from socialego_training.synthetic import GENERATOR_VERSION

    data = tmp_path / "data"
    data.mkdir()
    marker = {"seed": 0, "n_tracks": 1500, "generator_version": "0.9"}
    (data / "dataset.json").write_text(json.dumps(marker))
    cfg = StudyConfig(out_dir=str(tmp_path), progress=False)
    with pytest.raises(ValueError, match="generator"):
        ensure_data(cfg, log=lambda *_: None)
    marker["generator_version"] = GENERATOR_VERSION  # the same set: reused, not regenerated
    (data / "dataset.json").write_text(json.dumps(marker))
    assert ensure_data(cfg, log=lambda *_: None) == data


def test_distill_cli_with_unlabelled_tracks_uses_the_teacher_codes_of_both(tiny_root, tmp_path):
    unl = tmp_path / "unlabelled"
    strip_labels(tiny_root / "test", unl / "train")
    (unl / "videos").symlink_to(tiny_root / "videos")
    teacher = tmp_path / "teacher"
    common = ["--data-root", str(tiny_root), "--progress", "false", "--device", "cpu"]
    args = ["--crop-size", "32", "--epochs", "1", "--batch-size", "8", "--out-dir", str(teacher)]
    assert main(["train-teacher", *common, *args]) == 0
    out = tmp_path / "student"
    student = ["--epochs", "2", "--batch-size", "8", "--out-dir", str(out)]
    distill = ["--teacher", str(teacher / "best.pt"), "--unlabelled", str(unl), *student]
    assert main(["distill", *common, *distill]) == 0
    meta = load_artifact(out / "best.pt")["metadata"]["training"]
    assert meta["unlabelled_tracks"] == 8 and meta["distillation_method"] == "infonce"

    # the codes of the unlabelled tracks: the frozen teacher on their clean input, after the
    # codes of the labelled train tracks
    cfg = DistillConfig(
        data_root=str(tiny_root),
        teacher=str(teacher / "best.pt"),
        unlabelled=str(unl),
        out_dir=str(out),
        progress=False,
    )
    setup = prepare_distillation(cfg, log=lambda _: None)
    n = len(setup.train_set)
    assert len(setup.representations) == n + 8
    model, tmeta = load_teacher(cfg.teacher)
    tracks = load_split(unl, "train", unlabelled="keep").tracks
    mods = build_modalities(
        tracks,
        unl / "videos",
        ModalityConfig.from_dict(tmeta["modality_config"]),
        [t.path for t in tracks],
        tmp_path / "cache2",
        False,
    )
    alone = compute_teacher_representations(model, mods, progress=False)
    assert torch.allclose(setup.representations.z[n:], alone.z, atol=1e-5)
