"""Checkpoint, resume and log utilities shared by the student, teacher and distillation loops.

A run folder holds ``last.pt`` (everything needed to resume, written atomically every few steps
and at each epoch end), ``best.pt`` (the model artifact selected on validation), ``log.csv`` and
``log.json`` (per-epoch metrics, rewritten whole each epoch so a resumed run never duplicates rows)
and ``config.yaml``.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from socialego_core.artifact import atomic_torch_save

LAST = "last.pt"
BEST = "best.pt"


def save_checkpoint(run_dir: str | Path, state: dict[str, Any]) -> Path:
    path = Path(run_dir) / LAST
    atomic_torch_save(state, path)
    return path


def load_checkpoint(run_dir: str | Path) -> dict[str, Any] | None:
    """The resume state of a run folder, or None if it has none. A corrupt file is an error."""
    path = Path(run_dir) / LAST
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise RuntimeError(
            f"checkpoint {path} is unreadable ({exc}); delete it to restart"
        ) from exc


def atomic_write_text(path: str | Path, text: str) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def write_history(run_dir: str | Path, history: list[dict[str, Any]]) -> None:
    """Per-epoch metrics as log.json (a list) and log.csv (one row per epoch)."""
    run_dir = Path(run_dir)
    atomic_write_text(run_dir / "log.json", json.dumps(history, indent=1))
    columns: list[str] = []
    for row in history:
        columns += [k for k in row if k not in columns]
    lines = [",".join(columns)]
    for row in history:
        lines.append(",".join(_csv_cell(row.get(c, "")) for c in columns))
    atomic_write_text(run_dir / "log.csv", "\n".join(lines) + "\n")


def _csv_cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    return f'"{text}"' if ("," in text or '"' in text) else text


def read_history(run_dir: str | Path) -> list[dict[str, Any]]:
    with (Path(run_dir) / "log.csv").open() as handle:
        return list(csv.DictReader(handle))
