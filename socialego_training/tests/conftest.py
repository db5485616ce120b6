"""Shared fixtures for the socialego_training tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from sego_toydata import write_toy_dataset

torch.set_num_threads(1)


@pytest.fixture
def toy_root(tmp_path: Path) -> Path:
    return write_toy_dataset(tmp_path / "toy")
