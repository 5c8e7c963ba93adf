"""What every benchmark module shares: time each implementation on the same work and report rates."""
from __future__ import annotations


def rate_rows(implementations, size: int, quick: bool):
    """[(name, size, steps, rate per second)] for (name, seconds_fn(size, steps), steps) triples; the best of
    two timings (one with ``quick``); a function returning None (peer not installed) gives rate None."""
    out = []
    for name, seconds_for, steps in implementations:
        timings = [seconds_for(size, steps) for _ in range(1 if quick else 2)]
        seconds = None if None in timings else min(timings)
        out.append((name, size, steps, None if seconds is None else size * steps / seconds))
    return out


def table(title: str, rows, reasons: dict | None = None) -> list[str]:
    """The printed table: one line per (name, size, steps, rate) row, ours (the first) ÷ each; a row
    without a rate reads its reason from ``reasons`` (by name) or "not installed"."""
    ours = rows[0][3]
    lines = [title, f"{'implementation':<22}{'size':>11}{'steps':>7}{'M units/s':>20}{'ours ÷ it':>11}"]
    for name, n, steps, rate in rows:
        if rate is None:
            lines.append(f"{name:<22}{n:>11,}{steps:>7}  skipped: {(reasons or {}).get(name, 'not installed')}")
            continue
        ratio = f"{ours / rate:>10.1f}×" if ours else f"{'':>11}"
        lines.append(f"{name:<22}{n:>11,}{steps:>7}{rate / 1e6:>20.1f}{ratio}")
    return lines
