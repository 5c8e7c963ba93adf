"""Seconds this process has spent compiling with Numba, so that a run's clock can leave them out.

A live run is stopped once it has *computed* for a few times its budget (scenes.base, issue 17). The first
run of a kernel in a process also compiles it (tens of seconds on a cold cache, e.g. a fresh clone with
``serve --no-warm-up``): that is not the run's work, and counting it stopped the first Lorenz run of a
fresh server before it drew anything. Numba broadcasts a ``"numba:compile"`` event around each
dispatcher's compilation (its event API, reached through kernels.numba_internals); this module adds up the
time between the outermost start and end of those events, in any thread (a run waiting for the compiler
lock another thread holds is not computing either).
"""
from __future__ import annotations

import threading
import time

from kernels.numba_internals import listen_to_compiles

_lock = threading.Lock()
_finished = 0.0             # seconds of compiling that have ended
_started: dict[int, list] = {}  # thread id -> [depth of nested compiles, start of the outermost]


def _compile_started() -> None:
    with _lock:
        entry = _started.setdefault(threading.get_ident(), [0, time.perf_counter()])
        entry[0] += 1


def _compile_ended() -> None:
    global _finished
    with _lock:
        ident = threading.get_ident()
        entry = _started.get(ident)
        if entry is None:
            return
        entry[0] -= 1
        if entry[0] == 0:
            _finished += time.perf_counter() - entry[1]
            del _started[ident]


listen_to_compiles(_compile_started, _compile_ended)


def compile_seconds() -> float:
    """Seconds spent compiling since the process started, the compilations under way included."""
    now = time.perf_counter()
    with _lock:
        return _finished + sum(now - start for _, start in _started.values())


def compiling_for() -> float:
    """Seconds the longest compilation now under way has lasted (0.0 when none is): what the app's status
    line reads to say that a run is waiting for its kernels' first compile."""
    now = time.perf_counter()
    with _lock:
        return max((now - start for _, start in _started.values()), default=0.0)
