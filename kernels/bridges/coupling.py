"""Coupled pairs (i, j) drawn from the entropic plan π_ij = exp((f_i + g_j − ½‖x_i − y_j‖²)/ε) without
forming it: row i's conditional law π_ij / Σ_j π_ij = exp((g_j − C_ij)/ε − LSE_j((g_j − C_ij)/ε)) is sampled
by inversion, walking its cumulative sum until it passes a counter-based uniform u ∈ (0, 1].

Each draw costs two sweeps over the targets (the row's log-sum-exp, then the walk), is a pure function of
(seed, source row, draw key), and runs in a ``prange`` over draws on the CPU or one thread per draw on CUDA.
"""
from __future__ import annotations

import numba
import numpy as np

from kernels.bridges.fastexp import exp_clamped
from kernels.bridges.sinkhorn import soft_min
from kernels.compile import device, kernel
from kernels.rng import STREAM_COUPLING, uniform

from kernels.backend import cuda  # numba.cuda, imported on first use



@device
def draw_partner(px, py, qx, qy, g, inv_eps, u):
    """The index j of the first target whose cumulative conditional probability reaches u."""
    lse = soft_min(px, py, qx, qy, g, inv_eps, 0.0)
    cumulative = 0.0
    m = qx.shape[0]
    for j in range(m):
        dx = px - qx[j]
        dy = py - qy[j]
        cumulative += exp_clamped((g[j] - 0.5 * (dx * dx + dy * dy)) * inv_eps - lse)
        if cumulative >= u:
            return j
    return m - 1  # u within rounding of 1


@device
def draw_pair(k, rows, keys, x, qx, qy, g, inv_eps, seed, partners):
    i = rows[k]
    u = uniform(seed, STREAM_COUPLING, i, keys[k], 0)
    partners[k] = draw_partner(x[i, 0], x[i, 1], qx, qy, g, inv_eps, u)


@kernel
def cpu_draw_pairs(rows, keys, x, qx, qy, g, inv_eps, seed, partners):
    for k in numba.prange(rows.shape[0]):
        draw_pair(k, rows, keys, x, qx, qy, g, inv_eps, seed, partners)


@kernel
def cuda_draw_pairs(rows, keys, x, qx, qy, g, inv_eps, seed, partners):
    k = cuda.grid(1)
    if k < rows.shape[0]:
        draw_pair(k, rows, keys, x, qx, qy, g, inv_eps, seed, partners)


def sample_partners(x, y, g, epsilon: float, seed: int, rows=None, keys=None, backend: str = "cpu") -> np.ndarray:
    """For each source row in ``rows`` (default: every row once) a target index j ~ π(· | i).

    ``keys`` tell repeated draws from one row apart (default: 0 for all); the draw for (row, key) is the
    same on every backend and thread count.
    """
    rows = np.arange(len(x), dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    keys = np.zeros(len(rows), dtype=np.int64) if keys is None else np.asarray(keys, dtype=np.int64)
    args = [np.ascontiguousarray(x, dtype=np.float64), np.ascontiguousarray(y[:, 0], dtype=np.float64),
            np.ascontiguousarray(y[:, 1], dtype=np.float64), np.ascontiguousarray(g, dtype=np.float64)]
    partners = np.empty(len(rows), dtype=np.int64)
    if backend == "cuda":
        d = [cuda.to_device(a) for a in (rows, keys, *args, partners)]
        threads = 128
        cuda_draw_pairs.compile("cuda")[(len(rows) + threads - 1) // threads, threads](
            d[0], d[1], d[2], d[3], d[4], d[5], 1.0 / epsilon, np.uint64(seed), d[6])
        return d[6].copy_to_host()
    cpu_draw_pairs.compile("cpu")(rows, keys, args[0], args[1], args[2], args[3], 1.0 / epsilon,
                                  np.uint64(seed), partners)
    return partners
