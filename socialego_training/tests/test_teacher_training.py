"""Teacher training on a tiny generated dataset: learning, artifact, resume after a kill."""

import json

import numpy as np
import pytest
import torch
from socialego_core.labels import (
    ATTITUDE_LABELS,
    INTENT_LABELS,
    JPL_ACTION_LABELS,
    JPL_ACTION_PARENTS,
)
from socialego_training.teacher_config import TeacherTrainConfig
from socialego_training.teacher_io import load_teacher
from socialego_training.teacher_train import train_teacher
from socialego_training.train import TrainingInterrupted

cv2 = pytest.importorskip("cv2", reason="OpenCV missing: pip install 'socialego-training[teacher]'")

torch.set_num_threads(1)
W, H = 160, 120


def write_tiny_dataset(root, per_split=(24, 8, 8), n_frames=12, seed=0, actions=(0, 4, 7, 9)):
    """JPL-schema tracks + frame folders; the action shows in the colour and in the motion."""
    rng = np.random.default_rng(seed)
    for split, n in zip(("train", "validation", "test"), per_split):
        (root / split).mkdir(parents=True)
        for i in range(n):
            action = actions[i % len(actions)]
            intent_name, attitude_name = JPL_ACTION_PARENTS[JPL_ACTION_LABELS[action]]
            video = f"{split}_{i:03d}"
            frames = []
            folder = root / "videos" / video
            folder.mkdir(parents=True)
            x0 = rng.uniform(30, 90)
            for fid in range(n_frames):
                kp = np.zeros((133, 3))
                kp[:, 0] = x0 + rng.uniform(0, 30, 133) + (action - 4) * fid * 0.5
                kp[:, 1] = 20 + rng.uniform(0, 80, 133)
                kp[:, 2] = rng.uniform(0.5, 1.0, 133)
                image = np.zeros((H, W, 3), np.uint8)
                color = (40 + 20 * action, 255 - 25 * action, 120)
                cv2.rectangle(image, (int(x0), 20), (int(x0) + 30, 100), color, -1)
                cv2.imwrite(str(folder / f"{fid:06d}.jpg"), image)
                frames.append(
                    {
                        "frame_id": fid,
                        "keypoints": kp.round(2).tolist(),
                        "score": 0.9,
                        "box": [x0, 20, 30, 80],
                        "gaze": [x0 + 15, 25, x0 + 15 + 40 * (action - 4), 25],
                    }
                )
            track = {
                "video_name": video,
                "frame_size": [W, H],
                "video_frames_number": n_frames,
                "detected_frames_number": n_frames,
                "person_id": 0,
                "intention_class": INTENT_LABELS.index(intent_name),
                "attitude_class": ATTITUDE_LABELS.index(attitude_name),
                "action_class": action,
                "frames": frames,
            }
            (root / split / f"{video}.json").write_text(json.dumps(track))
    return root


def tiny_teacher_config(root, out, **kw):
    base = dict(
        data_root=str(root),
        crop_size=32,
        epochs=3,
        batch_size=8,
        lr=0.05,
        out_dir=str(out),
        progress=False,
        checkpoint_every=1,
        device="cpu",
    )
    base.update(kw)
    return TeacherTrainConfig(**base)


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny"))


def test_teacher_trains_and_writes_a_loadable_artifact(tiny_root, tmp_path):
    logs = []
    result = train_teacher(tiny_teacher_config(tiny_root, tmp_path / "t"), log=logs.append)
    assert len(result.history) == 3
    assert (tmp_path / "t" / "log.csv").is_file() and (tmp_path / "t" / "best.pt").is_file()
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    model, meta = load_teacher(result.best_path)
    assert meta["model"] == "SocialC3D" and meta["modality_config"]["crop_size"] == 32
    # the dataset by name and content hash, never by its path on this machine
    assert meta["training_data"]["name"] == tiny_root.name
    assert len(meta["training_data"]["content_sha256"]) == 64
    assert str(tiny_root.resolve()) not in json.dumps(meta)
    assert not model.training
    batch = result.data.val_modalities.batch(range(4))
    out = model(batch)
    assert out.z.shape == (4, 16)
    # the modality cache exists next to the run folder
    assert list((tmp_path / "cache").glob("modalities-*.npz"))


def test_teacher_resumes_after_a_kill_with_identical_weights(tiny_root, tmp_path):
    cfg = tiny_teacher_config(tiny_root, tmp_path / "full", epochs=2)
    straight = train_teacher(cfg, log=lambda m: None)
    killed = tiny_teacher_config(tiny_root, tmp_path / "killed", epochs=2, max_steps=4)
    with pytest.raises(TrainingInterrupted):
        train_teacher(killed, log=lambda m: None)
    messages = []
    resumed = train_teacher(
        tiny_teacher_config(tiny_root, tmp_path / "killed", epochs=2), log=messages.append
    )
    assert any("resuming" in m for m in messages)
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-5) for k in a)


def test_teacher_stream_ablation_and_missing_frames(tiny_root, tmp_path):
    cfg = tiny_teacher_config(tiny_root, tmp_path / "pose", epochs=1, streams="rgb,body")
    result = train_teacher(cfg, log=lambda m: None)
    assert list(result.model.pose) == ["body"]
    bad = tiny_teacher_config(
        tiny_root, tmp_path / "novid", epochs=1, videos_dir=str(tmp_path / "nothing")
    )
    with pytest.raises(FileNotFoundError, match="missing-rgb zeros"):
        train_teacher(bad, log=lambda m: None)
