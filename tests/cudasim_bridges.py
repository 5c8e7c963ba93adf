"""Run in a fresh process with NUMBA_ENABLE_CUDASIM=1: the CUDA builds of the bridges kernels (Sinkhorn's
soft-minimum sweep, partner draws, Brownian bridges), on the simulator, against the CPU builds (tiny sizes:
the simulator runs Python per thread)."""
import json
import os
import warnings

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", "set NUMBA_ENABLE_CUDASIM=1 before numba is imported"
warnings.simplefilter("ignore", RuntimeWarning)  # uint64 wrap-around in the simulator's numpy scalars

import numpy as np  # noqa: E402

from kernels.backend import resolve_backend  # noqa: E402
from kernels.bridges.brownian_bridge import bridge_paths  # noqa: E402
from kernels.bridges.clouds import sample_cloud  # noqa: E402
from kernels.bridges.coupling import sample_partners  # noqa: E402
from kernels.bridges.sinkhorn import sinkhorn  # noqa: E402


def main():
    x, y = sample_cloud("gauss", 6, seed=1), sample_cloud("moons", 5, seed=2)
    report = {"auto_backend": resolve_backend("auto")}
    with np.errstate(over="ignore"):
        cpu = sinkhorn(x, y, 0.5, tol=1e-30, max_iterations=4, backend="cpu")
        gpu = sinkhorn(x, y, 0.5, tol=1e-30, max_iterations=4, backend="cuda")
        report["sinkhorn_max_abs_diff"] = float(max(np.abs(cpu.f - gpu.f).max(), np.abs(cpu.g - gpu.g).max()))
        report["sinkhorn_moved"] = bool(np.abs(cpu.f).max() > 0)
        rows, keys = np.array([0, 3, 3, 5]), np.array([0, 0, 1, 2])
        report["partners_equal"] = bool(np.array_equal(
            sample_partners(x, y, cpu.g, 0.5, 7, rows=rows, keys=keys, backend="cpu"),
            sample_partners(x, y, cpu.g, 0.5, 7, rows=rows, keys=keys, backend="cuda")))
        times = np.linspace(0, 1, 4)
        paths_cpu = bridge_paths(x, x[::-1], times, 0.7, 9, backend="cpu")
        paths_gpu = bridge_paths(x, x[::-1], times, 0.7, 9, backend="cuda")
        report["bridge_max_abs_diff"] = float(np.abs(paths_cpu - paths_gpu).max())
    print(json.dumps(report))


if __name__ == "__main__":
    main()
