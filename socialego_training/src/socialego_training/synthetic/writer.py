"""``generate_dataset``: plan labels, splits and videos, simulate them, write the files.

Layout (docs/architecture.md#data-on-disk):
    <out>/{train,validation,test}/<video>_<person>.json   one JSON per person track
    <out>/videos/<video>/<frame_id:06d>.jpg               rendered frames (unless render=False)
    <out>/dataset.json                                    generator version, seed, counts
Splits are made by video (no video appears in two splits), stratified by action. Everything is
a function of the seed: each video has its own random stream, so the output does not depend on
the number of worker processes.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
from socialego_core.labels import (
    ATTITUDE_LABELS,
    INTENT_LABELS,
    JPL_ACTION_COUNTS,
    JPL_ACTION_LABELS,
    JPL_SOCIAL,
)
from tqdm import tqdm

from .video import MIN_TRACK_FRAMES, VideoConfig, generate_video

GENERATOR_VERSION = "1.1"  # 1.0: commit 1353074 (first version); bump whenever output changes
SPLIT_NAMES: tuple[str, ...] = ("train", "validation", "test")
PEOPLE_PER_VIDEO = (1, 2, 3)
PEOPLE_PER_VIDEO_P = (0.45, 0.35, 0.2)


def largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    """Split an integer total in proportion to weights (counts sum exactly to total)."""
    w = np.asarray(weights, float)
    if total < 0 or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"cannot split {total} by weights {list(weights)}")
    exact = total * w / w.sum()
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts.tolist()


def _stratified_split(per_class: Sequence[int], splits: Sequence[float]) -> dict[str, list[str]]:
    """Actions per split: each class split in proportion, rounding so split sizes stay on target
    (a plain per-class rounding would starve a small validation split)."""
    fractions = np.asarray(splits, float) / float(np.sum(splits))
    target = np.asarray(largest_remainder(int(sum(per_class)), fractions))
    counts = np.floor(np.outer(per_class, fractions)).astype(int)
    # classes of the items not placed by rounding down; each goes to the split that lacks most
    leftovers = [c for c, n in enumerate(per_class) for _ in range(n - int(counts[c].sum()))]
    for c in leftovers:
        deficit = target - counts.sum(0)
        exact = per_class[c] * fractions - counts[c]
        split = int(np.argmax(deficit + 1e-3 * exact))
        counts[c, split] += 1
    return {
        split: [a for a, row in zip(JPL_ACTION_LABELS, counts) for _ in range(int(row[s]))]
        for s, split in enumerate(SPLIT_NAMES)
    }


def plan_videos(
    n_tracks: int, seed: int, splits: Sequence[float]
) -> list[tuple[str, str, list[str]]]:
    """[(split, video_name, [action per person])]: class imbalance as in JPL-Social."""
    rng = np.random.default_rng([seed, 0])
    per_class = largest_remainder(n_tracks, [JPL_ACTION_COUNTS[a] for a in JPL_ACTION_LABELS])
    by_split = _stratified_split(per_class, splits)
    plan = []
    index = 0
    for split in SPLIT_NAMES:
        actions = list(by_split[split])
        rng.shuffle(actions)
        while actions:
            size = int(rng.choice(PEOPLE_PER_VIDEO, p=PEOPLE_PER_VIDEO_P))
            plan.append((split, f"v{index:05d}", actions[:size]))
            actions = actions[size:]
            index += 1
    return plan


def _run_video(job: tuple) -> tuple[str, str, list[dict], int]:
    split, name, actions, seed, index, config, out_dir = job
    rng = np.random.default_rng([seed, 1, index])
    frames_dir = Path(out_dir) / "videos" / name if config.render else None
    tracks, n_frames = generate_video(name, actions, rng, config, frames_dir)
    for track in tracks:
        path = Path(out_dir) / split / f"{name}_{track['person_id']}.json"
        # json.dumps uses the C encoder (json.dump to a file does not): ~10x faster here
        path.write_text(json.dumps(track, separators=(",", ":")), encoding="utf-8")
    return split, name, [_track_summary(t) for t in tracks], n_frames


def _track_summary(track: dict) -> dict:
    return {k: track[k] for k in ("intention_class", "attitude_class", "action_class")} | {
        "frames": track["detected_frames_number"]
    }


def _prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    ours = [out_dir / s for s in SPLIT_NAMES] + [out_dir / "videos", out_dir / "dataset.json"]
    existing = [p for p in ours if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{out_dir} already holds a dataset ({', '.join(p.name for p in existing)}); "
            "pass overwrite=True (--overwrite) to replace it"
        )
    for path in existing:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    for split in SPLIT_NAMES:
        (out_dir / split).mkdir(parents=True, exist_ok=True)


def generate_dataset(
    out_dir: str | Path,
    n_tracks: int,
    seed: int = 0,
    render: bool = True,
    fps: float = 10.0,
    frame_size: tuple[int, int] = (320, 240),
    splits: Sequence[float] = (0.6, 0.1, 0.3),
    duration_s: tuple[float, float] = (3.0, 4.0),
    workers: int = 1,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Write a synthetic JPL-Social-format dataset; returns the summary stored in dataset.json."""
    if n_tracks < 1:
        raise ValueError(f"n_tracks must be >= 1, got {n_tracks}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    width, height = (int(v) for v in frame_size)
    if width < 32 or height < 32:
        raise ValueError(f"frame_size must be at least 32x32, got {width}x{height}")
    if len(splits) != 3 or min(splits) < 0 or sum(splits) <= 0:
        raise ValueError(
            f"splits must be 3 non-negative fractions (train, val, test), got {splits}"
        )
    if not 0 < duration_s[0] <= duration_s[1]:
        raise ValueError(f"duration_s must be (min, max) seconds, got {duration_s}")
    if duration_s[0] * fps < 2 * MIN_TRACK_FRAMES:
        raise ValueError(
            f"videos of {duration_s[0]} s at {fps} fps are too short: need at least "
            f"{2 * MIN_TRACK_FRAMES} frames per video"
        )
    out = Path(out_dir)
    _prepare_out_dir(out, overwrite)
    config = VideoConfig(width, height, float(fps), tuple(duration_s), bool(render))
    plan = plan_videos(n_tracks, seed, splits)
    jobs = [
        (split, name, actions, seed, index, config, str(out))
        for index, (split, name, actions) in enumerate(plan)
    ]
    bar = tqdm(total=n_tracks, desc="synthetic tracks", unit="track", disable=not progress)
    results = []
    if workers > 1:
        with Pool(workers) as pool:
            for result in pool.imap(_run_video, jobs, chunksize=4):
                results.append(result)
                bar.update(len(result[2]))
    else:
        for job in jobs:
            results.append(_run_video(job))
            bar.update(len(results[-1][2]))
    bar.close()

    split_info: dict[str, Any] = {}
    for split in SPLIT_NAMES:
        rows = [r for r in results if r[0] == split]
        tracks = [t for r in rows for t in r[2]]
        split_info[split] = {
            "videos": len(rows),
            "tracks": len(tracks),
            "video_frames": int(sum(r[3] for r in rows)),
            "detected_frames": int(sum(t["frames"] for t in tracks)),
            "action_counts": _counts(tracks, "action_class", JPL_ACTION_LABELS),
            "intent_counts": _counts(tracks, "intention_class", INTENT_LABELS),
            "attitude_counts": _counts(tracks, "attitude_class", ATTITUDE_LABELS),
        }
    summary = {
        "generator": "socialego_training.synthetic",
        "generator_version": GENERATOR_VERSION,
        "dataset": "jpl_social",
        "seed": int(seed),
        "fps": float(fps),
        "frame_size": [width, height],
        "duration_s": list(duration_s),
        "rendered": bool(render),
        "layout": "COCO_WHOLEBODY133",
        "n_tracks": int(sum(s["tracks"] for s in split_info.values())),
        "n_videos": len(results),
        "split_fractions": [float(s) for s in splits],
        "splits": split_info,
        "label_table": JPL_SOCIAL.to_dict(),
        "config": asdict(config),
        "files": {
            "tracks": "<split>/<video_name>_<person_id>.json",
            "frames": "videos/<video_name>/<frame_id:06d>.jpg",
        },
    }
    with (out / "dataset.json").open("w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    return summary


def _counts(tracks: list[dict], key: str, names: Sequence[str]) -> dict[str, int]:
    counter = Counter(t[key] for t in tracks)
    return {name: int(counter.get(i, 0)) for i, name in enumerate(names)}
