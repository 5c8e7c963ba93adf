"""Entropic optimal transport between two uniform 2D clouds by log-domain Sinkhorn.

Problem (the static Schrödinger bridge for the reference σW, with ε = σ²; Léonard 2014):

    min_π  Σ_ij π_ij ½‖x_i − y_j‖² + ε KL(π ‖ a⊗b),   a_i = 1/n, b_j = 1/m,

whose solution is π_ij = exp((f_i + g_j − C_ij)/ε), C_ij = ½‖x_i − y_j‖², with potentials from the
alternating updates (Peyré & Cuturi 2019, "Computational Optimal Transport", §4.4, eq. 4.43):

    f_i ← ε log a_i − ε LSE_j((g_j − C_ij)/ε),     g_j ← ε log b_j − ε LSE_i((f_i − C_ij)/ε).

Both updates are the same soft-minimum, :func:`soft_min`, one row at a time with the log-sum-exp fused
into one streaming pass (shifted by the row's previous value), so no n×m array ever exists. The CPU runs it
in a ``prange`` over rows, CUDA one thread per row (the same device function).

Stopping rule (as POT's ``sinkhorn_log``): after the f-update the rows of π are exact, and the run stops
when the column marginal error ‖π^T 1 − b‖₂ is below ``tol``; that error comes free from the next
g-update's log-sum-exp (column sum_j = exp(g_j/ε + LSE_i((f_i − C_ij)/ε))). The returned (f, g) is the
pair whose error was measured.

Warm start: potentials from a nearby ε (a slider move) are a good start, since they converge to the
Kantorovich potentials as ε → 0. ε-scaling (Schmitzer 2019, "Stabilized sparse scaling algorithms for
entropy regularized transport problems"): for ε well below the cost scale the run goes through
ε_k = start/2^k down to ε, each level warm-started from the last with a loose tolerance.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numba
import numpy as np

from kernels.bridges.fastexp import exp_clamped
from kernels.compile import FASTMATH, device, kernel

from kernels.backend import cuda  # numba.cuda, imported on first use

LEVEL_TOL = 1e-4          # column error at which an intermediate ε-scaling level hands over
LEVEL_MAX_ITERATIONS = 200
SCALING_FACTOR = 2.0      # ε halves from level to level
SERIAL_BELOW = 250_000    # pairs per sweep under which one thread beats a parallel launch (its overhead)
SUM_LOW, SUM_HIGH = math.exp(-600.0), math.exp(60.0)  # a one-pass sum in here had no clamped term that matters


@device
def shifted_sum(px, py, qx, qy, potential, inv_eps, shift):
    """Σ_j exp((potential_j − ½‖p − q_j‖²)/ε − shift), each term by :func:`exp_clamped`."""
    total = 0.0
    for j in range(qx.shape[0]):
        dx = px - qx[j]
        dy = py - qy[j]
        total += exp_clamped((potential[j] - 0.5 * (dx * dx + dy * dy)) * inv_eps - shift)
    return total


@device
def row_max(px, py, qx, qy, potential, inv_eps):
    """max_j (potential_j − ½‖p − q_j‖²)/ε."""
    top = -math.inf
    for j in range(qx.shape[0]):
        dx = px - qx[j]
        dy = py - qy[j]
        top = max(top, (potential[j] - 0.5 * (dx * dx + dy * dy)) * inv_eps)
    return top


@device
def soft_min(px, py, qx, qy, potential, inv_eps, shift):
    """LSE_j((potential_j − ½‖p − q_j‖²)/ε) for one point p against all q_j, never forming the row.

    One pass summing exp(v_j − shift), with ``shift`` this row's log-sum-exp from the previous sweep (so
    the terms are near 1 and :func:`exp_clamped` vectorises); when the sum shows that the shift was off
    by more than the clamp allows (sum outside [e^{−600}, e^{60}]: the first sweep, an ε-scaling level),
    the row is redone safely: a max pass, then the sum of exp(v_j − max).
    """
    total = shifted_sum(px, py, qx, qy, potential, inv_eps, shift)
    if SUM_LOW < total < SUM_HIGH:
        return shift + math.log(total)
    top = row_max(px, py, qx, qy, potential, inv_eps)
    return top + math.log(shifted_sum(px, py, qx, qy, potential, inv_eps, top))


@kernel
def cpu_soft_min_all(px, py, qx, qy, potential, inv_eps, out):
    for i in numba.prange(px.shape[0]):
        out[i] = soft_min(px[i], py[i], qx, qy, potential, inv_eps, out[i])


@kernel
def cuda_soft_min_all(px, py, qx, qy, potential, inv_eps, out):
    i = cuda.grid(1)
    if i < px.shape[0]:
        out[i] = soft_min(px[i], py[i], qx, qy, potential, inv_eps, out[i])


@lru_cache(maxsize=1)
def serial_soft_min_all():
    """The CPU sweep compiled without ``parallel`` (prange runs as range): for small clouds."""
    clone = cpu_soft_min_all.rebound("cpu")
    clone.__qualname__ += "_serial"  # its own on-disk cache entry, apart from the parallel build's
    return numba.njit(fastmath=FASTMATH, nogil=True, cache=True)(clone)


class SoftMin:
    """``rows(g, ε)`` → LSE over j for every x_i, ``cols(f, ε)`` → LSE over i for every y_j, on a backend.

    Each call's result is kept as the next call's per-row shift (see :func:`soft_min`); on CUDA the
    coordinates and those arrays stay on the device for the whole solve.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, backend: str = "cpu"):
        self.backend = backend
        arrays = [np.ascontiguousarray(c, dtype=np.float64) for c in (x[:, 0], x[:, 1], y[:, 0], y[:, 1])]
        arrays += [np.zeros(len(x)), np.zeros(len(y))]
        if backend == "cuda":
            arrays = [cuda.to_device(c) for c in arrays]
            self._launch = cuda_soft_min_all.compile("cuda")
        elif len(x) * len(y) < SERIAL_BELOW:
            self._launch = serial_soft_min_all()
        else:
            self._launch = cpu_soft_min_all.compile("cpu")
        self.x0, self.x1, self.y0, self.y1, self.row_lse, self.col_lse = arrays

    def _all(self, px, py, qx, qy, potential, eps, out):
        potential = np.ascontiguousarray(potential, dtype=np.float64)
        if self.backend == "cuda":
            threads = 128
            self._launch[(out.shape[0] + threads - 1) // threads, threads](
                px, py, qx, qy, cuda.to_device(potential), 1.0 / eps, out)
            return out.copy_to_host()
        self._launch(px, py, qx, qy, potential, 1.0 / eps, out)
        return out.copy()

    def rows(self, g, eps):
        return self._all(self.x0, self.x1, self.y0, self.y1, g, eps, self.row_lse)

    def cols(self, f, eps):
        return self._all(self.y0, self.y1, self.x0, self.x1, f, eps, self.col_lse)


