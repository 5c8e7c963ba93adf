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
