"""The Ornstein–Uhlenbeck reference dX = A X dt + σ dW in 2D: its transition law, its bridges, and the
whitening that turns its transition cost into the squared distance the Sinkhorn kernels use.

Transition over a time τ (Särkkä & Solin 2019, "Applied Stochastic Differential Equations", §6.2):

    X_τ | X_0 = x  ~  N(M_τ x, S_τ),   M_τ = e^{Aτ},   S_τ = σ² ∫₀^τ e^{Au} e^{Aᵀu} du,

both from one matrix exponential (Van Loan 1978, "Computing integrals involving the matrix exponential"):
exp(τ [[−A, σ²I], [0, Aᵀ]]) = [[·, F₁₂], [0, F₂₂]] gives M_τ = F₂₂ᵀ and S_τ = F₂₂ᵀ F₁₂, for any A (stable
or not, A = 0 the Brownian case).

Bridge from x at time 0 to y at time Δ, at 0 ≤ τ ≤ Δ, by Gaussian conditioning ("pinning", Matheron's
rule): with N the OU noise started at 0 (N_τ = X_τ − M_τ x),

    X_τ = M_τ x + N_τ + G_τ (y − M_Δ x − N_Δ),   G_τ = Cov(N_τ, N_Δ) S_Δ⁻¹ = S_τ M_{Δ−τ}ᵀ S_Δ⁻¹,

which for A = 0 is the Brownian bridge of :mod:`kernels.bridges.brownian_bridge`, (1 − τ/Δ)x + (τ/Δ)y
+ (N_τ − (τ/Δ)N_Δ), drawn from the same counter-based increments: N steps exactly,
N_{k+1} = M_h N_k + chol(S_h) z_k.

Whitening: −log p(y | x) = ½ (y − M x)ᵀ S⁻¹ (y − M x) + const = ½‖W y − W M x‖² with W = L⁻¹, S = L Lᵀ.
So the static bridge under this reference between clouds x and y is the entropic transport of
:mod:`kernels.bridges.sinkhorn` between s W M x and s W y at ε = s² (any s > 0; we take s = σ√Δ, the
Brownian scale, which makes the Brownian case the unchanged clouds at ε = σ²Δ).
"""
from __future__ import annotations

import math

import numba
import numpy as np

from kernels.compile import device, kernel
from kernels.rng import STREAM_BRIDGE, normal_pair
from kernels.torch_training import torch_module

from kernels.backend import cuda  # numba.cuda, imported on first use


def transition_torch(drift, sigma: float, tau: float):
    """(M_τ, S_τ) of the module doc as torch tensors, differentiable in ``drift`` (a 2×2 float64 tensor)."""
    torch = torch_module()
    eye, zero = torch.eye(2, dtype=drift.dtype), torch.zeros(2, 2, dtype=drift.dtype)
    block = torch.cat([torch.cat([-drift, sigma ** 2 * eye], 1), torch.cat([zero, drift.T], 1)], 0)
    exponential = torch.linalg.matrix_exp(block * tau)
    propagator = exponential[2:, 2:].T
    covariance = propagator @ exponential[:2, 2:]
    return propagator, 0.5 * (covariance + covariance.T)


