"""Per-particle steps of the probability-flow ODE and reverse-SDE samplers, written once for CPU and CUDA.

One step goes from grid point k (time t₀, coefficients a₀, s₀, σ₀ = s₀/a₀) to k + 1 (t₁ < t₀), using the
denoiser D = E[x₀ | x] (:func:`kernels.diffusion.score.denoiser`) and, through Tweedie, the score
∇log p = (aD − x)/s² and the noise prediction ε̂ = (x − aD)/s. The velocity of the path is
v = a'D + s'ε̂ (probability-flow ODE dx/dt = v; Song et al. 2021, Albergo et al. 2023). Samplers marked
"in y" work in y = x/a, where every path is the VE path y = x₀ + σz and the ODE is dy/dσ = (y − D)/σ
(Karras et al. 2022), and map back by x = a₁y.

- ``euler``: x ← x + (t₁ − t₀) v.
- ``heun`` (Karras et al. 2022, Alg. 2, in y): churn σ̂ = σ₀(1 + γ), γ = min(S_churn/N, √2 − 1),
  ŷ = y + √(σ̂² − σ₀²) ξ; Euler to σ₁ with d = (ŷ − D(ŷ; σ̂))/σ̂, then the trapezoidal correction with
  d' at σ₁ (not on the last step, as in EDM).
- ``ddim`` (Song, Meng & Ermon 2021, in y): y₁ = D + σ_down ε̂ + σ_up ξ, σ_up = min(σ₁, η σ₁ √(1 − σ₁²/σ₀²)),
  σ_down = √(σ₁² − σ_up²) (η = 0 deterministic, η = 1 ancestral).
- ``dpm2`` (DPM-Solver-2, Lu et al. 2022, in y): Euler to σ_mid = √(σ₀σ₁) (the log-SNR midpoint), then
  the full step with the slope there.
- ``dpmpp2m`` (DPM-Solver++ 2M, Lu et al. 2022b, in y): h = log(σ₀/σ₁), r = h_prev/h,
  D̃ = (1 + 1/(2r)) D − 1/(2r) D_prev (D on the first step), y₁ = (σ₁/σ₀) y − expm1(−h) D̃.
- ``dpmpp2m_sde`` (k-diffusion's midpoint variant, in y): y₁ = (σ₁/σ₀)e^{−ηh} y − expm1(−h − ηh) D
  − ½ expm1(−h − ηh)(D − D_prev)/r + σ₁ √(−expm1(−2ηh)) ξ.
- ``em`` (Euler–Maruyama, reverse time): x ← x + (t₁ − t₀)(v − ε_t ∇log p) + √(2ε_t |t₁ − t₀|) ξ.
  ε_t = ½g² is the reverse SDE of Anderson (1982) / Song et al. (2021); ε_t = 0 is the ODE; for the
  interpolant ε is the constant of dX = [b + ε s]dt + √(2ε)dW (Albergo et al. 2023).
- ``pc`` (Song et al. 2021, Alg. 2/4): the ``em`` predictor, then one Langevin corrector at t₁,
  x ← x + τ ∇log p + √(2τ) ξ', τ = 2 (snr)² s₁² (the step size of Alg. 4 with ‖∇log p‖² ≈ d/s²).

Final steps, as the reference implementations take them: a step to σ₁ = 0 (the grids' optional last
point, which k-diffusion appends to every grid) returns x = D(x/a₀; σ₀) for every sampler: the limit
σ₁ → 0 of Euler in σ, DDIM, DPM-Solver(++)'s first-order update and EDM's final Euler step (k-diffusion
``sample_dpmpp_2m``, ``sample_dpm_2``, ``sample_heun`` take exactly this branch when ``sigmas[i + 1] == 0``);
for the samplers in x it is Tweedie's denoising step (x = a E[x₀|x_t]), the last step of Song et al.'s
samplers (``denoise=True``). Otherwise, on a grid of fewer than LOWER_ORDER_FINAL_STEPS steps, ``dpm2``,
``dpmpp2m`` and ``dpmpp2m_sde`` take their last step at first order (the multistep correction, or DPM-2's
midpoint, left out: diffusers' ``lower_order_final``), and ``heun`` its last as a plain Euler step (EDM).

ξ is the step's Brownian draw (the same numbers for every sampler, see :mod:`kernels.diffusion.driver`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from kernels.compile import device
from kernels.diffusion.grids import DA, DS, EPS, SIGMA, A, S, T
from kernels.diffusion.score import denoiser
from kernels.fastmath import exact_exp as exp
from kernels.fastmath import exact_expm1 as expm1
from kernels.fastmath import exact_log as log

EULER, HEUN, DDIM, DPM2, DPMPP2M, EM, PC, DPMPP2M_SDE = range(8)


@dataclass(frozen=True)
class SolverSpec:
    """A sampler's facts (DESIGN §4: on the spec, not in name checks)."""
    kind: int               # the kernel's switch value
    label: str
    nfe_per_step: int       # denoiser evaluations of a full step (a step to σ = 0 takes one)
    order: int              # convergence order to the PF-ODE solution at noise 0 (0: none, pc's corrector
                            # adds its Langevin noise at any noise knob)
    stochastic: bool        # reads the noise knob
    schedule: str           # its grid under schedule "auto" (below)


