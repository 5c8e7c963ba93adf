"""The diffusion samplers' step draws ξ_k, and those of the shared fine Brownian path drawn once and kept.

A step's draw is a standard normal pair from the counter-based generator keyed by (seed, particle, k);
on the shared path (params[P_FINE] > 0) it is instead the normalised sum Σ_j z_j/√m of the m increments of
one fixed fine Brownian path (FINE_CELLS uniform cells of [t_min, t_max]) that the step covers, so that
refining the grid refines *the same* path (kernels.diffusion.driver's module doc).

That sum is 2,048 normal pairs a particle for a run at any step count: about half of a default SDE run
(2,000 particles, 100 steps: 28 ms on the shared path, 16 ms off it). The pairs depend only on the seed, the particle and the
grid's fine cells, not on the noise knob or the sampler, so a drag of the noise knob, or the NFE chart's
stochastic samplers at one NFE, would draw the same ones over and over. :func:`kept_step_draws` draws a
per-particle CPU run's ξ once per (seed, particles, fine cells), with :func:`brownian_draw` itself (the same
numbers, in the same order of sums), and keeps the latest ones up to KEPT_BYTES; the run then reads them
(:func:`step_draw`).
"""
from __future__ import annotations

import math
import threading
from collections import OrderedDict

import numba
import numpy as np

from kernels.compile import device, kernel
from kernels.diffusion.grids import FINE
from kernels.diffusion.samplers import P_FINE
from kernels.rng import STREAM_DYNAMICS, STREAM_FINE_PATH, normal_pair

# The kept draws, all runs together: the default scene's take 4.2 MB (its run, 2,000 × 100 × 16 B, and the NFE
# chart's at 600 particles), well within the 24 MB a served process may grow by (explorer.recycling).
KEPT_BYTES = 8 * 2**20
NO_DRAWS = np.zeros((0, 0, 2))  # a run that draws its ξ as it goes


@device
def fine_cells(k, grid):
    """The cells [first, last) of the fine Brownian path that step k covers."""
    return int(grid[k, FINE]), int(grid[k + 1, FINE])


@device
def brownian_draw(seed, p, k, grid, params):
    """The step's standard normal pair: per step, or summed from the fine path (module doc)."""
    if params[P_FINE] > 0.0:
        first, last = fine_cells(k, grid)
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
def step_draw(drawn, seed, p, k, grid, params):
    """:func:`brownian_draw`, read from ``drawn`` (particles × steps × 2) when the run's draws were made
    beforehand (:func:`kept_step_draws`), made now when ``drawn`` is empty (NO_DRAWS)."""
    if drawn.shape[0] > 0:
        return drawn[p, k, 0], drawn[p, k, 1]
    return brownian_draw(seed, p, k, grid, params)


@kernel
def cpu_step_draws(out, seed, grid, params):
    for p in numba.prange(out.shape[0]):
        for k in range(out.shape[1]):
            out[p, k, 0], out[p, k, 1] = brownian_draw(seed, p, k, grid, params)


_KEPT: OrderedDict = OrderedDict()
_KEPT_LOCK = threading.Lock()


def kept_step_draws(seed: np.uint64, n: int, grid: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Every step's ξ of particles 0 … n − 1 on the shared fine path, (n, n_steps, 2), drawn once per (seed,
    n, fine cells) and kept (the latest, up to KEPT_BYTES); NO_DRAWS off the shared path, or for a run whose
    draws alone would pass KEPT_BYTES (it draws them as it goes)."""
    n_steps = grid.shape[0] - 1
    if not params[P_FINE] > 0.0 or n * n_steps * 16 > KEPT_BYTES:
        return NO_DRAWS
    key = (int(seed), n, grid[:, FINE].tobytes())
    with _KEPT_LOCK:
        if key in _KEPT:
            _KEPT.move_to_end(key)
            return _KEPT[key]
    out = np.empty((n, n_steps, 2))
    cpu_step_draws.compile("cpu")(out, np.uint64(seed), grid, params)
    with _KEPT_LOCK:
        _KEPT[key] = out
        while sum(a.nbytes for a in _KEPT.values()) > KEPT_BYTES:
            _KEPT.popitem(last=False)
    return out
