"""Sample-quality diagnostics for 2D particle clouds against a known target.

- ``histogram_divergences``: KL(p̂ ‖ π) and TV(p̂, π) between the particles' histogram p̂ and the target's
  cell masses π on the same grid over the target's box (mass outside the box counts fully in TV).
- ``sliced_w2``: sliced Wasserstein-2, √(mean over directions θ of W₂²(θᵀX, θᵀY)), with 1D W₂ from
  matched quantiles (Rabin et al. 2011; Bonneel et al. 2015).
- ``mode_occupancy``: the fraction of particles in each mode.
- ``autocorrelation`` / ``effective_sample_size``: over frames of many chains, ESS with Geyer's initial
  positive sequence (Geyer 1992).
- ``stuck_fraction``: the fraction of chains with no accepted move late in the run (from the accept record).
- ``ensemble_spread``: the RMS distance of an ensemble's members from their mean, per frame.
"""
from __future__ import annotations

import math

import numba
import numpy as np


def histogram_bins(n_points: int) -> int:
    """Bins per axis: about four particles per occupied cell at n, between 10 and 60."""
    return int(np.clip(np.sqrt(n_points) / 2.0, 10, 60))


def cell_masses(target, bins: int) -> np.ndarray:
    """Target probability of each of bins × bins cells of the box, [y, x], by 4× supersampling."""
    xs, ys, density = target.grid(bins * 4)
    masses = density.reshape(bins, 4, bins, 4).sum(axis=(1, 3))
    return masses / masses.sum()


def histogram_divergences(points: np.ndarray, target, bins: int | None = None) -> tuple[float, float]:
    """(KL(p̂ ‖ π), TV(p̂, π)) on a bins × bins grid; non-finite points count as mass outside."""
    n = len(points)
    bins = bins or histogram_bins(n)
    xmin, xmax, ymin, ymax = target.box
    p = grid_counts(np.ascontiguousarray(points, dtype=np.float64), xmin, xmax, ymin, ymax, bins) / n
    outside = 1.0 - p.sum()
    q = cell_masses(target, bins)
    tv = 0.5 * (np.abs(p - q).sum() + outside)
    inside = p.sum()
    if inside <= 0:
        return float("inf"), float(tv)
    p_in = p / inside
    nz = p_in > 0
    kl = float(np.sum(p_in[nz] * np.log(p_in[nz] / np.maximum(q[nz], 1e-300))))
    return kl, float(tv)


@numba.njit(nogil=True, cache=True)
def grid_counts(points, xmin, xmax, ymin, ymax, bins):
    """Number of points (n, 2) in each of bins × bins equal cells of the box, indexed [y, x]; the cells of
    ``np.histogram2d`` (the upper edges belong to the last cells), NaN and outside points left out. Compiled
    without the GIL: a Langevin run's diagnostics bin every frame, and the server's sessions share the GIL."""
    counts = np.zeros((bins, bins))
    sx, sy = bins / (xmax - xmin), bins / (ymax - ymin)
    for i in range(points.shape[0]):
        x, y = points[i, 0], points[i, 1]
        if xmin <= x <= xmax and ymin <= y <= ymax:
            counts[min(int((y - ymin) * sy), bins - 1), min(int((x - xmin) * sx), bins - 1)] += 1.0
    return counts


def _directions(n_projections: int) -> np.ndarray:
    angles = np.pi * (np.arange(n_projections) + 0.5) / n_projections  # evenly spread, deterministic
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def sorted_projections(reference: np.ndarray, n_projections: int = 64) -> np.ndarray:
    """The reference cloud projected on the evenly spaced directions, each column sorted."""
    return np.sort(reference @ _directions(n_projections).T, axis=0)


REFERENCE_SAMPLES = 20_000
REFERENCE_SEED = 20_251_129   # the truth does not depend on the run's seed: one reference per target
_REFERENCES: dict = {}


def reference_projections(target) -> np.ndarray:
    """:func:`sorted_projections` of REFERENCE_SAMPLES exact draws from ``target`` (a kernels.targets
    Target), drawn once per target with REFERENCE_SEED so that every run against the same truth reuses
    them (drawing and sorting them took 46 ms, a third of a 1000-particle Langevin run)."""
    key = (target.name, target.label, target.box)
    if key not in _REFERENCES:
        if len(_REFERENCES) > 32:
            _REFERENCES.clear()
        _REFERENCES[key] = sorted_projections(target.sample(REFERENCE_SAMPLES, seed=REFERENCE_SEED))
    return _REFERENCES[key]


