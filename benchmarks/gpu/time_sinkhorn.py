"""Log-domain Sinkhorn (cost ½‖x − y‖², ε = 0.12, float64) between n = m Gaussian and moons points: our
CUDA sweep (one thread per row, the log-sum-exp fused in one streaming pass) against a torch GPU
implementation of the same updates with ``torch.logsumexp`` over row blocks of the cost matrix (the whole
n×m matrix would not fit). A fixed number of iterations from zero potentials, no ε-scaling, so both do the
same work; units: n·m plan entries per second per iteration (ratios are ratios of iteration times)."""
from __future__ import annotations

import math

import numpy as np

from benchmarks.gpu._peers import cuda_skip_reason, seconds, timed_rows, torch_cuda
from benchmarks.sinkhorn import EPSILON, clouds
from kernels.bridges.sinkhorn import sinkhorn

TITLE = "Sinkhorn ε=0.12, fixed iterations, float64, GPU; units: n·m entries per iteration-second"
CHUNK_ENTRIES = 2 ** 27  # entries of one row block of the torch peer's cost matrix (1 GiB in float64)


def skip_reason():
    return cuda_skip_reason()


def ours_cuda(n: int, iterations: int) -> float:
    x, y = clouds(n)
    zeros = (np.zeros(n), np.zeros(n))
    run = lambda k, a, b, init: sinkhorn(a, b, EPSILON, tol=1e-30, max_iterations=k, init=init,  # noqa: E731
                                         init_epsilon=EPSILON, backend="cuda")
    k = min(n, 256)
    run(2, x[:k], y[:k], (np.zeros(k), np.zeros(k)))  # compile outside the timing
    return seconds(lambda: run(iterations, x, y, zeros)) / n


def torch_sinkhorn(torch, x, y, iterations: int):
    """The log-domain updates of kernels.bridges.sinkhorn with torch.logsumexp over row blocks; (f, g)."""
    n, m = len(x), len(y)
    f, g = torch.zeros(n, dtype=x.dtype, device=x.device), torch.zeros(m, dtype=x.dtype, device=x.device)

    def soft_min(p, q, potential):
        out = torch.empty(len(p), dtype=p.dtype, device=p.device)
        rows = max(1, CHUNK_ENTRIES // len(q))
        for lo in range(0, len(p), rows):
            cost = 0.5 * torch.cdist(p[lo:lo + rows], q) ** 2
            out[lo:lo + rows] = torch.logsumexp((potential[None, :] - cost) / EPSILON, dim=1)
        return out

    for _ in range(iterations):
        f = EPSILON * (-math.log(n) - soft_min(x, y, g))
        g = EPSILON * (-math.log(m) - soft_min(y, x, f))
    return f, g


def torch_peer(n: int, iterations: int) -> float:
    torch = torch_cuda()
    x, y = (torch.as_tensor(c, device="cuda") for c in clouds(n))
    torch_sinkhorn(torch, x[:256], y[:256], 1)
    torch.cuda.synchronize()

    def run():
        torch_sinkhorn(torch, x, y, iterations)
        torch.cuda.synchronize()

    return seconds(run) / n


def rows(quick: bool = False):
    n = 16_384 if quick else 65_536
    # the rate is n·m·iterations / seconds: the seconds functions return seconds ÷ n so that size × steps
    # (n × iterations) over them reads n·m per iteration-second
    return timed_rows([("ours (numba CUDA)", ours_cuda, n, 20 if quick else 10),
                       ("torch GPU logsumexp", torch_peer, n, 4 if quick else 3)])
