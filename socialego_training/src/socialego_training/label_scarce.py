"""Cut a label-scarce experiment out of a labelled dataset (e.g. a generated one).

``python -m socialego_training.label_scarce --src DATA --out OUT --labelled 100 --unlabelled 1000
--validation 50 --seed 0`` writes

- ``OUT/labelled``: ``labelled`` tracks drawn from the train split of DATA, ``validation`` tracks
  from its validation split and its whole test split (labels kept), plus its ``dataset.json``;
- ``OUT/unlabelled``: ``unlabelled`` further train tracks (none shared with the labelled ones) with
  their three labels set to null, i.e. unlabelled tracks (data.py), plus ``dataset.json``.

Draws are uniform without replacement from a seeded generator, in file-name order. Video frame
folders are not copied (the teacher then runs with ``--missing-rgb zeros``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from socialego_training.data import split_dir

LABEL_KEYS = ("intention_class", "attitude_class", "action_class")


def _draw(files: list[Path], n: int, rng: np.random.Generator, what: str) -> list[Path]:
    if n > len(files):
        raise ValueError(f"{what}: {n} tracks asked, only {len(files)} available")
    return [files[i] for i in sorted(rng.permutation(len(files))[:n])]


def _copy(files: Sequence[Path], folder: Path, strip: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=False)
    for file in files:
        if not strip:
            shutil.copyfile(file, folder / file.name)
            continue
        data = json.loads(file.read_text())
        for key in LABEL_KEYS:
            data[key] = None
        (folder / file.name).write_text(json.dumps(data))


def make_label_scarce(
    src: str | Path,
    out: str | Path,
    labelled: int,
    unlabelled: int,
    validation: int,
    seed: int = 0,
) -> dict:
    """Write OUT/labelled and OUT/unlabelled (see the module doc); returns the counts."""
    src, out = Path(src), Path(out)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} exists and is not empty")
    rng = np.random.default_rng(seed)
    train = sorted(split_dir(src, "train").glob("*.json"))
    picked = _draw(train, labelled + unlabelled, rng, f"{src} train split")
    order = rng.permutation(len(picked))
    lab = sorted(picked[i] for i in order[:labelled])
    unl = sorted(picked[i] for i in order[labelled:])
    val = _draw(sorted(split_dir(src, "validation").glob("*.json")), validation, rng, "validation")
    test = sorted(split_dir(src, "test").glob("*.json"))
    _copy(lab, out / "labelled" / "train")
    _copy(val, out / "labelled" / "validation")
    _copy(test, out / "labelled" / "test")
    _copy(unl, out / "unlabelled" / "train", strip=True)
    info = src / "dataset.json"
    if info.is_file():
        for root in ("labelled", "unlabelled"):
            shutil.copyfile(info, out / root / "dataset.json")
    counts = {
        "labelled": len(lab),
        "validation": len(val),
        "test": len(test),
        "unlabelled": len(unl),
    }
    (out / "label_scarce.json").write_text(
        json.dumps({"source": src.name, "seed": seed, **counts}, indent=1)
    )
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--src", required=True, help="labelled dataset root (train/validation/test)")
    p.add_argument("--out", required=True, help="output folder (new or empty)")
    p.add_argument("--labelled", type=int, default=100, help="labelled train tracks (100)")
    p.add_argument("--unlabelled", type=int, default=1000, help="unlabelled tracks (1000)")
    p.add_argument("--validation", type=int, default=50, help="validation tracks (50)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    try:
        counts = make_label_scarce(
            args.src, args.out, args.labelled, args.unlabelled, args.validation, args.seed
        )
    except ValueError as exc:  # DatasetError included
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