@dataclass
class SinkhornResult:
    """Potentials (f, g) of π_ij = exp((f_i + g_j − ½‖x_i − y_j‖²)/ε), and how they were reached."""

    f: np.ndarray
    g: np.ndarray
    epsilon: float
    iterations: int                 # all levels together
    marginal_error: float           # ‖π^T 1 − b‖₂ of the returned (f, g); rows are exact
    converged: bool
    errors: np.ndarray = field(default_factory=lambda: np.zeros(0))   # the error after every iteration
    levels: tuple = ()              # the ε of every ε-scaling level run (the last is ε)


def cost_scale(x: np.ndarray, y: np.ndarray) -> float:
    """A typical ½‖x − y‖² between the clouds: the mean over independent pairs, in closed form."""
    return 0.5 * float(np.sum((x.mean(0) - y.mean(0)) ** 2) + x.var(0).sum() + y.var(0).sum())


def scaling_levels(epsilon: float, start: float) -> list[float]:
    """ε-scaling schedule start, start/2, … (every level above ``epsilon``), then ``epsilon`` itself."""
    levels = []
    level = start
    while level > SCALING_FACTOR * epsilon:
        levels.append(level)
        level /= SCALING_FACTOR
    if levels and level > epsilon:
        levels.append(level)
    return [*levels, epsilon]


