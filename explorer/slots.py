"""Run slots the sessions of a server process share in turns, and the work a live run may take (issue 17).

The runs of every session in the process share the cores: at most one per core at a time (twenty sessions
running at once on two cores only thrashed, and starved the event loop that draws the results of the
GIL). A run holds a slot while it computes; between two slices of its time loop (kernels.chunks) it
calls :meth:`FairSlots.take_turn`, which hands its slot to the run that has waited longest, if any, and
queues it behind the others. Slots are granted in the order they were asked for, so a light run waits at
most a slice behind each heavy run ahead of it, instead of until the heavy runs end.

A live run may also compute for at most :data:`RUN_BUDGET_S` seconds (``serve --max-run-seconds``): each
scene estimates a run's work before it starts and refuses one over the budget (Scene.check_work).
"""
from __future__ import annotations

import os
import threading
from collections import deque

RUN_BUDGET_S = 5.0  # seconds a live run may compute: a few seconds of the serving machine (None: no limit)


def set_run_budget(seconds: float | None) -> None:
    """``serve --max-run-seconds``: the budget of every live run from now on (None or 0: no limit)."""
    global RUN_BUDGET_S
    RUN_BUDGET_S = seconds or None


class FairSlots:
    """``count`` slots granted first come, first served (``with slots:`` holds one)."""

    def __init__(self, count: int):
        self.count = max(1, int(count))
        self._free = self.count
        self._waiting: deque[threading.Event] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            if self._free > 0 and not self._waiting:
                self._free -= 1
                return
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()  # the slot was handed over by release() or take_turn()

    def release(self) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()  # the slot goes straight to the longest waiting run
            else:
                self._free += 1

    def take_turn(self) -> None:
        """Called by a run holding a slot: if another run waits, it gets the slot now and this run queues
        behind every run already waiting; otherwise this run goes on at once."""
        with self._lock:
            if not self._waiting:
                return
            self._waiting.popleft().set()
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()

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
