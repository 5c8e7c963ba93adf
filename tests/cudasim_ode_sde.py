"""Run in a fresh process with NUMBA_ENABLE_CUDASIM=1: the diffusion samplers' CUDA build, on the
simulator, against the CPU build for the same seed (tiny sizes: the simulator runs Python per thread).

Arguments: sampler names (perturbed score), or ``learned`` (the dpm2 sampler, two denoiser calls per
step, with the learned score's MLP from random weights: no torch needed)."""
import json
import os
import sys
import warnings

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", "set NUMBA_ENABLE_CUDASIM=1 before numba is imported"
warnings.simplefilter("ignore", RuntimeWarning)  # uint64 wrap-around in the simulator's numpy scalars

import numpy as np

from benchmarks.gpu.diffusion import random_model  # the shared learned-score MLP (random weights)
from kernels.backend import resolve_backend
from kernels.diffusion.driver import sample_paths, start_points
from kernels.diffusion.grids import build_grid
from kernels.diffusion.processes import PROCESSES
from kernels.diffusion.score import LEARNED, PERTURBED
from kernels.targets import get_target


def main(names):
    report = {"auto_backend": resolve_backend("auto")}
    target = get_target("asym2")
    for name in names:
        sampler, score, model = ("dpm2", LEARNED, random_model()) if name == "learned" else (name, PERTURBED, None)
        grid = build_grid(PROCESSES["vp"], "uniform", 3, 1e-2, 1.0, 1.0)
        params = np.array([1.0, 0.16, 0.5, score, 1.0, 0.2])   # noise 1, the score, shared path, churn
        starts = start_points(target, 3, grid, 3)
        frames = np.array([0, 1, 3])
        with np.errstate(over="ignore"):
            cpu, _ = sample_paths(sampler, starts, grid, params, frames, 3, target.mix, "cpu", model=model)
            gpu, _ = sample_paths(sampler, starts, grid, params, frames, 3, target.mix, "cuda", model=model)
        report[name] = {"max_abs_diff": float(np.max(np.abs(cpu.astype(float) - gpu.astype(float)))),
                           "moved": bool(np.any(cpu[-1] != cpu[0]))}
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
