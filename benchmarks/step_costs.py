"""The work estimates behind the live-run budget (issue 17), against the seconds each kernel really takes.

``python benchmarks/step_costs.py [--quick]``: every kernel family at a typical size, CPU. Each line gives
the estimate (the kernel's work in units, kernels.chunks, ÷ WORK_PER_SECOND), the measured seconds (best
of two, compiled beforehand) and measured ÷ estimate: near 1 where the cost constants are right (the
budget refuses a run on the estimate, so a ratio far above 1 lets runs through that take longer). The
unit itself, ULA on ring8, measures WORK_PER_SECOND on this machine.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from kernels.bridges.clouds import sample_cloud
from kernels.bridges.sinkhorn import iteration_cost, sinkhorn
from kernels.chunks import WORK_PER_SECOND
from kernels.diffusion import driver as diffusion
from kernels.diffusion.grids import build_grid
from kernels.diffusion.processes import PROCESSES
from kernels.diffusion.score import SCORES
from kernels.lorenz import integrate as lorenz
from kernels.samplers import SAMPLERS, simulate
from kernels.samplers.driver import INIT_GAUSSIAN
from kernels.samplers.registry import step_cost
from kernels.targets import get_target

LANGEVIN_PARAMS = np.array([0.05, 1.0, 1.0, 5, 5.0, 0.01, 4, 2.5])  # 5 leapfrog steps, 4 replicas


def best_seconds(run, repeats: int = 2) -> float:
    run()  # compile, or load the cache
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return min(timings)


def langevin_rows(scale: float):
    for target_name in ("ring8", "banana"):
        target = get_target(target_name)
        for sampler, spec in SAMPLERS.items():
            if spec.mixture_only and not target.is_mixture:
                continue
            n, steps = (int(2000 * scale), 10) if sampler == "svgd" else (int(20_000 * scale), 100)
            work = n * steps * step_cost(sampler, LANGEVIN_PARAMS, target, n)
            seconds = best_seconds(lambda: simulate(sampler, target, n, steps, np.array([0, steps]), 1, LANGEVIN_PARAMS,
                                                    INIT_GAUSSIAN, np.array([0.0, 0.0, 3.0, 0.0]), "cpu"))
            yield f"langevin {sampler} on {target_name}", work, seconds


def diffusion_rows(scale: float):
    from benchmarks.gpu.diffusion import random_model  # an MLP of the learned score's layout, random weights

    target, n = get_target("ring8"), int(2000 * scale)
    grid = build_grid(PROCESSES["vp"], "uniform", 100, 1e-3, 1.0, 1.0)
    model = random_model(widths=(3, 64, 64, 2))
    for sampler in ("em", "euler", "heun", "dpmpp2m"):
        for score in ("exact", "learned"):
            learned = score == "learned"
            params = np.array([1.0, 0.16, 0.5, SCORES[score], 1.0, 0.0])
            starts = diffusion.start_points(target, n, grid, 1)
            work = n * 100 * diffusion.step_cost(sampler, len(target.mix), learned, model.size if learned else 0)
            seconds = best_seconds(lambda: diffusion.sample_paths(sampler, starts, grid, params, np.array([0, 100]), 1,
                                                                  target.mix, "cpu", model=model if learned else None))
            yield f"diffusion {sampler}, {score} score", work, seconds
        n_blocked = max(diffusion.BLOCKED_MIN_PARTICLES, 10 * n)  # the block launcher's sizes
        params = np.array([1.0, 0.16, 0.5, SCORES["exact"], 1.0, 0.0])
        starts = diffusion.start_points(target, n_blocked, grid, 1)
        work = n_blocked * 100 * diffusion.step_cost(sampler, len(target.mix), False, 0, blocked=True)
        seconds = best_seconds(lambda: diffusion.sample_paths(sampler, starts, grid, params, np.array([0, 100]), 1,
                                                              target.mix, "cpu"))
        yield f"diffusion {sampler}, exact score, blocked", work, seconds


def lorenz_rows(scale: float):
    n, steps = int(2000 * scale), 500
    for method in lorenz.INTEGRATORS:
        starts = np.array([1.0, 1.0, 20.0]) + np.random.default_rng(0).standard_normal((n, 3))
        seconds = best_seconds(lambda: lorenz.integrate_ensemble(starts, steps, np.array([0, steps]), 0.005,
                                                                 noise=0.5, method=method))
        yield f"lorenz-63 {method}", n * steps * lorenz.step_cost(method, 3), seconds
    starts = 8.0 + np.random.default_rng(0).standard_normal((n, 40))
    seconds = best_seconds(lambda: lorenz.integrate_ensemble(starts, steps, np.array([0, steps]), 0.005, method="rk4",
                                                             system="lorenz96"))
    yield "lorenz-96 rk4, 40 sites", n * steps * lorenz.step_cost("rk4", 40, noisy=False), seconds
    starts = np.array([1.0, 1.0, 20.0]) + np.random.default_rng(0).standard_normal((10 * n, 3))
    seconds = best_seconds(lambda: lorenz.integrate_ensemble(starts, steps, np.array([0, steps]), 0.005))
    yield "lorenz-63 rk4, no noise, 10× members", 10 * n * steps * lorenz.step_cost("rk4", 3, noisy=False), seconds


def sinkhorn_rows(scale: float):
    n, iterations = int(2000 * scale), 20
    x, y = sample_cloud("gauss", n, seed=1), sample_cloud("moons", n, seed=2)
    seconds = best_seconds(lambda: sinkhorn(x, y, 0.05, tol=1e-30, max_iterations=iterations))
    yield f"sinkhorn, {n:,} points a side", iterations * iteration_cost(n, n), seconds


def main(argv=None) -> int:
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    scale = 0.25 if quick else 1.0
    print("Work estimates (kernels.chunks units ÷ WORK_PER_SECOND = %.3g/s) against measured seconds, CPU" % WORK_PER_SECOND)
    print(f"{'kernel':<36}{'estimate s':>12}{'measured s':>12}{'measured ÷ estimate':>21}")
    for rows in (langevin_rows, diffusion_rows, lorenz_rows, sinkhorn_rows):
        for name, work, seconds in rows(scale):
            estimate = work / WORK_PER_SECOND
            print(f"{name:<36}{estimate:>12.4f}{seconds:>12.4f}{seconds / estimate:>20.2f}×", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
