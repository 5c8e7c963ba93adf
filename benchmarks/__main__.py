"""``python -m benchmarks [--quick] [--json FILE]``: print our figures beside the peers' with ratios."""
from __future__ import annotations

import argparse
import json
import os
import platform

import numba


def table(title: str, rows) -> list[str]:
    ours = rows[0][3]
    lines = [title, f"{'implementation':<22}{'particles':>11}{'steps':>7}{'M particle-steps/s':>20}{'ours ÷ it':>11}"]
    for name, n, steps, rate in rows:
        if rate is None:
            lines.append(f"{name:<22}{n:>11,}{steps:>7}{'not installed':>20}{'':>11}")
            continue
        lines.append(f"{name:<22}{n:>11,}{steps:>7}{rate / 1e6:>20.1f}{ours / rate:>10.1f}×")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, about a minute")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    from benchmarks import ula_ring8

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numba threads {numba.get_num_threads()}")
    results = {"ula_ring8_float64": ula_ring8.rows(args.quick)}
    print("\n".join(table("ULA on ring8 (8-mode mixture), float64", results["ula_ring8_float64"])))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({k: [dict(zip(("implementation", "particles", "steps", "particle_steps_per_s"), r))
                           for r in v] for k, v in results.items()}, out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
