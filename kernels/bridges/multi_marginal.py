"""Multi-marginal Schrödinger bridges through snapshots x⁽⁰⁾, …, x⁽ᴷ⁾ at times t₀ < … < t_K, with
iterative reference refinement (Shen, Berlinghieri & Broderick 2024, "Multi-marginal Schrödinger bridges
with iterative reference refinement").

For a Markov reference R the bridge through all snapshots is Markov and splits into the static bridges
between consecutive snapshots (their §3): π_k = argmin KL(π ‖ R_{t_k, t_{k+1}}) over the couplings of
x⁽ᵏ⁾ and x⁽ᵏ⁺¹⁾, each solved by the log-domain Sinkhorn of :mod:`kernels.bridges.sinkhorn` on the clouds
whitened by the reference's transition density (:func:`kernels.bridges.ou.whiten`). Paths are chained
along the couplings (index i₀, then i₁ ~ π₀(· | i₀), i₂ ~ π₁(· | i₁), …) and joined by the reference's
bridges between the snapshots.

Refinement, within the class of OU references dX = A X dt + σ dW (σ fixed): alternately solve the
bridges under A and refit A to them by maximum likelihood of the coupled transitions,

    A ← argmin_A Σ_k E_{π_k} [½ (y − M x)ᵀ S⁻¹ (y − M x) + ½ log det S],   (M, S) = (M_{Δ_k}, S_{Δ_k})(A),

a coordinate descent on KL(P ‖ R_A) (their Alg. 1). The expectation needs only each plan's second
moments E[x xᵀ], E[y xᵀ], E[y yᵀ] (:func:`plan_moments`); the minimisation is L-BFGS in torch, started at
the previous A. Starting from A = 0 (Brownian), the first solve is the piecewise bridge under σW.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from kernels.bridges.coupling import sample_partners
from kernels.bridges.ou import ou_bridge_paths, transition_torch, whiten
from kernels.bridges.sinkhorn import SinkhornResult, dense_plan, sinkhorn
from kernels.torch_training import torch_threads

INTERVAL_SEED_STRIDE = 1 << 32   # interval k draws with seed + k·stride: apart from every user seed (< 2³¹)
MOMENT_BLOCK = 256               # rows of a plan materialised at once for its moments
FIT_ITERATIONS = 50              # L-BFGS iterations of one refit of A


class DriftDiverges(ValueError):
    """A fitted drift grows the reference beyond what the snapshots can hold."""


@dataclass
class Interval:
    """The static bridge between two consecutive snapshots under the reference, in whitened coordinates."""

    source: np.ndarray         # x' (n, 2)
    target: np.ndarray         # y' (m, 2)
    epsilon: float             # ε' = σ²Δ
    solution: SinkhornResult


@dataclass
class Refinement:
    """The reference drifts A₀ = 0, A₁, … and each one's fit (mean negative log-likelihood per coupled pair
    of the next fit's objective, at A_k), with the last bridges solved."""

    drifts: list = field(default_factory=list)
    fits: list = field(default_factory=list)
    intervals: list = field(default_factory=list)

    @property
    def drift(self) -> np.ndarray:
        return self.drifts[-1]


def check_snapshots(snapshots, times) -> np.ndarray:
    """The times as floats, after refusing fewer than two snapshots, a count of times that differs from the
    count of clouds, or times not strictly increasing."""
    times = np.asarray(times, dtype=np.float64)
    if len(snapshots) < 2:
        raise ValueError(f"a bridge needs at least two snapshots, got {len(snapshots)}")
    if len(times) != len(snapshots):
        raise ValueError(f"{len(snapshots)} snapshots but {len(times)} times")
    if not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
        raise ValueError(f"snapshot times must be strictly increasing, got {times.tolist()}")
    return times


