"""The bridges scene's snapshots mode: a multi-marginal Schrödinger bridge through K snapshots of a
population, under an OU reference dX = A X dt + σ dW refined from A = 0 (Brownian) by maximum likelihood
(Shen, Berlinghieri & Broderick 2024; the numerics are :mod:`kernels.bridges.multi_marginal`).

The populations the snapshots are drawn from (each snapshot a fresh draw of the population at its time τ
after the first, as snapshot data are: other individuals at every time):

- ``ou``: dX = A X dt + σ dW from the blob N((2, 0), 0.3² I), A = [[−c, −ω], [ω, −c]] (rotation ω plus
  contraction c), drawn exactly by :func:`kernels.bridges.ou.sample_ou`; the learned A is compared with it.
- ``split``: X_τ = X₀ + τ v_b + σ W_τ from N(0, 0.3² I), each individual taking one of two branches
  v_± = (1, ±1.2) with probability ½: a population that splits, which no linear drift describes.
- ``clouds``: the scene's source and target clouds (named or typed) as the two snapshots: the two-cloud
  bridge, but under the refined OU reference.

The model's part only; the views are :mod:`scenes.bridges_snapshots_views`.
"""
from __future__ import annotations

import time

import numpy as np

from kernels.bridges.multi_marginal import (DriftDiverges, chain_indices, chained_paths, check_snapshots,
                                            frame_times, refine)
from kernels.bridges.ou import sample_ou
from kernels.bridges.sinkhorn import iteration_cost
from kernels.chunks import WORK_PER_SECOND
from scenes.base import DivergenceError, Result, SceneError

POPULATIONS = ("ou", "split", "clouds")
BLOB_SCALE = 0.3
OU_START = np.array([2.0, 0.0])
SPLIT_VELOCITY = np.array([1.0, 1.2])    # branch ± moves along (1, ±1.2)
SNAPSHOT_TAG = 0x5C                      # the start blob's stream (seed, snapshot, tag), apart from the clouds'
SNAPSHOT_SEED_STRIDE = 1 << 32           # snapshot k's OU noise: seed + k·stride, apart from every user seed
# Sinkhorn iterations per interval, for the work estimate (measured at n = 400–1000, σ = 0.5, Δ = 0.5):
# the first solve is cold (ε-scaling included, like the two-cloud bridge's TYPICAL_ITERATIONS), every
# refinement warm-starts from the last potentials (2–9 seen); a plan's moments cost about as much as
# MOMENT_ITERATIONS iterations (it is materialised in numpy blocks: 0.12 s against 13 ms an iteration at
# n = 1000); a refit of A (L-BFGS on 2×2 matrices, whatever n) about FIT_SECONDS
COLD_ITERATIONS = 60
WARM_ITERATIONS = 15
MOMENT_ITERATIONS = 10
FIT_SECONDS = 0.05


def true_drift(rotation: float, contraction: float) -> np.ndarray:
    """A = [[−c, −ω], [ω, −c]]: e^{Aτ} turns by ωτ and shrinks by e^{−cτ}."""
    return np.array([[-contraction, -rotation], [rotation, -contraction]])


def parse_times(text: str) -> np.ndarray:
    """The numbers of a comma- (or space-) separated list, read with ``float`` (nothing evaluated)."""
    values = []
    for item in text.replace(",", " ").split():
        try:
            values.append(float(item))
        except ValueError:
            raise SceneError(f"snapshot_times: {item!r} is not a number (give times like '0, 0.5, 1')") from None
    return np.array(values)


def snapshot_count(scene) -> int:
    """K + 1: n_snapshots, or 2 for the clouds population (its source and target)."""
    return 2 if scene.population == "clouds" else scene.n_snapshots


def snapshot_times(scene) -> np.ndarray:
    """The times t₀ < … < t_K: the typed list, or t_k = k·time_step."""
    if scene.snapshot_times.strip():
        return parse_times(scene.snapshot_times)
    return scene.time_step * np.arange(snapshot_count(scene))


def snapshots(scene, times: np.ndarray) -> list[np.ndarray]:
    """The (n, 2) snapshot clouds of the scene's population at ``times`` (module doc)."""
    n, seed, sigma = scene.n_particles, scene.seed, scene.sigma
    if scene.population == "clouds":
        return list(scene.clouds())
    clouds = []
    for k, t in enumerate(times):
        tau = float(t - times[0])
        rng = np.random.default_rng((seed, k, SNAPSHOT_TAG))
        start = BLOB_SCALE * rng.standard_normal((n, 2))
        noise_seed = seed + k * SNAPSHOT_SEED_STRIDE
        if scene.population == "ou":
            clouds.append(sample_ou(OU_START + start, true_drift(scene.rotation, scene.contraction), sigma, tau,
                                    noise_seed))
        else:
            branch = np.where(rng.random(n) < 0.5, 1.0, -1.0)[:, None]
            moved = start + tau * SPLIT_VELOCITY * np.concatenate([np.ones_like(branch), branch], axis=1)
            clouds.append(sample_ou(moved, np.zeros((2, 2)), sigma, tau, noise_seed))  # + σ W_τ
    return clouds


