"""Every internal of Numba (and of the LLVM under it) that the kernels rely on, each behind one name.

Numba's public API (``numba.njit``, ``numba.extending``, ``numba.types``, the documented dispatcher methods)
covers almost all the kernels need; the few things it lacks are here, each with why it is needed and what
public API was missing, so an upgrade that breaks one breaks this module only. tests/test_library_internals.py
checks each against the installed Numba and fails when an upgrade removes or changes it. Nothing else in
``kernels/`` (or in ``scenes/`` and ``benchmarks/``) imports ``numba.core`` or sets LLVM options.

Only Numba and llvmlite are imported here (DESIGN §2: kernels never import the app's libraries).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable

import llvmlite.binding as llvm
from numba.core import event
from numba.core.compiler_lock import global_compiler_lock

# The njit keyword that compiles a function without reference counting (Numba's runtime, "NRT"): no incref
# and decref of the arrays around each inlined call, which would stop the block launcher's inner loop from
# vectorising (kernels.samplers.driver). Numba accepts ``_nrt`` as a target option but documents no public
# switch for it; use as ``numba.njit(..., **WITHOUT_REFCOUNTING)`` on kernels that allocate nothing.
WITHOUT_REFCOUNTING = {"_nrt": False}

# The event Numba broadcasts around each dispatcher's compilation (numba.core.event; described in Numba's
# developer manual, not in its public API)
COMPILE_EVENT = "numba:compile"


def compiler_lock():
    """Numba's process-wide compiler lock (re-entrant; every dispatcher's compile holds it).

    Held while a process-wide LLVM option is changed for one compile (:func:`llvm_unroll_threshold`), so no
    other thread's kernel compiles with it. Numba has no public lock, nor per-function LLVM options."""
    return global_compiler_lock


@contextmanager
def llvm_unroll_threshold(threshold: int, default: int):
    """Compile under LLVM's loop-unroll budget ``threshold`` inside the block, then put ``default`` back.

    The mixture's component loop must unroll fully for the particle loop around it to vectorise, which
    needs a larger budget than LLVM's (kernels.samplers.driver). Numba has no option for LLVM's pass
    settings, so the budget is LLVM's own command-line option ``-unroll-threshold`` (llvmlite's
    ``set_option``), which is process-wide: the block holds Numba's compiler lock throughout. An LLVM that
    no longer knows the option ignores it silently; the test compiles a loop and counts what unrolled."""
    with compiler_lock():
        llvm.set_option("", f"-unroll-threshold={threshold}")
        try:
            yield
        finally:
            llvm.set_option("", f"-unroll-threshold={default}")


class _CompileListener(event.Listener):
    def __init__(self, on_start: Callable[[], None], on_end: Callable[[], None]):
        self._on_start, self._on_end = on_start, on_end

    def on_start(self, ev):
        self._on_start()

    def on_end(self, ev):
        self._on_end()


def listen_to_compiles(on_start: Callable[[], None], on_end: Callable[[], None]):
    """Call ``on_start()`` and ``on_end()`` (in the compiling thread) around each of Numba's dispatcher
    compilations, nested ones included; returns a handle for :func:`stop_listening`.

    The compile clock (kernels.compile_clock) leaves compiling out of a run's work time. Numba announces
    compilations only through its event API, which lives under ``numba.core``."""
    listener = _CompileListener(on_start, on_end)
    event.register(COMPILE_EVENT, listener)
    return listener


def stop_listening(listener) -> None:
    """Stop a :func:`listen_to_compiles` listener."""
    event.unregister(COMPILE_EVENT, listener)
