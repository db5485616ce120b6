"""Fail when the environment holds a CUDA build of PyTorch or any NVIDIA/CUDA package.

The image is CPU-only: PyPI's default torch wheel is a multi-GB CUDA build that pulls nvidia-*
packages. Run with the environment's Python (the image build does, and CI in the final image).
"""

from __future__ import annotations

import importlib.metadata as metadata
import re
import sys

GPU_PACKAGE = re.compile(r"^(nvidia-|cuda-|triton$)|cuda|cudnn|cublas", re.IGNORECASE)


def gpu_packages() -> list[str]:
    """Installed distributions whose name says NVIDIA/CUDA (triton only ships with CUDA torch)."""
    names = {dist.metadata["Name"] for dist in metadata.distributions()}
    return sorted(name for name in names if name and GPU_PACKAGE.search(name))


def main() -> int:
    problems = [f"GPU package installed: {name}" for name in gpu_packages()]
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        problems.append("torch is not installed")
    else:
        import torch  # lazy: only once torch is known to be installed

        if torch.version.cuda is not None:
            problems.append(f"torch {torch_version} is a CUDA build (CUDA {torch.version.cuda})")
    for problem in problems:
        print(f"check_cpu_only: {problem}", file=sys.stderr)
    if not problems:
        print(f"check_cpu_only: OK, torch {torch_version} is the CPU build, no GPU packages")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