def sinkhorn(x: np.ndarray, y: np.ndarray, epsilon: float, tol: float = 1e-6, max_iterations: int = 5000,
             init: tuple | None = None, init_epsilon: float | None = None, backend: str = "cpu",
             progress=None, between=None) -> SinkhornResult:
    """Solve the entropic OT problem of the module doc between the uniform clouds x (n, 2) and y (m, 2).

    ``init`` = (f, g) warm-starts from earlier potentials (computed at ``init_epsilon``, which starts the
    ε-scaling there instead of at the cost scale). A run that does not reach ``tol`` within
    ``max_iterations`` returns ``converged=False`` with its marginal error (callers must say so).
    ``between()`` is called after every iteration that is not the last (kernels.chunks: it may stop the
    run by raising).
    """
    if not epsilon > 0:
        raise ValueError(f"epsilon must be positive, got {epsilon}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, m = len(x), len(y)
    log_a, log_b = -math.log(n), -math.log(m)
    b = 1.0 / m
    solver = SoftMin(x, y, backend)
    if init is None:
        f, g = np.zeros(n), np.zeros(m)
        start = cost_scale(x, y)
    else:
        f, g = (np.array(p, dtype=np.float64) for p in init)
        start = epsilon if init_epsilon is None else init_epsilon
    levels = scaling_levels(epsilon, start)
    errors: list[float] = []
    error = math.inf
    for level, eps in enumerate(levels):
        last = level == len(levels) - 1
        level_tol = tol if last else max(tol, LEVEL_TOL)
        budget = max_iterations - len(errors) if last else min(LEVEL_MAX_ITERATIONS, max_iterations - len(errors))
        for _ in range(max(budget, 0)):
            f = eps * (log_a - solver.rows(g, eps))
            lse_cols = solver.cols(f, eps)
            error = float(np.sqrt(np.sum((np.exp(g / eps + lse_cols) - b) ** 2)))
            errors.append(error)
            if progress is not None:
                progress(len(errors), error)
            if error < level_tol or not math.isfinite(error):
                break
            g = eps * (log_b - lse_cols)
            if between is not None:
                between()
    converged = bool(error < tol)
    return SinkhornResult(f=f, g=g, epsilon=float(epsilon), iterations=len(errors), marginal_error=error,
                          converged=converged, errors=np.array(errors), levels=tuple(levels))


PAIR_COST = 0.05  # work units (kernels.chunks) of one kernel evaluation exp(−‖x − y‖²/2ε) in a sweep


def iteration_cost(n: int, m: int) -> float:
    """The work of one Sinkhorn iteration (both half-sweeps) on n × m points, in kernels.chunks units.
    Measured with ``python benchmarks/step_costs.py``."""
    return 2.0 * n * m * PAIR_COST


def dense_plan(x: np.ndarray, y: np.ndarray, f: np.ndarray, g: np.ndarray, epsilon: float) -> np.ndarray:
    """π_ij = exp((f_i + g_j − ½‖x_i − y_j‖²)/ε) materialised: for small blocks (views, tests) only;
    pass a subset of rows of x with their f to get that block of the plan."""
    cost = 0.5 * ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    return np.exp((f[:, None] + g[None, :] - cost) / epsilon)


@device
def row_cost_and_entropy(px, py, qx, qy, f_i, g, inv_eps):
    """(Σ_j π_ij C_ij, −Σ_j π_ij log π_ij) for one row of the plan, log π_ij = (f_i + g_j − C_ij)/ε, never
    forming it (the exponential :func:`exp_clamped`: a term below e^{−700} reads e^{−700}, nothing a sum of
    plan entries of order 1/(nm) can see)."""
    cost_sum = 0.0
    entropy = 0.0
    for j in range(qx.shape[0]):
        dx = px - qx[j]
        dy = py - qy[j]
        cost = 0.5 * (dx * dx + dy * dy)
        log_plan = (f_i + g[j] - cost) * inv_eps
        plan = exp_clamped(log_plan)
        cost_sum += plan * cost
        entropy -= plan * log_plan
    return cost_sum, entropy


@kernel
def cpu_cost_and_entropy_rows(px, py, qx, qy, f, g, inv_eps, out):
    for i in numba.prange(px.shape[0]):
        out[i, 0], out[i, 1] = row_cost_and_entropy(px[i], py[i], qx, qy, f[i], g, inv_eps)


def transport_cost_and_entropy(x, y, f, g, epsilon: float) -> tuple[float, float]:
    """⟨π, C⟩ and the entropy −Σ π log π of the plan, row by row in one compiled pass (never n×m; numpy's
    blocks of the plan took 29 ms of a 47 ms ε move at 1,000 points a side)."""
    out = np.empty((len(x), 2))
    columns = [np.ascontiguousarray(c, dtype=np.float64) for c in (x[:, 0], x[:, 1], y[:, 0], y[:, 1])]
    cpu_cost_and_entropy_rows.compile("cpu")(*columns, np.ascontiguousarray(f, dtype=np.float64),
                                             np.ascontiguousarray(g, dtype=np.float64), 1.0 / epsilon, out)
    return float(out[:, 0].sum()), float(out[:, 1].sum())


def warm_start(history: list, epsilon: float):
    """A starting (f, g) for ``epsilon`` from earlier solves on the same clouds, ``history`` = [(ε, f, g), …].

    With one earlier solve: its potentials. With two or more: the linear extrapolation in ε through the
    two nearest, each put in the same gauge first (f + c, g − c leaves π unchanged; we take mean f = mean g),
    which on a slider move starts much closer to the new fixed point than the last potentials alone.
    Returns (f, g, ε of the nearest solve) or None when there is no history.
    """
    if not history:
        return None
    nearest = sorted(history, key=lambda item: abs(math.log(item[0] / epsilon)))[:2]
    eps1, f1, g1 = nearest[0]
    if len(nearest) == 1 or nearest[1][0] == eps1:
        return f1, g1, eps1
    eps0, f0, g0 = nearest[1]

    def gauged(f, g):
        shift = 0.5 * (f.mean() - g.mean())
        return f - shift, g + shift

    (f1, g1), (f0, g0) = gauged(f1, g1), gauged(f0, g0)
    slope = (epsilon - eps1) / (eps1 - eps0)
    return f1 + slope * (f1 - f0), g1 + slope * (g1 - g0), eps1
