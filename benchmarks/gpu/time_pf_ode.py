"""The probability-flow ODE (Euler, VP path, exact score on ring8, float64) at scale: our CUDA kernel
against torch on the same GPU (benchmarks.ode_sde's torch peer, isotropic covariances), particle-NFE/s.
Ours is timed as the app calls it (``sample_paths``: transfers, kernel, frames back)."""
from __future__ import annotations

import numpy as np

from benchmarks import ode_sde
from benchmarks.gpu._peers import cuda_skip_reason, seconds, timed_rows, torch_cuda
from kernels.diffusion.driver import sample_paths, start_points
from kernels.targets import get_target

TITLE = "PF-ODE (Euler, VP) with the exact score on ring8, float64, GPU; units: particle-NFE"


def skip_reason():
    return cuda_skip_reason()


def ours_cuda(n: int, steps: int) -> float:
    target = get_target("ring8")
    grid = ode_sde._grid(steps)
    starts = start_points(target, n, grid, 1)
    run = lambda s, g: sample_paths("euler", s, g, ode_sde.PARAMS, np.array([0, len(g) - 1]), 1,  # noqa: E731
                                    target.mix, "cuda")
    run(starts[:1024], ode_sde._grid(2))  # compile outside the timing
    return seconds(lambda: run(starts, grid))


def torch_peer(n: int, steps: int) -> float:
    torch_cuda()
    return ode_sde.torch_peer(n, steps, device="cuda")


def rows(quick: bool = False):
    n, steps = (1_000_000, 100) if quick else (10_000_000, 100)
    return timed_rows([("ours (numba CUDA)", ours_cuda, n, steps), ("torch GPU", torch_peer, n, steps // 5)])
