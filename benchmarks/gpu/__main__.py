"""``python -m benchmarks.gpu [--quick] [--json FILE] [--simulate]``: prove every CUDA kernel family
against the CPU build (one line per family, ``verified`` or ``MISMATCH``), then time the CUDA kernels at
scale beside torch and JAX on the same GPU (our figure, the peer's, the ratio). Exits non-zero on any
mismatch or failed check.

``--simulate`` runs the verification only, at tiny sizes, on numba's CUDA simulator (switched on here,
before numba is imported), on any CPU machine. ``--quick`` times at smaller sizes.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

TIMINGS = ("time_ula", "time_pf_ode", "time_sinkhorn", "time_lorenz")
INJECTED = 1e-3  # --inject-mismatch: added to every CUDA output, far beyond every tolerance


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="time at smaller sizes")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON (its folder is created)")
    parser.add_argument("--simulate", action="store_true",
                        help="verification only, tiny sizes, on numba's CUDA simulator (no GPU needed)")
    parser.add_argument("--only", action="append", metavar="GROUP", help=argparse.SUPPRESS)  # e.g. bridges
    parser.add_argument("--inject-mismatch", action="store_true", help=argparse.SUPPRESS)  # the check's own test
    parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def device_line() -> str:
    """The GPU the numba CUDA target sees, or why there is none."""
    try:
        from numba import cuda

        if not cuda.is_available():
            return "no CUDA device (numba.cuda.is_available() is False)"
        device = cuda.get_current_device()
        name = device.name.decode() if isinstance(device.name, bytes) else device.name
        return f"{name}, compute capability {'.'.join(map(str, device.compute_capability))}"
    except Exception as error:  # noqa: BLE001 - a broken driver is reported, not raised
        return f"no CUDA device ({type(error).__name__}: {error})"


def verify(args) -> dict:
    from benchmarks.gpu.verify import FORBIDDEN, groups, run_all

    names = [g for g in groups() if not args.only or g in args.only or g.split(":")[0] in args.only]
    print(f"verification: {len(names)} groups of checks, CUDA build against CPU build"
          f"{' (numba CUDA simulator)' if args.simulate else ''}", flush=True)
    checks, errors, modules, auto = run_all(names, args.simulate, INJECTED if args.inject_mismatch else 0.0,
                                      args.workers, report=lambda line: print(line, flush=True))
    modules = sorted(set(modules) | {m.split(".")[0] for m in sys.modules})
    failed = [c["family"] for c in checks if not c["verified"]]
    print(f"{len(checks) - len(failed)} of {len(checks)} verified" + (f"; {len(errors)} groups failed to run"
                                                                        if errors else ""), flush=True)
    # what ``backend="auto"`` resolved to in the workers: "cuda" where the device (or the simulator) is seen
    return {"checks": checks, "errors": errors, "modules": modules, "auto_backend": auto,
            "forbidden_imported": [m for m in FORBIDDEN if m in modules],
            "all_verified": not failed and not errors and bool(checks)}


def timings(quick: bool) -> dict:
    import importlib

    from benchmarks._harness import table

    results, skipped = {}, {}
    for name in TIMINGS:
        module = importlib.import_module(f"benchmarks.gpu.{name}")
        reason = module.skip_reason()
        if reason:
            skipped[name] = reason
            print(f"{module.TITLE}\nskipped: {reason}", end="\n\n", flush=True)
            continue
        rows, reasons = module.rows(quick)
        results[name] = {"title": module.TITLE, "rows": [dict(zip(("implementation", "size", "steps", "rate"), r))
                                                         for r in rows], "skipped_peers": reasons}
        print("\n".join(table(module.TITLE, rows, reasons)), end="\n\n", flush=True)
    return {"timings": results, "skipped": skipped}


def main(argv=None) -> int:
    args = parse(argv)
    if args.simulate:
        os.environ["NUMBA_ENABLE_CUDASIM"] = "1"  # before numba is imported, here and in the workers
    started = time.perf_counter()
    report = {"mode": "simulate" if args.simulate else ("quick" if args.quick else "full")}
    if not args.simulate:
        from kernels.backend import cuda_available

        report["device"] = device_line()
        print(f"device: {report['device']}", flush=True)
        if not cuda_available():
            print("no GPU here: run with --simulate for the verification on numba's CUDA simulator")
            write(args.json, {**report, "all_verified": False})
            return 2
    report.update(verify(args))
    if not args.simulate and not args.only:
        report.update(timings(args.quick))
    report["seconds"] = time.perf_counter() - started
    print(f"done in {report['seconds']:.0f} s", flush=True)
    write(args.json, report)
    return 0 if report["all_verified"] else 1


def write(file: str | None, report: dict) -> None:
    """The report as JSON into ``file`` (its folder created), when one was asked for."""
    if file:
        path = Path(file)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    raise SystemExit(main())
