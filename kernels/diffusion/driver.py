"""Run a diffusion sampler over many particles from noise to data, on CPU (prange) or CUDA.

Common noise (common random numbers, DESIGN §4): every run draws its start points from the exact
marginal p_{t_max} with numpy's generator seeded by ``seed`` (host side, so the ODE and the SDE, and
CPU and CUDA, start from the same points), and its step-k draw ξ from the counter-based generator keyed
by (seed, particle, k), the same for every sampler. With ``shared_path`` the draw of the step [t_k, t_{k+1}]
is instead the normalised sum Σ_j z_j/√m of the m increments of one fixed fine Brownian path (FINE_CELLS
uniform cells of [t_min, t_max]) that the step covers: refining the grid then refines *the same* path,
so a convergence study sees discretisation error, not a new draw. (A step inside one fine cell, m = 0,
falls back to its own per-step draw.)

A particle whose position turns NaN/Inf or passes DIVERGENCE_LIMIT stops; its ``died_at`` is the step.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from kernels.chunks import first_frame, run_in_slices
from kernels.compile import device, kernel

try:  # the CUDA target is optional; kernels refer to the module by this global name
    from numba import cuda
except ImportError:  # pragma: no cover
    cuda = None
from kernels.diffusion.grids import FINE, A, S
from kernels.diffusion.mlp_eval import as_model
from kernels.diffusion.samplers import P_FINE, P_SCORE, SAMPLERS, SPECS, sampler_step
from kernels.diffusion.score import LEARNED
from kernels.rng import STREAM_CORRECTOR, STREAM_DYNAMICS, STREAM_FINE_PATH, normal_pair

DIVERGENCE_LIMIT = 1e8    # far outside every plotted box (VE starts at scale 80)
EXACT_CALL_COST = 10.0    # work units of one exact-score denoiser call on ring8 (step_cost)
LEARNED_CALL_COST = 19.0  # … of one learned-network call, per thousand weights
CARRIED = 5               # what a step reads of the ones before: x, y, the last derivative (2), the last step


@device
def brownian_draw(seed, p, k, grid, params):
    """The step's standard normal pair: per step, or summed from the fine path (module doc)."""
    if params[P_FINE] > 0.0:
        first = int(grid[k, FINE])
        last = int(grid[k + 1, FINE])
        if last > first:
            sx = 0.0
            sy = 0.0
            for j in range(first, last):
                zx, zy = normal_pair(seed, STREAM_FINE_PATH, p, j, 0)
                sx += zx
                sy += zy
            norm = 1.0 / math.sqrt(last - first)
            return sx * norm, sy * norm
    return normal_pair(seed, STREAM_DYNAMICS, p, k, 0)


@device
def advance_particle(p, carry, kind, t_start, t_stop, n_steps, grid, params, frame_steps, seed, mix, model, paths,
                     died_at):
    """Run particle p from step t_start to t_stop of the n_steps of ``grid``; frames at ``frame_steps``.
    ``carry[p]`` holds what a step reads of the ones before (x, y, the multistep samplers' last
    derivative and step size): the start, then the state at the end of each slice (kernels.chunks)."""
    if died_at[p] >= 0:
        return
    x = carry[p, 0]
    y = carry[p, 1]
    d_prev_x = carry[p, 2]
    d_prev_y = carry[p, 3]
    h_prev = carry[p, 4]
    frame = first_frame(frame_steps, t_start)
    n_frames = frame_steps.shape[0]
    for k in range(t_start, t_stop + 1):
        while frame < n_frames and frame_steps[frame] == k:
            paths[frame, p, 0] = x
            paths[frame, p, 1] = y
            frame += 1
        if k == t_stop:
            break
        xi0, xi1 = brownian_draw(seed, p, k, grid, params)
        zeta0, zeta1 = normal_pair(seed, STREAM_CORRECTOR, p, k, 0)
        x, y, d_prev_x, d_prev_y, h_prev = sampler_step(kind, x, y, d_prev_x, d_prev_y, h_prev, k, n_steps, grid,
                                                        params, mix, model, xi0, xi1, zeta0, zeta1)
        if not (abs(x) < DIVERGENCE_LIMIT and abs(y) < DIVERGENCE_LIMIT):  # NaN fails too
            died_at[p] = k
            while frame < n_frames:
                paths[frame, p, 0] = math.nan
                paths[frame, p, 1] = math.nan
                frame += 1
            break
    carry[p, 0] = x
    carry[p, 1] = y
    carry[p, 2] = d_prev_x
    carry[p, 3] = d_prev_y
    carry[p, 4] = h_prev


