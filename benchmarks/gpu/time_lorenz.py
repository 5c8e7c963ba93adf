"""Lorenz-63 RK4 ensembles (dt = 0.01, float64) at scale: our CUDA kernel against torch and JAX (jit of a
``fori_loop``) on the same GPU, all with benchmarks.lorenz_rk4's RK4 step; member-steps/s. Ours is timed as
the app calls it (``integrate_ensemble``: transfers, kernel, frames back)."""
from __future__ import annotations

import numpy as np

from benchmarks.gpu._peers import cuda_skip_reason, jax_gpu, seconds, timed_rows, torch_cuda
from benchmarks.lorenz_rk4 import DT, _starts, rk4_step
from kernels.lorenz.integrate import integrate_ensemble

TITLE = "Lorenz-63 RK4 ensemble, float64, GPU; units: member-steps"


def skip_reason():
    return cuda_skip_reason()


def ours_cuda(n: int, steps: int) -> float:
    starts = _starts(n)
    integrate_ensemble(starts[:1024], 2, [0, 2], DT, backend="cuda")  # compile outside the timing
    return seconds(lambda: integrate_ensemble(starts, steps, [0, steps], DT, backend="cuda"))


def torch_peer(n: int, steps: int) -> float:
    torch = torch_cuda()
    x, y, z = torch.as_tensor(_starts(n).T.copy(), device="cuda")

    def run():
        u = (x, y, z)
        for _ in range(steps):
            u = rk4_step(*u, DT)
        torch.cuda.synchronize()

    return seconds(run)


def jax_peer(n: int, steps: int) -> float:
    jax, device = jax_gpu()
    with jax.default_device(device):
        u = tuple(jax.numpy.asarray(c) for c in _starts(n).T)
        run = jax.jit(lambda u: jax.lax.fori_loop(0, steps, lambda _, v: rk4_step(*v, DT), u))
        jax.block_until_ready(run(u))  # compile outside the timing
        return seconds(lambda: jax.block_until_ready(run(u)))


def rows(quick: bool = False):
    n, steps = (1_000_000, 200) if quick else (10_000_000, 1000)
    return timed_rows([("ours (numba CUDA)", ours_cuda, n, steps), ("torch GPU", torch_peer, n, steps // 10),
                       ("JAX GPU (jit)", jax_peer, n, steps)])
