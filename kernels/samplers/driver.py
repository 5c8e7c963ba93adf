"""Run a per-particle sampler step over many particles and record decimated frames, on CPU or CUDA.

:func:`advance_particle` is the whole life of one particle: ``n_steps`` calls of the sampler's step,
the position written to ``paths`` at the steps in ``frame_steps``, the running acceptance count beside
it, and a stop at the first position that is NaN, Inf or beyond DIVERGENCE_LIMIT (the step is written to ``died_at``; later frames are
NaN); a run that starts at step 0 first calls the sampler's ``init`` on the particle (what its step
caches beside the position). The CUDA launcher runs it one thread per particle; both launchers are
specialised per sampler by rebinding the global names ``sampler_step`` and ``sampler_init``.

On a mixture target (the case that matters for speed) the CPU launcher, :func:`cpu_block_launch`,
runs the same step on blocks of BLOCK particles: ``prange``
over blocks, the time loop outside, an inner loop over the block's particles (DESIGN §10). The state is
Fortran-ordered, so each column of a block is contiguous; the step is compiled with the vectorisable
``exp``/``log`` of :data:`kernels.fastmath.FAST_MATH`, with ``potential`` rebound to
:func:`kernels.mixture.mixture_as_potential` and the mixture passed as a tuple of rows (its component
loop unrolls), so the inner loop is straight-line code that LLVM vectorises. A mixture of more than
BLOCKED_MAX_COMPONENTS components is passed as a Fortran-ordered array instead, ``potential`` rebound to
:func:`kernels.mixture.wide_mixture_as_potential`: one kernel for every K, the loops over components
vectorised in place of the particle loop (kernels.blocked.block_mixture). The draws are the
same counter-based ones, so the results equal the per-particle ones (:func:`cpu_launch`, library
``exp``/``log``) up to the rounding of the polynomial exp and log (about 1e-16 relative per call). A
particle that diverges is still stepped (its values are not used): the frames after its divergence read
NaN, its accept count stops, as in :func:`advance_particle`. The other targets branch on their kind
(and the typed-formula evaluator allocates), which would not vectorise: they run on :func:`cpu_launch`,
``prange`` over particles.

A sampler whose step loops a run-time number of times (HMC's leapfrog steps) would leave that loop, not the
particle loop, innermost. Such a sampler also gives its step as :class:`Phases`: a proposal, sub-steps and
an acceptance, each a step-shaped function over the state (its proposal kept in state columns). The block
launcher runs each phase over the whole block, the sub-step loop outside the particle loop; its step
(for the per-particle and CUDA launchers) is the same phases run in order, so the numbers are the same.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from kernels.chunks import first_frame, run_in_slices
from kernels.blocked import BLOCK, block_kernel, block_mixture, is_wide, run_compiled
from kernels.compile import DeviceFunction, device, kernel
from kernels.mixture import mixture_as_potential, mixture_rows, wide_mixture_as_potential

from kernels.backend import cuda  # numba.cuda, imported on first use
from kernels.rng import STREAM_INIT, normal_pair, uniform
from kernels.targets import MIXTURE

INIT_POINT, INIT_BOX, INIT_GAUSSIAN = 0, 1, 2
# A coordinate beyond this has left every plotted box by twelve orders of magnitude: the run diverged
# (an unstable linear recursion can grow for hundreds of steps before float64 overflows to Inf).
DIVERGENCE_LIMIT = 1e12


@device
def sampler_step(state, p, t, n_steps, seed, params, kind, tparams, mix):
    """Placeholder rebound to a real sampler's step when the driver is compiled."""
    return 0.0


@device
def sampler_init(state, p, seed, params, kind, tparams, mix):
    """Placeholder rebound to a real sampler's init when the driver is compiled."""
    return


@device
def sampler_propose(state, p, t, n_steps, seed, params, kind, tparams, mix):
    """Placeholder rebound to a phased sampler's proposal (Phases) in the block launcher."""
    return


@device
def sampler_substep(state, p, t, n_steps, seed, params, kind, tparams, mix, j):
    """Placeholder rebound to a phased sampler's sub-step j (Phases) in the block launcher."""
    return


@device
def sampler_substeps(params):
    """Placeholder rebound to a phased sampler's count of sub-steps per step (0: a sampler without phases)."""
    return 0


@device
def no_proposal(state, p, t, n_steps, seed, params, kind, tparams, mix):
    """The proposal phase of a sampler whose sub-steps start from the state as it is."""
    return


