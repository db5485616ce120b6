"""From nothing: synthetic set -> train -> evaluate -> export -> load in a fresh process.

Also: a JPL-Social-schema folder laid out differently (pose_features/ level, "key points",
minimal frame fields) loads and trains without changes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from sego_toydata import toy_track
from socialego_training.cli import main as cli_main


def test_synthetic_train_evaluate_export_load(tmp_path: Path) -> None:
    data, run, out = tmp_path / "syn", tmp_path / "run", tmp_path / "out"
    assert (
        cli_main(["synth", "--out", str(data), "--tracks", "40", "--no-render", "--seed", "3"]) == 0
    )
    assert (
        cli_main(
            [
                "train",
                "--data-root",
                str(data),
                "--epochs",
                "2",
                "--min-steps",
                "0",
                "--batch-size",
                "8",
                "--out-dir",
                str(run),
                "--progress",
                "false",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert (
        cli_main(
            [
                "evaluate",
                "--model",
                str(run),
                "--data-root",
                str(data),
                "--out",
                str(out / "eval"),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert (out / "eval" / "confusion_action.png").is_file()
    assert (
        cli_main(
            [
                "sweep",
                "--model",
                str(run),
                "--data-root",
                str(data),
                "--out",
                str(out / "sweep"),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert (out / "sweep" / "sweep.png").is_file()
    artifact = out / "student.pt"
    assert (
        cli_main(["export", "--model", str(run), "--out", str(artifact), "--data-root", str(data)])
        == 0
    )
    meta_fps = json.loads((data / "dataset.json").read_text())["fps"]

    script = f"""
import json, sys
import numpy as np
from socialego_core.artifact import StudentPredictor
p = StudentPredictor({str(artifact)!r})
x = np.random.default_rng(0).uniform(-0.5, 0.5, (3, 10, 17, 3)).astype(np.float32)
out = p.predict(x)
assert not any(m.startswith("socialego_training") for m in sys.modules)
print(json.dumps({{"fps": p.window_spec.source_fps, "trained": p.trained,
                  "gen": p.metadata["training_data"]["dataset_json"]["generator"],
                  "sums": out["action"].sum(1).tolist()}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["fps"] == meta_fps and result["trained"] is True
    assert result["gen"] == "socialego_training.synthetic"
    assert np.allclose(result["sums"], 1.0, atol=1e-5)


def test_foreign_jpl_layout_loads_and_trains(tmp_path: Path) -> None:
    """As another tool might write it: pose_features/, 'key points', no box/score, gaze, extras."""
    rng = np.random.default_rng(1)
    root = tmp_path / "jpl"
    for split, per_action in (("train", 3), ("validation", 1)):
        folder = root / split / "pose_features"
        folder.mkdir(parents=True)
        for action in range(10):
            for i in range(per_action):
                track = toy_track(
                    action, rng, f"{split}{action}{i}", i, key="key points", gaze=True
                )
                for frame in track["frames"]:
                    del frame["box"], frame["score"]
                track["annotator"] = "someone else"
                (folder / f"{action}_{i}.json").write_text(json.dumps(track, indent=1))
    assert (
        cli_main(
            [
                "train",
                "--data-root",
                str(root),
                "--epochs",
                "1",
                "--min-steps",
                "0",
                "--batch-size",
                "8",
                "--out-dir",
                str(tmp_path / "run"),
                "--progress",
                "false",
            ]
        )
        == 0
    )
    assert (tmp_path / "run" / "best.pt").is_file()
