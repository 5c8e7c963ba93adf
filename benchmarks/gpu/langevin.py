"""The Langevin samplers and the typed-formula evaluator: each sampler's CUDA build against its CPU build,
same seed, on a mixture (ring8) and on a non-mixture target (banana; annealed Langevin is mixture-only),
and MALA on a typed formula (the stack-machine evaluator on both targets)."""
from __future__ import annotations

import numpy as np

from benchmarks.gpu.compare import EXACT, FLOAT32_TOL, compare
from kernels.samplers import SAMPLERS, simulate
from kernels.samplers.driver import INIT_GAUSSIAN
from kernels.targets import custom_target, get_target

MIXTURE_TARGET, SHAPE_TARGET = "ring8", "banana"
FORMULA = "(x**2 + y**2 - 1)**2 / 0.1 + 0.1*abs(x) + max(x, y)"
SEED = 9
# step size, temperature, friction, leapfrog steps, σ_max, σ_min, replicas, ladder (kernels.samplers.layout)
PARAMS = np.array([0.05, 1.0, 1.0, 3, 5.0, 0.01, 2, 2.5])


def targets_for(sampler: str) -> list[str]:
    """The targets a sampler is checked on: the mixture, and the non-mixture one where it runs there."""
    return [MIXTURE_TARGET] if SAMPLERS[sampler].mixture_only else [MIXTURE_TARGET, SHAPE_TARGET]


def run_both(sampler: str, target, n: int, steps: int, spread: float, perturb: float = 0.0):
    """(CPU run, CUDA run) of ``simulate``: (paths, accepts, died_at) each; ``perturb`` is added to the CUDA
    paths (the check's own test: a perturbed comparison must report a mismatch)."""
    frames = np.array([0, steps // 2, steps])
    spec = np.array([0.0, 0.0, spread, 0.0])
    with np.errstate(over="ignore", invalid="ignore"):
        cpu = simulate(sampler, target, n, steps, frames, SEED, PARAMS, INIT_GAUSSIAN, spec, "cpu")
        gpu = simulate(sampler, target, n, steps, frames, SEED, PARAMS, INIT_GAUSSIAN, spec, "cuda")
    return cpu, (gpu[0] + np.float32(perturb), *gpu[1:])


def check_sampler(sampler: str, target_name: str, n: int, steps: int, perturb: float = 0.0):
    """One sampler on one named target (or ``"formula"``: the typed formula): positions within float32
    rounding, accept counts and divergence steps equal."""
    if target_name == "formula":
        target, spread, family = custom_target(FORMULA, 2.0), 0.5, f"typed formula ({sampler} on U(x, y))"
    else:
        target, spread = get_target(target_name), 3.0 if target_name == MIXTURE_TARGET else 2.0
        kind = "mixture" if target.is_mixture else "non-mixture"
        family = f"langevin {sampler} on {target_name} ({kind})"
    cpu, gpu = run_both(sampler, target, n, steps, spread, perturb)
    return compare(family, {"positions": (cpu[0], gpu[0], FLOAT32_TOL), "accepts": (cpu[1], gpu[1], EXACT),
                            "died_at": (cpu[2], gpu[2], EXACT)},
                   moved=bool(np.any(cpu[0][-1] != cpu[0][0])))


def checks(sampler: str, n: int, steps: int, perturb: float = 0.0):
    """Every check of one sampler (MALA also runs the typed formula)."""
    out = [check_sampler(sampler, name, n, steps, perturb) for name in targets_for(sampler)]
    if sampler == "mala":
        out.append(check_sampler("mala", "formula", n, steps, perturb))
    return out
