"""--init-from (fine-tuning a compatible artifact), --folds (cross-validation by video) and
``socialego-train compare`` (the report that says which model to deploy)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from socialego_core.artifact import load_artifact
from socialego_training.cli import main as cli_main
from socialego_training.crossval import fold_indices
from socialego_training.train import TrainConfig, train

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "socialego_inference" / "models" / "socialego_student_synthetic.pt"


def quiet(_: str) -> None:
    pass


def config(root: Path, out: Path, **changes) -> TrainConfig:
    base = dict(
        data_root=str(root),
        epochs=1,
        batch_size=16,
        min_steps=0,
        out_dir=str(out),
        progress=False,
        device="cpu",
        calibration="none",
    )
    base.update(changes)
    return TrainConfig(**base)


def parameters(state: dict) -> dict:
    return {k: v for k, v in state.items() if "running" not in k and "num_batches" not in k}


def test_init_from_starts_at_the_artifacts_weights(tmp_path: Path, toy_root: Path) -> None:
    first = train(config(toy_root, tmp_path / "first", epochs=2), log=quiet)
    # lr 0: fine-tuning changes nothing, so the export holds exactly the initial weights
    tuned = train(
        config(toy_root, tmp_path / "tuned", init_from=str(first.best_path), lr=0.0), log=quiet
    )
    a = parameters(load_artifact(first.best_path)["state_dict"])
    b = parameters(load_artifact(tuned.best_path)["state_dict"])
    assert all(torch.equal(a[k], b[k]) for k in a)
    meta = load_artifact(tuned.best_path)["metadata"]["training"]
    assert meta["init_from"]["file"] == "best.pt"
    assert meta["init_from"]["version"] == load_artifact(first.best_path)["metadata"]["version"]
    # a fresh run does not start there
    fresh = train(config(toy_root, tmp_path / "fresh", lr=0.0), log=quiet)
    c = parameters(load_artifact(fresh.best_path)["state_dict"])
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_init_from_the_shipped_model_fine_tunes(tmp_path: Path, toy_root: Path) -> None:
    shipped = load_artifact(SHIPPED)["metadata"]
    fps = shipped["window_spec"]["source_fps"]
    cfg = config(toy_root, tmp_path / "run", init_from=str(SHIPPED), source_fps=fps)
    result = train(cfg, log=quiet)
    meta = load_artifact(result.best_path)["metadata"]
    assert meta["training"]["init_from"]["version"] == shipped["version"]
    # the same architecture; the shipped artifact predates the input_norm and mean_pose_head
    # options (off)
    expected = {**shipped["model_kwargs"], "input_norm": False, "mean_pose_head": False}
    assert meta["model_kwargs"] == expected
    # fine-tuning runs at 3 % of the learning rate, on one unmirrored window a track, by default
    assert meta["training"]["config"]["lr"] == pytest.approx(0.0003)
    assert (
        meta["training"]["recipe"]["window_hop"] == 0 and meta["training"]["recipe"]["mirror"] == 0
    )


def test_init_from_names_every_difference(tmp_path: Path, toy_root: Path) -> None:
    first = train(config(toy_root, tmp_path / "first"), log=quiet)
    cfg = config(
        toy_root,
        tmp_path / "bad",
        init_from=str(first.best_path),
        window_length=12,
        normalisation="signed",
        joints=tuple(range(13)),
        source_fps=15.0,
    )
    with pytest.raises(ValueError) as caught:
        train(cfg, log=quiet)
    text = str(caught.value)
    assert "4 differences" in text, text
    for part in (
        "window length: artifact 10, run 12 (--window-length)",
        "window joints: artifact 0-16, run 0-12 (--joints)",
        "window normalisation: artifact 'centered', run 'signed'",
        "window source_fps: artifact 30.0, run 15.0 (--source-fps)",
    ):
        assert part in text, text


def test_init_from_refuses_another_label_table(tmp_path: Path, toy_root: Path) -> None:
    from socialego_core.labels import get_label_table
    from socialego_training.finetune import artifact_differences

    meta = load_artifact(SHIPPED)["metadata"]
    spec = TrainConfig().window_spec(meta["window_spec"]["source_fps"])
    assert artifact_differences(meta, "SocialEgoMobile", spec, get_label_table("jpl_social")) == []
    differences = artifact_differences(meta, "SocialEgoNet", spec, get_label_table("harper"))
    assert any(d.startswith("model: artifact 'SocialEgoMobile'") for d in differences)
    assert any(d.startswith("label table action:") for d in differences), differences


def test_folds_keep_every_video_in_one_fold() -> None:
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    tracks = [
        SimpleNamespace(video_name=f"v{v}", action=int(rng.integers(0, 3)))
        for v in range(12)
        for _ in range(3)
    ]
    splits = fold_indices(tracks, 4, seed=0)
    assert len(splits) == 4
    tested = np.concatenate([test for _, test in splits])
    assert sorted(tested.tolist()) == list(range(len(tracks)))
    for train_idx, test_idx in splits:
        train_videos = {tracks[i].video_name for i in train_idx}
        assert not train_videos & {tracks[i].video_name for i in test_idx}
    with pytest.raises(ValueError, match="only 12 videos"):
        fold_indices(tracks, 13, seed=0)


def test_cli_folds_writes_mean_and_std_per_task(tmp_path: Path, toy_root: Path) -> None:
    out = tmp_path / "cv"
    argv = ["train", "--data-root", str(toy_root), "--out-dir", str(out), "--folds", "3"]
    argv += ["--epochs", "2", "--min-steps", "0", "--batch-size", "16", "--progress", "false"]
    assert cli_main(argv + ["--calibration", "none", "--device", "cpu"]) == 0
    report = json.loads((out / "cv.json").read_text())
    assert report["folds"] == 3 and report["tracks"] == 80  # train + validation, not test
    assert len(report["per_fold"]) == 3 and all(
        (out / f"fold{k}" / "best.pt").is_file() for k in (1, 2, 3)
    )
    summary = report["summary"]
    for task in ("intent", "attitude", "action"):
        for metric in ("acc", "f1"):
            values = [fold[f"{task}_{metric}"] for fold in report["per_fold"]]
            cell = summary["SocialEgoMobile (this recipe)"][f"{task}_{metric}"]
            assert cell["mean"] == pytest.approx(np.mean(values))
            assert cell["std"] == pytest.approx(np.std(values, ddof=1))
    text = (out / "cv.md").read_text()
    assert "3-fold cross-validation" in text and "linear (mean pose)" in text and "+-" in text


def test_compare_reports_and_names_the_model_to_deploy(tmp_path: Path, toy_root: Path) -> None:
    good = train(config(toy_root, tmp_path / "good", epochs=20, lr=0.01, batch_size=10), log=quiet)
    out = tmp_path / "report"
    argv = ["compare", str(tmp_path / "good"), "--data-root", str(toy_root), "--out", str(out)]
    assert cli_main(argv + ["--shipped", str(SHIPPED)]) == 0
    report = json.loads((out / "compare.json").read_text())
    assert set(report["models"]) == {"good/best.pt", "shipped model"}
    assert set(report["baselines"]) == {"majority class", "linear (mean pose)"}
    models = report["models"]
    # the toy signal is one raised joint: the shipped (synthetic) model does not know it
    assert models["good/best.pt"]["mean_acc"] > models["shipped model"]["mean_acc"]
    assert report["deploy"]["name"] == "good/best.pt"
    assert report["deploy"]["launch"] == f"model_path:={good.best_path.resolve()}"
    text = (out / "compare.md").read_text()
    assert "**Deploy: good/best.pt**" in text and "robot.launch.py model_path:=" in text
    assert (out / "compare.png").stat().st_size > 5000


def test_compare_refuses_a_model_of_another_label_set(tmp_path: Path, toy_root: Path) -> None:
    harper = tmp_path / "harper"
    from sego_toydata import toy_track

    rng = np.random.default_rng(0)
    for split in ("train", "validation"):
        (harper / split).mkdir(parents=True)
        for action in range(6):
            for i in range(3):
                track = toy_track(action, rng, f"{split}{action}{i}", i)
                track.update(action_class=action, contact_class=int(action < 4))
                (harper / split / f"{action}_{i}.json").write_text(json.dumps(track))
    model = train(config(harper, tmp_path / "h", dataset="harper"), log=quiet)
    argv = [
        "compare",
        str(model.best_path),
        "--data-root",
        str(toy_root),
        "--out",
        str(tmp_path / "r"),
    ]
    assert cli_main(argv + ["--shipped", str(SHIPPED), "--dataset", "jpl_social"]) == 1
