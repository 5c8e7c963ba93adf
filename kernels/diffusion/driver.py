"""Run a diffusion sampler over many particles from noise to data, on CPU (prange) or CUDA.

Common noise (common random numbers, DESIGN §4): every run draws its start points from the exact
marginal p_{t_max} with numpy's generator seeded by ``seed`` (host side, so the ODE and the SDE, and
CPU and CUDA, start from the same points), and its step-k draw ξ from the counter-based generator keyed
by (seed, particle, k), the same for every sampler. With ``shared_path`` the draw of the step [t_k, t_{k+1}]
is instead the normalised sum Σ_j z_j/√m of the m increments of one fixed fine Brownian path (FINE_CELLS
uniform cells of [t_min, t_max]) that the step covers: refining the grid then refines *the same* path,
so a convergence study sees discretisation error, not a new draw. (A step inside one fine cell, m = 0,
falls back to its own per-step draw.) A per-particle CPU run on the shared path reads its ξ drawn
beforehand, once per seed, particle count and grid (kernels.diffusion.brownian); an ODE sampler, which
reads no ξ, draws none.

A particle whose position turns NaN/Inf or passes DIVERGENCE_LIMIT stops; its ``died_at`` is the step.

On the CPU, the exact score on a mixture runs on :func:`cpu_block_launch` (kernels.blocked, DESIGN §10):
``prange`` over blocks of particles, the time loop outside, and an inner loop over the block's particles
that LLVM vectorises. The sampler's kind and which draws it reads are compile-time constants (one kernel
per sampler), the denoiser is the exact one alone, the mixture a tuple of rows (its component loop
unrolls), ``exp``/``log`` the polynomial ones, and the step's draws are written first, one loop per draw.
It gives the per-particle launcher's numbers up to the rounding of the polynomial exp and log; a particle
that diverges is still stepped there (its later frames read NaN, as here).
"""
from __future__ import annotations

import math

import numba
import numpy as np

from kernels.blocked import BLOCK, BLOCKED_MAX_COMPONENTS, block_kernel, run_compiled
from kernels.chunks import first_frame, run_in_slices
from kernels.compile import device, kernel

from kernels.backend import cuda  # numba.cuda, imported on first use
from kernels.diffusion.brownian import NO_DRAWS, fine_cells, kept_step_draws, step_draw
from kernels.diffusion.grids import A, S
from kernels.diffusion.mlp_eval import as_model
from kernels.diffusion.samplers import EULER, P_FINE, P_SCORE, PC, SAMPLERS, SPECS, sampler_step
from kernels.diffusion.score import EXACT, LEARNED, mixture_denoiser
from kernels.mixture import mixture_flat, mixture_rows
from kernels.rng import STREAM_CORRECTOR, STREAM_DYNAMICS, STREAM_FINE_PATH, normal_pair

# The block launcher is 7–12× faster per particle-step but takes 17–24 s to compile per sampler with an
# empty cache (the per-particle kernel: one compile for all samplers); below this many particles a run
# takes milliseconds either way, so the scene's default sizes (2,000) keep the cold start short.
BLOCKED_MIN_PARTICLES = 10_000
DIVERGENCE_LIMIT = 1e8    # far outside every plotted box (VE starts at scale 80)
EXACT_CALL_COST = 10.0    # work units of one exact-score denoiser call on ring8 (step_cost)
EXACT_BLOCKED_CALL_COST = 1.0  # … on the block launcher
LEARNED_CALL_COST = 19.0  # … of one learned-network call, per thousand weights
CARRIED = 5               # what a step reads of the ones before: x, y, the last derivative (2), the last step


@device
def advance_particle(p, carry, kind, t_start, t_stop, n_steps, grid, params, frame_steps, seed, mix, model, paths,
                     died_at, drawn):
    """Run particle p from step t_start to t_stop of the n_steps of ``grid``; frames at ``frame_steps``.
    ``carry[p]`` holds what a step reads of the ones before (x, y, the multistep samplers' last
    derivative and step size): the start, then the state at the end of each slice (kernels.chunks).
    ``drawn``: the run's ξ drawn beforehand, or empty (kernels.diffusion.brownian.step_draw)."""
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
        xi0, xi1 = step_draw(drawn, seed, p, k, grid, params)
        # only predictor-corrector reads the corrector's pair; the others skip its two logs and a sincos
        zeta0, zeta1 = normal_pair(seed, STREAM_CORRECTOR, p, k, 0) if kind == PC else (0.0, 0.0)
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
def cpu_launch(carry, kind, t_start, t_stop, n_steps, grid, params, frame_steps, seed, mix, model, paths, died_at,
               drawn):
    for p in numba.prange(carry.shape[0]):
        advance_particle(p, carry, kind, t_start, t_stop, n_steps, grid, params, frame_steps, seed, mix, model, paths,
                         died_at, drawn)


@kernel
def cuda_launch(carry, kind, t_start, t_stop, n_steps, grid, params, frame_steps, seed, mix, model, paths, died_at,
                drawn):
    p = cuda.grid(1)
    if p < carry.shape[0]:
        advance_particle(p, carry, kind, t_start, t_stop, n_steps, grid, params, frame_steps, seed, mix, model, paths,
                         died_at, drawn)


