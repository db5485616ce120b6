"""The student's linear mean-pose head (``mean_pose_head``): that the folded head is the
baseline's fitted linear model, that it joins the output as a product of experts in eval mode
only, that every path that runs a model (fast online path, ONNX) computes the same, and that
the small-set recipe fits it, records it, and keeps a fine-tuned model's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sego_student import assert_cached_forward_equals_plain, start_and_fine_tune
from sego_toydata import fixed_recipe_config
from socialego_core.artifact import StudentPredictor, load_artifact
from socialego_core.labels import TASKS
from socialego_core.onnx_predictor import OnnxStudentPredictor
from socialego_core.student import SocialEgoMobile, count_parameters
from socialego_core.window import WindowSpec
from socialego_training.baseline import mean_pose_classifier, mean_pose_features
from socialego_training.cli import main as cli_main
from socialego_training.data import load_split
from socialego_training.datasets import PoseWindowDataset
from socialego_training.mean_pose_fit import ABSENT_CLASS_LOGIT, task_logit_map
from socialego_training.recipe import small_set_mean_pose_head
from socialego_training.train import TrainConfig, build_model, train
from test_onnx_export import max_difference, random_windows
from test_onnx_int8 import PROBABILITY_CHANGE

SIZES = (3, 3, 10)


def headed_student(fusion: float = 0.7, seed: int = 0) -> SocialEgoMobile:
    """An untrained student with a random (non-trivial) mean-pose head."""
    torch.manual_seed(seed)
    model = SocialEgoMobile(mean_pose_head=True)
    head = model.mean_pose_head
    with torch.no_grad():
        head.weight.normal_(0.0, 2.0)
        head.bias.normal_(0.0, 1.0)
        head.fusion.fill_(fusion)
    return model.eval()


def test_no_parameters_and_no_effect_until_fitted() -> None:
    assert SocialEgoMobile().mean_pose_head is None
    model = SocialEgoMobile(mean_pose_head=True)
    assert model.config["mean_pose_head"] is True
    assert count_parameters(model) == 430_649  # buffers only: the optimiser never moves it
    assert {"mean_pose_head.weight", "mean_pose_head.fusion"} <= set(model.state_dict())
    torch.manual_seed(3)
    plain = SocialEgoMobile().eval()
    model.load_state_dict(plain.state_dict(), strict=False)
    x = torch.from_numpy(random_windows(4, 1))
    with torch.no_grad():
        assert torch.equal(model.eval()(x).attitude, plain(x).attitude)  # fusion 0


def test_eval_output_is_the_product_of_the_two_models() -> None:
    model = headed_student(fusion=0.7)
    x = torch.from_numpy(random_windows(6, 2))
    with torch.no_grad():
        chain = model.classifier(model.encode(x))
        out = model(x)
        # oracle: the linear model applied to the window's mean pose, then a weighted sum of
        # log-probabilities
        head = model.mean_pose_head
        linear = x.mean(dim=1).reshape(6, -1) @ head.weight.T + head.bias
        for i, task in enumerate(TASKS):
            start = sum(SIZES[:i])
            part = linear[:, start : start + SIZES[i]]
            expected = torch.log_softmax(chain[i], 1) + 0.7 * torch.log_softmax(part, 1)
            assert torch.allclose(getattr(out, task), expected, atol=1e-5)
        assert not torch.allclose(out.attitude.softmax(1), chain[1].softmax(1), atol=1e-3)
        model.train()  # training sees the chain classifier alone
        assert torch.allclose(model(x).attitude, model.classifier(model.encode(x))[1])


def test_folded_head_equals_the_baselines_fitted_model(toy_root: Path) -> None:
    tracks = load_split(toy_root, "train", "jpl_social").tracks
    windows = PoseWindowDataset(tracks, WindowSpec())
    x = mean_pose_features(windows).astype(np.float64)
    y = windows.labels.numpy()
    probe = torch.from_numpy(random_windows(7, 4)).mean(dim=1).reshape(7, -1).numpy()
    for i, n_classes in enumerate(SIZES):
        weight, bias = task_logit_map(x, y[:, i], n_classes)
        pipeline = mean_pose_classifier().fit(x, y[:, i])
        logits = probe @ weight.T + bias
        seen = pipeline.classes_
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities = shifted / shifted.sum(axis=1, keepdims=True)
        assert np.abs(probabilities[:, seen] - pipeline.predict_proba(probe)).max() < 1e-6
        unseen = np.setdiff1d(np.arange(n_classes), seen)
        assert (bias[unseen] == ABSENT_CLASS_LOGIT).all() and (
            probabilities[:, unseen] < 1e-9
        ).all()


def test_binary_and_single_class_tasks() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5))
    y = np.where(x[:, 0] > 0, 2, 0)  # two of three classes seen
    weight, bias = task_logit_map(x, y, 3)
    pipeline = mean_pose_classifier().fit(x, y)
    logits = x @ weight.T + bias
    p2 = 1.0 / (1.0 + np.exp(logits[:, 0] - logits[:, 2]))
    assert np.abs(p2 - pipeline.predict_proba(x)[:, 1]).max() < 1e-6
    weight, bias = task_logit_map(x, np.ones(40, dtype=int), 3)
    assert not weight.any() and bias.tolist() == [ABSENT_CLASS_LOGIT, 0.0, ABSENT_CLASS_LOGIT]


def test_fast_online_path_equals_the_plain_forward() -> None:
    assert_cached_forward_equals_plain(headed_student(fusion=1.0, seed=1))


def test_small_set_recipe_turns_it_on() -> None:
    assert TrainConfig().mean_pose_head == -1  # auto
    assert small_set_mean_pose_head(-1, 180) == 1.0
    assert small_set_mean_pose_head(-1, 999) == 1.0
    assert small_set_mean_pose_head(-1, 1000) == 0.0  # the shipped model's recipe is unchanged
    assert small_set_mean_pose_head(-1, 180, fine_tuning=True) == 0.0
    assert small_set_mean_pose_head(0, 180) == 0.0 and small_set_mean_pose_head(0.5, 5000) == 0.5
    # a run on corrupted windows asks for robustness, which the linear head lacks
    assert small_set_mean_pose_head(-1, 180, corrupted=True) == 0.0
    assert small_set_mean_pose_head(1.0, 180, corrupted=True) == 1.0
    with pytest.raises(ValueError, match="mean_pose_head must be -1"):
        small_set_mean_pose_head(-2, 180)
    with pytest.raises(ValueError, match="mean_pose_head is a SocialEgoMobile option"):
        build_model("SocialEgoNet", 10, WindowSpec(), mean_pose_head=True)


def test_auto_is_fitted_recorded_and_runs_everywhere(tmp_path: Path, toy_root: Path) -> None:
    lines: list[str] = []
    result = train(
        fixed_recipe_config(toy_root, tmp_path / "auto", mean_pose_head=-1), log=lines.append
    )
    plan = next(line for line in lines if line.startswith("recipe: "))
    assert "60 tracks, 60 windows, mean-pose head (fusion 1), batch 16" in plan
    meta = load_artifact(result.best_path)["metadata"]
    assert meta["model_kwargs"]["mean_pose_head"] is True
    assert meta["training"]["config"]["mean_pose_head"] == 1.0
    assert meta["training"]["recipe"]["mean_pose_head"] == 1.0
    predictor = StudentPredictor(result.best_path, threads=1)
    head = predictor.model.mean_pose_head
    assert float(head.fusion) == 1.0
    # the head in the artifact is the baseline's model fitted on the training split
    tracks = load_split(toy_root, "train", "jpl_social").tracks
    windows = PoseWindowDataset(tracks, WindowSpec())
    x = mean_pose_features(windows).astype(np.float64)
    weight, bias = task_logit_map(x, windows.labels.numpy()[:, 1], 3)
    assert np.allclose(head.weight[3:6].numpy(), weight, atol=1e-4)
    assert np.allclose(head.bias[3:6].numpy(), bias, atol=1e-4)
    onnx_path = tmp_path / "auto.onnx"
    argv = ["export", "--model", str(result.best_path), "--out", str(onnx_path)]
    assert cli_main([*argv, "--format", "onnx"]) == 0
    x = random_windows(5, 3)
    onnx_model = OnnxStudentPredictor(onnx_path, threads=1)
    expected = predictor.predict(x)
    assert max_difference(onnx_model.predict(x), expected) <= 1e-4
    # the ONNX runtime's cached path (the graph's frame and window halves run apart) too
    assert max_difference(onnx_model.cached_forward().predict(x), expected) <= 1e-4
    # and the PyTorch one
    assert max_difference(predictor.cached_forward().predict(x), expected) <= 1e-4
    corrupted = train(
        fixed_recipe_config(toy_root, tmp_path / "corrupted", mean_pose_head=-1, joint_rate=0.3),
        log=lambda _: None,
    )
    assert load_artifact(corrupted.best_path)["metadata"]["model_kwargs"]["mean_pose_head"] is False
    # the int8 graph quantises only the recurrence: the head stays float, the outputs close
    int8_path = tmp_path / "auto.int8.onnx"
    argv = ["export", "--model", str(result.best_path), "--out", str(int8_path)]
    assert cli_main([*argv, "--format", "onnx", "--quantize", "int8"]) == 0
    int8_model = OnnxStudentPredictor(int8_path, threads=1)
    assert max_difference(int8_model.predict(x), expected) <= PROBABILITY_CHANGE
    assert max_difference(int8_model.cached_forward().predict(x), expected) <= PROBABILITY_CHANGE


def test_fine_tuning_keeps_and_refits_the_start_models_head(tmp_path: Path, toy_root: Path) -> None:
    start, meta = start_and_fine_tune(toy_root, tmp_path, "mean_pose_head", 0.5)
    assert meta["model_kwargs"]["mean_pose_head"] is True
    assert meta["training"]["config"]["mean_pose_head"] == 0.5
    refused = "--mean-pose-head 0 does not fit --init-from .*has a mean-pose head"
    with pytest.raises(ValueError, match=refused):
        bad = fixed_recipe_config(
            toy_root, tmp_path / "bad", init_from=str(start.best_path), mean_pose_head=0.0
        )
        train(bad, log=lambda _: None)