class Phases(NamedTuple):
    """A step as a proposal, sub-steps j = 0 … ``substeps(params)`` − 1, and an acceptance returning the step's
    accept count (1.0 if accepted)."""
    propose: DeviceFunction
    substep: DeviceFunction
    substeps: DeviceFunction
    accept: DeviceFunction


@device
def no_init(state, p, seed, params, kind, tparams, mix):
    """The init of a sampler whose state is its position alone."""
    return


@device
def advance_particle(p, state, t_start, t_stop, n_steps, frame_steps, seed, params, kind, tparams, mix, paths,
                     accepts, died_at, accepted):
    """Run particle p from step t_start to t_stop (of n_steps), its accept count carried in accepted[p];
    see the module doc. A particle that died in an earlier slice is left as it is (its frames read NaN)."""
    if died_at[p] >= 0:
        return
    if t_start == 0:
        sampler_init(state, p, seed, params, kind, tparams, mix)
    n_frames = frame_steps.shape[0]
    frame = first_frame(frame_steps, t_start)
    count = accepted[p]
    for t in range(t_start, t_stop + 1):
        while frame < n_frames and frame_steps[frame] == t:
            paths[frame, p, 0] = state[p, 0]
            paths[frame, p, 1] = state[p, 1]
            accepts[frame, p] = count
            frame += 1
        if t == t_stop:
            break
        count += sampler_step(state, p, t, n_steps, seed, params, kind, tparams, mix)
        if not (abs(state[p, 0]) < DIVERGENCE_LIMIT and abs(state[p, 1]) < DIVERGENCE_LIMIT):  # NaN fails too
            died_at[p] = t
            while frame < n_frames:
                paths[frame, p, 0] = math.nan
                paths[frame, p, 1] = math.nan
                accepts[frame, p] = count
                frame += 1
            break
    accepted[p] = count


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
def cpu_launch(state, t_start, t_stop, n_steps, frame_steps, seed, params, kind, tparams, mix, paths, accepts,
               died_at, accepted):
    for p in numba.prange(state.shape[0]):
        advance_particle(p, state, t_start, t_stop, n_steps, frame_steps, seed, params, kind, tparams, mix, paths,
                         accepts, died_at, accepted)


