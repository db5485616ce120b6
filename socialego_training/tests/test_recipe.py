"""The training recipe: any dataset size trains, epochs from a step budget, how the exported
weights are chosen (best / last / swa, early stopping), all recorded in the artifact."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from sego_toydata import fixed_recipe_config as config
from socialego_core.artifact import load_artifact
from socialego_core.heads import SocialOutputs
from socialego_training.loop import epoch_batches, running_mean, split_batches, task_loss
from socialego_training.recipe import (
    plan_schedule,
    small_set_label_smoothing,
    small_set_min_steps,
    steps_per_epoch,
)
from socialego_training.train import TrainConfig, TrainingInterrupted, train


def add_train_tracks(root: Path, n: int) -> None:
    import numpy as np
    from sego_toydata import toy_track

    rng = np.random.default_rng(7)
    for i in range(n):
        track = toy_track(i % 10, rng, f"extra_{i}", i)
        (root / "train" / f"extra_{i}.json").write_text(json.dumps(track))


def test_split_batches_folds_a_final_batch_of_one_and_keeps_every_sample() -> None:
    for n, batch in ((61, 30), (97, 96), (3, 2), (1, 96), (60, 30), (31, 10)):
        batches = split_batches(torch.arange(n), batch)
        assert sorted(torch.cat(batches).tolist()) == list(range(n))
        assert n == 1 or min(len(b) for b in batches) >= 2
        assert len(batches) == steps_per_epoch(n, batch)
    with pytest.raises(ValueError, match="batch_size must be at least 2"):
        steps_per_epoch(10, 1)
    assert [len(b) for b in split_batches(torch.arange(61), 30)] == [30, 31]
    order = epoch_batches(97, 96, seed=0, epoch=3)
    assert [len(b) for b in order] == [97]
    assert sorted(torch.cat(order).tolist()) == list(range(97))


def test_training_set_leaving_a_batch_of_one_trains(tmp_path: Path) -> None:
    """61 training tracks at batch 30 (the issue's reproduction): BatchNorm used to get a
    batch of one (ValueError) in the statistics recompute."""
    from sego_toydata import write_toy_dataset

    root = write_toy_dataset(tmp_path / "toy", {"train": 6, "validation": 1, "test": 1})
    add_train_tracks(root, 1)
    result = train(config(root, tmp_path / "run", epochs=1, batch_size=30), log=lambda _: None)
    meta = load_artifact(result.best_path)["metadata"]
    assert meta["training_data"]["train"]["tracks"] == 61
    assert result.history[0]["train_windows_per_s"] > 0
    assert result.schedule.steps_per_epoch == 2


def test_schedule_follows_the_step_budget_and_the_validation_size() -> None:
    # the dataset: 360 training tracks, 4 steps an epoch
    small = plan_schedule(360, 360, 48, 96, epochs=40, min_steps=750)
    assert (small.steps_per_epoch, small.epochs, small.total_steps) == (4, 188, 752)
    assert small.select == "swa" and small.average_from == 142
    assert small.message().startswith("360 tracks, 360 windows, batch 96 -> 188 epochs, 752 steps")
    assert "under the budget" in small.reason and "48 validation windows < 200" in small.reason
    # the shipped model's data (1800 training, 300 validation tracks): its recipe is unchanged
    budget = small_set_min_steps(TrainConfig().min_steps, 1800)
    shipped = plan_schedule(1800, 1800, 300, 96, epochs=40, min_steps=budget)
    assert (shipped.epochs, shipped.total_steps, shipped.select) == (40, 760, "best")
    exact = plan_schedule(360, 360, 48, 96, epochs=40, min_steps=0, select="last")
    assert (exact.epochs, exact.select) == (40, "last")
    with pytest.raises(ValueError, match="select 'newest' is unknown"):
        plan_schedule(10, 10, 5, 4, epochs=1, min_steps=0, select="newest")


def test_auto_budget_and_label_smoothing_follow_the_set_size() -> None:
    defaults = TrainConfig()
    assert (defaults.min_steps, defaults.label_smoothing) == (-1, -1.0)  # auto
    # below 1000 training tracks: 3000 steps, smoothing 0.1; from there on (the shipped
    # model's 1800 tracks) and when fine-tuning: 750 steps, no smoothing
    assert small_set_min_steps(-1, 180) == 3000
    assert small_set_min_steps(-1, 999) == 3000
    assert small_set_min_steps(-1, 1000) == 750
    assert small_set_min_steps(-1, 180, fine_tuning=True) == 750
    assert small_set_label_smoothing(-1.0, 180) == pytest.approx(0.1)
    assert small_set_label_smoothing(-1.0, 1800) == 0.0
    assert small_set_label_smoothing(-1.0, 180, fine_tuning=True) == 0.0
    # what the user gives is kept, whatever the size
    assert small_set_min_steps(0, 180) == 0 and small_set_min_steps(200, 5000) == 200
    assert small_set_label_smoothing(0.0, 180) == 0.0
    assert small_set_label_smoothing(0.05, 5000) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="min_steps must be -1"):
        small_set_min_steps(-2, 180)
    with pytest.raises(ValueError, match="label_smoothing must be below 1"):
        small_set_label_smoothing(1.0, 180)


def test_task_loss_smooths_each_cross_entropy() -> None:
    gen = torch.Generator().manual_seed(0)
    outputs = SocialOutputs(
        torch.randn(5, 3, generator=gen),
        torch.randn(5, 3, generator=gen),
        torch.randn(5, 10, generator=gen),
        torch.zeros(5, 4),
    )
    labels = torch.tensor([[0, 1, 2], [1, 0, 4], [2, 2, 9], [0, 1, 3], [-1, -1, -1]])
    eps = 0.1

    def smoothed(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # oracle: (1 - eps) x CE against the label + eps x CE against the uniform distribution
        logp = logits.log_softmax(1)
        return ((1 - eps) * -logp.gather(1, target[:, None])[:, 0] - eps * logp.mean(1)).mean()

    keep = labels[:, 0] >= 0
    expected = sum(smoothed(logits[keep], labels[keep, i]) for i, logits in enumerate(outputs[:3]))
    assert torch.allclose(task_loss(outputs, labels, eps), expected, atol=1e-6)
    assert not torch.allclose(task_loss(outputs, labels), expected, atol=1e-3)


def test_auto_label_smoothing_is_trained_with_and_recorded(tmp_path: Path, toy_root: Path):
    lines: list[str] = []
    smoothed = train(config(toy_root, tmp_path / "auto", label_smoothing=-1.0), log=lines.append)
    plain = train(config(toy_root, tmp_path / "plain", label_smoothing=0.0), log=lambda _: None)
    plan = next(line for line in lines if line.startswith("recipe: "))
    assert "60 tracks, 60 windows, label smoothing 0.1, batch 16" in plan
    meta = load_artifact(smoothed.best_path)["metadata"]["training"]
    assert meta["config"]["label_smoothing"] == pytest.approx(0.1)
    assert meta["recipe"]["label_smoothing"] == pytest.approx(0.1)
    # same seed, same batches: only the smoothed targets change the training loss
    assert smoothed.history[0]["train_loss"] != pytest.approx(plain.history[0]["train_loss"])


def test_small_set_gets_more_epochs_and_the_artifact_says_why(tmp_path: Path, toy_root: Path):
    lines: list[str] = []
    # 60 training windows at batch 16: 4 steps an epoch; 18 steps need 5 epochs
    result = train(config(toy_root, tmp_path / "run", min_steps=18), log=lines.append)
    assert len(result.history) == 5
    plan = next(line for line in lines if line.startswith("recipe: "))
    assert "60 tracks, 60 windows, batch 16 -> 5 epochs, 20 steps, because" in plan
    meta = load_artifact(result.best_path)["metadata"]["training"]
    assert meta["recipe"]["epochs"] == 5 and meta["recipe"]["total_steps"] == 20
    # 20 validation windows: select auto averages the last 25 % of the epochs (4-5)
    assert meta["selection"]["method"] == "swa" and meta["selection"]["epochs"] == [4, 5]
    assert meta["config"]["min_steps"] == 18 and meta["config"]["select"] == "auto"
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["selection"]["method"] == "swa" and summary["steps"] == 20


def test_swa_exports_the_mean_of_the_last_epochs(tmp_path: Path, toy_root: Path) -> None:
    snapshots = []
    cfg = config(toy_root, tmp_path / "swa", epochs=4, select="swa", average_share=0.5)
    result = train(cfg, log=lambda _: None)
    assert result.schedule.average_from == 3 and result.best_epoch == 4
    # the same run with select last, stopped after epochs 3 and 4, gives the two snapshots
    for epochs in (3, 4):
        last_cfg = config(toy_root, tmp_path / f"last{epochs}", epochs=4, select="last")
        if epochs < 4:  # 4 steps an epoch: stopped when epoch 4 would start
            with pytest.raises(TrainingInterrupted):
                train(replace(last_cfg, max_steps=4 * epochs), log=lambda _: None)
        else:
            train(last_cfg, log=lambda _: None)
        snapshots.append(torch.load(tmp_path / f"last{epochs}" / "last.pt", weights_only=False))
    # epoch 3's weights come from the checkpoint written at the end of epoch 3
    assert snapshots[0]["epoch"] == 3
    swa = load_artifact(result.best_path)["state_dict"]
    for name, value in swa.items():
        if "running" in name or "num_batches" in name:
            continue  # BatchNorm statistics are recomputed for the averaged weights
        mean = (snapshots[0]["model"][name] + snapshots[1]["model"][name]) / 2
        assert torch.allclose(value, mean, atol=1e-6), name


def test_running_mean_is_the_mean() -> None:
    layer = torch.nn.Linear(2, 1)
    average = None
    values = []
    for k in range(3):
        with torch.no_grad():
            layer.weight.fill_(float(k))
        values.append(float(k))
        average = running_mean(average, layer)
    assert average["count"] == 3
    assert torch.allclose(average["weights"]["weight"], torch.full((1, 2), 1.0))


def test_select_last_exports_the_final_epoch(tmp_path: Path, toy_root: Path) -> None:
    result = train(config(toy_root, tmp_path / "run", epochs=3, select="last"), log=lambda _: None)
    meta = load_artifact(result.best_path)["metadata"]["training"]
    assert result.best_epoch == 3 and meta["epoch"] == 3
    assert meta["selection"] == {"method": "last", "epoch": 3, "how": "final epoch of the schedule"}


def test_patience_stops_when_validation_stops_improving(tmp_path: Path, toy_root: Path) -> None:
    lines: list[str] = []
    # lr 0: the weights never change, so no epoch after the first is better
    cfg = config(toy_root, tmp_path / "run", epochs=6, select="best", patience=2, lr=0.0)
    result = train(cfg, log=lines.append)
    assert len(result.history) == 3 and result.best_epoch == 1
    assert any("early stop after epoch 3" in line for line in lines)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["stopped_early"] is True
    with pytest.raises(ValueError, match="patience .* needs select best"):
        train(config(toy_root, tmp_path / "r2", select="last", patience=2), log=lambda _: None)


def test_swa_run_killed_mid_average_resumes_to_identical_weights(tmp_path: Path, toy_root: Path):
    # input_norm auto (on for the toy set): the resumed run rebuilds the same architecture
    swa = dict(epochs=4, select="swa", average_share=0.5, input_norm=-1)
    straight = train(config(toy_root, tmp_path / "a", **swa), log=lambda _: None)
    killed = config(toy_root, tmp_path / "b", **swa)
    with pytest.raises(TrainingInterrupted):
        # 4 steps an epoch: stop inside epoch 4, after epoch 3 entered the average
        train(replace(killed, max_steps=14, checkpoint_every=1), log=lambda _: None)
    resumed = train(killed, log=lambda _: None)
    a = load_artifact(straight.best_path)["state_dict"]
    b = load_artifact(resumed.best_path)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_window_hop_cuts_every_window_of_a_track_with_its_labels(toy_root: Path) -> None:
    from socialego_core.window import build_window
    from socialego_training.data import load_split
    from socialego_training.datasets import STUDENT_SPEC, PoseWindowDataset, window_starts

    tracks = load_split(toy_root, "train").tracks[:5]
    one = PoseWindowDataset(tracks, STUDENT_SPEC)
    many = PoseWindowDataset(tracks, STUDENT_SPEC, hop=2)
    assert len(one) == 5 and torch.equal(one.track_index, torch.arange(5))
    for k, track in enumerate(tracks):
        ids = sorted(track.frames)
        starts = window_starts(track, STUDENT_SPEC, 2)
        assert starts[0] == ids[0] and starts == list(range(ids[0], starts[-1] + 1, 2))
        assert starts[-1] + 9 <= max(ids[-1], ids[0] + 9) and starts[-1] + 11 > ids[-1]
        rows = torch.nonzero(many.track_index == k).flatten()
        assert len(rows) == len(starts)
        assert torch.equal(many.labels[rows], one.labels[k].expand(len(rows), 3))
        last = build_window(track.frames, track.width, track.height, STUDENT_SPEC, starts[-1])
        assert torch.equal(many.windows[rows[-1]], torch.from_numpy(last.keypoints))
    assert torch.equal(many.windows[0], one.windows[0])  # the first window is the method's


def test_training_on_every_window_counts_windows_not_tracks(tmp_path: Path, toy_root: Path):
    lines: list[str] = []
    result = train(
        config(toy_root, tmp_path / "run", epochs=1, train_window_hop=2), log=lines.append
    )
    plan = result.schedule
    assert plan.tracks == 60 and plan.windows > 60
    assert plan.steps_per_epoch == steps_per_epoch(plan.windows, 16)
    assert f"60 tracks, {plan.windows} windows (one every 2 frames), batch 16" in next(
        line for line in lines if line.startswith("recipe: ")
    )


def test_mirror_swaps_left_and_right_and_negates_x() -> None:
    from socialego_training.augment import mirror, mirror_permutation

    perm = mirror_permutation(tuple(range(17)))
    assert perm[:7] == [0, 2, 1, 4, 3, 6, 5] and sorted(perm) == list(range(17))
    x = torch.rand(6, 10, 17, 3) - 0.5
    x[0, :, 9] = 0.0  # an undetected left wrist stays undetected on the right
    gen = torch.Generator().manual_seed(0)
    out = mirror(x, 1.0, perm, gen)
    assert torch.equal(out[:, :, 5, 0], -x[:, :, 6, 0])  # left shoulder <- mirrored right
    assert torch.equal(out[:, :, 5, 1:], x[:, :, 6, 1:])
    assert torch.equal(out[0, :, 10], torch.zeros(10, 3))
    assert torch.equal(mirror(out, 1.0, perm, gen), x)  # twice is the identity
    assert mirror(x, 0.0, perm, gen) is x
    with pytest.raises(ValueError, match="joint 17 has none"):
        mirror_permutation(tuple(range(133)))
    with pytest.raises(ValueError, match="joint 1 has none"):
        mirror_permutation((0, 1, 5, 6))


def test_small_sets_get_every_window_and_mirroring_by_default(tmp_path: Path, toy_root: Path):
    from socialego_training.recipe import small_set_hop, small_set_mirror

    assert TrainConfig().train_window_hop == -1 and TrainConfig().mirror == -1.0
    assert (
        small_set_hop(-1, 999) == 2 and small_set_hop(-1, 1800) == 0 and small_set_hop(3, 10) == 3
    )
    assert small_set_mirror(-1.0, 180, True) == 0.5 and small_set_mirror(-1.0, 1800, True) == 0.0
    assert small_set_mirror(-1.0, 180, False) == 0.0 and small_set_mirror(0.2, 1800, True) == 0.2
    cfg = config(toy_root, tmp_path / "run", epochs=1, train_window_hop=-1, mirror=-1.0)
    result = train(cfg, log=lambda _: None)
    assert (result.schedule.window_hop, result.schedule.mirror) == (2, 0.5)
    assert "(one every 2 frames), 50% mirrored, batch 16" in result.schedule.message()
    meta = load_artifact(result.best_path)["metadata"]["training"]
    assert meta["recipe"]["window_hop"] == 2 and meta["recipe"]["mirror"] == 0.5
    assert meta["config"]["train_window_hop"] == 2 and meta["config"]["mirror"] == 0.5