@kernel
def cpu_launch(carry, kind, t_start, t_stop, n_steps, grid, params, frame_steps, seed, mix, model, paths, died_at):
    for p in numba.prange(carry.shape[0]):
        advance_particle(p, carry, kind, t_start, t_stop, n_steps, grid, params, frame_steps, seed, mix, model, paths,
                         died_at)


@kernel
def cuda_launch(carry, kind, t_start, t_stop, n_steps, grid, params, frame_steps, seed, mix, model, paths, died_at):
    p = cuda.grid(1)
    if p < carry.shape[0]:
        advance_particle(p, carry, kind, t_start, t_stop, n_steps, grid, params, frame_steps, seed, mix, model, paths,
                         died_at)


def start_points(target, n: int, grid: np.ndarray, seed: int) -> np.ndarray:
    """n exact draws from p_{t_max}: a x₀ + s z with x₀ from the target (host numpy, seeded)."""
    x0 = target.sample(n, seed=seed)
    z = np.random.default_rng([seed, 1]).standard_normal((n, 2))
    return np.ascontiguousarray(grid[0, A] * x0 + grid[0, S] * z)


def sample_paths(sampler: str, starts: np.ndarray, grid: np.ndarray, params: np.ndarray, frame_steps: np.ndarray,
                 seed: int, mix: np.ndarray, backend: str = "cpu", model: np.ndarray | None = None, between=None,
                 slice_steps: int | None = None):
    """Run ``sampler`` over the steps of ``grid`` from ``starts`` (n, 2); ``model``: the learned
    denoiser's flat weights (:mod:`kernels.diffusion.mlp_eval`), read only by the ``learned`` score. The
    steps run in slices with ``between()`` after each but the last (kernels.chunks; the numbers do not
    depend on the slicing).

    Returns (paths (n_frames, n, 2) float32 at ``frame_steps``, died_at (n,) int64: −1 or the step).
    """
    n = starts.shape[0]
    n_steps = grid.shape[0] - 1
    frame_steps = np.ascontiguousarray(frame_steps, dtype=np.int64)
    paths = np.empty((len(frame_steps), n, 2), dtype=np.float32)
    died_at = np.full(n, -1, dtype=np.int64)
    params = np.asarray(params, dtype=np.float64)
    carry = np.zeros((n, CARRIED))
    carry[:, :2] = starts
    kind, grid, seed = SAMPLERS[sampler], np.ascontiguousarray(grid), np.uint64(seed)
    model = as_model(model, params[P_SCORE] == LEARNED)
    work = n * step_cost(sampler, len(mix), params[P_SCORE] == LEARNED, len(model))
    if backend == "cpu":
        kernel = cpu_launch.compile("cpu")
        run_in_slices(n_steps, work, lambda t0, t1: kernel(carry, kind, t0, t1, n_steps, grid, params, frame_steps,
                                                           seed, mix, model, paths, died_at), between, slice_steps)
        return paths, died_at
    d_carry, d_grid, d_params, d_frames, d_mix, d_model, d_paths, d_died = (
        cuda.to_device(a) for a in (carry, grid, params, frame_steps, mix, model, paths, died_at))
    threads = min(128, 32 * ((n + 31) // 32))
    kernel = cuda_launch.compile("cuda")[(n + threads - 1) // threads, threads]

    def run_slice(t0, t1):
        kernel(d_carry, kind, t0, t1, n_steps, d_grid, d_params, d_frames, seed, d_mix, d_model, d_paths, d_died)
        cuda.synchronize()  # the slice is done before ``between`` may stop the run

    run_in_slices(n_steps, work, run_slice, between, slice_steps)
    return d_paths.copy_to_host(), d_died.copy_to_host()


def step_cost(sampler: str, n_components: int, learned: bool, model_size: int) -> float:
    """The work of one particle-step in units of ULA's on ring8 (kernels.chunks): the sampler's denoiser
    calls per step times one call's cost, EXACT_CALL_COST on an 8-component mixture (the posterior over the
    components), growing with the components, or LEARNED_CALL_COST per thousand weights of the learned
    network. Measured with ``python benchmarks/step_costs.py``; an estimate, good to about a factor of two."""
    per_call = LEARNED_CALL_COST * model_size / 1000 if learned else EXACT_CALL_COST * max(1.0, n_components / 8)
    return SPECS[sampler].nfe_per_step * per_call