def solve_intervals(snapshots, times, drift, sigma: float, tol: float, max_iterations: int, previous=None,
                    backend: str = "cpu", between=None) -> list[Interval]:
    """The static bridge of every consecutive pair of snapshots under the OU reference (A = ``drift``),
    warm-started from ``previous`` intervals' potentials (the last refinement's) when given."""
    intervals = []
    for k in range(len(snapshots) - 1):
        delta = float(times[k + 1] - times[k])
        source, target, epsilon = whiten(snapshots[k], snapshots[k + 1], drift, sigma, delta)
        init = None if previous is None else (previous[k].solution.f, previous[k].solution.g)
        solution = sinkhorn(source, target, epsilon, tol=tol, max_iterations=max_iterations, init=init,
                            init_epsilon=None if init is None else epsilon, backend=backend, between=between)
        intervals.append(Interval(source, target, epsilon, solution))
    return intervals


def plan_moments(x: np.ndarray, y: np.ndarray, interval: Interval) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(E[x xᵀ], E[y xᵀ], E[y yᵀ]) under the plan π of ``interval`` (x, y the unwhitened snapshots; π's
    rows sum to 1/n exactly, its columns to 1/m within the tolerance), accumulated over blocks of rows."""
    f, g, eps = interval.solution.f, interval.solution.g, interval.epsilon
    row_mass = np.zeros(len(x))
    cross = np.zeros((2, 2))
    col_mass = np.zeros(len(y))
    for start in range(0, len(x), MOMENT_BLOCK):
        rows = slice(start, start + MOMENT_BLOCK)
        plan = dense_plan(interval.source[rows], interval.target, f[rows], g, eps)
        row_mass[rows] = plan.sum(1)
        cross += (plan @ y).T @ x[rows]
        col_mass += plan.sum(0)
    return (x.T * row_mass) @ x, cross, (y.T * col_mass) @ y


def transition_fit(drift, moments, deltas, sigma: float):
    """The refit's objective (module doc) at ``drift`` (a torch tensor), averaged over the intervals."""
    total = 0.0
    for (xx, yx, yy), delta in zip(moments, deltas):
        propagator, covariance = transition_torch(drift, sigma, delta)
        residual = yy - propagator @ yx.T - yx @ propagator.T + propagator @ xx @ propagator.T
        total = total + 0.5 * (_solve_trace(covariance, residual) + _log_det(covariance))
    return total / len(moments)


def _solve_trace(covariance, residual):
    """tr(S⁻¹ E) for 2×2 S by its adjugate."""
    det = covariance[0, 0] * covariance[1, 1] - covariance[0, 1] * covariance[1, 0]
    return (covariance[1, 1] * residual[0, 0] + covariance[0, 0] * residual[1, 1]
            - covariance[0, 1] * residual[1, 0] - covariance[1, 0] * residual[0, 1]) / det


def _log_det(covariance):
    return (covariance[0, 0] * covariance[1, 1] - covariance[0, 1] * covariance[1, 0]).log()


def fit_drift(moments, deltas, sigma: float, start) -> tuple[np.ndarray, float, float]:
    """(A, fit at A, fit at ``start``): the maximum-likelihood drift for the plans' ``moments`` (module doc)."""
    with torch_threads(1) as torch:
        data = [tuple(torch.tensor(m, dtype=torch.float64) for m in triple) for triple in moments]
        drift = torch.tensor(np.asarray(start, dtype=np.float64), requires_grad=True)
        with torch.no_grad():
            before = float(transition_fit(drift, data, deltas, sigma))
        optimiser = torch.optim.LBFGS([drift], max_iter=FIT_ITERATIONS, line_search_fn="strong_wolfe",
                                      tolerance_grad=1e-10, tolerance_change=1e-14)

        def closure():
            optimiser.zero_grad()
            loss = transition_fit(drift, data, deltas, sigma)
            loss.backward()
            return loss

        optimiser.step(closure)
        with torch.no_grad():
            after = float(transition_fit(drift, data, deltas, sigma))
        return drift.detach().numpy().copy(), after, before


