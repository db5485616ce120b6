"""Student training: logs, validation selection, resume after a kill, aux_loss hook, config."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from socialego_core.artifact import load_artifact
from socialego_training.cli import main as cli_main
from socialego_training.config import DATA_LOCATION_FIELDS
from socialego_training.data import content_sha256
from socialego_training.train import TrainConfig, TrainingInterrupted, train


def small_config(root: Path, out: Path, **changes) -> TrainConfig:
    base = dict(
        data_root=str(root),
        epochs=3,
        batch_size=16,
        min_steps=0,  # exactly `epochs` (the step budget: test_recipe.py)
        select="best",
        train_window_hop=0,
        mirror=0.0,
        out_dir=str(out),
        progress=False,
        checkpoint_every=2,
        device="cpu",
    )
    base.update(changes)
    return TrainConfig(**base)


def quiet(_: str) -> None:
    pass


def test_training_writes_logs_best_artifact_and_learns(tmp_path: Path) -> None:
    from sego_toydata import write_toy_dataset

    root = write_toy_dataset(tmp_path / "toy", {"train": 10, "validation": 2, "test": 2})
    cfg = small_config(root, tmp_path / "run", epochs=20, batch_size=10)
    result = train(cfg, log=quiet)
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    assert [int(r["epoch"]) for r in rows] == list(range(1, 21))
    history = json.loads((tmp_path / "run" / "log.json").read_text())
    assert len(history) == 20 and "val_action_f1" in history[0]
    # the selected epoch is the one with the best mean validation accuracy
    best_row = max(history, key=lambda r: (r["val_mean_acc"], -r["val_loss"]))
    assert result.best_epoch == best_row["epoch"]
    meta = load_artifact(result.best_path)["metadata"]
    assert meta["trained"] and meta["training"]["epoch"] == result.best_epoch
    assert meta["training_data"]["train"]["tracks"] == 100
    # the toy task is learnable: the majority class gives 0.6 / 0.4 / 0.1 (mean 0.37)
    assert result.best_metrics["mean_acc"] > 0.5, result.best_metrics
    assert result.best_metrics["action_acc"] >= 0.3, result.best_metrics


def test_resume_after_kill_mid_epoch_gives_identical_weights(toy_root: Path, tmp_path: Path):
    straight = train(small_config(toy_root, tmp_path / "a"), log=quiet)
    # 60 windows / 16 = 4 steps per epoch; die after step 6, i.e. mid epoch 2 (step 2 of 4)
    with pytest.raises(TrainingInterrupted):
        train(small_config(toy_root, tmp_path / "b", max_steps=6, checkpoint_every=1), log=quiet)
    state = torch.load(tmp_path / "b" / "last.pt", weights_only=False)
    assert (state["epoch"], state["step"], state["global_step"]) == (1, 2, 6)
    resumed = train(small_config(toy_root, tmp_path / "b", checkpoint_every=1), log=quiet)
    for key, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value, rtol=0, atol=0)
    a = json.loads((tmp_path / "a" / "log.json").read_text())
    b = json.loads((tmp_path / "b" / "log.json").read_text())
    assert [r["val_loss"] for r in a] == [r["val_loss"] for r in b]


def test_resume_refuses_changed_settings(toy_root: Path, tmp_path: Path) -> None:
    with pytest.raises(TrainingInterrupted):
        train(small_config(toy_root, tmp_path / "c", max_steps=3), log=quiet)
    with pytest.raises(ValueError, match="different settings"):
        train(small_config(toy_root, tmp_path / "c", lr=0.5), log=quiet)


def test_aux_loss_hook_gets_dataset_indices_and_epoch(toy_root: Path, tmp_path: Path) -> None:
    calls: list[tuple[list[int], int]] = []

    def aux(outputs, batch_indices, epoch):
        calls.append((batch_indices.tolist(), epoch))
        return outputs.z.pow(2).mean()

    result = train(small_config(toy_root, tmp_path / "aux", epochs=2), aux_loss=aux, log=quiet)
    epochs = {e for _, e in calls}
    assert epochs == {0, 1}
    seen = sorted(i for idx, e in calls if e == 0 for i in idx)
    assert seen == list(range(60))  # every training window exactly once per epoch
    assert result.history[0]["train_aux_loss"] > 0


def test_corruption_warmup_is_logged(toy_root: Path, tmp_path: Path) -> None:
    cfg = small_config(
        toy_root,
        tmp_path / "w",
        epochs=3,
        joint_rate=0.3,
        frame_rate=0.6,
        corruption_warmup_epochs=2,
    )
    history = train(cfg, log=quiet).history
    assert [r["frame_rate"] for r in history] == pytest.approx([0.0, 0.3, 0.6])
    assert [r["joint_rate"] for r in history] == pytest.approx([0.0, 0.15, 0.3])


def test_missing_validation_split_holds_out_part_of_train(tmp_path: Path) -> None:
    from sego_toydata import write_toy_dataset

    root = write_toy_dataset(tmp_path / "nv", {"train": 4}, splits=("train",))
    result = train(small_config(root, tmp_path / "run", epochs=1), log=quiet)
    meta = load_artifact(result.best_path)["metadata"]["training_data"]
    assert meta["train"]["tracks"] + meta["validation"]["tracks"] == 40
    assert meta["validation"]["tracks"] > 0
    assert "no validation split" in meta["validation_source"]


def test_artifact_names_the_dataset_and_its_content_hash_never_its_path(
    toy_root: Path, tmp_path: Path
) -> None:
    result = train(small_config(toy_root, tmp_path / "run", epochs=1), log=quiet)
    meta = load_artifact(result.best_path)["metadata"]
    data = meta["training_data"]
    files = sorted((toy_root / "train").glob("*.json")) + sorted(
        (toy_root / "validation").glob("*.json")
    )
    assert data["name"] == toy_root.name == "toy"
    assert data["content_sha256"] == content_sha256(toy_root, files)
    assert "root" not in data
    assert not DATA_LOCATION_FIELDS & meta["training"]["config"].keys()
    text = json.dumps(meta)
    assert str(toy_root.resolve()) not in text and str(toy_root) not in text
    assert str(tmp_path) not in text  # nor the run folder's: it is recorded by name
    assert meta["training"]["config"]["out_dir"] == "run"


def test_one_validation_window_trains_uncalibrated_and_says_so(tmp_path: Path) -> None:
    from sego_toydata import write_toy_dataset

    root = write_toy_dataset(
        tmp_path / "one", {"train": 1, "validation": 1}, splits=("train", "validation")
    )
    for extra in sorted((root / "validation").glob("*.json"))[1:]:
        extra.unlink()
    lines: list[str] = []
    cfg = small_config(root, tmp_path / "run", epochs=1, calibration="temperature")
    result = train(cfg, log=lines.append)
    assert any("calibration off: 1 validation window(s)" in line for line in lines), lines
    assert not load_artifact(result.best_path)["metadata"].get("calibration")


def test_content_hash_follows_the_content_not_the_location(toy_root: Path, tmp_path: Path):
    files = sorted(toy_root.glob("*/*.json"))
    digest = content_sha256(toy_root, files)
    assert len(digest) == 64
    assert content_sha256(toy_root, list(reversed(files))) == digest  # file order does not count
    assert content_sha256(toy_root, files[1:]) != digest  # a file less
    copy = tmp_path / "elsewhere" / "toy"
    shutil.copytree(toy_root, copy)
    copied = sorted(copy.glob("*/*.json"))
    assert content_sha256(copy, copied) == digest  # the same data somewhere else
    renamed = copied[0].with_name("renamed.json")
    copied[0].rename(renamed)
    assert content_sha256(copy, [renamed, *copied[1:]]) != digest  # same bytes, another name
    copied[1].write_bytes(copied[1].read_bytes() + b"\n")
    assert content_sha256(copy, copied[1:]) != content_sha256(toy_root, files[1:])  # one edited


def test_cli_yaml_config_and_flag_override(toy_root: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump({"epochs": 5, "batch_size": 16, "progress": False, "min_steps": 0})
    )
    out = tmp_path / "cli"
    code = cli_main(
        [
            "train",
            "--config",
            str(config),
            "--data-root",
            str(toy_root),
            "--epochs",
            "1",
            "--out-dir",
            str(out),
            "--device",
            "cpu",
        ]
    )
    assert code == 0
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["epochs"] == 1 and saved["batch_size"] == 16  # flag beats YAML beats default
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"epochz": 3}))
    assert cli_main(["train", "--config", str(bad), "--data-root", str(toy_root)]) == 1


def test_cli_process_killed_then_resumed(toy_root: Path, tmp_path: Path) -> None:
    """A real process dies mid-epoch (exit without saving); the same command resumes it."""
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "socialego_training.cli",
        "train",
        "--data-root",
        str(toy_root),
        "--epochs",
        "2",
        "--min-steps",
        "0",
        "--batch-size",
        "16",
        "--checkpoint-every",
        "1",
        "--progress",
        "false",
        "--out-dir",
        str(out),
        "--threads",
        "1",
    ]
    first = subprocess.run(cmd + ["--max-steps", "5"], capture_output=True, text=True, timeout=300)
    assert first.returncode == 3, first.stderr
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "resuming" in second.stderr + second.stdout
    assert len(json.loads((out / "log.json").read_text())) == 2


def test_packaged_student_config_matches_defaults() -> None:
    from importlib.resources import files

    from socialego_training.config import load_yaml, make_config

    path = files("socialego_training") / "configs" / "student.yaml"
    cfg = make_config(TrainConfig, load_yaml(str(path)))
    assert cfg.window_spec() == TrainConfig().window_spec()
    assert (cfg.epochs, cfg.batch_size, cfg.lr) == (40, 96, 0.01)
    defaults = TrainConfig()
    small_set = (cfg.min_steps, cfg.label_smoothing, cfg.input_norm)
    assert small_set == (defaults.min_steps, defaults.label_smoothing, defaults.input_norm)
    assert (cfg.select, cfg.average_share, cfg.patience) == (
        defaults.select,
        defaults.average_share,
        defaults.patience,
    )


def test_harper_labels_train_six_action_heads(tmp_path: Path) -> None:
    import numpy as np
    from sego_toydata import toy_track

    rng = np.random.default_rng(0)
    root = tmp_path / "harper"
    for split, n in (("train", 4), ("validation", 1)):
        (root / split).mkdir(parents=True)
        for action in range(6):
            for i in range(n):
                track = toy_track(action, rng, f"{split}{action}{i}", i)
                track.update(action_class=action, contact_class=int(action < 4))
                (root / split / f"{action}_{i}.json").write_text(json.dumps(track))
    result = train(small_config(root, tmp_path / "run", epochs=1, dataset="harper"), log=quiet)
    meta = load_artifact(result.best_path)["metadata"]
    assert meta["labels"]["action"] == ["Crash", "Stop", "Avoid", "Touch", "Kick", "Punch"]
    assert meta["model_kwargs"]["n_action"] == 6


def test_exported_batchnorm_statistics_are_those_of_the_training_windows(
    toy_root: Path, tmp_path: Path
) -> None:
    """With recompute_bn the artifact's BN running stats equal a fresh full pass over the training
    windows (recomputing again changes nothing); without it they are momentum averages that do
    not."""
    from socialego_core.corruption import corrupt
    from socialego_training.train import load_model
    from socialego_training.train_data import load_datasets
    from torch import nn
    from torch.optim.swa_utils import update_bn

    def stats_gap(recompute: bool) -> float:
        cfg = small_config(
            toy_root,
            tmp_path / f"bn{recompute}",
            epochs=2,
            recompute_bn=recompute,
            joint_rate=0.3,
            frame_rate=0.3,
            lr=0.05,
        )
        result = train(cfg, log=quiet)
        model = load_model(result.best_path)
        before = [m.running_mean.clone() for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
        train_set, _, _ = load_datasets(cfg, log=quiet)
        gen = torch.Generator().manual_seed(cfg.eval_corruption_seed + 1)
        x = train_set.windows
        batches = [corrupt(x[i : i + 16], 0.3, 0.3, gen) for i in range(0, len(x), 16)]
        update_bn(batches, model)
        after = [m.running_mean for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
        assert len(before) >= 3
        return max(float((a - b).abs().max()) for a, b in zip(after, before, strict=True))

    assert stats_gap(True) < 1e-4
    assert stats_gap(False) > 1e-3