# Schedule "auto": the grid that suits each sampler, measured on the default vp path and ring8 by the mean
# distance of each particle to the converged PF-ODE solution (grids ending at σ = 0), at 40 NFE: Euler
# 0.019 on uniform t; Heun 0.020 on uniform t (0.045 on EDM's ρ = 7, 0.051 on log-SNR); DPM-Solver-2
# 0.024 uniform (0.029 log-SNR); DPM-Solver++ 2M 0.010 on log-SNR, its paper's grid (0.040 uniform).
SPECS = {
    "euler": SolverSpec(EULER, "Euler (PF-ODE)", 1, 1, False, "uniform"),            # Song et al. 2021
    "heun": SolverSpec(HEUN, "Heun (EDM Alg. 2)", 2, 2, True, "uniform"),            # Karras et al. 2022
    "ddim": SolverSpec(DDIM, "DDIM (η)", 1, 1, True, "uniform"),                     # Song, Meng & Ermon 2021
    "dpm2": SolverSpec(DPM2, "DPM-Solver-2", 2, 2, False, "uniform"),                # Lu et al. 2022
    "dpmpp2m": SolverSpec(DPMPP2M, "DPM-Solver++ 2M", 1, 2, False, "logsnr"),        # Lu et al. 2022b
    "em": SolverSpec(EM, "Euler–Maruyama (reverse SDE)", 1, 1, True, "uniform"),     # Song et al. 2021
    "pc": SolverSpec(PC, "predictor–corrector", 2, 0, True, "uniform"),              # Song et al. 2021
    "dpmpp2m_sde": SolverSpec(DPMPP2M_SDE, "DPM-Solver++ 2M SDE", 1, 2, True, "logsnr"),
}
SAMPLERS = {name: spec.kind for name, spec in SPECS.items()}
LABELS = {name: spec.label for name, spec in SPECS.items()}
STOCHASTIC = tuple(name for name, spec in SPECS.items() if spec.stochastic)  # samplers that read the noise knob
# diffusers' ``lower_order_final``: on a grid of fewer steps that does not end at σ = 0, the DPM-Solvers
# take their last step at first order (DPM-Solver-1, i.e. DDIM)
LOWER_ORDER_FINAL_STEPS = 15
# parameter vector layout
P_NOISE, P_SNR, P_DELTA, P_SCORE, P_FINE, P_CHURN = range(6)
N_PARAMS = 6


def single_final(sampler: str, denoise: bool) -> bool:
    """Whether the last step takes one evaluation: a step to σ = 0 (the denoiser's output), or Heun's
    last step, which EDM takes as a plain Euler step."""
    return denoise or SPECS[sampler].kind == HEUN


def nfe_of(sampler: str, n_steps: int, denoise: bool = False) -> int:
    """Denoiser evaluations of ``n_steps`` steps."""
    per = SPECS[sampler].nfe_per_step
    return per * n_steps - (per - 1) * single_final(sampler, denoise)


