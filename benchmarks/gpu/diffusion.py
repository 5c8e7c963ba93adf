"""The diffusion samplers: each one's CUDA build against its CPU build, same starts and seed, with the
exact, the perturbed and the learned score (an MLP of the learned score's layout with random weights:
what the kernels read, no torch needed)."""
from __future__ import annotations

import numpy as np

from benchmarks.gpu.compare import EXACT, FLOAT32_TOL, compare
from kernels.diffusion.driver import sample_paths, start_points
from kernels.diffusion.grids import build_grid
from kernels.diffusion.mlp_eval import pack_model
from kernels.diffusion.processes import PROCESSES
from kernels.diffusion.samplers import SAMPLERS
from kernels.diffusion.score import SCORES
from kernels.targets import get_target

SEED = 3


def random_model(widths=(3, 8, 8, 2), seed=5) -> np.ndarray:
    """An MLP of the learned score's layout with random weights (what the kernels read, untrained)."""
    rng = np.random.default_rng(seed)
    layers = [(rng.normal(size=(n_out, n_in)), rng.normal(size=n_out)) for n_in, n_out in zip(widths, widths[1:])]
    return pack_model(layers, 2.0, [0.3, -0.2])


def run_both(sampler: str, score: str, n: int, steps: int, perturb: float = 0.0):
    """(CPU, CUDA) results of ``sample_paths`` ((paths, died_at) each) on asym2 along the VP path, noise 1,
    δ = 0.5 (read by the perturbed score), the shared fine Brownian path and churn on."""
    target = get_target("asym2")
    grid = build_grid(PROCESSES["vp"], "uniform", steps, 1e-2, 1.0, 1.0)
    params = np.array([1.0, 0.16, 0.5, SCORES[score], 1.0, 0.2])   # noise, snr, δ, score, shared path, churn
    model = random_model() if score == "learned" else None
    starts = start_points(target, n, grid, SEED)
    frames = np.array([0, 1, steps])
    with np.errstate(over="ignore", invalid="ignore"):
        cpu = sample_paths(sampler, starts, grid, params, frames, SEED, target.mix, "cpu", model=model)
        gpu = sample_paths(sampler, starts, grid, params, frames, SEED, target.mix, "cuda", model=model,
                           slice_steps=max(1, steps // 3))  # in slices, the CPU run in one (kernels.chunks)
    return cpu, (gpu[0] + np.float32(perturb), gpu[1])


def check(sampler: str, score: str, n: int, steps: int, perturb: float = 0.0):
    """One sampler with one score source: positions within float32 rounding, divergence steps equal."""
    cpu, gpu = run_both(sampler, score, n, steps, perturb)
    return compare(f"diffusion {sampler}, {score} score",
                   {"positions": (cpu[0], gpu[0], FLOAT32_TOL), "died_at": (cpu[1], gpu[1], EXACT)},
                   moved=bool(np.any(cpu[0][-1] != cpu[0][0])))


def checks(sampler: str, n: int, steps: int, perturb: float = 0.0):
    """``sampler`` with every score source."""
    return [check(sampler, score, n, steps, perturb) for score in SCORES]


__all__ = ["SAMPLERS", "checks"]
