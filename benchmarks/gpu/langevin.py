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


def cuda_slice(steps: int) -> int:
    """The CUDA runs go in slices of a third of their steps (kernels.chunks), the CPU runs in one: equal
    results check the CUDA build and its slicing at once."""
    return max(1, steps // 3)


def run_both(sampler: str, target, n: int, steps: int, spread: float, perturb: float = 0.0):
    """(CPU run, CUDA run in slices) of ``simulate``: (paths, accepts, died_at) each; ``perturb`` is added to
    the CUDA paths (the check's own test: a perturbed comparison must report a mismatch)."""
    frames = np.array([0, steps // 2, steps])
    spec = np.array([0.0, 0.0, spread, 0.0])
    with np.errstate(over="ignore", invalid="ignore"):
        cpu = simulate(sampler, target, n, steps, frames, SEED, PARAMS, INIT_GAUSSIAN, spec, "cpu")
        gpu = simulate(sampler, target, n, steps, frames, SEED, PARAMS, INIT_GAUSSIAN, spec, "cuda",
                       slice_steps=cuda_slice(steps))
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


def check_cancel(n: int, steps: int, perturb: float = 0.0):
    """A CUDA run asked to stop after its second slice (``between`` raises there) stops there: no slice after
    it runs. Verified when exactly two slices ran and the run raised (``perturb``: one slice more ran)."""
    calls = []

    def between():
        calls.append(len(calls))
        if len(calls) == 2:
            raise StopRun

    stopped = False
    try:
        simulate("ula", get_target(MIXTURE_TARGET), n, 4 * steps, np.array([0, 4 * steps]), SEED, PARAMS,
                 INIT_GAUSSIAN, np.array([0.0, 0.0, 3.0, 0.0]), "cuda", between=between, slice_steps=steps)
    except StopRun:
        stopped = True
    slices_run = len(calls) + (1 if perturb else 0)
    return compare("cancel between CUDA slices (ula)", {"slices run before the stop": (2, slices_run, EXACT)},
                   moved=stopped)


class StopRun(Exception):
    """Raised between slices by :func:`check_cancel` (the app raises Cancelled there)."""


def checks(sampler: str, n: int, steps: int, perturb: float = 0.0):
    """Every check of one sampler (MALA also runs the typed formula; ULA also the stop between slices)."""
    out = [check_sampler(sampler, name, n, steps, perturb) for name in targets_for(sampler)]
    if sampler == "mala":
        out.append(check_sampler("mala", "formula", n, steps, perturb))
    if sampler == "ula":
        out.append(check_cancel(n, steps, perturb))
    return out
