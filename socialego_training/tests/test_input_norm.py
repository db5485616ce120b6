"""The student's optional input BatchNorm (``input_norm``): what it computes, that every path
that runs a model (fast online path, ONNX, artifact loading) computes the same, and that the
small-set recipe turns it on, records it, and keeps a fine-tuned model's choice."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from sego_student import assert_cached_forward_equals_plain, start_and_fine_tune
from sego_toydata import fixed_recipe_config
from socialego_core.artifact import StudentPredictor, load_artifact
from socialego_core.onnx_predictor import OnnxStudentPredictor
from socialego_core.student import SocialEgoMobile, count_parameters
from socialego_core.window import WindowSpec
from socialego_training.cli import main as cli_main
from socialego_training.recipe import small_set_input_norm
from socialego_training.train import TrainConfig, build_model, train
from test_onnx_export import max_difference, random_windows


def normalised_student(seed: int = 0) -> SocialEgoMobile:
    """An untrained student whose input statistics are far from the identity."""
    torch.manual_seed(seed)
    model = SocialEgoMobile(input_norm=True)
    with torch.no_grad():
        model.input_norm.running_mean.uniform_(-0.3, 0.8)
        model.input_norm.running_var.uniform_(0.01, 0.2)
        model.input_norm.weight.uniform_(0.5, 2.0)
        model.input_norm.bias.uniform_(-0.5, 0.5)
    return model.eval()


def test_off_by_default_and_102_parameters_when_on() -> None:
    assert SocialEgoMobile().input_norm is None
    assert SocialEgoMobile().config["input_norm"] is False
    model = SocialEgoMobile(input_norm=True)
    assert model.config["input_norm"] is True
    assert count_parameters(model) == 430_649 + 2 * 17 * 3  # scale and shift per feature


def test_each_joint_feature_is_standardised_before_the_gat() -> None:
    model = normalised_student()
    frames = torch.from_numpy(random_windows(4, 0).reshape(40, 17, 3))
    bn = model.input_norm
    # oracle: (x - mean) / sqrt(var + eps) * weight + bias, per (joint, channel) feature
    flat = frames.reshape(40, 51)
    expected_in = (flat - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps)
    expected_in = (expected_in * bn.weight + bn.bias).reshape(40, 17, 3)
    with torch.no_grad():
        expected = model.gat(expected_in, model.adjacency).reshape(40, -1)
        assert torch.allclose(model.frame_embeddings(frames), expected, atol=1e-5)
        # and it matters: the plain GAT on the raw frames is something else
        assert not torch.allclose(model.gat(frames, model.adjacency).reshape(40, -1), expected)


def test_fast_online_path_equals_the_plain_forward() -> None:
    assert_cached_forward_equals_plain(normalised_student(1))


def test_small_set_recipe_turns_it_on() -> None:
    assert TrainConfig().input_norm == -1  # auto
    assert small_set_input_norm(-1, 180) is True
    assert small_set_input_norm(-1, 999) is True
    assert small_set_input_norm(-1, 1000) is False  # the shipped model's recipe is unchanged
    assert small_set_input_norm(-1, 180, fine_tuning=True) is False
    assert small_set_input_norm(0, 180) is False and small_set_input_norm(1, 5000) is True
    with pytest.raises(ValueError, match="input_norm must be -1"):
        small_set_input_norm(2, 180)
    with pytest.raises(ValueError, match="input_norm is a SocialEgoMobile option"):
        build_model("SocialEgoNet", 10, WindowSpec(), input_norm=True)


def test_auto_is_trained_recorded_and_runs_everywhere(tmp_path: Path, toy_root: Path) -> None:
    lines: list[str] = []
    result = train(
        fixed_recipe_config(toy_root, tmp_path / "auto", input_norm=-1), log=lines.append
    )
    plan = next(line for line in lines if line.startswith("recipe: "))
    assert "60 tracks, 60 windows, input BatchNorm, batch 16" in plan
    meta = load_artifact(result.best_path)["metadata"]
    assert meta["model_kwargs"]["input_norm"] is True
    assert meta["training"]["config"]["input_norm"] == 1
    assert meta["training"]["recipe"]["input_norm"] is True
    # the training set's statistics, recomputed on the final weights, travel in the artifact
    predictor = StudentPredictor(result.best_path, threads=1)
    assert predictor.model.input_norm is not None
    assert float(predictor.model.input_norm.running_var.min()) < 0.9  # not the initial 1.0
    onnx_path = tmp_path / "auto.onnx"
    argv = ["export", "--model", str(result.best_path), "--out", str(onnx_path)]
    assert cli_main([*argv, "--format", "onnx"]) == 0
    x = random_windows(5, 3)
    got, expected = OnnxStudentPredictor(onnx_path, threads=1).predict(x), predictor.predict(x)
    assert max_difference(got, expected) <= 1e-4

    off = train(fixed_recipe_config(toy_root, tmp_path / "off", input_norm=0), log=lambda _: None)
    assert load_artifact(off.best_path)["metadata"]["model_kwargs"]["input_norm"] is False


def test_fine_tuning_keeps_the_start_models_choice(tmp_path: Path, toy_root: Path) -> None:
    start, meta = start_and_fine_tune(toy_root, tmp_path, "input_norm", 1)
    assert meta["model_kwargs"]["input_norm"] is True
    assert meta["training"]["config"]["input_norm"] == 1
    refused = "--input-norm 0 does not fit --init-from .*input BatchNorm on"
    with pytest.raises(ValueError, match=refused):
        bad = fixed_recipe_config(
            toy_root, tmp_path / "bad", init_from=str(start.best_path), input_norm=0
        )
        train(bad, log=lambda _: None)
    # values other than -1 / 0 / 1 are refused on the fine-tuning path too
    with pytest.raises(ValueError, match="input_norm must be -1"):
        odd = fixed_recipe_config(
            toy_root, tmp_path / "odd", init_from=str(start.best_path), input_norm=2
        )
        train(odd, log=lambda _: None)
