"""Probability-flow ODE (Euler, VP path) with the exact score on ring8: particles × NFE per second.

Every implementation does the same work per particle and step: the exact denoiser E[x₀ | x_t] of the
8-mode mixture under the VP path (responsibilities by log-sum-exp over N(a μ_k, (0.3a² + s²) I)), then
x ← x + Δt (a' D + s' (x − a D)/s). Ours is the compiled kernel as the scene runs it at these sizes: the
vectorised block launcher (numba, blocks of particles in parallel, general 2×2 covariances), and beside
it the per-particle launcher it replaces above BLOCKED_MIN_PARTICLES; the peers are vectorised numpy and
torch on the CPU, written for isotropic covariances (less work than ours), float64, with the same grid.
"""
from __future__ import annotations

import time

import numpy as np

from benchmarks._harness import rate_rows
from kernels.diffusion.driver import sample_paths, start_points
from kernels.diffusion.grids import DA, DS, A, S, T, build_grid
from kernels.diffusion.processes import VP
from kernels.targets import get_target

TITLE = "PF-ODE (Euler, VP) with the exact score on ring8, float64; units: particle-NFE"
PARAMS = np.array([0.0, 0.16, 0.0, 0.0, 0.0, 0.0])


def _grid(steps):
    return build_grid(VP, "uniform", steps, 1e-3, 1.0, 0.0)


def ours(n: int, steps: int, blocked: bool = True) -> float:
    target = get_target("ring8")
    grid = _grid(steps)
    starts = start_points(target, n, grid, 1)
    sample_paths("euler", starts[:100], _grid(2), PARAMS, np.array([0, 2]), 1, target.mix,  # compile / load cache
                 blocked=blocked)
    start = time.perf_counter()
    sample_paths("euler", starts, grid, PARAMS, np.array([0, steps]), 1, target.mix, blocked=blocked)
    return time.perf_counter() - start


def ours_per_particle(n: int, steps: int) -> float:
    return ours(n, steps, blocked=False)


def _arrays():
    mix = get_target("ring8").mix
    return mix[:, 0], mix[:, 1:3], mix[:, 3]


def numpy_peer(n: int, steps: int) -> float:
    log_w, means, var = _arrays()
    grid = _grid(steps)
    x = np.random.default_rng(1).standard_normal((n, 2))
    start = time.perf_counter()
    for k in range(steps):
        _, a, s, da, ds = grid[k, T], grid[k, A], grid[k, S], grid[k, DA], grid[k, DS]
        c = a * a * var + s * s                                            # (K,)
        diff = x[:, None, :] - a * means[None]                             # (n, K, 2)
        log_terms = log_w - np.log(c) - 0.5 * (diff ** 2).sum(-1) / c
        log_terms -= log_terms.max(axis=1, keepdims=True)
        resp = np.exp(log_terms)
        resp /= resp.sum(axis=1, keepdims=True)
        post = means[None] + (a * var / c)[None, :, None] * diff          # E[x₀ | x, k]
        den = np.einsum("nk,nkd->nd", resp, post)
        x = x + (grid[k + 1, T] - grid[k, T]) * (da * den + ds * (x - a * den) / s)
    return time.perf_counter() - start


def torch_peer(n: int, steps: int, device: str = "cpu") -> float | None:
    """Seconds for the torch peer on ``device`` ("cpu" or "cuda")."""
    try:
        import torch
    except ImportError:
        return None
    log_w, means, var = (torch.as_tensor(v, dtype=torch.float64, device=device) for v in _arrays())
    grid = _grid(steps)
    x = torch.randn(n, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1)).to(device)
    if device != "cpu":
        torch.cuda.synchronize()
    start = time.perf_counter()
    with torch.no_grad():
        for k in range(steps):
            a, s, da, ds = (float(grid[k, c]) for c in (A, S, DA, DS))
            c = a * a * var + s * s
            diff = x[:, None, :] - a * means[None]
            resp = torch.softmax(log_w - torch.log(c) - 0.5 * (diff ** 2).sum(-1) / c, dim=1)
            post = means[None] + (a * var / c)[None, :, None] * diff
            den = torch.einsum("nk,nkd->nd", resp, post)
            x = x + float(grid[k + 1, T] - grid[k, T]) * (da * den + ds * (x - a * den) / s)
    if device != "cpu":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def rows(quick: bool = False):
    """(implementation, particles, NFE, particle-NFE/s) for each implementation."""
    n = 50_000 if quick else 200_000
    ours_steps, peer_steps = (100, 10) if quick else (200, 20)
    return rate_rows([("ours (numba CPU)", ours, ours_steps), ("ours, per particle", ours_per_particle, ours_steps),
                      ("numpy (vectorised)", numpy_peer, peer_steps),
                      ("torch CPU", torch_peer, peer_steps)], n, quick)
