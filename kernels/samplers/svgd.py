"""Stein variational gradient descent (Liu & Wang 2016) with an RBF kernel and the median heuristic.

x_i ← x_i + h φ(x_i),  φ(x_i) = (1/n) Σ_j [k(x_j, x_i) ∇log π(x_j) + ∇_{x_j} k(x_j, x_i)],
k(x, x') = exp(−‖x − x'‖² / b),  b = med²/log(n + 1) with med the median pairwise distance
(over the first 256 particles, to keep it O(n)), ∇log π = −∇U/T. Deterministic: the only randomness
is the initial cloud. Interacting, so each step is a separate pass over all particles.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from kernels.chunks import first_frame, run_in_slices
from kernels.compile import device, kernel

from kernels.backend import cuda  # numba.cuda, imported on first use
from kernels.targets import potential

MEDIAN_SAMPLE = 256


@device
def svgd_velocity(i, positions, scores, bandwidth):
    """φ(x_i) of the module doc, given scores ∇log π(x_j) for every particle."""
    n = positions.shape[0]
    xi = positions[i, 0]
    yi = positions[i, 1]
    vx = 0.0
    vy = 0.0
    for j in range(n):
        dx = xi - positions[j, 0]
        dy = yi - positions[j, 1]
        k = math.exp(-(dx * dx + dy * dy) / bandwidth)
        vx += k * (scores[j, 0] + 2.0 * dx / bandwidth)
        vy += k * (scores[j, 1] + 2.0 * dy / bandwidth)
    return vx / n, vy / n


@numba.njit(cache=True)
def median_bandwidth(positions):
    """b = med² / log(n + 1) over the first MEDIAN_SAMPLE particles (the median heuristic)."""
    m = min(positions.shape[0], MEDIAN_SAMPLE)
    distances = np.empty(m * (m - 1) // 2)
    c = 0
    for i in range(m):
        for j in range(i + 1, m):
            distances[c] = math.sqrt((positions[i, 0] - positions[j, 0]) ** 2 + (positions[i, 1] - positions[j, 1]) ** 2)
            c += 1
    med = np.median(distances) if c > 0 else 1.0
    return max(med * med / math.log(positions.shape[0] + 1.0), 1e-8)


@kernel
def svgd_cpu(positions, t_start, t_stop, frame_steps, h, temperature, kind, tparams, mix, paths, died_at):
    n = positions.shape[0]
    scores = np.empty((n, 2))
    velocity = np.empty((n, 2))
    frame = first_frame(frame_steps, t_start)
    for t in range(t_start, t_stop + 1):
        while frame < frame_steps.shape[0] and frame_steps[frame] == t:
            for p in numba.prange(n):
                paths[frame, p, 0] = positions[p, 0]
                paths[frame, p, 1] = positions[p, 1]
            frame += 1
        if t == t_stop:
            break
        for p in numba.prange(n):
            _, gx, gy = potential(positions[p, 0], positions[p, 1], kind, tparams, mix, 0.0)
            scores[p, 0] = -gx / temperature
            scores[p, 1] = -gy / temperature
        bandwidth = median_bandwidth(positions)
        for p in numba.prange(n):
            velocity[p, 0], velocity[p, 1] = svgd_velocity(p, positions, scores, bandwidth)
        for p in numba.prange(n):
            positions[p, 0] += h * velocity[p, 0]
            positions[p, 1] += h * velocity[p, 1]
            if died_at[p] < 0 and not (math.isfinite(positions[p, 0]) and math.isfinite(positions[p, 1])):
                died_at[p] = t


@kernel
def svgd_scores_cuda(positions, temperature, kind, tparams, mix, scores):
    p = cuda.grid(1)
    if p < positions.shape[0]:
        _, gx, gy = potential(positions[p, 0], positions[p, 1], kind, tparams, mix, 0.0)
        scores[p, 0] = -gx / temperature
        scores[p, 1] = -gy / temperature


@kernel
def svgd_velocity_cuda(positions, scores, bandwidth, velocity):
    p = cuda.grid(1)
    if p < positions.shape[0]:
        velocity[p, 0], velocity[p, 1] = svgd_velocity(p, positions, scores, bandwidth)


def run_svgd(positions, n_steps, frame_steps, h, temperature, kind, tparams, mix, backend, work_per_step=1.0,
             between=None, slice_steps=None):
    """Move ``positions`` (n, 2) by n_steps of SVGD; returns (paths float32, accepts, died_at). The steps run
    in slices (kernels.chunks, ``work_per_step`` units a step) on the CPU, one step a slice on CUDA."""
    n = positions.shape[0]
    paths = np.empty((len(frame_steps), n, 2), dtype=np.float32)
    died_at = np.full(n, -1, dtype=np.int64)
    if backend == "cpu":
        kernel = svgd_cpu.compile("cpu")
        run_in_slices(n_steps, work_per_step, lambda t0, t1: kernel(positions, t0, t1, frame_steps, h, temperature,
                                                                   kind, tparams, mix, paths, died_at),
                      between, slice_steps)
    else:
        threads = min(128, 32 * ((n + 31) // 32))
        blocks = (n + threads - 1) // threads
        scores_kernel = svgd_scores_cuda.compile("cuda")[blocks, threads]
        velocity_kernel = svgd_velocity_cuda.compile("cuda")[blocks, threads]
        d_pos, d_tparams, d_mix = cuda.to_device(positions), cuda.to_device(tparams), cuda.to_device(mix)
        d_scores, d_velocity = cuda.device_array((n, 2)), cuda.device_array((n, 2))
        frames = list(frame_steps)
        for t in range(n_steps + 1):
            host = d_pos.copy_to_host()
            for f in [f for f, s in enumerate(frames) if s == t]:
                paths[f] = host
            if t == n_steps:
                break
            scores_kernel(d_pos, temperature, kind, d_tparams, d_mix, d_scores)
            velocity_kernel(d_pos, d_scores, median_bandwidth(host), d_velocity)
            new = host + h * d_velocity.copy_to_host()
            lost = ~np.isfinite(new).all(axis=1) & (died_at < 0)
            died_at[lost] = t
            d_pos = cuda.to_device(new)
            if between is not None:
                between()  # each step is a slice here: the host sees every one
        positions[:] = d_pos.copy_to_host()
    accepts = np.zeros((len(frame_steps), n), dtype=np.float32)
    accepts[:] = np.asarray(frame_steps, dtype=np.float32)[:, None]
    return paths, accepts, died_at