def check_growth(drift: np.ndarray, span: float, limit: float = 1e6) -> None:
    """Refuse a drift under which the reference grows by more than ``limit`` over the snapshots' span."""
    growth = float(np.max(np.linalg.eigvals(drift).real)) * span
    if not np.all(np.isfinite(drift)) or growth > math.log(limit):
        raise DriftDiverges(f"the fitted drift diverges: it grows the reference by e^{growth:.3g} over the "
                            f"snapshots' time span (A = {np.round(drift, 3).tolist()})")


def refine(snapshots, times, sigma: float, refinements: int, tol: float, max_iterations: int,
           backend: str = "cpu", between=None, progress=None) -> Refinement:
    """Bridges under A = 0, then ``refinements`` rounds of refit A / re-solve (module doc)."""
    times = check_snapshots(snapshots, times)
    deltas = np.diff(times).tolist()
    drift = np.zeros((2, 2))
    record = Refinement(drifts=[drift])
    intervals = solve_intervals(snapshots, times, drift, sigma, tol, max_iterations, backend=backend, between=between)
    for round_ in range(refinements + 1):
        if progress is not None:
            progress(round_ / (refinements + 1))
        moments = [plan_moments(snapshots[k], snapshots[k + 1], interval) for k, interval in enumerate(intervals)]
        fitted, _, fit = fit_drift(moments, deltas, sigma, drift)
        record.fits.append(fit)
        if round_ == refinements:
            break
        check_growth(fitted, times[-1] - times[0])
        drift = fitted
        record.drifts.append(drift)
        intervals = solve_intervals(snapshots, times, drift, sigma, tol, max_iterations, previous=intervals,
                                    backend=backend, between=between)
    record.intervals = intervals
    return record


def chain_indices(intervals, seed: int, backend: str = "cpu") -> np.ndarray:
    """(K + 1, n₀) snapshot indices of the chained paths: path p starts at point p of the first snapshot and
    moves on by a draw from each coupling's conditional law. Interval k draws with seed + k·stride; its draw
    key is 0 on the first interval (whose rows are all distinct, as the two-cloud bridge draws them) and the
    path's index after that (paths that meet at one point part again)."""
    n = len(intervals[0].source)
    indices = [np.arange(n, dtype=np.int64)]
    for k, interval in enumerate(intervals):
        keys = np.zeros(n, dtype=np.int64) if k == 0 else np.arange(n, dtype=np.int64)
        indices.append(sample_partners(interval.source, interval.target, interval.solution.g, interval.epsilon,
                                       seed + k * INTERVAL_SEED_STRIDE, rows=indices[-1], keys=keys,
                                       backend=backend))
    return np.array(indices)


def frame_times(times: np.ndarray, n_frames: int) -> np.ndarray:
    """``n_frames`` evenly spaced times over [t₀, t_K] with every snapshot time added."""
    return np.unique(np.concatenate([np.linspace(times[0], times[-1], n_frames), times]))


def chained_paths(snapshots, times, indices, drift, sigma: float, frames: np.ndarray, seed: int,
                  backend: str = "cpu") -> np.ndarray:
    """(len(frames), n₀, 2) float32 paths through the chained snapshot points, joined by the reference's
    bridges (interval k's noise from seed + k·stride)."""
    paths = np.empty((len(frames), indices.shape[1], 2), dtype=np.float32)
    for k in range(len(snapshots) - 1):
        first, last = np.searchsorted(frames, [times[k], times[k + 1]])
        ou_bridge_paths(snapshots[k][indices[k]], snapshots[k + 1][indices[k + 1]], drift, sigma,
                        frames[first:last + 1] - times[k], float(times[k + 1] - times[k]),
                        seed + k * INTERVAL_SEED_STRIDE, paths=paths, first=int(first), backend=backend)
    return paths