def work(n: int, intervals: int, refinements: int) -> float:
    """The estimated work of a snapshots run (kernels.chunks units): per interval one cold solve, a warm one
    per refinement and the plan's moments at every fit; and the fits themselves."""
    per_interval = COLD_ITERATIONS + refinements * WARM_ITERATIONS + (refinements + 1) * MOMENT_ITERATIONS
    return iteration_cost(n, n) * intervals * per_interval + (refinements + 1) * FIT_SECONDS * WORK_PER_SECOND


def run(scene, backend: str) -> Result:
    """The snapshots, the refined bridge through them, its chained paths and the fit of every refinement.

    Refused with a message: fewer than two snapshots, times not strictly increasing or not as many as the
    snapshots, a refit drift that diverges (``DriftDiverges``), an interval whose Sinkhorn did not converge."""
    start_time = time.perf_counter()
    times = snapshot_times(scene)
    if scene.population == "clouds" and len(times) != 2:
        raise SceneError(f"the clouds population is two snapshots (source and target): snapshot_times lists "
                         f"{len(times)} times")
    try:  # the kernel's checks read only the count of clouds: checked before any is drawn
        times = check_snapshots([None] * snapshot_count(scene), times)
    except ValueError as error:
        raise SceneError(f"snapshots: {error}") from None
    frames = frame_times(times, scene.n_frames)
    scene.check_budget(len(frames), scene.n_particles, 2, what="bridge paths")
    scene.check_work(work(scene.n_particles, len(times) - 1, scene.refinements),
                     "n_particles, n_snapshots or refinements")
    clouds = snapshots(scene, times)
    if not all(np.isfinite(cloud).all() for cloud in clouds):
        raise SceneError("the population left the finite numbers (NaN/Inf) before the last snapshot: "
                         "shorten the times or raise contraction")
    try:
        record = refine(clouds, times, scene.sigma, scene.refinements, tol=scene.tolerance,
                        max_iterations=scene.max_iterations, backend=backend, between=scene.between_slices,
                        progress=scene.report_progress)
    except DriftDiverges as error:
        raise DivergenceError(f"{error}: shorten the times, raise sigma or use fewer refinements") from None
    indices = chain_indices(record.intervals, scene.seed, backend=backend)
    paths = chained_paths(clouds, times, indices, record.drift, scene.sigma, frames, scene.seed, backend=backend)
    solutions = [interval.solution for interval in record.intervals]
    metrics = {
        "marginal_error": max(s.marginal_error for s in solutions),
        "sinkhorn_iterations": float(sum(s.iterations for s in solutions)),
        "fit": record.fits[-1],
        "fits": np.array(record.fits),
    }
    truth = true_drift(scene.rotation, scene.contraction) if scene.population == "ou" else None
    if truth is not None:
        errors = [float(np.linalg.norm(a - truth) / np.linalg.norm(truth)) for a in record.drifts]
        metrics["drift_error"] = errors[-1]
        metrics["drift_errors"] = np.array(errors)
    extras = {"mode": "snapshots", "snapshots": clouds, "snapshot_times": times, "indices": indices,
              "intervals": record.intervals,
              "drift": record.drift, "drifts": np.array(record.drifts), "true_drift": truth, "backend": backend}
    result = Result(paths=paths, times=frames, metrics=metrics, extras=extras, parameters=scene.values())
    result.metrics["run_seconds"] = time.perf_counter() - start_time
    unsolved = [k for k, s in enumerate(solutions) if not s.converged]
    if unsolved:
        worst = max(solutions[k].marginal_error for k in unsolved)
        raise DivergenceError(f"Sinkhorn did not converge on interval(s) {', '.join(map(str, unsolved))}: the marginal "
                              f"error is up to {worst:.3g} (tolerance {scene.tolerance:g}). Raise max_iterations or "
                              f"sigma, or loosen the tolerance; the paths shown would be wrong.", result)
    if not np.isfinite(paths).all():
        raise DivergenceError("the bridge paths left the finite numbers (NaN/Inf)", result)
    return result
