"""ULA on ring8 (float64) at scale: our CUDA kernel against JAX (jit + vmap, autograd score) on the same
GPU and against our CPU kernel on two threads of this machine (the 2-core figure), particle-steps/s.

Ours is timed as the app calls it (``simulate``: start cloud, transfers, kernel, frames back); the peers'
work per particle-step is benchmarks.ula_ring8's."""
from __future__ import annotations

import numba
import numpy as np

from benchmarks import ula_ring8
from benchmarks.gpu._peers import cuda_skip_reason, jax_gpu, seconds, timed_rows
from kernels.samplers import simulate
from kernels.samplers.driver import INIT_GAUSSIAN
from kernels.targets import get_target

TITLE = "ULA on ring8 (8-mode mixture), float64, GPU; units: particle-steps"
CPU_THREADS = 2


def skip_reason():
    return cuda_skip_reason()


def ours_cuda(n: int, steps: int) -> float:
    target, spec = get_target("ring8"), np.array([0.0, 0.0, 1.0, 0.0])
    run = lambda m, k: simulate("ula", target, m, k, np.array([0, k]), 1, ula_ring8._params(),  # noqa: E731
                                INIT_GAUSSIAN, spec, "cuda")
    run(min(n, 1024), 2)  # compile outside the timing
    return seconds(lambda: run(n, steps))


def jax_peer(n: int, steps: int) -> float:
    jax, device = jax_gpu()
    with jax.default_device(device):
        return ula_ring8._jax_run(jax, n, steps)


def ours_cpu(n: int, steps: int) -> float:
    before = numba.get_num_threads()
    numba.set_num_threads(min(CPU_THREADS, numba.config.NUMBA_NUM_THREADS))
    try:
        return ula_ring8.ours(n, steps)
    finally:
        numba.set_num_threads(before)


def rows(quick: bool = False):
    n, steps = (1_000_000, 200) if quick else (10_000_000, 1000)
    return timed_rows([("ours (numba CUDA)", ours_cuda, n, steps),
                       ("JAX GPU (jit+vmap)", jax_peer, n, steps // 10),
                       (f"ours CPU, {CPU_THREADS} threads", ours_cpu, n // 10, 20)])
