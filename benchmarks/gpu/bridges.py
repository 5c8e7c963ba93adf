"""The bridges kernels: log-domain Sinkhorn's soft-minimum sweeps (a few iterations from the same start),
the partner draws from the plan, and the Brownian bridges, CUDA build against CPU build."""
from __future__ import annotations

import numpy as np

from benchmarks.gpu.compare import EXACT, FLOAT32_TOL, FLOAT64_TOL, compare
from kernels.bridges.brownian_bridge import bridge_paths
from kernels.bridges.clouds import sample_cloud
from kernels.bridges.coupling import sample_partners
from kernels.bridges.sinkhorn import sinkhorn

EPSILON, SEED = 0.5, 7


def clouds(n: int):
    return sample_cloud("gauss", n, seed=1), sample_cloud("moons", n - 1, seed=2)


def sinkhorn_both(n: int, iterations: int):
    """(CPU, CUDA) Sinkhorn results after ``iterations`` (tolerance never met) between the test clouds."""
    x, y = clouds(n)
    with np.errstate(over="ignore"):
        return tuple(sinkhorn(x, y, EPSILON, tol=1e-30, max_iterations=iterations, backend=backend)
                     for backend in ("cpu", "cuda"))


def check_sinkhorn(n: int, iterations: int, perturb: float = 0.0):
    cpu, gpu = sinkhorn_both(n, iterations)
    return compare("sinkhorn (log-domain sweeps)", {"f": (cpu.f, gpu.f + perturb, FLOAT64_TOL),
                                                    "g": (cpu.g, gpu.g + perturb, FLOAT64_TOL)},
                   moved=bool(np.abs(cpu.f).max() > 0))


def check_partners(n: int, iterations: int, perturb: float = 0.0):
    """Partner draws j ~ π(· | i) from the CPU solve's potentials, with repeated rows told apart by keys."""
    x, y = clouds(n)
    cpu_solve, _ = sinkhorn_both(n, iterations)
    rows = np.repeat(np.arange(0, n, 2), 2)
    keys = np.tile([0, 1], len(rows) // 2)
    drawn = [sample_partners(x, y, cpu_solve.g, EPSILON, SEED, rows=rows, keys=keys, backend=b) for b in ("cpu", "cuda")]
    return compare("sinkhorn partner draws", {"partners": (drawn[0], drawn[1] + perturb, EXACT)},
                   moved=len(set(drawn[0].tolist())) > 1)


def check_bridges(n: int, frames: int, perturb: float = 0.0):
    x, _ = clouds(n)
    times = np.linspace(0, 1, frames)
    paths = [bridge_paths(x, x[::-1], times, 0.7, 9, backend=b) for b in ("cpu", "cuda")]
    return compare("brownian bridges", {"paths": (paths[0], paths[1] + np.float32(perturb), FLOAT32_TOL)},
                   moved=bool(np.any(paths[0][1] != paths[0][0])))


def checks(n: int, iterations: int, perturb: float = 0.0):
    return [check_sinkhorn(n, iterations, perturb), check_partners(n, iterations, perturb),
            check_bridges(n, iterations, perturb)]
