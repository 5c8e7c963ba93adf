"""Run a per-particle sampler step over many particles and record decimated frames, on CPU or CUDA.

:func:`advance_particle` is the whole life of one particle: ``n_steps`` calls of the sampler's step,
the position written to ``paths`` at the steps in ``frame_steps``, the running acceptance count beside
it, and a stop at the first position that is NaN, Inf or beyond DIVERGENCE_LIMIT (the step is written to ``died_at``; later frames are
NaN). The CPU launcher runs it in a ``prange`` over particles, the CUDA launcher one thread per
particle; both are specialised per sampler by rebinding the global name ``sampler_step``.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from kernels.compile import device, kernel

try:  # the CUDA target is optional (the `cuda` extra); kernels refer to the module by this global name
    from numba import cuda
except ImportError:  # pragma: no cover
    cuda = None
from kernels.rng import STREAM_INIT, normal_pair, uniform

INIT_POINT, INIT_BOX, INIT_GAUSSIAN = 0, 1, 2
# A coordinate beyond this has left every plotted box by twelve orders of magnitude: the run diverged
# (an unstable linear recursion can grow for hundreds of steps before float64 overflows to Inf).
DIVERGENCE_LIMIT = 1e12


@device
def sampler_step(state, p, t, n_steps, seed, params, kind, tparams, mix):
    """Placeholder rebound to a real sampler's step when the driver is compiled."""
    return 0.0


@device
def advance_particle(p, state, n_steps, frame_steps, seed, params, kind, tparams, mix, paths, accepts,
                     died_at):
    """Run particle p for n_steps; see the module doc."""
    n_frames = frame_steps.shape[0]
    frame = 0
    accepted = 0.0
    for t in range(n_steps + 1):
        while frame < n_frames and frame_steps[frame] == t:
            paths[frame, p, 0] = state[p, 0]
            paths[frame, p, 1] = state[p, 1]
            accepts[frame, p] = accepted
            frame += 1
        if t == n_steps:
            break
        accepted += sampler_step(state, p, t, n_steps, seed, params, kind, tparams, mix)
        if not (abs(state[p, 0]) < DIVERGENCE_LIMIT and abs(state[p, 1]) < DIVERGENCE_LIMIT):  # NaN fails too
            died_at[p] = t
            while frame < n_frames:
                paths[frame, p, 0] = math.nan
                paths[frame, p, 1] = math.nan
                accepts[frame, p] = accepted
                frame += 1
            return


@device
def initial_position(p, seed, mode, spec):
    """Particle p's start: a point spec[0:2], uniform in the box spec[0:4], or N(spec[0:2], spec[2]² I)."""
    if mode == INIT_POINT:
        return spec[0], spec[1]
    if mode == INIT_BOX:
        u = uniform(seed, STREAM_INIT, p, 0, 0)
        v = uniform(seed, STREAM_INIT, p, 0, 1)
        return spec[0] + (spec[1] - spec[0]) * u, spec[2] + (spec[3] - spec[2]) * v
    z0, z1 = normal_pair(seed, STREAM_INIT, p, 0, 0)
    return spec[0] + spec[2] * z0, spec[1] + spec[2] * z1


@kernel
def cpu_launch(state, n_steps, frame_steps, seed, params, kind, tparams, mix, paths, accepts, died_at):
    for p in numba.prange(state.shape[0]):
        advance_particle(p, state, n_steps, frame_steps, seed, params, kind, tparams, mix, paths, accepts,
                         died_at)


@kernel
def cuda_launch(state, n_steps, frame_steps, seed, params, kind, tparams, mix, paths, accepts, died_at):
    p = cuda.grid(1)
    if p < state.shape[0]:
        advance_particle(p, state, n_steps, frame_steps, seed, params, kind, tparams, mix, paths, accepts,
                         died_at)


@kernel
def cpu_init(positions, seed, mode, spec):
    for p in numba.prange(positions.shape[0]):
        positions[p, 0], positions[p, 1] = initial_position(p, seed, mode, spec)


def initial_positions(n: int, seed: int, mode: int, spec: np.ndarray) -> np.ndarray:
    """(n, 2) start positions, the same on every backend (drawn from the counter-based RNG)."""
    positions = np.empty((n, 2))
    cpu_init.compile("cpu")(positions, seed, mode, np.asarray(spec, dtype=np.float64))
    return positions


def launch(step, backend, state, n_steps, frame_steps, seed, params, kind, tparams, mix):
    """Run ``step`` over all rows of ``state``; returns (paths float32, cumulative accepts, died_at)."""
    n = state.shape[0]
    paths = np.empty((len(frame_steps), n, 2), dtype=np.float32)
    accepts = np.empty((len(frame_steps), n), dtype=np.float32)
    died_at = np.full(n, -1, dtype=np.int64)
    args = (n_steps, frame_steps, np.uint64(seed), params, kind, tparams, mix)
    if backend == "cpu":
        cpu_launch.compile("cpu", sampler_step=step)(state, *args, paths, accepts, died_at)
        return paths, accepts, died_at
    arrays = [cuda.to_device(a) for a in (state, frame_steps, params, tparams, mix, paths, accepts, died_at)]
    d_state, d_frames, d_params, d_tparams, d_mix, d_paths, d_accepts, d_died = arrays
    threads = min(128, 32 * ((n + 31) // 32))
    cuda_launch.compile("cuda", sampler_step=step)[(n + threads - 1) // threads, threads](
        d_state, n_steps, d_frames, np.uint64(seed), d_params, kind, d_tparams, d_mix, d_paths, d_accepts,
        d_died)
    d_state.copy_to_host(state)
    return d_paths.copy_to_host(), d_accepts.copy_to_host(), d_died.copy_to_host()
