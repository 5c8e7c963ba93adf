"""Every internal of Numba (and of the LLVM under it) that the kernels rely on, each behind one name.

Numba's public API (``numba.njit``, ``numba.extending``, ``numba.types``, the documented dispatcher methods)
covers almost all the kernels need; the few things it lacks are here, each with why it is needed and what
public API was missing, so an upgrade that breaks one breaks this module only. tests/test_library_internals.py
checks each against the installed Numba and fails when an upgrade removes or changes it. Nothing else in
``kernels/`` (or in ``scenes/`` and ``benchmarks/``) imports ``numba.core`` or sets LLVM options.

Only Numba and llvmlite are imported here (DESIGN §2: kernels never import the app's libraries).
"""
from __future__ import annotations

import copy
import threading
from contextlib import contextmanager
from itertools import chain
from typing import Callable

import llvmlite.binding as llvm
from numba.core import config, event, inline_closurecall, ir, ir_utils
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


# LLVM's tuning for the Intel cores with AVX-512 (Skylake-X on) prefers 256-bit vectors, a guard against the
# clock drop of older chips under 512-bit code; with it a loop over a block's lanes runs four doubles a step
# where the registers hold eight. Clearing the tuning feature lets the vectoriser fill them: a Lorenz-63 RK4
# block loop 1,700 → 2,200–2,400 M member-steps/s on this machine's two Rocket Lake cores.
PREFER_256_BIT = "prefer-256-bit"


def use_full_vector_width() -> None:
    """Compile for this CPU with every feature LLVM finds, less the preference for 256-bit vectors (nothing
    changes where the user set ``NUMBA_CPU_FEATURES``, or where the CPU has no AVX-512 and the feature is idle).

    Numba reads its ``NUMBA_CPU_FEATURES`` setting (``numba.core.config.CPU_FEATURES``) when it builds its
    CPU code generator, at its first compile, so this is called before any kernel compiles (kernels.compile).
    The features enter the cache key of every kernel (``magic_tuple``): a cache filled without this is
    not read with it. Vector width changes no element's rounding; it changes the order in which a
    ``reassoc`` reduction adds, so sums may differ in their last bits from a 256-bit build."""
    if config.CPU_FEATURES is None:
        features = llvm.get_host_cpu_features()
        if features.get("avx512f"):
            features[PREFER_256_BIT] = False
            config.CPU_FEATURES = features.flatten()


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


# ---------------------------------------------------------------------------------------------------------
# Compile time (issue 18: a cold start in seconds). Two of Numba's front-end passes spend most of a kernel's
# compile in ``copy.deepcopy``: 31 of the 35 s a tempering block kernel took was Numba's own Python, 3 s LLVM.
# Both fixes leave the IR, hence the machine code, as it was (the test compares the assembly). Numba reaches
# ``copy`` through each module's global of that name, so each module gets its own stand-in, which hands every
# other copy to the standard library.

NUMBA_INLINE_FUNCTION = inline_closurecall.InlineWorker.inline_function  # the one _inline_function replaces
_call_site_ir = threading.local()  # .fresh: the callee IR being inlined was built for this call site alone


class _StandInCopy:
    """The standard library's ``copy``, as a patched Numba module sees it; subclasses intercept ``deepcopy``."""
    deepcopy = staticmethod(copy.deepcopy)
    copy = staticmethod(copy.copy)  # after deepcopy: from here the class body's ``copy`` is this


class _InlinerCopy(_StandInCopy):
    """``copy`` as numba.core.inline_closurecall sees it. ``InlineWorker.inline_ir`` deep-copies the callee's
    IR twice, block by block (each block's copy deep-copies the whole variable scope again): once to mutate
    it, once to return it unmutated. ``inline_function`` — the ``inline="always"`` path, the one the kernels
    take (kernels.compile) — builds that IR afresh for each call site and its one caller drops the unmutated
    copy, so neither copy protects anything there (numba/numba#8989; numba-cuda PR #689 removes them)."""

    @staticmethod
    def deepcopy(value, memo=None):
        if getattr(_call_site_ir, "fresh", False) and type(value) is ir.Block:
            return value
        return copy.deepcopy(value, memo)


def _inline_function(self, caller_ir, block, i, function, arg_typs=None):
    """``InlineWorker.inline_function`` (Numba 0.68) with its callee IR marked as built for this call site."""
    callee_ir = self.run_untyped_passes(function)
    _call_site_ir.fresh = True
    try:
        return self.inline_ir(caller_ir, block, i, callee_ir, function.__code__.co_freevars, arg_typs=arg_typs)
    finally:
        _call_site_ir.fresh = False


def _holds_only_names(entries) -> bool:
    """A set of strings, or of tuples of strings (checked by C loops: the tables hold millions of entries)."""
    kinds = set(map(type, entries))
    return kinds <= {str} or (kinds == {tuple} and set(map(type, chain.from_iterable(entries))) <= {str})


class _DataflowCopy(_StandInCopy):
    """``copy`` as numba.core.ir_utils sees it. ``copy_propagate`` (run by every parfor pass: the block
    launchers are ``parallel=True``) deep-copies its {block: set of (name, name)} table at each round of its
    fixed point, and ``find_potential_aliases`` its {name: set of names}; sets of strings and tuples of
    strings copied as new sets are exactly their deep copies, at a fraction of the cost."""

    @staticmethod
    def deepcopy(value, memo=None):
        if (memo is None and type(value) is dict
                and all(type(entries) is set and _holds_only_names(entries) for entries in value.values())):
            return {key: set(entries) for key, entries in value.items()}
        return copy.deepcopy(value, memo)


def speed_up_compiles() -> None:
    """Install both fixes above (idempotent; kernels.compile calls it before the first kernel compiles)."""
    inline_closurecall.copy = _InlinerCopy
    inline_closurecall.InlineWorker.inline_function = _inline_function
    ir_utils.copy = _DataflowCopy
