#!/usr/bin/env python3
"""Per-frame cost of multi-person whole body (prints figures; asserts nothing).

Body: MediaPipe's multi-pose landmarker + norfair tracking (the pose node's default); then the
``face_hands: mediapipe`` stage (socialego_perception.backends.face_hands) on each tracked
person's crop. Measured in process on real footage (scripts/fetch_footage.sh):

- 1 person: the walking man of stream-pose-ml, 1280x720;
- 2 people: the same man beside a mirrored copy of himself 12 frames later, 1280x720 (both
  facing the camera), with the per-image cap face_hands_max_persons at 2 and at 1;
- Sports2D demo at its own 1768x994 (one person, then two; one of them in profile);
- for comparison: mediapipe_mode holistic (one person only) on the 1-person frames.
The stage gets the track ids (as in the pose node) unless a row says "no part tracking".

    source setup.env && nice python scripts/bench_wholebody.py [--frames 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts" / "harness"))  # footage helpers
WARMUP = 2  # first images load models and fill caches: not timed


def one_person_frames(count: int) -> list[np.ndarray]:
    from footage import video_frames

    return video_frames("stream_pose_ml_walk.webm", count=count, step=3, start=0, width=1280)


def two_people_frames(count: int) -> list[np.ndarray]:
    from footage import video_frames

    walks = video_frames("stream_pose_ml_walk.webm", count=count + 4, step=3, start=0, width=1280)
    return [
        np.ascontiguousarray(np.hstack([walks[i][:, 280:920], walks[i + 4][:, 280:920][:, ::-1]]))
        for i in range(min(count, len(walks) - 4))
    ]


def sports2d_frames(count: int) -> list[np.ndarray]:
    from footage import video_frames

    # the man on the box from the start and, from frame 72, the woman walking below him
    # (MediaPipe only re-detects people it lost, so start at frame 0)
    return video_frames("sports2d_demo.mp4", count=count, step=6, start=0, width=1768)


def run(
    frames, mode: str, cap: int | None, refine_passes: int = 1, track: bool = True
) -> dict[str, float]:
    from socialego_perception.backends import create_backend
    from socialego_perception.backends.face_hands import MediaPipeFaceHands
    from socialego_perception.tracking import CONFIRMED, PoseTracker, TrackerConfig
    from tqdm import tqdm

    backend = create_backend("mediapipe", mediapipe_mode=mode, max_persons=5)
    stage = MediaPipeFaceHands(max_persons=cap, refine_passes=refine_passes) if cap else None
    tracker = PoseTracker(TrackerConfig(initialization_delay=0))
    body_ms, crops_ms, people, runs, faces, hands = [], [], [], [], 0, 0
    try:
        for i, rgb in enumerate(tqdm(frames, desc=f"{mode} cap={cap}", leave=False)):
            t0 = time.perf_counter()
            tracked = [p for p in tracker.update(backend.infer(rgb)) if p.state == CONFIRMED]
            t1 = time.perf_counter()
            done, before = 0, stage.model_runs if stage else 0
            if stage is not None:
                ids = [p.track_id for p in tracked] if track else None
                done = stage.refine(rgb, [p.pose for p in tracked], ids)
            t2 = time.perf_counter()
            if i < WARMUP:
                continue
            body_ms.append((t1 - t0) * 1000)
            crops_ms.append((t2 - t1) * 1000)
            people.append(done if stage else len(tracked))
            runs.append((stage.model_runs - before) if stage else 0)
            for p in tracked:
                faces += int(p.pose.keypoints[23:91, 2].max() > 0)
                hands += int(p.pose.keypoints[91:133, 2].max() > 0)
    finally:
        backend.close()
        if stage is not None:
            stage.close()
    n_people = sum(people)
    return {
        "frames": len(body_ms),
        "people_per_frame": n_people / max(len(body_ms), 1),
        "body_ms": statistics.median(body_ms),
        "crops_ms": statistics.median(crops_ms),
        "crops_ms_per_person": sum(crops_ms) / max(n_people, 1),
        "runs_per_person": sum(runs) / max(n_people, 1),
        "total_ms": statistics.median([a + b for a, b in zip(body_ms, crops_ms, strict=True)]),
        "faces": faces,
        "hands": hands,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20, help="images per scenario (timed: -2)")
    args = parser.parse_args()
    if args.frames <= WARMUP:
        parser.error(f"--frames must be > {WARMUP}")
    from footage import FILES

    for name in ("stream_pose_ml_walk.webm", "sports2d_demo.mp4"):
        if not FILES[name].is_file():
            sys.exit(f"footage {FILES[name]} missing: run scripts/fetch_footage.sh")

    one, two = one_person_frames(args.frames), two_people_frames(args.frames)
    sports = sports2d_frames(args.frames)
    scenarios = [
        ("1 person 1280x720, body only", one, "pose", None, 1),
        ("1 person 1280x720, + face_hands", one, "pose", 2, 1),
        ("1 person 1280x720, holistic (1 person)", one, "holistic", None, 1),
        ("2 people 1280x720, body only", two, "pose", None, 1),
        ("2 people 1280x720, + face_hands cap 2", two, "pose", 2, 1),
        ("2 people 1280x720, + face_hands cap 1", two, "pose", 1, 1),
        ("2 people 1280x720, cap 2, no refine pass", two, "pose", 2, 0),
        ("2 people 1280x720, cap 2, no part tracking", two, "pose", 2, 1, False),
        ("Sports2D 1768x994, + face_hands cap 2", sports, "pose", 2, 1),
    ]
    columns = ("ppl/img", "body ms", "crops ms", "ms/person", "runs/pers", "total ms", "img/s")
    print(f"{'scenario':44s} " + " ".join(f"{c:>9s}" for c in columns) + " faces hands")
    results = {}
    for label, frames, mode, cap, passes, *track in scenarios:
        r = run(frames, mode, cap, passes, *track)
        results[label] = r
        print(
            f"{label:44s} {r['people_per_frame']:9.2f} {r['body_ms']:9.1f} {r['crops_ms']:9.1f} "
            f"{r['crops_ms_per_person']:9.1f} {r['runs_per_person']:9.2f} {r['total_ms']:9.1f} "
            f"{1000 / r['total_ms']:9.1f} {r['faces']:5d} {r['hands']:5d}"
        )
    base1 = results["1 person 1280x720, body only"]["total_ms"]
    base2 = results["2 people 1280x720, body only"]["total_ms"]
    with1 = results["1 person 1280x720, + face_hands"]["total_ms"]
    with2 = results["2 people 1280x720, + face_hands cap 2"]["total_ms"]
    print(
        f"ratio whole body / body only: 1 person {with1 / base1:.2f}x, 2 people "
        f"{with2 / base2:.2f}x; 2 vs 1 person with face_hands {with2 / with1:.2f}x"
    )
    print("faces/hands: images x tracked people where the stage found a face / any hand")


if __name__ == "__main__":
    main()
