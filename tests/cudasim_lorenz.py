"""Run in a fresh process with NUMBA_ENABLE_CUDASIM=1: the Lorenz ensemble's CUDA build, on the
simulator, against the CPU build (tiny sizes: the simulator runs Python per thread)."""
import json
import os
import warnings

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", "set NUMBA_ENABLE_CUDASIM=1 before numba is imported"
warnings.simplefilter("ignore", RuntimeWarning)  # uint64 wrap-around in the simulator's numpy scalars

import numpy as np

from kernels.backend import resolve_backend
from kernels.lorenz.integrate import integrate_ensemble


def main():
    report = {"auto_backend": resolve_backend("auto")}
    start = np.array([[1.0, 1.0, 20.0], [-3.0, 2.0, 25.0], [5.0, -5.0, 15.0], [0.5, 0.5, 0.5], [8.0, 9.0, 27.0]])
    frames = np.array([0, 3, 6])
    with np.errstate(over="ignore"):
        for method, noise in (("rk4", 0.0), ("euler", 1.5), ("heun", 0.7)):
            cpu = integrate_ensemble(start, 6, frames, 0.01, noise=noise, method=method, seed=5, backend="cpu")
            gpu = integrate_ensemble(start, 6, frames, 0.01, noise=noise, method=method, seed=5, backend="cuda")
            report[method] = {"max_abs_diff": float(np.max(np.abs(cpu[0].astype(float) - gpu[0].astype(float)))),
                              "final_diff": float(np.max(np.abs(cpu[1] - gpu[1]))),
                              "moved": bool(np.any(cpu[0][-1] != cpu[0][0]))}
        l96 = 8.0 + np.random.default_rng(0).standard_normal((3, 6))
        cpu = integrate_ensemble(l96, 4, np.array([0, 4]), 0.01, noise=0.3, method="rk4", seed=2, backend="cpu",
                                 system="lorenz96", forcing=8.0)
        gpu = integrate_ensemble(l96, 4, np.array([0, 4]), 0.01, noise=0.3, method="rk4", seed=2, backend="cuda",
                                 system="lorenz96", forcing=8.0)
        report["lorenz96"] = {"max_abs_diff": float(np.max(np.abs(cpu[0].astype(float) - gpu[0].astype(float)))),
                              "final_diff": float(np.max(np.abs(cpu[1] - gpu[1]))),
                              "moved": bool(np.any(cpu[0][-1] != cpu[0][0]))}
        blown = integrate_ensemble(start[:2], 40, np.array([0, 40]), 0.3, method="euler", backend="cuda")
        report["cuda_divergence_step"] = [int(s) for s in blown[2]]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
