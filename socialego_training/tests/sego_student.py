"""Checks shared by the tests of the student's options (input BatchNorm, mean-pose head)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from sego_toydata import fixed_recipe_config
from socialego_core.artifact import load_artifact
from socialego_core.calibration import Calibration
from socialego_core.fast_forward import CachedStudentForward
from socialego_core.labels import TASKS
from socialego_core.student import SocialEgoMobile
from socialego_training.train import TrainResult, train
from test_onnx_export import random_windows


def assert_cached_forward_equals_plain(model: SocialEgoMobile) -> None:
    """The cached online path's probabilities within 1e-5 of the plain forward's, for batches
    of 1, 6 and 20 random windows."""
    fast = CachedStudentForward(model, calibration=Calibration.identity())
    for batch, seed in ((1, 0), (6, 1), (20, 2)):
        x = random_windows(batch, seed)
        with torch.inference_mode():
            out = model(torch.from_numpy(x))
        got = fast.predict(x)
        for task in TASKS:
            reference = torch.softmax(getattr(out, task), dim=1).numpy()
            assert np.abs(got[task] - reference).max() <= 1e-5


def start_and_fine_tune(
    root: Path, tmp_path: Path, option: str, start_value: float
) -> tuple[TrainResult, dict[str, Any]]:
    """A toy run with ``option`` at ``start_value``, then a run fine-tuned from it with the
    option on auto (-1): the start run and the fine-tuned artifact's metadata."""
    start = train(
        fixed_recipe_config(root, tmp_path / "start", **{option: start_value}), log=lambda _: None
    )
    tuned = train(
        fixed_recipe_config(
            root, tmp_path / "tuned", init_from=str(start.best_path), **{option: -1}
        ),
        log=lambda _: None,
    )
    return start, load_artifact(tuned.best_path)["metadata"]
