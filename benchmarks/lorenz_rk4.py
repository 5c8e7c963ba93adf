"""Lorenz-63 RK4 ensembles (σ=10, ρ=28, β=8/3, dt=0.01, float64): member-steps per second.

The same work three ways: our CPU kernel (numba, members in blocks with the time loop outside a
vectorised inner loop, kernels.lorenz.integrate), vectorised numpy over all members, and scipy's
``solve_ivp`` with the fixed-step-equivalent accuracy (RK45, rtol 1e-8) run member by member.
"""
from __future__ import annotations

import time

import numpy as np
from scipy.integrate import solve_ivp

from kernels.lorenz.integrate import integrate_ensemble, lorenz63_rk4

TITLE = "Lorenz-63 RK4 ensemble, float64; units: member-steps"
DT = 0.01
SIGMA, RHO, BETA = 10.0, 28.0, 8.0 / 3.0
REPEATS = 5  # best of five, quick or not: one ~15 ms run of ours swung 840–1,400 M/s between runs here


def _starts(n):
    return np.array([1.0, 1.0, 20.0]) + np.random.default_rng(0).normal(size=(n, 3))


def ours(n: int, steps: int) -> float:
    starts = _starts(n)
    integrate_ensemble(starts[:8], 2, [0, 2], DT)  # compile (or load the cache) outside the timing
    start = time.perf_counter()
    integrate_ensemble(starts, steps, [0, steps], DT)
    return time.perf_counter() - start


def rk4_step(x, y, z, h):
    """One RK4 step on whole arrays (numpy, torch or JAX): the kernel's own step function, uncompiled."""
    return lorenz63_rk4.py_func(x, y, z, h, SIGMA, RHO, BETA)


def numpy_peer(n: int, steps: int) -> float:
    x, y, z = _starts(n).T.copy()
    start = time.perf_counter()
    for _ in range(steps):
        x, y, z = rk4_step(x, y, z, DT)
    return time.perf_counter() - start


def scipy_peer(n: int, steps: int) -> float:
    def rhs(t, u):
        return [SIGMA * (u[1] - u[0]), u[0] * (RHO - u[2]) - u[1], u[0] * u[1] - BETA * u[2]]

    starts = _starts(n)
    start = time.perf_counter()
    for member in starts:
        solve_ivp(rhs, (0.0, steps * DT), member, method="RK45", rtol=1e-8, atol=1e-8)
    return time.perf_counter() - start


def rows(quick: bool = False):
    """(implementation, members, steps, member-steps/s) for each implementation."""
    n, steps = (100_000, 200) if quick else (400_000, 400)
    out = []
    for name, fn, members, k in (("ours (numba CPU)", ours, n, steps), ("numpy (vectorised)", numpy_peer, n, steps // 4),
                                 ("scipy solve_ivp per member", scipy_peer, 20, steps)):
        seconds = min(fn(members, k) for _ in range(REPEATS))
        out.append((name, members, k, members * k / seconds))
    return out