@kernel
def cpu_block_launch(state, t_start, t_stop, n_steps, frame_steps, seed, params, kind, tparams, mix, paths,
                     accepts, died_at, accepted):
    n = state.shape[0]
    n_frames = frame_steps.shape[0]
    for block in numba.prange((n + BLOCK - 1) // BLOCK):
        lo = np.uint64(block * BLOCK)  # unsigned: no negative-index wraparound select in the indexing
        hi = np.uint64(min(block * BLOCK + BLOCK, n))
        rows = mixture_rows(mix)
        if t_start == 0:
            for p in range(lo, hi):
                sampler_init(state, p, seed, params, kind, tparams, rows)
        frame = first_frame(frame_steps, t_start)
        for t in range(t_start, t_stop + 1):
            while frame < n_frames and frame_steps[frame] == t:
                for p in range(lo, hi):
                    alive = died_at[p] < 0
                    paths[frame, p, 0] = state[p, 0] if alive else math.nan
                    paths[frame, p, 1] = state[p, 1] if alive else math.nan
                    accepts[frame, p] = accepted[p]
                frame += 1
            if t == t_stop:
                break
            for p in range(lo, hi):  # a phased sampler's phases, each over the block (none for the others)
                sampler_propose(state, p, t, n_steps, seed, params, kind, tparams, rows)
            for j in range(sampler_substeps(params)):
                for p in range(lo, hi):
                    sampler_substep(state, p, t, n_steps, seed, params, kind, tparams, rows, j)
            for p in range(lo, hi):
                a = sampler_step(state, p, t, n_steps, seed, params, kind, tparams, rows)
                alive = died_at[p] < 0
                accepted[p] += a if alive else 0.0
                fine = (abs(state[p, 0]) < DIVERGENCE_LIMIT) & (abs(state[p, 1]) < DIVERGENCE_LIMIT)  # NaN fails
                died_at[p] = t if (alive & ~fine) else died_at[p]


@kernel
def cuda_launch(state, t_start, t_stop, n_steps, frame_steps, seed, params, kind, tparams, mix, paths, accepts,
                died_at, accepted):
    p = cuda.grid(1)
    if p < state.shape[0]:
        advance_particle(p, state, t_start, t_stop, n_steps, frame_steps, seed, params, kind, tparams, mix, paths,
                         accepts, died_at, accepted)


@kernel
def cpu_init(positions, seed, mode, spec):
    for p in numba.prange(positions.shape[0]):
        positions[p, 0], positions[p, 1] = initial_position(p, seed, mode, spec)


def initial_positions(n: int, seed: int, mode: int, spec: np.ndarray) -> np.ndarray:
    """(n, 2) start positions, the same on every backend (drawn from the counter-based RNG)."""
    positions = np.empty((n, 2))
    cpu_init.compile("cpu")(positions, seed, mode, np.asarray(spec, dtype=np.float64))
    return positions


def cpu_block_kernel(step: DeviceFunction, parallel: bool = True, init: DeviceFunction = no_init,
                     phases: Phases | None = None, wide: bool = False):
    """:func:`cpu_block_launch` for ``step`` (and its ``init``; its ``phases`` in place of the step, if it has
    them) on a mixture target (see module doc), compiled once per sampler by :func:`kernels.blocked.block_kernel`;
    ``wide``: for a mixture passed as an array (kernels.blocked.block_mixture), its potential by two passes."""
    phased = {} if phases is None else dict(sampler_propose=phases.propose, sampler_substep=phases.substep,
                                            sampler_substeps=phases.substeps, sampler_step=phases.accept)
    return block_kernel(cpu_block_launch, parallel, **{"sampler_step": step, **phased}, sampler_init=init,
                        potential=wide_mixture_as_potential if wide else mixture_as_potential)


def launch(step, backend, state, n_steps, frame_steps, seed, params, kind, tparams, mix, blocked=True,
           work_per_step=1.0, between=None, slice_steps=None, init=no_init, phases: Phases | None = None):
    """Run ``step`` over all rows of ``state`` (``init`` first on each row, a run starting at step 0); returns
    (paths float32, cumulative accepts, died_at).

    The time loop runs in slices (kernels.chunks: ``work_per_step`` units per step over all particles,
    ``between()`` after each slice but the last); the numbers do not depend on the slicing. On the CPU, a
    mixture target runs on the vectorised block launcher unless ``blocked`` is False; the other targets, and ``blocked=False``, on the per-particle one with the library
    ``exp``/``log`` (the reference the block launcher is tested against)."""
    n = state.shape[0]
    paths = np.empty((len(frame_steps), n, 2), dtype=np.float32)
    accepts = np.empty((len(frame_steps), n), dtype=np.float32)
    died_at = np.full(n, -1, dtype=np.int64)
    accepted = np.zeros(n)
    tail = (n_steps, frame_steps, np.uint64(seed), params, kind, tparams)

    def run(run_slice):
        run_in_slices(n_steps, work_per_step, run_slice, between, slice_steps)

    if backend == "cpu" and blocked and kind == MIXTURE:
        columns, mixture = np.asfortranarray(state), block_mixture(mix)
        kernel = cpu_block_kernel(step, init=init, phases=phases, wide=is_wide(mixture))
        run(lambda t0, t1: run_compiled(kernel, columns, t0, t1, *tail, mixture, paths, accepts, died_at, accepted))
        state[...] = columns
        return paths, accepts, died_at
    if backend == "cpu":
        kernel = cpu_launch.compile("cpu", sampler_step=step, sampler_init=init)
        run(lambda t0, t1: kernel(state, t0, t1, *tail, mix, paths, accepts, died_at, accepted))
        return paths, accepts, died_at
    arrays = [cuda.to_device(a) for a in (state, frame_steps, params, tparams, mix, paths, accepts, died_at,
                                          accepted)]
    d_state, d_frames, d_params, d_tparams, d_mix, d_paths, d_accepts, d_died, d_accepted = arrays
    threads = min(128, 32 * ((n + 31) // 32))
    kernel = cuda_launch.compile("cuda", sampler_step=step, sampler_init=init)[(n + threads - 1) // threads, threads]

    def run_slice(t0, t1):
        kernel(d_state, t0, t1, n_steps, d_frames, np.uint64(seed), d_params, kind, d_tparams, d_mix, d_paths,
               d_accepts, d_died, d_accepted)
        cuda.synchronize()  # the slice is done before ``between`` may stop the run

    run(run_slice)
    d_state.copy_to_host(state)
    return d_paths.copy_to_host(), d_accepts.copy_to_host(), d_died.copy_to_host()
