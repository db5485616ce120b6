"""Teacher vs student cost: parameters, MACs per window and CPU latency (the study's cost.json)."""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch
from socialego_core.student import SocialEgoMobile
from torch.utils.flop_counter import FlopCounterMode

from socialego_training.bench import count_macs, median_latency_ms
from socialego_training.teacher_config import TeacherConfig
from socialego_training.teacher_io import load_teacher
from socialego_training.teacher_model import SocialC3D, count_parameters, example_inputs


def cost_report(teacher_path: str, latency_runs: int = 50) -> dict[str, Any]:
    """Params, MACs per window and CPU latency (1 thread, batch 1, median) of teacher and student.

    The full-size teacher's MACs are counted on the meta device (no compute); its CPU latency is
    not measured here (seconds per window), the trained (small) teacher's is.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        student = SocialEgoMobile().eval()
        window = torch.rand(1, 10, 17, 3) - 0.5
        report: dict[str, Any] = {
            "student": {
                "params": count_parameters(student),
                "macs": count_macs(student, window),
                "latency_ms": median_latency_ms(student, window, latency_runs, warmup=5),
            }
        }
        trained, _ = load_teacher(teacher_path)
        inputs = example_inputs(trained.config, 1)
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            trained(inputs)
        times = []
        with torch.inference_mode():
            trained(inputs)
            for _ in range(max(3, latency_runs // 5)):
                tick = time.perf_counter()
                trained(inputs)
                times.append(1000 * (time.perf_counter() - tick))
        report["teacher_trained"] = {
            "params": count_parameters(trained),
            "macs": counter.get_total_flops() // 2,
            "latency_ms": statistics.median(times),
            "config": trained.config.to_dict(),
        }
        full = SocialC3D(TeacherConfig.full()).to("meta").eval()
        meta_inputs = {k: v.to("meta") for k, v in example_inputs(full.config, 1).items()}
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            full(meta_inputs)
        report["teacher_full"] = {
            "params": count_parameters(full),
            "macs": counter.get_total_flops() // 2,
        }
    finally:
        torch.set_num_threads(threads)
    s = report["student"]
    for key in ("teacher_trained", "teacher_full"):
        t = report[key]
        t["params_ratio"] = t["params"] / s["params"]
        t["macs_ratio"] = t["macs"] / max(s["macs"], 1)
        if "latency_ms" in t:
            t["latency_ratio"] = t["latency_ms"] / s["latency_ms"]
    return report


def cost_markdown(cost: dict) -> str:
    s, t, f = cost["student"], cost["teacher_trained"], cost["teacher_full"]
    return "\n".join(
        [
            "| model | params | MACs / window | CPU latency, batch 1, 1 thread |",
            "|---|---|---|---|",
            f"| student SocialEgoMobile | {s['params'] / 1e6:.3f} M | {s['macs'] / 1e6:.2f} M | "
            f"{s['latency_ms']:.2f} ms |",
            f"| teacher SocialC3D, trained (small) config | {t['params'] / 1e6:.3f} M "
            f"({t['params_ratio']:.1f}x) | {t['macs'] / 1e6:.1f} M ({t['macs_ratio']:.0f}x) | "
            f"{t['latency_ms']:.1f} ms ({t['latency_ratio']:.0f}x) |",
            f"| teacher SocialC3D, full config | {f['params'] / 1e6:.2f} M "
            f"({f['params_ratio']:.0f}x) | {f['macs'] / 1e9:.1f} G ({f['macs_ratio']:.0f}x) | "
            "not measured on CPU |",
        ]
    )