def steps_for(sampler: str, nfe: int, denoise: bool = False) -> int:
    """The most steps whose evaluations fit a budget of ``nfe`` (at least one)."""
    per = SPECS[sampler].nfe_per_step
    return max(1, (nfe + (per - 1) * single_final(sampler, denoise)) // per)


@device
def sampler_step(kind, x, y, d_prev_x, d_prev_y, h_prev, k, n_steps, grid, params, mix, model, xi0, xi1, zeta0,
                 zeta1):
    """One step k → k+1 of sampler ``kind``; returns (x, y, D_prev_x, D_prev_y, h_prev). See module doc.

    Written as at most two denoiser evaluations (two call sites, so the compiled kernel stays small):
    the first at (x/a₀, σ₀) (Heun: at the churned point), the second where the two-stage samplers ask.
    """
    lower_final = k + 1 == n_steps and n_steps < LOWER_ORDER_FINAL_STEPS
    score_kind = params[P_SCORE]
    delta = params[P_DELTA]
    noise = params[P_NOISE]
    a0 = grid[k, A]
    a1 = grid[k + 1, A]
    sig0 = grid[k, SIGMA]
    sig1 = grid[k + 1, SIGMA]
    y0 = x / a0
    y1 = y / a0
    if kind == HEUN:  # churn: raise the noise level to σ̂ by adding fresh noise
        sig_hat = sig0 * (1.0 + params[P_CHURN])
        lift = math.sqrt(max(0.0, sig_hat * sig_hat - sig0 * sig0))
        y0 = y0 + lift * xi0
        y1 = y1 + lift * xi1
        sig0 = sig_hat
    dx, dy = denoiser(y0, y1, sig0, mix, score_kind, delta, model)
    if sig1 == 0.0:  # the step to the data: every sampler's first-order update there is the denoiser's output
        return a1 * dx, a1 * dy, d_prev_x, d_prev_y, h_prev
    slope0 = (y0 - dx) / sig0   # dy/dσ of the ODE in y; also the noise prediction ε̂
    slope1 = (y1 - dy) / sig0
    if kind == EULER or kind == EM or kind == PC:  # in x: v = a'D + s'ε̂, ∇log p = −ε̂/s
        dt = grid[k + 1, T] - grid[k, T]
        s0 = grid[k, S]
        eps = grid[k, EPS] if kind != EULER else 0.0
        spread = math.sqrt(2.0 * eps * abs(dt))
        x = x + dt * (grid[k, DA] * dx + (grid[k, DS] + eps / s0) * slope0) + spread * xi0
        y = y + dt * (grid[k, DA] * dy + (grid[k, DS] + eps / s0) * slope1) + spread * xi1
        if kind != PC:
            return x, y, d_prev_x, d_prev_y, h_prev
        point0 = x / a1
        point1 = y / a1
        point_sigma = sig1
    elif kind == HEUN:
        point0 = y0 + (sig1 - sig0) * slope0
        point1 = y1 + (sig1 - sig0) * slope1
        point_sigma = sig1
        if k + 1 == n_steps:  # EDM's last step is a plain Euler step
            return a1 * point0, a1 * point1, d_prev_x, d_prev_y, h_prev
    elif kind == DPM2 and not lower_final:
        point_sigma = math.sqrt(sig0 * sig1)
        point0 = y0 + (point_sigma - sig0) * slope0
        point1 = y1 + (point_sigma - sig0) * slope1
    elif kind == DDIM:
        up = min(sig1, noise * sig1 * math.sqrt(max(0.0, 1.0 - sig1 * sig1 / (sig0 * sig0))))
        down = math.sqrt(sig1 * sig1 - up * up)
        return a1 * (dx + down * slope0 + up * xi0), a1 * (dy + down * slope1 + up * xi1), d_prev_x, d_prev_y, h_prev
    else:  # DPMPP2M, DPMPP2M_SDE, and DPM2's lower-order final step, in log σ: h = log(σ₀/σ₁)
        h = log(sig0 / sig1)
        eta_h = noise * h if kind == DPMPP2M_SDE else 0.0
        factor = -expm1(-h - eta_h)
        n0 = (sig1 / sig0) * exp(-eta_h) * y0 + factor * dx
        n1 = (sig1 / sig0) * exp(-eta_h) * y1 + factor * dy
        if k > 0 and not lower_final:  # second-order correction from the previous denoiser (multistep)
            half_inv_r = 0.5 * h / h_prev
            n0 += factor * half_inv_r * (dx - d_prev_x)
            n1 += factor * half_inv_r * (dy - d_prev_y)
        spread = sig1 * math.sqrt(-expm1(-2.0 * eta_h))
        return a1 * (n0 + spread * xi0), a1 * (n1 + spread * xi1), dx, dy, h
    ex, ey = denoiser(point0, point1, point_sigma, mix, score_kind, delta, model)
    if kind == PC:  # Langevin corrector at t₁: x ← x + τ∇log p + √(2τ)ζ
        s1 = grid[k + 1, S]
        tau = 2.0 * params[P_SNR] * params[P_SNR] * s1 * s1
        root = math.sqrt(2.0 * tau)
        return (x + tau * (a1 * ex - x) / (s1 * s1) + root * zeta0,
                y + tau * (a1 * ey - y) / (s1 * s1) + root * zeta1, d_prev_x, d_prev_y, h_prev)
    if kind == HEUN:  # trapezoid: the mean of the slopes at σ̂ and σ₁
        n0 = y0 + (sig1 - sig0) * 0.5 * (slope0 + (point0 - ex) / sig1)
        n1 = y1 + (sig1 - sig0) * 0.5 * (slope1 + (point1 - ey) / sig1)
        return a1 * n0, a1 * n1, d_prev_x, d_prev_y, h_prev
    # DPM2: the full step with the midpoint's slope
    n0 = y0 + (sig1 - sig0) * (point0 - ex) / point_sigma
    n1 = y1 + (sig1 - sig0) * (point1 - ey) / point_sigma
    return a1 * n0, a1 * n1, d_prev_x, d_prev_y, h_prev