@device
def block_draws(draws, lo, hi, seed, k, grid, params):
    """Step k's draws of particles lo … hi − 1 into ``draws``: ξ (columns 0, 1; as :func:`brownian_draw`
    draws it, in the same order of sums) and, for the corrector (``CORRECTOR``), ζ (columns 2, 3). Written
    over the block, one loop over its particles per draw, so that each loop vectorises."""
    first, last = fine_cells(k, grid)
    if params[P_FINE] > 0.0 and last > first:
        for p in range(lo, hi):
            draws[p, 0] = 0.0
            draws[p, 1] = 0.0
        for j in range(first, last):
            for p in range(lo, hi):
                zx, zy = normal_pair(seed, STREAM_FINE_PATH, p, j, 0)
                draws[p, 0] += zx
                draws[p, 1] += zy
        norm = 1.0 / math.sqrt(last - first)
        for p in range(lo, hi):
            draws[p, 0] *= norm
            draws[p, 1] *= norm
    else:
        for p in range(lo, hi):
            draws[p, 0], draws[p, 1] = normal_pair(seed, STREAM_DYNAMICS, p, k, 0)
    if CORRECTOR:
        for p in range(lo, hi):
            draws[p, 2], draws[p, 3] = normal_pair(seed, STREAM_CORRECTOR, p, k, 0)


# The block launcher's compile-time constants, rebound per sampler by :func:`block_launcher` (these values
# are placeholders): the sampler's kind, whether it reads ξ, whether it reads the corrector's ζ.
KIND = EULER
DRAWS = True
CORRECTOR = True


