"""``python -m benchmarks [--quick] [--json FILE]``: print our figures beside the peers' with ratios."""
from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import platform

import numba

from benchmarks._harness import table


DEFAULT_FIELDS = ("implementation", "particles", "steps", "particle_steps_per_s")


def benchmark_modules() -> list[str]:
    """Every module of this package not starting with "_": one per hot kernel, each with TITLE and
    rows(quick) -> [(implementation, size, steps, rate)], ours first, rate in the units TITLE names.

    A module whose rows have another shape also defines FIELDS (the names of a row's entries, used as the
    JSON keys) and table(title, rows) -> lines; one that cannot run on this machine defines skip_reason()
    returning why (None where it can run), and is listed as skipped. A check with a command of its own and no
    rows (``jupyterlab_app``) is left out, as the packages (``gpu``) are."""
    import benchmarks

    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__)
                   if not m.name.startswith("_") and not m.ispkg)
    return [name for name in names if hasattr(importlib.import_module(f"benchmarks.{name}"), "rows")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, about a minute")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this benchmark module (repeatable), e.g. scaling")
    args = parser.parse_args(argv)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numba threads {numba.get_num_threads()}")
    results, fields, skipped = {}, {}, {}
    for name in benchmark_modules():
        if args.only and name not in args.only:
            continue
        module = importlib.import_module(f"benchmarks.{name}")
        reason = getattr(module, "skip_reason", lambda: None)()
        if reason:
            skipped[name] = reason
            print(f"{module.TITLE}\nskipped: {reason}", end="\n\n", flush=True)
            continue
        results[name] = module.rows(args.quick)
        fields[name] = getattr(module, "FIELDS", DEFAULT_FIELDS)
        print("\n".join(getattr(module, "table", table)(module.TITLE, results[name])), end="\n\n", flush=True)
    if args.json:
        figures = {k: [dict(zip(fields[k], r)) for r in v] for k, v in results.items()}
        with open(args.json, "w") as out:
            json.dump({**figures, "skipped": skipped} if skipped else figures, out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
