"""Entropic OT (log-domain Sinkhorn, cost ½‖x − y‖², ε = 0.12) between 4096 Gaussian and 4096 moons
points, to column marginal error ‖πᵀ1 − b‖₂ < 1e-6: ours against POT's ``ot.sinkhorn_log`` on the same
inputs and stopping rule (POT's cost ‖x − y‖², so reg = 2ε; it checks the error every 10th iteration,
ours every iteration, at no cost).

Then a slider move of ε from 0.10 to 0.12: our solve warm-started from the potentials at 0.10, and from the
linear extrapolation through the solves at 0.08 and 0.10 (what the scene does while ε is dragged).
The ``steps`` column is the number of Sinkhorn iterations; the rate is n·m divided by the seconds per solve,
so ratios are ratios of solve times (below 1 for a warm start: that many times faster than our cold start).
"""
from __future__ import annotations

import time

import numpy as np

from kernels.bridges.clouds import sample_cloud
from kernels.bridges.sinkhorn import sinkhorn, warm_start

TITLE = ("Sinkhorn ε=0.12 to marginal error 1e-6, float64; units: n·m plan entries per second of solve "
         "(steps = iterations)")
EPSILON, TOL = 0.12, 1e-6


def clouds(n: int):
    return sample_cloud("gauss", n, seed=1), sample_cloud("moons", n, seed=2)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def ours(x, y, **kw):
    solution, seconds = timed(lambda: sinkhorn(x, y, EPSILON, tol=TOL, max_iterations=100_000, **kw))
    assert solution.converged, solution.marginal_error
    return solution.iterations, seconds


def pot(x, y):
    try:
        import ot
    except ImportError:
        return None, None
    a, b = np.full(len(x), 1 / len(x)), np.full(len(y), 1 / len(y))
    (plan, log), seconds = timed(lambda: ot.sinkhorn(a, b, ot.dist(x, y), 2 * EPSILON, method="sinkhorn_log",
                                                     stopThr=TOL, numItermax=100_000, log=True))
    return log["niter"] + 1, seconds


def rows(quick: bool = False):
    n = 1024 if quick else 4096
    x, y = clouds(n)
    sinkhorn(x[:64], y[:64], EPSILON)           # compile (or load the cache) outside the timing
    sinkhorn(x, y, EPSILON, max_iterations=2)
    entries = n * n
    out = []
    iterations, seconds = ours(x, y)
    out.append(("ours cold (numba CPU)", n, iterations, entries / seconds))
    iterations, seconds = pot(x, y)
    out.append(("POT sinkhorn_log", n, iterations or 0, None if seconds is None else entries / seconds))
    history = [(eps, s.f, s.g) for eps, s in ((e, sinkhorn(x, y, e, tol=TOL)) for e in (0.08, 0.10))]
    iterations, seconds = ours(x, y, init=(history[1][1], history[1][2]), init_epsilon=0.10)
    out.append(("ours warm (ε=0.10)", n, iterations, entries / seconds))
    f, g, near = warm_start(history, EPSILON)
    iterations, seconds = ours(x, y, init=(f, g), init_epsilon=near)
    out.append(("ours extrapolated", n, iterations, entries / seconds))
    return out
