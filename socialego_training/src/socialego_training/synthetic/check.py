"""Is the synthetic data a real but learnable problem? Three sklearn probes on the same split.

(a) trivial: logistic regression on the mean body pose of the student window (T x 17 x 3);
(b) pose only: a tree ensemble on the flattened student window + its frame differences;
(c) pose + face + hands + gaze: the same ensemble, also given part-relative face and hand
    keypoints and the gaze vector of the same frames (what the teacher can see and the
    student cannot).
The generator is tuned so that (a) < (b) < (c) with (b) clearly below 100 % (numbers:
docs/synthetic-data.md#is-it-a-real-but-learnable-problem).
Run: ``socialego-train synth-check --data-root DIR``
(or ``python -m socialego_training.synthetic.check DIR``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from socialego_core.labels import ATTITUDE_NOT_INTERACTING, TASKS
from socialego_core.layouts import FACE, LEFT_HAND, RIGHT_HAND
from socialego_core.window import WindowSpec, build_window

PROBES: tuple[str, ...] = ("trivial_mean_pose", "pose_only", "pose_face_hands_gaze")


def _windows(tracks, spec: WindowSpec) -> np.ndarray:
    return np.stack([build_window(t.frames, t.width, t.height, spec).keypoints for t in tracks])


def _gaze_window(track, spec: WindowSpec) -> np.ndarray:
    """(T, 4) raw gaze (head x, y, target x, y) over the window; a missing frame repeats the
    previous one, as for the keypoints."""
    if not track.gaze:
        return np.zeros((spec.length, 4), np.float32)
    ids = sorted(track.gaze)
    start = min(track.frames)
    out = np.zeros((spec.length, 4), np.float32)
    for t in range(spec.length):
        earlier = [i for i in ids if i <= start + t * spec.stride]
        out[t] = track.gaze[earlier[-1] if earlier else ids[0]]
    return out


def pose_features(windows: np.ndarray) -> np.ndarray:
    """Flattened (T, 17, 3) window, body-centred coordinates, frame differences and per-joint
    motion summaries (mean / max speed, range of the body-centred track)."""
    n = len(windows)
    xy = windows[..., :2]
    hips = xy[:, :, [11, 12]].mean(2, keepdims=True)
    shoulders = xy[:, :, [5, 6]].mean(2, keepdims=True)
    scale = np.linalg.norm(shoulders - hips, axis=-1, keepdims=True) + 1e-3
    centred = (xy - hips) / scale
    diffs = np.diff(xy, axis=1)
    speed = np.linalg.norm(np.diff(centred, axis=1), axis=-1)  # (N, T-1, 17)
    motion = [speed.mean(1), speed.max(1), np.ptp(centred, axis=1).reshape(n, -1)]
    return np.concatenate(
        [windows.reshape(n, -1), centred.reshape(n, -1), diffs.reshape(n, -1), *motion], axis=1
    )


def _part_relative(xys: np.ndarray, scores: np.ndarray, anchor: np.ndarray) -> np.ndarray:
    """Keypoints of a part relative to an anchor, in units of the part's spread; 0 if unseen."""
    spread = np.sqrt(((xys - xys.mean(-2, keepdims=True)) ** 2).sum(-1).mean(-1))[..., None, None]
    rel = (xys - anchor) / (spread + 1e-4)
    seen = (scores.mean(-1) > 0.2)[..., None, None]
    return np.where(seen, rel, 0.0)


def _cue_summaries(face: np.ndarray, hands: list[np.ndarray], gaze_px: np.ndarray, torso_px):
    """A few interpretable per-frame cues: smile, mouth opening, brow, hand openness, pointing
    finger, gaze length (relative to the torso length) and direction."""
    f = face  # (N, T, 68, 2) face keypoints relative to the face centre, in face spreads
    corners = f[:, :, [48, 54], 1].mean(-1)
    lips = f[:, :, [51, 57], 1].mean(-1)
    cues = [lips - corners]  # image y grows downwards: a smile lifts the corners
    cues.append(f[:, :, 66, 1] - f[:, :, 62, 1])  # mouth opening
    cues.append(f[:, :, [39, 42], 1].mean(-1) - f[:, :, [21, 22], 1].mean(-1))  # brow height
    for h in hands:  # (N, T, 21, 2) relative to the wrist
        tips = np.linalg.norm(h[:, :, [4, 8, 12, 16, 20]], axis=-1)
        knuckle = np.linalg.norm(h[:, :, 9], axis=-1) + 1e-3
        cues.append(tips.mean(-1) / knuckle)  # open hand > fist
        cues.append(tips[:, :, 1] / (tips[:, :, 2:].mean(-1) + 1e-3))  # pointing index
    vec = gaze_px[..., 2:] - gaze_px[..., :2]
    length = np.linalg.norm(vec, axis=-1)
    cues.append(length / (torso_px + 1.0))
    cues.append(vec[..., 0] / (length + 1e-3))
    cues.append(vec[..., 1] / (length + 1e-3))
    return np.stack(cues, -1)  # (N, T, C)


