"""``build_dataset``: recordings (rosbag2 bags) -> an unlabelled dataset in the JPL-Social schema.

Layout (the synthetic writer's, docs/architecture.md#data-on-disk):
    <out>/{train,validation,test}/<video>_<person>.json   one JSON per person track, labels null
    <out>/videos/<video>/<frame_id:06d>.jpg               the frames (image sources)
    <out>/dataset.json                                    provenance, settings, splits, counts
Each bag is one recording = one video; splits are made by recording. A run can be resumed: each
finished recording leaves a marker (``<out>/.from_bag/<video>.json``, written atomically after
its files), a rerun with the same settings skips marked recordings and redoes the others.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from socialego_core.labels import get_label_table
from tqdm import tqdm

from .. import __version__
from ..synthetic.writer import SPLIT_NAMES, largest_remainder
from .people import ImagePeople, pose_settings, recorded_people
from .sources import InputError, Recording, choose_topic, iter_topic, recordings
from .tracks import TrackCollector

TOOL = "socialego_training.from_bag"
MARKERS = ".from_bag"
MAX_LISTED_BAD = 50  # skipped inputs listed one by one in dataset.json (all are counted)


@dataclass
class FromBagConfig:
    bags: Sequence[Path]
    out: Path
    image_topic: str | None = None
    poses_topic: str | None = None  # set: recorded poses instead of images
    fps: float | None = None  # at most this many frames a second (the pose node's max_rate_hz)
    min_frames: int = 10
    split: Sequence[float] = (0.7, 0.15, 0.15)
    seed: int = 0
    dataset: str = "jpl_social"
    pose_params: dict[str, Any] = field(default_factory=dict)  # pose node parameter overrides
    jpeg_quality: int = 90
    skip_bad: bool = False
    overwrite: bool = False
    progress: bool = True

    def check(self) -> None:
        if not self.bags:
            raise ValueError("no bags given")
        if self.fps is not None and not self.fps > 0:
            raise ValueError(f"--fps must be positive, got {self.fps}")
        if self.min_frames < 1:
            raise ValueError(f"--min-frames must be >= 1, got {self.min_frames}")
        if len(self.split) != 3 or min(self.split) < 0 or sum(self.split) <= 0:
            raise ValueError(f"--split must be 3 non-negative fractions, got {list(self.split)}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"--jpeg-quality must be in 1..100, got {self.jpeg_quality}")
        get_label_table(self.dataset)


def assign_splits(names: Sequence[str], fractions: Sequence[float], seed: int) -> dict[str, str]:
    """Recording name -> split: a seeded shuffle cut in proportion to ``fractions``, with every
    split of a positive fraction getting a recording while there are enough (validation first)."""
    counts = largest_remainder(len(names), fractions)
    for s in (1, 2, 0):
        if counts[s] == 0 and fractions[s] > 0 and max(counts) > 1:
            counts[int(np.argmax(counts))] -= 1
            counts[s] += 1
    order = [names[i] for i in np.random.default_rng(seed).permutation(len(names))]
    out, start = {}, 0
    for split, count in zip(SPLIT_NAMES, counts):
        out.update({name: split for name in order[start : start + count]})
        start += count
    return out


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _settings(cfg: FromBagConfig, recs: list[Recording], pose: dict | None) -> dict[str, Any]:
    """Everything the output depends on; a resumed run must have the same."""
    return {
        "recordings": [{"name": r.name, "bag": r.path.name, **r.fingerprint()} for r in recs],
        "image_topic": cfg.image_topic,
        "poses_topic": cfg.poses_topic,
        "fps": cfg.fps,
        "min_frames": cfg.min_frames,
        "split_fractions": [float(f) for f in cfg.split],
        "seed": cfg.seed,
        "dataset": cfg.dataset,
        "pose_node_parameters": pose,
        "jpeg_quality": cfg.jpeg_quality if pose is not None else None,
        "generator_version": __version__,
    }


def _prepare(out: Path, settings: dict[str, Any], overwrite: bool) -> bool:
    """Create or reopen ``out``; True when an earlier run with the same settings is resumed."""
    info_path = out / "dataset.json"
    ours = [out / s for s in SPLIT_NAMES] + [out / "videos", out / MARKERS, info_path]
    if overwrite:
        for path in (p for p in ours if p.exists()):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    resumed = False
    if info_path.exists():
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{info_path}: invalid JSON ({error}); use --overwrite") from error
        if info.get("generator") != TOOL:
            raise FileExistsError(
                f"{out} holds another dataset (dataset.json by {info.get('generator')!r}); "
                "choose another --out or pass --overwrite"
            )
        before = info.get("settings", {})
        changed = sorted(k for k in settings if before.get(k) != settings[k])
        if changed:
            raise FileExistsError(
                f"{out} was made from other bags or settings (differs in: {', '.join(changed)}); "
                "rerun with the same arguments to resume, or pass --overwrite, or another --out"
            )
        resumed = True
    elif any(any((out / s).glob("*.json")) for s in SPLIT_NAMES):
        raise FileExistsError(
            f"{out} already holds track files but no dataset.json: choose another --out "
            "or pass --overwrite"
        )
    for split in SPLIT_NAMES:
        (out / split).mkdir(parents=True, exist_ok=True)
    (out / MARKERS).mkdir(parents=True, exist_ok=True)
    return resumed


def _clear_recording(out: Path, name: str) -> None:
    """Remove what an interrupted run left of one recording (tracks, frames)."""
    pattern = re.compile(rf"^{re.escape(name)}_\d+\.json$")
    for split in SPLIT_NAMES:
        for path in (out / split).glob(f"{name}_*.json"):
            if pattern.match(path.name):
                path.unlink()
    shutil.rmtree(out / "videos" / name, ignore_errors=True)


def _measured_fps(stamps: list[int]) -> float | None:
    if len(stamps) < 2:
        return None
    steps = np.diff(np.asarray(stamps, dtype=np.int64))
    steps = steps[steps > 0]
    return round(1e9 / float(np.median(steps)), 3) if len(steps) else None


class _BadInput:
    """Counts and lists the broken input of one recording (or raises without --skip-bad)."""

    def __init__(self, skip_bad: bool) -> None:
        self.skip_bad = skip_bad
        self.count = 0
        self.listed: list[dict[str, Any]] = []

    def __call__(self, error: InputError) -> None:
        if not self.skip_bad:
            raise InputError(
                error.bag,
                error.reason + " (pass --skip-bad to skip and list it)",
                error.topic,
                error.index,
            )
        self.count += 1
        if len(self.listed) < MAX_LISTED_BAD:
            self.listed.append(error.as_record())


def _convert(
    rec: Recording,
    cfg: FromBagConfig,
    people: ImagePeople | None,
    split: str,
) -> dict[str, Any]:
    """One recording -> its track files and frames; its summary (the done marker's content)."""
    out = cfg.out
    bad = _BadInput(cfg.skip_bad)
    summary: dict[str, Any] = {"name": rec.name, "bag": rec.path.name, "split": split}
    try:
        choice = choose_topic(rec.path, cfg.image_topic, cfg.poses_topic)
    except InputError as error:
        bad(error)
        return summary | {"skipped": error.reason, "bad_input": bad.listed, "bad_count": 1}
    summary.update(topic=choice.topic, msgtype=choice.msgtype, messages=choice.messages)
    frames_dir = out / "videos" / rec.name
    if choice.kind != "poses":
        frames_dir.mkdir(parents=True, exist_ok=True)
        people.reset()
    collector = TrackCollector(rec.name)
    problems: Counter[str] = Counter()
    stamps: list[int] = []
    rate_skipped = 0
    last_kept: int | None = None
    min_step = round(1e9 / cfg.fps) if cfg.fps else 0
    bar = tqdm(
        total=choice.messages, desc=rec.name, unit="msg", leave=False, disable=not cfg.progress
    )
    try:
        for item in iter_topic(rec.path, choice):
            bar.update(1)
            if item.error is not None:
                bad(item.error)
                continue
            # the pose node's max_rate_hz rule, on the stamps
            if min_step and last_kept is not None and 0 <= item.stamp_ns - last_kept < min_step:
                rate_skipped += 1
                continue
            try:
                if choice.kind == "poses":
                    frame = recorded_people(item)
                else:
                    frame = people.frame(item, choice.kind, rec.path, choice.topic)
            except InputError as error:
                bad(error)
                continue
            last_kept = item.stamp_ns
            frame_id = len(stamps)
            stamps.append(item.stamp_ns)
            problems.update(p.kind for p in frame.problems)
            if frame.jpeg is not None:
                (frames_dir / f"{frame_id:06d}.jpg").write_bytes(frame.jpeg)
            collector.add(frame_id, item.stamp_ns, frame)
    except InputError as error:  # the bag cannot be read on: keep what was read
        bad(error)
        summary["read_error"] = error.reason
    finally:
        bar.close()
    tracks, dropped = collector.finish(cfg.min_frames)
    for track in tracks:
        path = out / split / f"{rec.name}_{track['person_id']}.json"
        _write_atomic(path, json.dumps(track, separators=(",", ":")))
    sizes = sorted({tuple(t["frame_size"]) for t in tracks})
    return summary | {
        "kind": choice.kind,
        "frames": len(stamps),
        "frames_skipped_by_fps": rate_skipped,
        "fps": _measured_fps(stamps),
        "frame_size": list(sizes[0]) if len(sizes) == 1 else [list(s) for s in sizes],
        "tracks": len(tracks),
        "track_frames": sum(t["detected_frames_number"] for t in tracks),
        "dropped_short_tracks": len(dropped),
        "pose_problems": dict(sorted(problems.items())),
        "bad_count": bad.count,
        "bad_input": bad.listed,
    }


def build_dataset(cfg: FromBagConfig) -> dict[str, Any]:
    """Turn the bags into a dataset at ``cfg.out``; returns the dataset.json content."""
    cfg.check()
    recs = recordings(list(cfg.bags))
    out = Path(cfg.out)
    cfg.out = out
    people = None
    pose = None
    if not cfg.poses_topic:
        pose = pose_settings(cfg.pose_params)
    settings = _settings(cfg, recs, pose)
    split_of = assign_splits([r.name for r in recs], cfg.split, cfg.seed)
    resumed = _prepare(out, settings, cfg.overwrite)
    info_path = out / "dataset.json"
    table = get_label_table(cfg.dataset)
    info: dict[str, Any] = {
        "generator": TOOL,
        "generator_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "complete": False,
        "settings": settings,
    }
    if not resumed:
        _write_atomic(info_path, json.dumps(info, indent=2))
    done: dict[str, dict[str, Any]] = {}
    for rec in recs:
        marker = out / MARKERS / f"{rec.name}.json"
        if marker.is_file():
            done[rec.name] = json.loads(marker.read_text(encoding="utf-8"))
    reused = sorted(done)
    todo = [r for r in recs if r.name not in done]
    if todo and pose is not None:
        people = ImagePeople(pose, cfg.jpeg_quality)
    try:
        for rec in tqdm(todo, desc="recordings", unit="bag", disable=not cfg.progress):
            _clear_recording(out, rec.name)
            summary = _convert(rec, cfg, people, split_of[rec.name])
            _write_atomic(out / MARKERS / f"{rec.name}.json", json.dumps(summary, indent=2))
            done[rec.name] = summary
    finally:
        if people is not None:
            people.close()
    rows = [done[r.name] for r in recs]
    info.update(_final_info(cfg, rows, pose, people, table.to_dict()))
    info["resumed_recordings"] = reused
    if resumed:  # keep the first run's creation date
        info["created"] = json.loads(info_path.read_text(encoding="utf-8")).get("created")
    _write_atomic(info_path, json.dumps(info, indent=2))
    return info


def _final_info(
    cfg: FromBagConfig,
    rows: list[dict[str, Any]],
    pose: dict | None,
    people: ImagePeople | None,
    label_table: dict[str, Any],
) -> dict[str, Any]:
    rates = [r["fps"] for r in rows if r.get("fps")]
    fps = float(np.median(rates)) if rates else (cfg.fps or 30.0)
    splits = {
        s: {
            "videos": sum(1 for r in rows if r["split"] == s and "skipped" not in r),
            "tracks": sum(r.get("tracks", 0) for r in rows if r["split"] == s),
            "track_frames": sum(r.get("track_frames", 0) for r in rows if r["split"] == s),
        }
        for s in SPLIT_NAMES
    }
    source: dict[str, Any] = {"kind": "poses" if cfg.poses_topic else "images"}
    if pose is not None:
        source["pose_node_parameters"] = pose
        source["tracker"] = {
            k.removeprefix("tracker_"): v for k, v in pose.items() if k.startswith("tracker_")
        }
        if people is not None:
            source["pose_pipeline"] = people.description
    return {
        "complete": True,
        "dataset": cfg.dataset,
        "label_table": label_table,
        "labelled": False,
        "layout": "COCO_WHOLEBODY133",
        "fps": fps,
        "fps_spread": [min(rates), max(rates)] if rates else None,
        "source": source,
        "min_frames": cfg.min_frames,
        "split_fractions": [float(f) for f in cfg.split],
        "seed": cfg.seed,
        "splits": splits,
        "n_tracks": sum(s["tracks"] for s in splits.values()),
        "n_videos": sum(s["videos"] for s in splits.values()),
        "dropped_short_tracks": sum(r.get("dropped_short_tracks", 0) for r in rows),
        "bad_input": sum(r.get("bad_count", 0) for r in rows),
        "recordings": rows,
        "files": {
            "tracks": "<split>/<video_name>_<person_id>.json",
            "frames": "videos/<video_name>/<frame_id:06d>.jpg",
        },
    }
