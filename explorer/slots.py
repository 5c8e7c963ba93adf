"""Run slots the sessions of a server process share in turns, and the work a live run may take (issue 17).

The runs of every session in the process share the cores: at most one per core at a time (twenty sessions
running at once on two cores only thrashed, and starved the event loop that draws the results of the
GIL). A run holds a slot while it computes; between two slices of its time loop (kernels.chunks) it
calls :meth:`FairSlots.take_turn`, which hands its slot to the run that has waited longest, if any, and
queues it behind the others. Slots are granted in the order they were asked for, so a light run waits at
most a slice behind each heavy run ahead of it, instead of until the heavy runs end.

A slot is handed over only once its run has held it for a quantum (``SLICE_SECONDS``, the length a time loop's
slice is cut to): a kernel that calls between its iterations far more often (Sinkhorn, after every sweep of
a fraction of a millisecond) would otherwise queue behind every waiting run a hundred times a run. With ten
sessions a process under the load test, each bridges session got 2–4 updates a minute that way (waits up to
22 s) against 26–49 for the others; with the quantum every session got 21–32, the longest wait 4.4 s.

A live run may also compute for at most :data:`RUN_BUDGET_S` seconds (``serve --max-run-seconds``): each
scene estimates a run's work before it starts and refuses one over the budget (Scene.check_work).
"""
from __future__ import annotations

import os
import threading
import time
from collections import deque

from kernels.chunks import SLICE_SECONDS

RUN_BUDGET_S = 5.0  # seconds a live run may compute: a few seconds of the serving machine (None: no limit)


def set_run_budget(seconds: float | None) -> None:
    """``serve --max-run-seconds``: the budget of every live run from now on (None or 0: no limit)."""
    global RUN_BUDGET_S
    RUN_BUDGET_S = seconds or None


class FairSlots:
    """``count`` slots granted first come, first served (``with slots:`` holds one), each kept by its run for
    at least ``quantum`` seconds before :meth:`take_turn` hands it over."""

    def __init__(self, count: int, quantum: float = SLICE_SECONDS):
        self.count = max(1, int(count))
        self.quantum = float(quantum)
        self._free = self.count
        self._waiting: deque[threading.Event] = deque()
        self._lock = threading.Lock()
        self._held = threading.local()  # .since: when this thread's run was granted the slot it holds

    def _granted(self) -> None:
        self._held.since = time.perf_counter()

    def acquire(self) -> None:
        with self._lock:
            if self._free > 0 and not self._waiting:
                self._free -= 1
                self._granted()
                return
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()  # the slot was handed over by release() or take_turn()
        self._granted()

    def release(self) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()  # the slot goes straight to the longest waiting run
            else:
                self._free += 1

    def take_turn(self) -> None:
        """Called by a run holding a slot: if another run waits and this one has held the slot for its
        quantum, the other gets the slot now and this run queues behind every run already waiting;
        otherwise this run goes on at once."""
        if time.perf_counter() - getattr(self._held, "since", 0.0) < self.quantum:
            return
        with self._lock:
            if not self._waiting:
                return
            self._waiting.popleft().set()
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()
        self._granted()

    @property
    def waiting(self) -> int:
        """Runs waiting for a slot."""
        with self._lock:
            return len(self._waiting)

    def __enter__(self) -> "FairSlots":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def run_slots(processes: int = 1) -> FairSlots:
    """One run slot per core and server process, at least one."""
    return FairSlots((os.cpu_count() or 1) // max(1, processes))
