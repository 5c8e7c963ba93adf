"""Time grids from t_max (noise) down to t_min (data), and the per-grid-point coefficient table.

Schedules (all expressed through σ_t = s_t/a_t, the noise-to-signal ratio, which every Gaussian path
shares with the VE form x/a = x₀ + σ z; Karras et al. 2022, §4):

- ``uniform``: t uniform on [t_min, t_max].
- ``edm``: σ_i = (σ_max^{1/ρ} + i/N (σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, ρ = 7 (Karras et al. 2022, eq. 5).
- ``logsnr``: log σ (half the log-SNR, negated) uniform (Lu et al. 2022, DPM-Solver).

σ_max = min(80, σ(1)) (EDM's σ_max = 80; t_max is where the path reaches it) and σ_min = σ(t_min);
EDM's σ_min = 0.002 is the default's order of magnitude (σ(10⁻³) ≈ 0.01 for vp, 0.001 for linear).
Every σ is turned back into t by bisection (σ_t is increasing for every process). With ``denoise`` the
grid ends with one more point, the data at σ = 0 (:func:`build_grid`).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from kernels.diffusion.processes import INTERPOLANT, half_g2, path_coefficients

SCHEDULES = ("uniform", "edm", "logsnr")
AUTO = "auto"  # each sampler's own grid (kernels.diffusion.samplers.SolverSpec.schedule)
EDM_SIGMA_MAX = 80.0
EDM_RHO = 7.0
FINE_CELLS = 2048  # cells of the fine Brownian grid (see :mod:`kernels.diffusion.driver`)

# columns of the coefficient table
T, A, S, DA, DS, SIGMA, EPS, FINE = range(8)
N_COLUMNS = 8


def sigma_at(process: int, t: float, gamma_a: float) -> float:
    a, s, _, _ = path_coefficients.py_func(process, t, gamma_a)
    return s / a if a > 0 else math.inf


def time_at_sigma(process: int, sigma: float, gamma_a: float, t_lo: float, t_hi: float) -> float:
    """The t ∈ [t_lo, t_hi] with σ_t = sigma (bisection, 60 halvings)."""
    for _ in range(60):
        mid = 0.5 * (t_lo + t_hi)
        if sigma_at(process, mid, gamma_a) < sigma:
            t_lo = mid
        else:
            t_hi = mid
    return 0.5 * (t_lo + t_hi)


def t_max_of(process: int, gamma_a: float) -> float:
    """1, or the time where σ_t reaches EDM's σ_max = 80 if it gets there before t = 1."""
    if sigma_at(process, 1.0, gamma_a) <= EDM_SIGMA_MAX:
        return 1.0
    return time_at_sigma(process, EDM_SIGMA_MAX, gamma_a, 0.0, 1.0)


@lru_cache(maxsize=256)
def _times(process: int, schedule: str, n_steps: int, t_min: float, gamma_a: float) -> tuple:
    t_max = t_max_of(process, gamma_a)
    if not t_min < t_max:
        raise ValueError(f"t_min = {t_min} must be below t_max = {t_max:.4g}")
    fraction = np.arange(n_steps + 1) / n_steps
    if schedule == "uniform":
        return tuple(t_max + fraction * (t_min - t_max))
    sigma_max, sigma_min = sigma_at(process, t_max, gamma_a), sigma_at(process, t_min, gamma_a)
    if schedule == "edm":
        sigmas = (sigma_max ** (1 / EDM_RHO) + fraction * (sigma_min ** (1 / EDM_RHO) - sigma_max ** (1 / EDM_RHO))) ** EDM_RHO
    elif schedule == "logsnr":
        sigmas = np.exp(np.log(sigma_max) + fraction * (np.log(sigma_min) - np.log(sigma_max)))
    else:
        raise ValueError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
    inner = [time_at_sigma(process, float(sg), gamma_a, t_min, t_max) for sg in sigmas[1:-1]]
    return (t_max, *inner, t_min)


def build_grid(process: int, schedule: str, n_steps: int, t_min: float, gamma_a: float, noise: float,
               denoise: bool = False) -> np.ndarray:
    """The (n_steps + 1, N_COLUMNS) table: t, a, s, a', s', σ = s/a, the SDE noise ε_t, fine-grid index.

    ε_t is ``noise``·½g²(t) (noise = 1: the reverse SDE of Song et al. 2021), or ``noise`` itself for the
    interpolant, whose family dX = [b + ε s]dt + √(2ε)dW takes ε as a constant (Albergo et al. 2023).
    The fine-grid index places t on FINE_CELLS uniform cells of [t_min, t_max] (shared Brownian path).

    ``denoise``: the schedule's n_steps points from t_max to t_min, then the data, σ = 0 (a = 1, s = 0,
    t = 0, no noise): the last step denoises to the data, as k-diffusion appends σ = 0 to every grid
    (``append_zero``) and as diffusers' ``final_sigmas_type="zero"`` ends. Every sampler's step to σ = 0
    is its first-order update there, x = D(x/a; σ) (:mod:`kernels.diffusion.samplers`).
    """
    n_steps = int(n_steps)
    if not denoise:
        times = np.array(_times(process, schedule, n_steps, float(t_min), float(gamma_a)))
    elif n_steps > 1:
        times = np.array(_times(process, schedule, n_steps - 1, float(t_min), float(gamma_a)))
    else:
        times = np.array([t_max_of(process, gamma_a)])
    table = np.zeros((len(times) + denoise, N_COLUMNS))
    for i, t in enumerate(times):
        a, s, da, ds = path_coefficients.py_func(process, float(t), gamma_a)
        eps = noise if process == INTERPOLANT else noise * half_g2(a, s, da, ds)
        table[i, :FINE] = (t, a, s, da, ds, s / a, eps)
    span = times[0] - times[-1]
    table[:len(times), FINE] = np.round((times[0] - times) / span * FINE_CELLS) if span > 0 else 0.0
    if denoise:  # the data: t = 0, a = 1, s = σ = 0, ε = 0, no Brownian increment after t_min
        table[-1, A] = 1.0
        table[-1, FINE] = table[-2, FINE]
    return table
