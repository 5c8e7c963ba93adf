"""Long runs in slices of their time loop, so that a run stops when asked and shares the cores (issue 17).

A kernel whose time loop runs from ``t_start`` to ``t_stop``, with everything a step reads carried in
arrays from one slice to the next, gives the same numbers for any slicing: the noise of step t is the
counter-based draw of (seed, stream, particle, t) (kernels.rng, DESIGN §4), not the next numbers of a
stream consumed in order. :func:`run_in_slices` cuts the ``n_steps`` steps into slices of about
``SLICE_WORK`` units of work (particle-steps of the cheapest sampler, or their equivalent) and calls
``between()`` after each slice but the last: there the app checks its cancel flag (a newer request, a
closed session, Cancel) and lets a waiting session's run take its turn on the cores (explorer.live).
"""
from __future__ import annotations

from typing import Callable

from kernels.compile import device

# The unit of work: one particle-step of ULA on the ring8 mixture. Both cores of the CI machine do about
# WORK_PER_SECOND of them (``python benchmarks/step_costs.py`` measures it, and each kernel's cost in units)
WORK_PER_SECOND = 5.0e7
# A GPU's rate in the same units, as a multiple of that: issue 20's floor for ULA on an H200 (≥ 50× these two
# cores). No GPU has measured it yet; ``python -m benchmarks.gpu`` prints the measured ratio ("× CPU") to put here
GPU_SPEEDUP = 50.0
SLICE_SECONDS = 0.05   # a slice's length there: a cancel takes effect within about one slice
SLICE_WORK = WORK_PER_SECOND * SLICE_SECONDS


def work_per_second(backend: str) -> float:
    """Units of work per second on ``backend`` ("cpu" or "cuda"): what a run's work estimate is divided by."""
    return WORK_PER_SECOND * (GPU_SPEEDUP if backend == "cuda" else 1.0)


@device
def first_frame(frame_steps, t_start):
    """The index of the first frame at or after step ``t_start``: a slice records the frames from there
    (the one at ``t_start`` again, with the same values, when the slice before ended on it)."""
    frame = 0
    while frame < frame_steps.shape[0] and frame_steps[frame] < t_start:
        frame += 1
    return frame


def slices(n_steps: int, work_per_step: float, slice_steps: int | None = None) -> list[tuple[int, int]]:
    """[(t_start, t_stop)] covering steps 0 … n_steps in order: ``slice_steps`` steps each, by default as many
    as make about SLICE_WORK units at ``work_per_step`` units per step (at least one). ``n_steps = 0`` gives
    the one empty slice (0, 0), which still records the frame at step 0."""
    size = slice_steps or max(1, int(SLICE_WORK // max(work_per_step, 1.0)))
    return [(t, min(t + size, n_steps)) for t in range(0, n_steps, size)] or [(0, 0)]


def run_in_slices(n_steps: int, work_per_step: float, run_slice: Callable[[int, int], None],
                  between: Callable[[], None] | None = None, slice_steps: int | None = None) -> None:
    """``run_slice(t_start, t_stop)`` over :func:`slices`, with ``between()`` after every slice but the last
    (it may raise, e.g. ``Cancelled``, to stop the run there)."""
    parts = slices(n_steps, work_per_step, slice_steps)
    for index, (t_start, t_stop) in enumerate(parts):
        run_slice(t_start, t_stop)
        if between is not None and index + 1 < len(parts):
            between()