def extra_features(tracks, spec: WindowSpec) -> np.ndarray:
    """Mean and std over the window of face / hand shape features, cue summaries and gaze."""
    full = WindowSpec(
        length=spec.length, stride=spec.stride, joints=tuple(range(133)), normalisation="centered"
    )
    windows = _windows(tracks, full)  # (N, T, 133, 3)
    n = len(tracks)
    xy, score = windows[..., :2], windows[..., 2]
    face = xy[:, :, FACE.start : FACE.stop]
    face_score = score[:, :, FACE.start : FACE.stop]
    face_rel = _part_relative(face, face_score, face.mean(2, keepdims=True))
    hands = []
    for part in (LEFT_HAND, RIGHT_HAND):
        pts = xy[:, :, part.start : part.stop]
        hands.append(_part_relative(pts, score[:, :, part.start : part.stop], pts[:, :, :1]))
    gaze_px = np.stack([_gaze_window(t, spec) for t in tracks])
    sizes = np.array([[t.width, t.height] for t in tracks], np.float32)[:, None]
    # person scale: shoulder-centre to hip-centre in pixels (robust: four confident joints)
    body_px = (xy[:, :, :17] + 0.5) * sizes[:, :, None]
    torso = body_px[:, :, [5, 6]].mean(2) - body_px[:, :, [11, 12]].mean(2)
    torso_px = np.median(np.linalg.norm(torso, axis=-1), axis=1, keepdims=True)
    cues = _cue_summaries(face_rel, hands, gaze_px, torso_px)
    gaze_norm = (gaze_px[..., 2:] - gaze_px[..., :2]) / sizes
    per_frame = np.concatenate(
        [
            face_rel.reshape(n, spec.length, -1),
            hands[0].reshape(n, spec.length, -1),
            hands[1].reshape(n, spec.length, -1),
            gaze_norm,
            face_score.mean(-1, keepdims=True),
        ],
        axis=-1,
    )
    return np.concatenate(
        [per_frame.mean(1), per_frame.std(1), cues.mean(1), cues.std(1), np.median(cues, 1)],
        axis=1,
    )


def _classifier(kind: str, seed: int):
    from sklearn.ensemble import ExtraTreesClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "linear":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, random_state=seed))
    # 10 % of the features per split: with "sqrt" the few face / hand / gaze cues among
    # ~2000 pose features would rarely be offered to a split
    return ExtraTreesClassifier(n_estimators=300, max_features=0.1, n_jobs=1, random_state=seed)


def _score(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score

    out = {task: float(accuracy_score(y_true[:, i], y_pred[:, i])) for i, task in enumerate(TASKS)}
    mask = y_true[:, 1] != ATTITUDE_NOT_INTERACTING
    out["attitude_masked"] = (
        float(accuracy_score(y_true[mask, 1], y_pred[mask, 1])) if mask.any() else float("nan")
    )
    return out


def run_check(
    data_root: str | Path,
    train_split: str = "train",
    test_split: str = "test",
    spec: WindowSpec | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Fit the three probes on ``train_split`` and score them on ``test_split``."""
    from socialego_training.data import load_split

    spec = spec or WindowSpec()
    train = load_split(data_root, train_split).tracks
    test = load_split(data_root, test_split).tracks
    y_train = np.array([t.labels for t in train])
    y_test = np.array([t.labels for t in test])
    w_train, w_test = _windows(train, spec), _windows(test, spec)
    inputs = {
        "trivial_mean_pose": (
            w_train.mean(1).reshape(len(train), -1),
            w_test.mean(1).reshape(len(test), -1),
            "linear",
        ),
        "pose_only": (pose_features(w_train), pose_features(w_test), "trees"),
    }
    inputs["pose_face_hands_gaze"] = (
        np.concatenate([inputs["pose_only"][0], extra_features(train, spec)], 1),
        np.concatenate([inputs["pose_only"][1], extra_features(test, spec)], 1),
        "trees",
    )
    results: dict[str, Any] = {
        "data_root": str(data_root),
        "train": len(train),
        "test": len(test),
        "window": spec.to_dict(),
    }
    for name, (x_train, x_test, kind) in inputs.items():
        pred = np.zeros_like(y_test)
        for i in range(3):
            clf = _classifier(kind, seed)
            clf.fit(x_train, y_train[:, i])
            pred[:, i] = clf.predict(x_test)
        results[name] = _score(y_test, pred)
    return results


def format_results(results: dict[str, Any]) -> str:
    lines = [
        f"train {results['train']} tracks, test {results['test']} tracks, window "
        f"T={results['window']['length']} stride={results['window']['stride']}",
        "| probe | intent | attitude | attitude (masked) | action |",
        "|---|---|---|---|---|",
    ]
    for name in PROBES:
        r = results[name]
        lines.append(
            f"| {name} | {100 * r['intent']:.1f} | {100 * r['attitude']:.1f} | "
            f"{100 * r['attitude_masked']:.1f} | {100 * r['action']:.1f} |"
        )
    return "\n".join(lines)


def plot_results(results: dict[str, Any], path: str | Path) -> None:
    """Grouped bar chart: accuracy per task for each probe."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # the tasks, with the masked attitude score next to the attitude one
    tasks = (*TASKS[:2], "attitude_masked", *TASKS[2:])
    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.26
    for k, name in enumerate(PROBES):
        values = [100 * results[name][t] for t in tasks]
        bars = ax.bar(np.arange(len(tasks)) + (k - 1) * width, values, width, label=name)
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.set_xticks(np.arange(len(tasks)), [t.replace("_masked", " (masked)") for t in tasks])
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 105)
    window = results["window"]
    ax.set_title(
        f"synthetic data probes: train {results['train']}, test {results['test']} tracks, "
        f"T={window['length']} stride={window['stride']}"
    )
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_root")
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--length", type=int, default=10)
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--png", help="also write a bar chart here")
    args = parser.parse_args(argv)
    results = run_check(args.data_root, spec=WindowSpec(length=args.length, stride=args.stride))
    print(format_results(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if args.png:
        plot_results(results, args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
