"""Run in a fresh process with NUMBA_ENABLE_CUDASIM=1: one scene's ``run()`` with backend="cuda" (numba's
CUDA simulator) against the same scene with backend="cpu", same parameters and seed; prints one JSON line.

Usage: ``python tests/determinism_probe.py CASE`` with CASE a key of :data:`CASES` (the tests import
:data:`CASES` too; the simulator check runs only when this file is the main program). Sizes are tiny: the
simulator runs Python per thread (and one long-lived simulator process slows down as it goes, so each
scene gets its own process).
"""
import json
import os
import sys
import warnings

import numpy as np

from kernels.backend import resolve_backend
from scenes import SCENES

# Per case: (scene key, tiny parameters). Every CUDA kernel a scene's run() launches is reached:
#   langevin ring8: the CPU block launcher (polynomial exp/log) against one CUDA thread per particle, with a
#   Metropolis test (MALA) and without (ULA). (The per-particle CPU launcher of the non-mixture targets is
#   left to the GPU check's typed formula, tests/test_gpu_check.py: its cold compile alone takes minutes.)
#   ode_sde: the SDE (em) and the ODE (euler) of one run; bridges: Sinkhorn sweeps, partner draws and
#   Brownian bridges (sinkhorn), the Gaussian closed form's bridges (gaussian); lorenz: the RK4 ensemble
#   and a noisy Heun one. LightSB's simulation has no CUDA path (torch drift, numpy Euler–Maruyama).
CASES = {
    "langevin_mixture": ("langevin", dict(target="ring8", sampler="mala", compare_sampler="ula", step_size=0.1,
                                          init="gaussian", n_particles=5, n_steps=6, n_frames=4, seed=11)),
    "ode_sde": ("ode_sde", dict(target="asym2", sampler="em", compare_sampler="euler", nfe=5, n_particles=4,
                                n_frames=3, seed=13)),
    "bridges_sinkhorn": ("bridges", dict(source="gauss", target="moons", method="sinkhorn", epsilon=0.5,
                                         tolerance=1e-6, n_particles=8, n_frames=4, seed=14)),
    "bridges_gaussian": ("bridges", dict(source="gauss", target="moons", method="gaussian", epsilon=0.5,
                                         tolerance=1e-3, n_particles=8, n_frames=4, seed=15)),
    "lorenz_rk4": ("lorenz", dict(integrator="rk4", n_members=4, horizon=0.06, dt=0.01, n_frames=4, seed=16)),
    "lorenz_heun": ("lorenz", dict(integrator="heun", noise=0.5, n_members=4, horizon=0.06, dt=0.01, n_frames=4,
                                   seed=17)),
}


def scene_paths(scene) -> list:
    """Every path array one run of ``scene`` gives (the compared run beside the main one where there is one).

    The Lorenz scene's paths are its ensemble: ``run()`` only adds forecasters, a Lyapunov exponent and an
    EnKF that have no CUDA path and do not touch the paths (and take most of its cold compile), so for it
    this calls ``ensemble()``, which is what ``run()`` takes its paths from."""
    if scene.title.startswith("Lorenz"):
        return [scene.ensemble()[0]]
    result = next(iter(scene.stages()))  # the first stage holds every path; later ones add diagnostics (the
    # ODE/SDE scene's NFE sweep: 25 more runs, minutes on the simulator) and no new path
    others = [result.extras[key] for key in ("compare", "ode") if key in result.extras]
    return [result.paths] + [other.paths for other in others]


def compare(name: str) -> dict:
    key, params = CASES[name]
    cpu = scene_paths(SCENES[key](backend="cpu", **params))
    cuda = scene_paths(SCENES[key](backend="cuda", **params))
    diff = max(float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)), initial=0.0))
               for a, b in zip(cpu, cuda))
    return {"runs": len(cpu),
            "shapes_equal": all(a.shape == b.shape for a, b in zip(cpu, cuda)),
            "nan_equal": all(np.array_equal(np.isnan(a), np.isnan(b)) for a, b in zip(cpu, cuda)),
            "all_finite": all(bool(np.isfinite(a).all()) for a in cpu),
            "moved": all(bool(np.any(a[-1] != a[0])) for a in cpu),
            "max_abs_diff": diff,
            "identical": all(np.array_equal(a, b, equal_nan=True) for a, b in zip(cpu, cuda))}


def main(names):
    report = {"auto_backend": resolve_backend("auto")}
    with np.errstate(over="ignore"):
        for name in names:
            report[name] = compare(name)
    print(json.dumps(report))


if __name__ == "__main__":
    assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", "set NUMBA_ENABLE_CUDASIM=1 before numba is imported"
    warnings.simplefilter("ignore", RuntimeWarning)  # uint64 wrap-around in the simulator's numpy scalars
    main(sys.argv[1:] or list(CASES))
