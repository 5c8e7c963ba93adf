"""The Lorenz ensembles: Lorenz-63 with each integrator (RK4 deterministic, Euler–Maruyama and stochastic
Heun with noise), Lorenz-96 (RK4 with noise), and an Euler run whose step is far too large (every member
diverges: both builds must stop it at the same step), CUDA build against CPU build, same seed."""
from __future__ import annotations

import numpy as np

from benchmarks.gpu.compare import EXACT, FLOAT32_TOL, FLOAT64_TOL, compare
from kernels.lorenz.integrate import integrate_ensemble

L63_RUNS = (("rk4", 0.0), ("euler", 1.5), ("heun", 0.7))
L96_DIM = 6
DIVERGING_DT = 0.3   # Euler on Lorenz-63 blows up within a few dozen steps at this step size


def l63_starts(n: int) -> np.ndarray:
    return np.array([1.0, 1.0, 20.0]) + 4.0 * np.random.default_rng(0).standard_normal((n, 3))


def run_both(starts, steps: int, method: str, noise: float, seed: int, dt: float = 0.01, **system):
    """(CPU, CUDA) results of ``integrate_ensemble``: (paths float32, final float64, died_at) each."""
    frames = np.array([0, steps // 2, steps])
    with np.errstate(over="ignore", invalid="ignore"):  # the CUDA run in slices, the CPU run in one (kernels.chunks)
        return tuple(integrate_ensemble(starts, steps, frames, dt, noise=noise, method=method, seed=seed,
                                        backend=backend, slice_steps=slice_steps, **system)
                     for backend, slice_steps in (("cpu", None), ("cuda", max(1, steps // 3))))


def verdict(family, cpu, gpu, perturb, moved=None):
    """Paths within float32 rounding, final states within float64 rounding, divergence steps equal; ``moved``
    defaults to "the CPU paths changed"."""
    return compare(family, {"paths": (cpu[0], gpu[0] + np.float32(perturb), FLOAT32_TOL),
                            "final": (cpu[1], gpu[1] + perturb, FLOAT64_TOL), "died_at": (cpu[2], gpu[2], EXACT)},
                   moved=bool(np.any(cpu[0][-1] != cpu[0][0])) if moved is None else moved)


def checks(n: int, steps: int, perturb: float = 0.0):
    out = []
    for method, noise in L63_RUNS:
        cpu, gpu = run_both(l63_starts(n), steps, method, noise, 5)
        out.append(verdict(f"lorenz-63 {method}" + (f", noise {noise:g}" if noise else ""), cpu, gpu, perturb))
    starts = 8.0 + np.random.default_rng(0).standard_normal((n, L96_DIM))
    cpu, gpu = run_both(starts, steps, "rk4", 0.3, 2, system="lorenz96", forcing=8.0)
    out.append(verdict(f"lorenz-96 rk4 (dimension {L96_DIM}), noise 0.3", cpu, gpu, perturb))
    steps = 8 * steps   # long enough for every member to blow up
    cpu, gpu = run_both(l63_starts(n), steps, "euler", 0.0, 5, dt=DIVERGING_DT)
    out.append(verdict(f"lorenz-63 euler diverging (dt {DIVERGING_DT:g})", cpu, gpu, perturb,
                       moved=bool(np.all((cpu[2] >= 0) & (cpu[2] < steps)))))  # every member's divergence caught
    return out
