"""Benchmarks that print figures (never asserted in tests): model size, MACs, CPU latency of the
student (PyTorch eager and ONNX Runtime) and of SocialEgoNet at batch 1, 5 and 20 on one thread
(median of many runs, all in one run so that the ratios share the machine's load), and the
throughput and wall time of a full student training."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import onnxruntime
import torch
from socialego_core.labels import get_label_table
from socialego_core.onnx_predictor import OnnxStudentPredictor
from socialego_core.student import SocialEgoMobile
from socialego_core.window import WindowSpec
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from socialego_training.export import export_onnx
from socialego_training.socialegonet import SocialEgoNet

BATCHES = (1, 5, 20)


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


def median_ms(call: Callable[[], Any], runs: int, warmup: int = 20) -> float:
    """Median wall time of ``call()`` in milliseconds."""
    return interleaved_medians_ms({"call": (call, runs)}, 1, warmup)["call"]


def interleaved_medians_ms(
    calls: dict[str, tuple[Callable[[], Any], int]], rounds: int, warmup: int = 20
) -> dict[str, float]:
    """Median wall time (ms) of each ``name: (call, runs_per_round)``: in each of ``rounds``
    rounds every call runs its runs back to back (warm caches), so that all of them see the
    same load on a shared CPU."""
    for call, _ in calls.values():
        for _ in range(warmup):
            call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, (call, count) in calls.items():
            for _ in range(count):
                start = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - start)
    return {name: 1000.0 * statistics.median(t) for name, t in times.items()}


def median_latency_ms(
    model: nn.Module, example: torch.Tensor, runs: int, warmup: int = 20
) -> float:
    model.eval()
    with torch.inference_mode():
        return median_ms(lambda: model(example), runs, warmup)


def onnx_student(
    model: SocialEgoMobile, folder: str, threads: int, quantize: str = "none"
) -> OnnxStudentPredictor:
    """``model`` exported to ONNX (``quantize``: onnx_format.QUANTIZE) in ``folder`` and loaded
    on ONNX Runtime."""
    path = Path(folder) / f"student_{quantize}.onnx"
    meta = {
        "window_spec": WindowSpec().to_dict(),
        "labels": get_label_table("jpl_social").to_dict(),
    }
    export_onnx(model, meta, path, quantize)
    return OnnxStudentPredictor(path, threads=threads)


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
    with tempfile.TemporaryDirectory() as folder:
        runtime = onnx_student(student, folder, threads)
        runtime_int8 = onnx_student(student, folder, threads, "int8")
        for batch in BATCHES:
            x = torch.rand(batch, 10, 17, 3) - 0.5
            windows = x.numpy()
            whole_body = torch.rand(batch, 30, 133, 3) - 0.5
            rounds = 10  # runs split in rounds of student, ONNX and SocialEgoNet runs
            per_round = max(runs // rounds, 1)
            with torch.inference_mode():
                ms = interleaved_medians_ms(
                    {
                        "student": (lambda x=x: student(x), per_round),
                        "student_onnx": (lambda w=windows: runtime.predict_logits(w), per_round),
                        "student_onnx_int8": (
                            lambda w=windows: runtime_int8.predict_logits(w),
                            per_round,
                        ),
                        # SocialEgoNet is 10-40x slower: fewer runs (at least 2 a round)
                        "socialegonet": (
                            lambda w=whole_body: baseline(w),
                            max(2, per_round // (4 * batch)),
                        ),
                    },
                    rounds,
                )
            for name, value in ms.items():
                report[f"{name}_ms_b{batch}"] = value
    try:
        report["load_average_1min"] = os.getloadavg()[0]
    except OSError:
        report["load_average_1min"] = None
    report["cpu_count"] = os.cpu_count()
    return report


def format_latency_report(r: dict[str, Any]) -> str:
    lines = [
        f"threads={r['threads']}  runs={r['runs']} (median)  torch {torch.__version__}, "
        f"onnxruntime {onnxruntime.__version__}",
        f"SocialEgoMobile: {r['student_params']:,} params, "
        f"{r['student_macs_per_window'] / 1e6:.2f} M MACs/window",
        f"SocialEgoNet:    {r['socialegonet_params']:,} params, "
        f"{r['socialegonet_macs_per_window'] / 1e6:.1f} M MACs/window",
        "",
        f"CPU: {r['cpu_count']} cores, 1-min load average {r['load_average_1min'] or 0:.1f} "
        "(other processes slow every figure down)",
        "",
        "| batch | student PyTorch ms | student ONNX Runtime ms | ONNX ms/window "
        "| ONNX int8 recurrence ms | SocialEgoNet ms | speed-up PyTorch "
        "| speed-up ONNX Runtime | speed-up ONNX int8 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for batch in BATCHES:
        s, b = r[f"student_ms_b{batch}"], r[f"socialegonet_ms_b{batch}"]
        o, q = r[f"student_onnx_ms_b{batch}"], r[f"student_onnx_int8_ms_b{batch}"]
        lines.append(
            f"| {batch} | {s:.3f} | {o:.3f} | {o / batch:.3f} | {q:.3f} | {b:.2f} | {b / s:.1f}x "
            f"| {b / o:.1f}x | {b / q:.1f}x |"
        )
    lines.append("(speed-up: SocialEgoNet's time / the student's, same batch, same run)")
    return "\n".join(lines)