@kernel
def cpu_block_launch(carry, draws, t_start, t_stop, n_steps, grid, params, frame_steps, seed, mix, model, paths,
                     died_at):
    n = carry.shape[0]
    n_frames = frame_steps.shape[0]
    for block in numba.prange((n + BLOCK - 1) // BLOCK):
        lo = np.uint64(block * BLOCK)  # unsigned: no negative-index wraparound select in the indexing
        hi = np.uint64(min(block * BLOCK + BLOCK, n))
        rows = mixture_rows(mix)
        frame = first_frame(frame_steps, t_start)
        for k in range(t_start, t_stop + 1):
            while frame < n_frames and frame_steps[frame] == k:
                for p in range(lo, hi):
                    alive = died_at[p] < 0
                    paths[frame, p, 0] = carry[p, 0] if alive else math.nan
                    paths[frame, p, 1] = carry[p, 1] if alive else math.nan
                frame += 1
            if k == t_stop:
                break
            if DRAWS:
                block_draws(draws, lo, hi, seed, k, grid, params)
            for p in range(lo, hi):
                x, y, d_prev_x, d_prev_y, h_prev = sampler_step(
                    KIND, carry[p, 0], carry[p, 1], carry[p, 2], carry[p, 3], carry[p, 4], k, n_steps, grid, params,
                    rows, model, draws[p, 0], draws[p, 1], draws[p, 2], draws[p, 3])
                carry[p, 0] = x
                carry[p, 1] = y
                carry[p, 2] = d_prev_x
                carry[p, 3] = d_prev_y
                carry[p, 4] = h_prev
                alive = died_at[p] < 0
                fine = (abs(x) < DIVERGENCE_LIMIT) & (abs(y) < DIVERGENCE_LIMIT)  # NaN fails
                died_at[p] = k if (alive & ~fine) else died_at[p]


def block_launcher(sampler: str, parallel: bool = True):
    """:func:`cpu_block_launch` for ``sampler`` with the exact score (kernels.blocked.block_kernel): its kind
    and its draws compile-time constants, ``denoiser`` rebound to the exact one alone."""
    spec = SPECS[sampler]
    return block_kernel(cpu_block_launch, parallel, KIND=spec.kind, DRAWS=spec.stochastic,
                        CORRECTOR=spec.kind == PC, denoiser=mixture_denoiser)


def particle_launcher(score_kind: float):
    """:func:`cpu_launch` for the exact score alone (``denoiser`` rebound to the exact one, as on the block
    launcher), or for every score: the network's evaluation is not compiled into the runs that read no
    network, the scene's default (its cold first run in one process 13.1 → 9.9 s)."""
    return cpu_launch.compile("cpu", denoiser=mixture_denoiser) if score_kind == EXACT else cpu_launch.compile("cpu")


def start_points(target, n: int, grid: np.ndarray, seed: int) -> np.ndarray:
    """n exact draws from p_{t_max}: a x₀ + s z with x₀ from the target (host numpy, seeded)."""
    x0 = target.sample(n, seed=seed)
    z = np.random.default_rng([seed, 1]).standard_normal((n, 2))
    return np.ascontiguousarray(grid[0, A] * x0 + grid[0, S] * z)


def sample_paths(sampler: str, starts: np.ndarray, grid: np.ndarray, params: np.ndarray, frame_steps: np.ndarray,
                 seed: int, mix: np.ndarray, backend: str = "cpu", model: np.ndarray | None = None, between=None,
                 slice_steps: int | None = None, blocked: bool | None = None):
    """Run ``sampler`` over the steps of ``grid`` from ``starts`` (n, 2); ``model``: the learned
    denoiser's flat weights (:mod:`kernels.diffusion.mlp_eval`), read only by the ``learned`` score. The
    steps run in slices with ``between()`` after each but the last (kernels.chunks; the numbers do not
    depend on the slicing). On the CPU, the exact score on a mixture of at most BLOCKED_MAX_COMPONENTS
    components runs on the vectorised block launcher when ``blocked`` is True, or when it is None and there
    are BLOCKED_MIN_PARTICLES particles or more (module doc); the others, and ``blocked=False``, on the
    per-particle one, the reference it is tested against.

    Returns (paths (n_frames, n, 2) float32 at ``frame_steps``, died_at (n,) int64: −1 or the step).
    """
    n = starts.shape[0]
    n_steps = grid.shape[0] - 1
    frame_steps = np.ascontiguousarray(frame_steps, dtype=np.int64)
    paths = np.empty((len(frame_steps), n, 2), dtype=np.float32)
    died_at = np.full(n, -1, dtype=np.int64)
    params = np.array(params, dtype=np.float64)
    if not SPECS[sampler].stochastic:  # an ODE reads no ξ: none of the fine path's 2,048 pairs a particle are drawn
        params[P_FINE] = 0.0
    carry = np.zeros((n, CARRIED))
    carry[:, :2] = starts
    kind, grid, seed = SAMPLERS[sampler], np.ascontiguousarray(grid), np.uint64(seed)
    model = as_model(model, params[P_SCORE] == LEARNED)
    work = n * step_cost(sampler, len(mix), params[P_SCORE] == LEARNED, len(model),
                         takes_block_path(n, params[P_SCORE] == EXACT, len(mix), backend, blocked))
    if takes_block_path(n, params[P_SCORE] == EXACT, len(mix), backend, blocked):
        columns, draws = np.asfortranarray(carry), np.zeros((n, 4), order="F")
        kernel, rows = block_launcher(sampler), mixture_flat(mix)
        run_in_slices(n_steps, work, lambda t0, t1: run_compiled(kernel, columns, draws, t0, t1, n_steps, grid, params,
                                                                 frame_steps, seed, rows, model, paths, died_at),
                      between, slice_steps)
        return paths, died_at
    if backend == "cpu":
        kernel, drawn = particle_launcher(params[P_SCORE]), kept_step_draws(seed, n, grid, params)
        run_in_slices(n_steps, work, lambda t0, t1: kernel(carry, kind, t0, t1, n_steps, grid, params, frame_steps,
                                                           seed, mix, model, paths, died_at, drawn), between, slice_steps)
        return paths, died_at
    d_carry, d_grid, d_params, d_frames, d_mix, d_model, d_paths, d_died, d_drawn = (
        cuda.to_device(a) for a in (carry, grid, params, frame_steps, mix, model, paths, died_at, NO_DRAWS))
    threads = min(128, 32 * ((n + 31) // 32))
    kernel = cuda_launch.compile("cuda")[(n + threads - 1) // threads, threads]

    def run_slice(t0, t1):
        kernel(d_carry, kind, t0, t1, n_steps, d_grid, d_params, d_frames, seed, d_mix, d_model, d_paths, d_died,
               d_drawn)
        cuda.synchronize()  # the slice is done before ``between`` may stop the run

    run_in_slices(n_steps, work, run_slice, between, slice_steps)
    return d_paths.copy_to_host(), d_died.copy_to_host()


def takes_block_path(n: int, exact: bool, n_components: int, backend: str = "cpu", blocked: bool | None = None):
    """Whether :func:`sample_paths` runs on the block launcher: on the CPU, the exact score on a mixture of at
    most BLOCKED_MAX_COMPONENTS components, when ``blocked`` is True, or None with n ≥ BLOCKED_MIN_PARTICLES."""
    wanted = n >= BLOCKED_MIN_PARTICLES if blocked is None else blocked
    return backend == "cpu" and wanted and exact and n_components <= BLOCKED_MAX_COMPONENTS


def step_cost(sampler: str, n_components: int, learned: bool, model_size: int, blocked: bool = False) -> float:
    """The work of one particle-step in units of ULA's on ring8 (kernels.chunks): the sampler's denoiser
    calls per step times one call's cost, EXACT_CALL_COST on an 8-component mixture (the posterior over the
    components; EXACT_BLOCKED_CALL_COST on the block launcher), growing with the components, or
    LEARNED_CALL_COST per thousand weights of the learned network. Measured with
    ``python benchmarks/step_costs.py``; an estimate, good to about a factor of two."""
    exact_cost = EXACT_BLOCKED_CALL_COST if blocked else EXACT_CALL_COST
    per_call = LEARNED_CALL_COST * model_size / 1000 if learned else exact_cost * max(1.0, n_components / 8)
    return SPECS[sampler].nfe_per_step * per_call
