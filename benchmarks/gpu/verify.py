"""Part 1 of the GPU check: every CUDA kernel family against the CPU build, same seeds, small sizes.

The checks come in groups (:data:`GROUPS`), one per compiled CPU kernel or so; each group runs in its own
worker process, ``python -m benchmarks.gpu.verify [--simulate] [--perturb X] GROUP…``, which prints one
JSON line: the checks' verdicts and the top-level modules it imported. Workers run side by side (a cold
CPU compile of one sampler takes tens of seconds, and they are independent), and under numba's CUDA
simulator a fresh process per group also keeps the simulator fast (a long-lived one slows down).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.gpu.compare import Check

ROOT = Path(__file__).resolve().parent.parent.parent
FORBIDDEN = ("param", "holoviews", "bokeh", "panel", "scenes", "explorer")
# (particles, steps) per family: tiny on the simulator (it runs Python per thread), small on a GPU
SIZES = {"simulate": {"langevin": (6, 4), "diffusion": (3, 3), "bridges": (6, 4), "lorenz": (5, 6)},
         "gpu": {"langevin": (512, 64), "diffusion": (512, 16), "bridges": (400, 10), "lorenz": (512, 200)}}


def groups() -> list[str]:
    """Every group name: ``langevin:SAMPLER`` per Langevin sampler, ``diffusion:S1,S2…`` (two halves of
    the diffusion samplers, which share one compiled kernel), ``bridges`` and ``lorenz``."""
    from kernels.diffusion.samplers import SAMPLERS as DIFFUSION
    from kernels.samplers import SAMPLERS as LANGEVIN

    names = list(DIFFUSION)
    half = (len(names) + 1) // 2
    return ([f"langevin:{s}" for s in LANGEVIN] + [f"diffusion:{','.join(names[:half])}",
                                                   f"diffusion:{','.join(names[half:])}", "bridges", "lorenz"])


def run_group(group: str, mode: str, perturb: float = 0.0):
    """The checks (:class:`benchmarks.gpu.compare.Check`) of one group, in this process."""
    family, _, members = group.partition(":")
    n, steps = SIZES[mode][family]
    if family == "langevin":
        from benchmarks.gpu import langevin

        return langevin.checks(members, n, steps, perturb)
    if family == "diffusion":
        from benchmarks.gpu import diffusion

        return [c for sampler in members.split(",") for c in diffusion.checks(sampler, n, steps, perturb)]
    if family == "bridges":
        from benchmarks.gpu import bridges

        return bridges.checks(n, steps, perturb)
    if family == "lorenz":
        from benchmarks.gpu import lorenz

        return lorenz.checks(n, steps, perturb)
    raise ValueError(f"unknown check group {group!r}")


def imported_modules() -> list[str]:
    """The top-level names of every module this process has imported."""
    return sorted({name.split(".")[0] for name in sys.modules})


def worker_main(argv: list[str]) -> int:
    """Worker entry point: run the groups named in ``argv``, print one JSON line (module doc)."""
    simulate = "--simulate" in argv
    perturb = float(argv[argv.index("--perturb") + 1]) if "--perturb" in argv else 0.0
    names = [a for i, a in enumerate(argv) if not a.startswith("--") and (i == 0 or argv[i - 1] != "--perturb")]
    if simulate:
        os.environ["NUMBA_ENABLE_CUDASIM"] = "1"  # before numba is first imported (below)
        import warnings

        warnings.simplefilter("ignore", RuntimeWarning)  # uint64 wrap-around in the simulator's numpy scalars
    from kernels.backend import resolve_backend

    checks = [c for name in names for c in run_group(name, "simulate" if simulate else "gpu", perturb)]
    print(json.dumps({"checks": [c.as_dict() for c in checks], "auto_backend": resolve_backend("auto"),
                      "modules": imported_modules()}))
    return 0


def on_one_core(slot: int):
    """A ``preexec_fn`` that keeps a CUDA-simulator process on one core (the ``slot``-th it may use). The
    simulator runs each CUDA thread as a Python thread; spread over two cores they hand the GIL back and
    forth between the cores, and a 3-particle diffusion check took over 90 s instead of 5 s."""
    cores = sorted(os.sched_getaffinity(0))
    return lambda: os.sched_setaffinity(0, {cores[slot % len(cores)]})


def run_all(names: list[str], simulate: bool, perturb: float = 0.0, workers: int | None = None, report=print):
    """Run the groups ``names`` in worker processes, at most ``workers`` at a time (default: one per core);
    ``report(line)`` gets each check's line as its group finishes. Returns (checks as dicts, errors
    {group: message}, the union of the workers' imported modules, the backends ``auto`` picked in them)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    if simulate:
        env["NUMBA_ENABLE_CUDASIM"] = "1"
    command = [sys.executable, "-m", "benchmarks.gpu.verify", *(["--simulate"] if simulate else []),
               *(["--perturb", repr(perturb)] if perturb else [])]
    waiting, running = list(names), {}
    checks, errors, modules, auto = [], {}, set(), set()
    limit = workers or os.cpu_count() or 1
    while waiting or running:
        while waiting and len(running) < limit:
            name = waiting.pop(0)
            slot = min(set(range(limit)) - {s for _, s in running.values()})
            running[name] = (subprocess.Popen([*command, name], cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
                                              stderr=subprocess.PIPE, preexec_fn=on_one_core(slot) if simulate else None),
                             slot)
        finished = [name for name, (process, _) in running.items() if process.poll() is not None]
        if not finished:
            time.sleep(0.05)
            continue
        for name in finished:
            process, _ = running.pop(name)
            out, err = process.communicate()
            try:
                result = json.loads(out.strip().splitlines()[-1])
            except (IndexError, ValueError):
                errors[name] = f"worker exited with {process.returncode}: {err.strip()[-2000:]}"
                report(f"{name:<44}ERROR     {errors[name].splitlines()[-1] if errors[name] else ''}")
                continue
            modules.update(result["modules"])
            auto.add(result["auto_backend"])
            for check in result["checks"]:
                checks.append(check)
                report(Check(**check).line())
    return checks, errors, sorted(modules), sorted(auto)


if __name__ == "__main__":
    raise SystemExit(worker_main(sys.argv[1:]))