def transition(drift, sigma: float, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """(M_τ, S_τ) of the module doc as numpy arrays."""
    torch = torch_module()
    propagator, covariance = transition_torch(torch.tensor(np.asarray(drift, dtype=np.float64)), sigma, tau)
    return propagator.numpy(), covariance.numpy()


def cholesky2(a: np.ndarray) -> np.ndarray:
    """The lower Cholesky factor of a 2×2 symmetric positive semi-definite matrix, in closed form (the zero
    matrix gives zero, as the covariance over no time does)."""
    l00 = math.sqrt(max(a[0, 0], 0.0))
    l10 = a[1, 0] / l00 if l00 > 0 else 0.0
    l11 = math.sqrt(max(a[1, 1] - l10 ** 2, 0.0))
    return np.array([[l00, 0.0], [l10, l11]])


def whiten(x: np.ndarray, y: np.ndarray, drift, sigma: float, delta: float):
    """(x', y', ε'): clouds whose ½‖x' − y'‖²/ε' is −log p_Δ(y | x) up to a constant (module doc)."""
    propagator, covariance = transition(drift, sigma, delta)
    lower = cholesky2(covariance)
    scale = sigma * math.sqrt(delta)
    whitening = scale * np.linalg.inv(lower)
    return x @ (whitening @ propagator).T, y @ whitening.T, scale ** 2


def bridge_coefficients(drift, sigma: float, taus: np.ndarray, delta: float):
    """Per frame k (relative times ``taus`` ascending in [0, Δ]) the noise step (M_h, chol S_h) from the
    previous frame (one more, the step to Δ, at the end), and M_τ, G_τ of the module doc; then M_Δ."""
    steps = np.diff(np.concatenate([[0.0], taus, [delta]]))
    step_maps, step_roots = [], []
    for h in steps:
        propagator, covariance = transition(drift, sigma, max(float(h), 0.0))
        step_maps.append(propagator)
        step_roots.append(cholesky2(covariance))
    end_map, end_covariance = transition(drift, sigma, delta)
    end_precision = np.linalg.inv(end_covariance)
    maps, gains = [], []
    for tau in taus:
        propagator, covariance = transition(drift, sigma, float(tau))
        rest, _ = transition(drift, sigma, delta - float(tau))
        maps.append(propagator)
        gains.append(covariance @ rest.T @ end_precision)
    return (np.array(step_maps), np.array(step_roots), np.array(maps), np.array(gains), end_map)


@device
def ou_bridge_particle(p, x0, x1, step_maps, step_roots, maps, gains, end_map, seed, paths, first):
    """Write particle p's OU bridge at every frame into paths[first + k, p, :] (module doc)."""
    n_frames = maps.shape[0]
    # N_Δ first: every increment, the step to Δ included
    n0, n1 = 0.0, 0.0
    for k in range(n_frames + 1):
        z0, z1 = normal_pair(seed, STREAM_BRIDGE, p, k, 0)
        a0 = step_maps[k, 0, 0] * n0 + step_maps[k, 0, 1] * n1 + step_roots[k, 0, 0] * z0
        a1 = step_maps[k, 1, 0] * n0 + step_maps[k, 1, 1] * n1 + step_roots[k, 1, 0] * z0 + step_roots[k, 1, 1] * z1
        n0, n1 = a0, a1
    r0 = x1[p, 0] - end_map[0, 0] * x0[p, 0] - end_map[0, 1] * x0[p, 1] - n0
    r1 = x1[p, 1] - end_map[1, 0] * x0[p, 0] - end_map[1, 1] * x0[p, 1] - n1
    n0, n1 = 0.0, 0.0
    for k in range(n_frames):
        z0, z1 = normal_pair(seed, STREAM_BRIDGE, p, k, 0)
        a0 = step_maps[k, 0, 0] * n0 + step_maps[k, 0, 1] * n1 + step_roots[k, 0, 0] * z0
        a1 = step_maps[k, 1, 0] * n0 + step_maps[k, 1, 1] * n1 + step_roots[k, 1, 0] * z0 + step_roots[k, 1, 1] * z1
        n0, n1 = a0, a1
        paths[first + k, p, 0] = (maps[k, 0, 0] * x0[p, 0] + maps[k, 0, 1] * x0[p, 1] + n0
                                  + gains[k, 0, 0] * r0 + gains[k, 0, 1] * r1)
        paths[first + k, p, 1] = (maps[k, 1, 0] * x0[p, 0] + maps[k, 1, 1] * x0[p, 1] + n1
                                  + gains[k, 1, 0] * r0 + gains[k, 1, 1] * r1)


@kernel
def cpu_ou_bridges(x0, x1, step_maps, step_roots, maps, gains, end_map, seed, paths, first):
    for p in numba.prange(x0.shape[0]):
        ou_bridge_particle(p, x0, x1, step_maps, step_roots, maps, gains, end_map, seed, paths, first)


@kernel
def cuda_ou_bridges(x0, x1, step_maps, step_roots, maps, gains, end_map, seed, paths, first):
    p = cuda.grid(1)
    if p < x0.shape[0]:
        ou_bridge_particle(p, x0, x1, step_maps, step_roots, maps, gains, end_map, seed, paths, first)


def ou_bridge_paths(x0, x1, drift, sigma: float, taus, delta: float, seed: int, paths=None, first: int = 0,
                    backend: str = "cpu") -> np.ndarray:
    """OU bridges from x0[p] (time 0) to x1[p] (time Δ) at the relative times ``taus`` (ascending in [0, Δ]),
    written into ``paths[first:first + len(taus)]`` (a new (len(taus), n, 2) float32 array by default)."""
    taus = np.ascontiguousarray(taus, dtype=np.float64)
    if not delta > 0 or taus.min() < 0 or taus.max() > delta or np.any(np.diff(taus) < 0):
        raise ValueError(f"bridge times must be ascending in [0, Δ = {delta}]")
    x0 = np.ascontiguousarray(x0, dtype=np.float64)
    x1 = np.ascontiguousarray(x1, dtype=np.float64)
    if paths is None:
        paths = np.empty((len(taus), len(x0), 2), dtype=np.float32)
    coefficients = [np.ascontiguousarray(c) for c in bridge_coefficients(drift, sigma, taus, delta)]
    if backend == "cuda":
        d = [cuda.to_device(a) for a in (x0, x1, *coefficients, paths)]
        threads = 128
        cuda_ou_bridges.compile("cuda")[(len(x0) + threads - 1) // threads, threads](
            *d[:7], np.uint64(seed), d[7], first)
        paths[:] = d[7].copy_to_host()
        return paths
    cpu_ou_bridges.compile("cpu")(x0, x1, *coefficients, np.uint64(seed), paths, first)
    return paths


def sample_ou(start: np.ndarray, drift, sigma: float, tau: float, seed: int) -> np.ndarray:
    """X_τ for each row of ``start`` (the OU process run for τ from there), drawn exactly (numpy stream
    seeded (seed, tag), apart from the counter-based streams)."""
    propagator, covariance = transition(drift, sigma, tau)
    noise = np.random.default_rng((seed, OU_TAG)).standard_normal(start.shape) @ cholesky2(covariance).T
    return start @ propagator.T + noise


OU_TAG = 0x0B
