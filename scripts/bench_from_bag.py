#!/usr/bin/env python3
"""Speed of ``socialego-train from-bag`` (prints figures; asserts nothing).

A rendered synthetic split (320x240 frames) is written as a camera bag and as a pose bag, then:

- poses path: ``build_dataset(--poses-topic)`` against only reading and decoding the same bag
  (the baseline: what rosbags alone costs);
- image path: ``build_dataset`` (decode, pose pipeline, JPEG frames, track files) against only
  running the pose node's pipeline (``PosePipeline.process``) on the same decoded images (the
  baseline: what the pose estimation alone costs, i.e. what the robot spends on those frames).

    source setup.env && OMP_NUM_THREADS=1 nice python scripts/bench_from_bag.py [--tracks 12]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from socialego_core.bags.io import read_messages
from socialego_core.bags.typestore import IMAGE_TOPIC, POSES_TOPIC
from socialego_training.bags import split_to_bag
from socialego_training.from_bag.dataset import FromBagConfig, build_dataset
from socialego_training.synthetic import generate_dataset


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_from_bag_"))
    try:
        data = work / "data"
        generate_dataset(data, args.tracks, seed=args.seed, splits=(0, 0, 1), progress=False)
        poses_bag, camera_bag = work / "poses", work / "camera"
        split_to_bag(data, "test", poses_bag, images=False, progress=False)
        split_to_bag(data, "test", camera_bag, progress=False)

        read_s, frames = timed(lambda: sum(1 for _ in read_messages(poses_bag, [POSES_TOPIC])))
        cfg = FromBagConfig([poses_bag], work / "out_poses", poses_topic=POSES_TOPIC)
        cfg.progress, cfg.min_frames = False, 1
        build_s, info = timed(lambda: build_dataset(cfg))
        print(f"poses path: {frames} pose arrays, {info['n_tracks']} tracks")
        print(f"  read + decode only : {frames / read_s:8.1f} frames/s")
        print(
            f"  from-bag           : {frames / build_s:8.1f} frames/s "
            f"({build_s / read_s:.1f}x the read time)"
        )

        from socialego_perception.conversions import image_to_rgb
        from socialego_perception.pipeline import PosePipeline, default_pose_config

        images = [image_to_rgb(i.message) for i in read_messages(camera_bag, [IMAGE_TOPIC])]
        pipeline = PosePipeline(default_pose_config())
        pipeline.process(images[0])  # model load and first-call caches: not timed
        pipeline.tracker.reset()
        pose_s, _ = timed(lambda: [pipeline.process(rgb) for rgb in images])
        pipeline.close()
        cfg = FromBagConfig([camera_bag], work / "out_images", min_frames=1)
        cfg.progress = False
        build_s, info = timed(lambda: build_dataset(cfg))
        n = len(images)
        print(
            f"image path: {n} images {images[0].shape[1]}x{images[0].shape[0]}, "
            f"{info['n_tracks']} tracks, backend {info['source']['pose_pipeline']['backend']}"
        )
        print(f"  pose pipeline only : {n / pose_s:8.1f} frames/s")
        print(
            f"  from-bag           : {n / build_s:8.1f} frames/s "
            f"({build_s / pose_s:.2f}x the pipeline time, model load included)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
