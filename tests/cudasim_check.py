"""Run in a fresh process with NUMBA_ENABLE_CUDASIM=1: every sampler's CUDA build, on the simulator,
against the CPU build, for the same seed (tiny grids: the simulator runs Python per thread)."""
import json
import os
import sys
import warnings

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", "set NUMBA_ENABLE_CUDASIM=1 before numba is imported"
warnings.simplefilter("ignore", RuntimeWarning)  # uint64 wrap-around in the simulator's numpy scalars

import numpy as np  # noqa: E402

from kernels.backend import resolve_backend  # noqa: E402
from kernels.metrics import stuck_fraction  # noqa: E402
from kernels.samplers import SAMPLERS, simulate  # noqa: E402
from kernels.samplers.driver import INIT_GAUSSIAN  # noqa: E402
from kernels.targets import get_target  # noqa: E402
from tests.helpers import sampler_params  # noqa: E402


CUSTOM = "custom:mala"  # MALA on a typed formula: the stack-machine evaluator on both targets


def main(samplers):
    report = {"auto_backend": resolve_backend("auto")}
    target = get_target("ring8")  # the mixture the other sampler tests compile for too (a shared cache entry)
    if samplers == [CUSTOM]:
        from kernels.targets import custom_target

        target = custom_target("(x**2 + y**2 - 1)**2 / 0.1 + 0.1*abs(x) + max(x, y)", 2.0)
    frames = np.array([0, 2, 4])
    spec = np.array([0.0, 0.0, 0.5 if samplers == [CUSTOM] else 3.0, 0.0])
    with np.errstate(over="ignore"):
        for name in samplers:
            sampler = name.split(":")[-1]
            params = sampler_params(step_size=0.05, leapfrog_steps=3, replicas=2)
            cpu = simulate(sampler, target, 6, 4, frames, 9, params, INIT_GAUSSIAN, spec, "cpu")
            gpu = simulate(sampler, target, 6, 4, frames, 9, params, INIT_GAUSSIAN, spec, "cuda")
            report[name] = {
                "max_abs_diff": float(np.max(np.abs(cpu[0].astype(float) - gpu[0].astype(float)))),
                "accepts_equal": bool(np.array_equal(cpu[1], gpu[1])),
                # the Langevin scene's stuck fraction, read from each build's per-particle accept record
                "stuck_equal": stuck_fraction(cpu[1], frames) == stuck_fraction(gpu[1], frames),
                "moved": bool(np.any(cpu[0][-1] != cpu[0][0])),
            }
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:] or list(SAMPLERS))
