"""How our CPU ULA figure grows with n_particles, n_steps and the number of mixture components.

The work is that of ``benchmarks.ula_ring8`` (same parameters, float64, our compiled kernel through the
samplers registry's ``simulate``), varied along one axis at a time: particles at 100 steps on ring8,
steps on ring8, and mixture components K on a ring of K isotropic Gaussians (variance 0.3, radius 2,
equal weights). A rate that stays flat as the size grows means the cost is linear in it; a rate that
rises with particles shows the fixed cost of a launch (threads, frames) being spread out; with K the
rate should fall about as 1/K (each step evaluates every component). Up to 10 components the kernel is
compiled per K with the component loop unrolled; past 10, one kernel for every K takes the mixture as an
array (kernels.blocked.block_mixture), the rate per component lower by about 1.5–2×.
"""
from __future__ import annotations

import time

import numpy as np

from benchmarks._harness import rate_rows
from benchmarks.ula_ring8 import _params
from kernels.samplers import simulate
from kernels.samplers.driver import INIT_GAUSSIAN
from kernels.targets import Target, get_target, ring_of_modes

TITLE = "Scaling of ULA (ours, numba CPU, float64) with size; units: particle-steps"
FIELDS = ("vary", "particles", "steps", "components", "particle_steps_per_s")
RING_RADIUS, RING_VARIANCE = 2.0, 0.3


def ring_target(k: int) -> Target:
    """K equal-weight isotropic Gaussians (variance 0.3) evenly spaced on the circle of radius 2."""
    return ring_of_modes(k, RING_RADIUS, RING_VARIANCE)


def seconds_on(target):
    """A ``seconds(n, steps)`` timing our ULA kernel on ``target`` (compiled before the clock starts)."""
    def run(n: int, steps: int) -> None:
        simulate("ula", target, n, steps, np.array([0, steps]), 1, _params(), INIT_GAUSSIAN,
                 np.array([0.0, 0.0, 1.0, 0.0]), "cpu")

    def seconds(n: int, steps: int) -> float:
        run(min(n, 64), 2)
        start = time.perf_counter()
        run(n, steps)
        return time.perf_counter() - start
    return seconds


def rows(quick: bool = False):
    """(axis varied, particles, steps, components, particle-steps/s), one row per size."""
    ring8 = seconds_on(get_target("ring8"))
    particles = (1_000, 10_000, 100_000) if quick else (1_000, 10_000, 100_000, 1_000_000)
    steps = (10, 100, 1000) if quick else (10, 100, 1000, 10_000)
    components = (1, 4, 16, 64) if quick else (1, 2, 4, 8, 16, 32, 64)
    n_fixed = 20_000 if quick else 100_000
    out = []
    for n in particles:
        (_, _, k, rate), = rate_rows([("ours", ring8, 100)], n, quick)
        out.append(("n_particles", n, k, 8, rate))
    for k in steps:
        (_, n, _, rate), = rate_rows([("ours", ring8, k)], n_fixed, quick)
        out.append(("n_steps", n, k, 8, rate))
    for count in components:
        (_, n, k, rate), = rate_rows([("ours", seconds_on(ring_target(count)), 100)], n_fixed, quick)
        out.append(("components", n, k, count, rate))
    return out


def table(title: str, rows_) -> list[str]:
    """Rate per row and its ratio to the first row of the same sweep."""
    lines = [title, f"{'vary':<13}{'particles':>11}{'steps':>8}{'components':>12}{'M units/s':>12}{'÷ first':>9}"]
    first = {}
    for vary, n, steps, k, rate in rows_:
        first.setdefault(vary, rate)
        lines.append(f"{vary:<13}{n:>11,}{steps:>8}{k:>12}{rate / 1e6:>12.1f}{rate / first[vary]:>8.2f}×")
    return lines
