"""Exact log-density, score and denoiser of a 2D Gaussian mixture along a Gaussian path.

If x₀ ~ Σ_k w_k N(μ_k, Σ_k) and x_t = a x₀ + s z, then p_t = Σ_k w_k N(a μ_k, C_k), C_k = a²Σ_k + s² I,
and, with responsibilities r_k ∝ w_k N(x; aμ_k, C_k) (one pass of streaming log-sum-exp, every
exponent ≤ 0, so no 0/0 far from the modes),

    ∇ log p_t(x) = −Σ_k r_k C_k⁻¹ (x − aμ_k),
    E[x₀ | x_t = x] = Σ_k r_k (μ_k + a Σ_k C_k⁻¹ (x − aμ_k))       (Gaussian conditioning),

C_k⁻¹ and log det C_k in closed form (2×2). ``mix`` is the (K, 10) array or its tuple of rows
(kernels.mixture.mixture_rows: the block launcher's, whose component loop unrolls). Tweedie's formula ties them: ∇ log p_t = (a E[x₀|x] − x)/s²,
and E[z | x_t] = −s ∇ log p_t. The samplers work with the denoiser in the scaled variable y = x/a at
σ = s/a (a = 1, s = σ here), where p is the mixture convolved with N(0, σ² I) (Karras et al. 2022).

Score sources: ``exact``; ``learned``: a network trained on target samples
(:mod:`kernels.diffusion.learned`), evaluated from its flat weights ``model``
(:func:`kernels.diffusion.mlp_eval.learned_denoiser`; the other sources ignore ``model``); and
``perturbed``: the exact denoiser plus δ·σ²/(1 + σ²)·e(y), with the smooth
bounded field e(y) = (−sin y₂, sin y₁). By Tweedie the score error is then δ·a/(a² + s²)·e(x/a), bounded
by about δ on every path; it is the kind of smooth model error that makes the probability-flow ODE and
the reverse SDE disagree (Deveney et al. 2023, "Closing the ODE–SDE gap in score-based diffusion
models through the Fokker–Planck equation").
"""
from __future__ import annotations

import math

import numba
import numpy as np

from kernels.compile import device, kernel
from kernels.diffusion.mlp_eval import as_model, learned_denoiser
from kernels.fastmath import exact_log as log
from kernels.mixture import LOG_2PI, lse_step

EXACT, PERTURBED, LEARNED = 0, 1, 2
SCORES = {"exact": EXACT, "perturbed": PERTURBED, "learned": LEARNED}


@device
def path_posterior(x, y, a, s, mix):
    """(log p_t, ∂ log p_t/∂x, ∂ log p_t/∂y, E[x₀|x_t]_x, E[x₀|x_t]_y) at (x, y); see the module doc."""
    a2 = a * a
    s2 = s * s
    running_max = -math.inf
    total = 0.0
    gx = 0.0
    gy = 0.0
    mx = 0.0
    my = 0.0
    for k in range(len(mix)):
        cxx = a2 * mix[k][3] + s2
        cxy = a2 * mix[k][4]
        cyy = a2 * mix[k][5] + s2
        det = cxx * cyy - cxy * cxy
        rx = x - a * mix[k][1]
        ry = y - a * mix[k][2]
        px = (cyy * rx - cxy * ry) / det   # C⁻¹ (x − aμ)
        py = (cxx * ry - cxy * rx) / det
        log_term = mix[k][0] - LOG_2PI - 0.5 * log(det) - 0.5 * (rx * px + ry * py)
        mean_x = mix[k][1] + a * (mix[k][3] * px + mix[k][4] * py)
        mean_y = mix[k][2] + a * (mix[k][4] * px + mix[k][5] * py)
        scale, weight, running_max = lse_step(log_term, running_max)
        total = total * scale + weight
        gx = gx * scale + weight * px
        gy = gy * scale + weight * py
        mx = mx * scale + weight * mean_x
        my = my * scale + weight * mean_y
    return running_max + log(total), -gx / total, -gy / total, mx / total, my / total


@device
def denoiser(y0, y1, sigma, mix, score_kind, delta, model):
    """E[x₀ | x₀ + σz = y] for the exact score, plus the bounded error of ``perturbed``, or the learned
    network's estimate of it (module doc)."""
    if score_kind == LEARNED:
        return learned_denoiser(y0, y1, sigma, model)
    _, _, _, dx, dy = path_posterior(y0, y1, 1.0, sigma, mix)
    if score_kind == PERTURBED:
        weight = delta * sigma * sigma / (1.0 + sigma * sigma)
        dx -= weight * math.sin(y1)
        dy += weight * math.sin(y0)
    return dx, dy


@device
def mixture_denoiser(y0, y1, sigma, mix, score_kind, delta, model):
    """:func:`denoiser` for the exact score alone, with no branch to the others: the one the block launcher
    (kernels.diffusion.driver) rebinds ``denoiser`` to, so its particle loop is straight-line code."""
    _, _, _, dx, dy = path_posterior(y0, y1, 1.0, sigma, mix)
    return dx, dy


@kernel
def posterior_grid(points, a, s, mix, out):
    for i in numba.prange(points.shape[0]):
        out[i, 0], out[i, 1], out[i, 2], out[i, 3], out[i, 4] = path_posterior(points[i, 0], points[i, 1], a, s, mix)


def posterior_many(points: np.ndarray, a: float, s: float, mix: np.ndarray) -> np.ndarray:
    """(n, 5): log p_t, ∇ log p_t, E[x₀|x_t] at each row of ``points`` (n, 2) (compiled, parallel)."""
    points = np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 2)
    out = np.empty((points.shape[0], 5))
    posterior_grid.compile("cpu")(points, float(a), float(s), mix, out)
    return out


@kernel
def denoiser_grid(points, inv_a, sigma, mix, score_kind, delta, model, out):
    for i in numba.prange(points.shape[0]):
        out[i, 0], out[i, 1] = denoiser(points[i, 0] * inv_a, points[i, 1] * inv_a, sigma, mix, score_kind, delta,
                                        model)


def model_fields(points: np.ndarray, a: float, s: float, mix: np.ndarray, score_kind: int, delta: float,
                 model: np.ndarray | None = None):
    """(score (n, 2), denoiser (n, 2)) in x-space exactly as the samplers see them (the same
    :func:`denoiser`, perturbation or learned weights ``model`` included; the score by Tweedie, (aD − x)/s²)."""
    points = np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 2)
    model = as_model(model, score_kind == LEARNED)
    den = np.empty((points.shape[0], 2))
    denoiser_grid.compile("cpu")(points, 1.0 / a, s / a, mix, score_kind, float(delta), model, den)
    return (a * den - points) / (s * s), den
