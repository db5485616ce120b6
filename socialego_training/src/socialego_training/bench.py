"""Benchmarks that print figures (never asserted in tests): model size, MACs, CPU latency of the
student and of SocialEgoNet at batch 1 and 16 on one thread (median of many runs), and the
throughput and wall time of a full student training."""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import torch
from socialego_core.student import SocialEgoMobile
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from socialego_training.socialegonet import SocialEgoNet


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, example: torch.Tensor) -> int:
    """Multiply-accumulates of one forward pass (torch.utils.flop_counter; FLOPs / 2).

    oneDNN is switched off while counting so the CPU LSTM runs as plain matmuls the counter sees
    (the fused oneDNN LSTM kernel is invisible to it). Graph message passing (scatter ops, a few
    thousand MACs) is not counted.
    """
    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), torch.backends.mkldnn.flags(enabled=False), counter:
        model(example)
    return counter.get_total_flops() // 2


def median_latency_ms(
    model: nn.Module, example: torch.Tensor, runs: int, warmup: int = 20
) -> float:
    model.eval()
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(example)
        for _ in range(runs):
            start = time.perf_counter()
            model(example)
            times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def latency_report(runs: int = 300, threads: int = 1, seed: int = 0) -> dict[str, Any]:
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    student, baseline = SocialEgoMobile().eval(), SocialEgoNet().eval()
    report: dict[str, Any] = {
        "threads": threads,
        "runs": runs,
        "student_params": count_parameters(student),
        "socialegonet_params": count_parameters(baseline),
        "student_macs_per_window": count_macs(student, torch.rand(1, 10, 17, 3) - 0.5),
        "socialegonet_macs_per_window": count_macs(baseline, torch.rand(1, 30, 133, 3) - 0.5),
    }
    for batch in (1, 16):
        x = torch.rand(batch, 10, 17, 3) - 0.5
        student.dense_gat_in_eval = True
        s = median_latency_ms(student, x, runs)
        student.dense_gat_in_eval = False  # PyG sparse message passing, as in training
        s_pyg = median_latency_ms(student, x, runs)
        student.dense_gat_in_eval = True
        b = median_latency_ms(baseline, torch.rand(batch, 30, 133, 3) - 0.5, max(runs // 4, 20))
        report[f"student_ms_b{batch}"] = s
        report[f"student_pyg_ms_b{batch}"] = s_pyg
        report[f"socialegonet_ms_b{batch}"] = b
        report[f"speedup_b{batch}"] = b / s
    try:
        report["load_average_1min"] = os.getloadavg()[0]
    except OSError:
        report["load_average_1min"] = None
    report["cpu_count"] = os.cpu_count()
    return report


def format_latency_report(r: dict[str, Any]) -> str:
    lines = [
        f"threads={r['threads']}  runs={r['runs']} (median)  torch {torch.__version__}",
        f"SocialEgoMobile: {r['student_params']:,} params, "
        f"{r['student_macs_per_window'] / 1e6:.2f} M MACs/window",
        f"SocialEgoNet:    {r['socialegonet_params']:,} params, "
        f"{r['socialegonet_macs_per_window'] / 1e6:.1f} M MACs/window",
        "",
        f"CPU: {r['cpu_count']} cores, 1-min load average {r['load_average_1min'] or 0:.1f} "
        "(other processes slow every figure down)",
        "",
        "| batch | student ms | student ms/window | student, PyG message passing ms "
        "| SocialEgoNet ms | speed-up (SocialEgoNet / student) |",
        "|---|---|---|---|---|---|",
    ]
    for batch in (1, 16):
        s, b = r[f"student_ms_b{batch}"], r[f"socialegonet_ms_b{batch}"]
        p = r[f"student_pyg_ms_b{batch}"]
        lines.append(f"| {batch} | {s:.3f} | {s / batch:.3f} | {p:.3f} | {b:.3f} | {b / s:.1f}x |")
    return "\n".join(lines)
