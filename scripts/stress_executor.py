#!/usr/bin/env python3
"""Stress the executors: replay one synthetic pose bag through ``socialego_all`` under simulated
time N times and count the replays in which the intent node lost ticks.

Each replay starts ``socialego_all --no-pose [--threads T]`` with ``use_sim_time``, plays the bag
with ``socialego_inference.bag_replay`` (``/clock`` at the bag's time), records
``/socialego/intents`` and compares the receive times (simulated) of the recorded intent arrays
with the node's ``inference_rate_hz``: a gap longer than ``--gap-periods`` tick periods counts
its missing ticks as lost. Prints one line per replay and the number of replays that lost ticks.

    python scripts/stress_executor.py --replays 20 --threads 2
    python scripts/stress_executor.py --replays 20 --threads 1     # the default executor
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))
from ros_domains import TEST_DOMAINS, claim_domain  # noqa: E402 - the harness folder
from socialego_core import topics  # noqa: E402


def make_bag(workdir: Path, tracks: int, seed: int) -> Path:
    """A synthetic pose bag (no images): the input of every replay."""
    from socialego_training.bags import split_to_bag
    from socialego_training.synthetic import generate_dataset

    root = workdir / "data"
    generate_dataset(
        root,
        n_tracks=tracks,
        seed=seed,
        render=False,
        splits=(0, 0, 1),
        duration_s=(4.0, 6.0),
        progress=False,
    )
    bag = workdir / "poses_bag"
    split_to_bag(root, "test", bag, progress=False)
    return bag


def lost_ticks(
    out: Path, rate_hz: float, gap_periods: float, namespace: str = ""
) -> tuple[int, int, float]:
    """(intent arrays recorded, ticks lost in gaps, longest gap in s) of a recorded bag."""
    from socialego_core.bags.io import read_messages

    intents = topics.absolute(topics.INTENTS, topics.namespace_of(namespace))
    times = sorted(item.log_time_ns * 1e-9 for item in read_messages(out, [intents]))
    period = 1.0 / rate_hz
    lost, longest = 0, 0.0
    for a, b in zip(times, times[1:]):
        gap = b - a
        longest = max(longest, gap)
        if gap > gap_periods * period:
            lost += int(round(gap / period)) - 1
    return len(times), lost, longest


def replay_once(bag: Path, run_dir: Path, args) -> tuple[int, int, float, str]:
    from socialego_inference.pipeline import NodeProcesses

    run_dir.mkdir(parents=True)
    nodes = NodeProcesses(
        ["intent"],
        sim_time=True,
        log_path=run_dir / "nodes.log",
        threads=args.threads,
        namespace=args.namespace,
    )
    out = run_dir / "outputs"
    nodes.start()
    try:
        cmd = [
            sys.executable,
            "-m",
            "socialego_inference.bag_replay",
            str(bag),
            "--out",
            str(out),
            "--rate",
            str(args.rate),
            "--tail",
            str(args.tail),
            "--record",
            topics.absolute(topics.INTENTS, topics.namespace_of(args.namespace)),
            "--namespace",
            args.namespace or "/",
            "--wait-timeout",
            "120",
        ]
        result = subprocess.run(
            cmd, capture_output=True, text=True, timeout=600, check=False, env=dict(os.environ)
        )
        if result.returncode != 0:
            return 0, -1, 0.0, f"replay failed: {result.stderr.strip()[-300:]}"
    finally:
        code = nodes.stop()
    arrays, lost, longest = lost_ticks(
        out, args.inference_rate_hz, args.gap_periods, args.namespace
    )
    note = f"exit code {code}" if code not in (0, None) else ""
    return arrays, lost, longest, note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replays", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2, help="socialego_all --threads")
    parser.add_argument("--rate", type=float, default=2.0, help="playback speed factor")
    parser.add_argument("--tail", type=float, default=1.0, help="simulated s after the bag")
    parser.add_argument("--tracks", type=int, default=4, help="people in the synthetic bag")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--inference-rate-hz", type=float, default=10.0, help="the node's inference_rate_hz"
    )
    parser.add_argument(
        "--gap-periods", type=float, default=2.5, help="a gap of more tick periods loses ticks"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="keep bags and logs here")
    parser.add_argument("--namespace", default="", help="run the nodes in this namespace")
    args = parser.parse_args(argv)
    # a DDS domain of our own: another replay on the machine would publish /clock into ours
    domain, _lock = claim_domain(random.sample(TEST_DOMAINS, len(TEST_DOMAINS)))
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="socialego_stress_"))
    workdir.mkdir(parents=True, exist_ok=True)
    bag = make_bag(workdir, args.tracks, args.seed)
    print(
        f"executor stress: {args.replays} replays, --threads {args.threads}, rate {args.rate}, "
        f"ROS domain {domain}"
    )
    losing = 0
    for i in range(args.replays):
        t0 = time.monotonic()
        arrays, lost, longest, note = replay_once(bag, workdir / f"run{i:03d}", args)
        losing += lost != 0
        print(
            f"replay {i + 1:3d}: {arrays:4d} intent arrays, {lost:4d} ticks lost, "
            f"longest gap {longest:6.3f} s (sim), {time.monotonic() - t0:5.1f} s wall {note}",
            flush=True,
        )
    print(f"replays that lost ticks: {losing} of {args.replays} (--threads {args.threads})")
    print(f"logs and bags: {workdir}")
    return 1 if losing else 0


if __name__ == "__main__":
    sys.exit(main())
