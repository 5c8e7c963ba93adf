"""Brownian bridges of diffusion σ between coupled pairs (x₀, x₁), at given times in [0, 1]:

    X_t = (1 − t) x₀ + t x₁ + σ (W_t − t W_1),   so  E X_t = (1 − t) x₀ + t x₁,  Var X_t = σ² t (1 − t) I,

with W a standard 2D Brownian motion built from counter-based normal increments over the frame times
(one path per particle; the noise is a pure function of (seed, particle, frame)). Mixing these bridges over
the entropic coupling with ε = σ² gives the Schrödinger bridge (Léonard 2014, Prop. 2.3).
"""
from __future__ import annotations

import math

import numba
import numpy as np

from kernels.compile import device, kernel
from kernels.rng import STREAM_BRIDGE, normal_pair

from kernels.backend import cuda  # numba.cuda, imported on first use



@device
def bridge_particle(p, x0, x1, times, sigma, seed, paths):
    """Write particle p's bridge at every time of ``times`` (ascending, in [0, 1]) into paths[:, p, :]."""
    n_frames = times.shape[0]
    # W_1 first: the increments over the frame times and the one from the last frame to 1
    w0, w1 = 0.0, 0.0
    previous = 0.0
    for k in range(n_frames + 1):
        t = times[k] if k < n_frames else 1.0
        z0, z1 = normal_pair(seed, STREAM_BRIDGE, p, k, 0)
        scale = math.sqrt(max(t - previous, 0.0))
        w0 += scale * z0
        w1 += scale * z1
        previous = t
    b0, b1 = 0.0, 0.0
    previous = 0.0
    for k in range(n_frames):
        t = times[k]
        z0, z1 = normal_pair(seed, STREAM_BRIDGE, p, k, 0)
        scale = math.sqrt(max(t - previous, 0.0))
        b0 += scale * z0
        b1 += scale * z1
        previous = t
        paths[k, p, 0] = (1.0 - t) * x0[p, 0] + t * x1[p, 0] + sigma * (b0 - t * w0)
        paths[k, p, 1] = (1.0 - t) * x0[p, 1] + t * x1[p, 1] + sigma * (b1 - t * w1)


@kernel
def cpu_bridges(x0, x1, times, sigma, seed, paths):
    for p in numba.prange(x0.shape[0]):
        bridge_particle(p, x0, x1, times, sigma, seed, paths)


@kernel
def cuda_bridges(x0, x1, times, sigma, seed, paths):
    p = cuda.grid(1)
    if p < x0.shape[0]:
        bridge_particle(p, x0, x1, times, sigma, seed, paths)


def bridge_paths(x0, x1, times, sigma: float, seed: int, backend: str = "cpu") -> np.ndarray:
    """(len(times), n, 2) float32 bridges from x0[p] to x1[p] (both (n, 2)); see the module doc."""
    x0 = np.ascontiguousarray(x0, dtype=np.float64)
    x1 = np.ascontiguousarray(x1, dtype=np.float64)
    times = np.ascontiguousarray(times, dtype=np.float64)
    if times.min() < 0 or times.max() > 1 or np.any(np.diff(times) < 0):
        raise ValueError("bridge times must be ascending in [0, 1]")
    paths = np.empty((len(times), len(x0), 2), dtype=np.float32)
    if backend == "cuda":
        d = [cuda.to_device(a) for a in (x0, x1, times, paths)]
        threads = 128
        cuda_bridges.compile("cuda")[(len(x0) + threads - 1) // threads, threads](
            d[0], d[1], d[2], float(sigma), np.uint64(seed), d[3])
        return d[3].copy_to_host()
    cpu_bridges.compile("cpu")(x0, x1, times, float(sigma), np.uint64(seed), paths)
    return paths
