"""Tiny JPL-Social-schema datasets written by the tests themselves (learnable signal)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from socialego_core.labels import JPL_ACTION_LABELS, JPL_ACTION_PARENTS, get_label_table
from socialego_training.train_config import TrainConfig

JPL = get_label_table("jpl_social")


def labels_for_action(action: int) -> tuple[int, int, int]:
    intent_name, attitude_name = JPL_ACTION_PARENTS[JPL_ACTION_LABELS[action]]
    return JPL.intent.index(intent_name), JPL.attitude.index(attitude_name), action


def toy_track(
    action: int,
    rng: np.random.Generator,
    video: str,
    person: int,
    n_frames: int = 14,
    key: str = "keypoints",
    gaze: bool = False,
    first_frame: int = 5,
    gaps: bool = True,
) -> dict:
    """A person with one raised, swaying joint per action (a learnable signal)."""
    intent, attitude, _ = labels_for_action(action)
    width, height = 640, 480
    base = np.zeros((133, 3))
    base[:, 0] = 320 + rng.normal(0, 30, 133)
    base[:, 1] = 240 + rng.normal(0, 30, 133)
    base[:, 2] = 0.9
    frames = []
    ids = list(range(first_frame, first_frame + n_frames))
    if gaps and n_frames > 6:
        ids.pop(3)  # a missing frame id inside the track
    for k, fid in enumerate(ids):
        kp = base.copy()
        # one joint per action (5..14) is raised 100 px and sways: a categorical signal
        joint = 5 + action
        kp[joint, 1] -= 100 + 10 * np.sin(k * (1 + action) / 3)
        kp[joint, 0] += 30
        kp[:, :2] += rng.normal(0, 1.0, (133, 2))
        frame = {
            "frame_id": fid,
            key: kp.round(2).tolist(),
            "score": 0.95,
            "box": [200.0, 100.0, 240.0, 300.0],
        }
        if gaze:
            frame["gaze"] = [320.0, 150.0, 330.0, 400.0]
        frames.append(frame)
    return {
        "video_name": video,
        "frame_size": [width, height],
        "video_frames_number": first_frame + n_frames + 10,
        "detected_frames_number": len(frames),
        "person_id": person,
        "intention_class": intent,
        "attitude_class": attitude,
        "action_class": action,
        "frames": frames,
    }


def write_toy_dataset(
    root: Path,
    per_action: dict[str, int] | None = None,
    seed: int = 0,
    nested: bool = False,
    key: str = "keypoints",
    gaze: bool = False,
    splits: tuple[str, ...] = ("train", "validation", "test"),
) -> Path:
    per_action = per_action or {"train": 6, "validation": 2, "test": 2}
    rng = np.random.default_rng(seed)
    for split in splits:
        folder = root / split / ("pose_features" if nested else "")
        folder.mkdir(parents=True, exist_ok=True)
        for action in range(10):
            for i in range(per_action[split]):
                video = f"{split}_{action}_{i}"
                track = toy_track(
                    action, rng, video, i, n_frames=int(rng.integers(8, 16)), key=key, gaze=gaze
                )
                (folder / f"{video}_p{i}.json").write_text(json.dumps(track))
    return root


def fixed_recipe_config(root: Path, out: Path, **changes) -> TrainConfig:
    """A quick run on a toy dataset with every size-dependent (auto) setting pinned off: 2
    epochs, no step budget, one unmirrored window a track, no smoothing, no input BatchNorm,
    no mean-pose head."""
    base = dict(
        data_root=str(root),
        epochs=2,
        batch_size=16,
        min_steps=0,
        train_window_hop=0,
        mirror=0.0,
        label_smoothing=0.0,
        input_norm=0,
        mean_pose_head=0.0,
        out_dir=str(out),
        progress=False,
        checkpoint_every=2,
        device="cpu",
        calibration="none",
    )
    base.update(changes)
    return TrainConfig(**base)