def sliced_w2(points: np.ndarray, reference: np.ndarray, n_projections: int = 64,
              presorted: bool = False) -> float:
    """Sliced W₂ between two clouds over evenly spaced directions (see module doc); NaN rows dropped.

    ``reference`` may be given as :func:`sorted_projections` (``presorted=True``) to reuse it across
    calls; its quantiles are read at the points' empirical levels (i + ½)/n. Then only the first
    ``len(reference)`` finite points are used (REFERENCE_SAMPLES, 20,000, for the scenes' references): the
    reference resolves no finer quantiles, and sorting a million particles' projections took 0.7 s per
    frame (issue 20's large runs). The scenes' particles are exchangeable (independent chains), so the first
    ones are a uniform subsample, and each scene's exact-draw floor is computed at the same count.
    """
    points = points[np.isfinite(points).all(axis=1)]
    if presorted:
        points = points[: len(reference)]
    if len(points) == 0:
        return float("inf")
    ref = reference if presorted else sorted_projections(reference, n_projections)
    # one sorted row per direction (contiguous rows sort faster), in the points' precision: a run's float32
    # frames are projected and sorted in float32, which keeps all they hold (a Langevin run's 61 frames:
    # 34 → 24 ms; the distance moves by about 1e-8 relative)
    a = np.sort(_directions(ref.shape[1]).astype(points.dtype) @ points.T, axis=1)
    levels = (np.arange(len(points)) + 0.5) / len(points)
    b = ref[np.minimum((levels * len(ref)).astype(np.int64), len(ref) - 1)]
    return float(np.sqrt(np.mean((a.T - b) ** 2)))


def mode_occupancy(points: np.ndarray, target) -> np.ndarray:
    """Fraction of the finite particles in each of the target's modes."""
    points = points[np.isfinite(points).all(axis=1)]
    if len(points) == 0 or target.n_modes == 0:
        return np.zeros(target.n_modes)
    return np.bincount(target.mode_of(points), minlength=target.n_modes) / len(points)


def autocorrelation(series: np.ndarray, max_lag: int) -> np.ndarray:
    """ρ(k), k = 0 … max_lag, of a (n_times, n_chains) array, pooled over chains (means per chain)."""
    centred = series - series.mean(axis=0)
    variance = np.mean(centred ** 2)
    if variance == 0:
        return np.ones(max_lag + 1)
    n = len(series)
    return np.array([np.mean(centred[: n - k] * centred[k:]) / variance for k in range(max_lag + 1)])


def effective_sample_size(series: np.ndarray) -> float:
    """ESS = N·M / (1 + 2 Σ ρ_k), the sum cut at the first negative pair ρ_{2m} + ρ_{2m+1} (Geyer)."""
    n_times, n_chains = series.shape
    rho = autocorrelation(series, max(n_times - 2, 1))
    total = 0.0
    for m in range(0, len(rho) - 1, 2):
        pair = rho[m] + rho[m + 1]
        if pair < 0:
            break
        total += pair
    tau = max(2.0 * total - 1.0, 1e-12)
    return float(n_times * n_chains / tau)


def stuck_fraction(accepts: np.ndarray, frame_steps: np.ndarray, window: float = 0.25) -> float:
    """The fraction of particles with no accepted move in the last ``window`` of the run, read from the
    kernel's per-particle cumulative accept record ``accepts`` (n_frames, n) at ``frame_steps``: a particle
    counts as stuck when its count did not grow since the last frame at or before step (1 − window)·n_steps
    (so the window read is at least ``window`` of the steps). Particles that diverged (NaN) are left out."""
    frame_steps = np.asarray(frame_steps)
    start = int(np.searchsorted(frame_steps, (1.0 - window) * frame_steps[-1], side="right")) - 1
    start = min(max(start, 0), len(frame_steps) - 2)
    gained = accepts[-1] - accepts[start]
    alive = np.isfinite(gained)
    return float(np.mean(gained[alive] <= 0)) if alive.any() else math.nan


def ensemble_spread(paths: np.ndarray, finite: np.ndarray | None = None) -> np.ndarray:
    """RMS distance of the members from their mean per frame of ``paths`` (frames, members, d):
    √((1/d) Σᵢ Var(xᵢ)), the variance over members (1/n), members non-finite in any frame left out (``finite``,
    one flag per member, where the caller knows them: finding them costs more than the spread); NaN with
    fewer than two finite members."""
    finite = np.isfinite(paths).all(axis=(0, 2)) if finite is None else np.asarray(finite, bool)
    if finite.sum() < 2:
        return np.full(len(paths), np.nan)
    members = paths if finite.all() else paths[:, finite]  # a copy only where some member diverged
    return np.sqrt(_mean_variance(np.ascontiguousarray(members)))


@numba.njit(nogil=True, cache=True)
def _mean_variance(paths):
    """The mean over the d coordinates of the variance over members, per frame: two passes, summed in float64
    (numpy's ``var`` of a million Lorenz members × 30 frames took 0.9 s in temporaries; this reads them twice)."""
    frames, n, d = paths.shape
    out = np.empty(frames)
    mean, squares = np.empty(d), np.empty(d)
    for f in range(frames):
        mean[:] = 0.0
        squares[:] = 0.0
        for i in range(n):  # members in memory order: each pass reads the frame once
            for k in range(d):
                mean[k] += paths[f, i, k]
        mean /= n
        for i in range(n):
            for k in range(d):
                deviation = paths[f, i, k] - mean[k]
                squares[k] += deviation * deviation
        out[f] = squares.sum() / (n * d)
    return out
