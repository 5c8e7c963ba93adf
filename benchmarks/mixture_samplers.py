"""Every sampler on a mixture (ring8, float64): the vectorised block launcher beside the per-particle one.

The block launcher (kernels.samplers.driver) runs a sampler's step over blocks of particles with the
mixture's component loop unrolled, so LLVM vectorises across particles; the per-particle launcher runs
the same step one particle at a time. Rates are particle-steps per second and gradients of U per second
(a step's evaluations: one for most samplers, two for the randomized midpoint, L for HMC's leapfrog,
one per replica for parallel tempering), and each blocked sampler's gradient rate as a share of ULA's:
the cost of the sampler's own arithmetic beside the mixture's.
"""
from __future__ import annotations

import time

import numpy as np

from kernels.samplers import registry
from kernels.samplers.driver import INIT_GAUSSIAN
from kernels.samplers.layout import (FRICTION, LADDER, LEAPFROG_STEPS, N_PARAMS, N_REPLICAS, SIGMA_MAX,
                                     SIGMA_MIN, STEP_SIZE, TEMPERATURE)
from kernels.targets import get_target

TITLE = "Mixture samplers on ring8, float64: block launcher against per particle; units: particle-steps"
FIELDS = ("sampler", "launcher", "particles", "steps", "particle_steps_per_s", "gradients_per_s", "of_ula")
LEAPFROG, REPLICAS = 5, 4
GRADIENTS = {"ula": 1, "mala": 1, "baoab": 1, "rmid": 2, "hmc": LEAPFROG, "annealed": 1, "tempering": REPLICAS,
             "rwmh": 1}   # evaluations of U (and ∇U) per step


def _params() -> np.ndarray:
    params = np.zeros(N_PARAMS)
    params[[STEP_SIZE, TEMPERATURE, FRICTION, LEAPFROG_STEPS, SIGMA_MAX, SIGMA_MIN, N_REPLICAS, LADDER]] = (
        0.05, 1.0, 1.0, LEAPFROG, 5.0, 0.1, REPLICAS, 2.0)
    return params


def seconds(sampler: str, blocked: bool, n: int, steps: int) -> float:
    """The best of two timed runs (after one that compiles or loads the kernel)."""
    target, params, spec = get_target("ring8"), _params(), np.array([0.0, 0.0, 3.0, 0.0])
    saved = registry.BLOCKED_SAMPLERS
    registry.BLOCKED_SAMPLERS = (sampler,) if blocked else ()
    try:
        registry.simulate(sampler, target, 512, 2, np.array([0, 2]), 0, params, INIT_GAUSSIAN, spec)
        timings = []
        for _ in range(2):
            start = time.perf_counter()
            registry.simulate(sampler, target, n, steps, np.array([0, steps]), 0, params, INIT_GAUSSIAN, spec)
            timings.append(time.perf_counter() - start)
    finally:
        registry.BLOCKED_SAMPLERS = saved
    return min(timings)


def rows(quick: bool = False):
    """(sampler, launcher, particles, steps, particle-steps/s, gradients/s, share of blocked ULA's gradient rate)."""
    n, steps = (50_000, 20) if quick else (100_000, 40)
    out = []
    for sampler in GRADIENTS:
        for blocked in ((True, False) if sampler in registry.BLOCKED_SAMPLERS else (False,)):
            rate = n * steps / seconds(sampler, blocked, n, steps)
            out.append([sampler, "blocked" if blocked else "per particle", n, steps, rate, rate * GRADIENTS[sampler]])
    ula = out[0][5]
    return [(*row, row[5] / ula) for row in out]


def table(title: str, rows_) -> list[str]:
    lines = [title, f"{'sampler':<11}{'launcher':<14}{'size':>9}{'steps':>7}{'M steps/s':>11}{'M grads/s':>11}"
                    f"{'÷ ULA':>8}{'blocked ÷ per particle':>24}"]
    per_particle = {r[0]: r[4] for r in rows_ if r[1] == "per particle"}
    for sampler, launcher, n, steps, rate, gradients, share in rows_:
        speedup = f"{rate / per_particle[sampler]:>23.1f}×" if launcher == "blocked" and sampler in per_particle else ""
        lines.append(f"{sampler:<11}{launcher:<14}{n:>9,}{steps:>7}{rate / 1e6:>11.1f}{gradients / 1e6:>11.1f}"
                     f"{share:>7.0%} {speedup}")
    return lines
