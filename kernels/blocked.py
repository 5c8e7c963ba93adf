"""Build the vectorised CPU block launchers of the particle families (DESIGN §10), one mechanism for all.

A block launcher runs ``prange`` over blocks of BLOCK particles with the time loop outside an inner loop
over the block's particles. That inner loop vectorises when everything it calls is inlined straight-line
code: the transcendentals rebound to the polynomial ones of :data:`kernels.fastmath.FAST_MATH`, the
mixture passed as a tuple of rows so its component loop unrolls (:func:`kernels.mixture.mixture_rows`),
and no call left in the loop. :func:`block_kernel` compiles such a launcher once per specialisation
(the Langevin samplers, kernels.samplers.driver; the diffusion samplers, kernels.diffusion.driver) with
the flags that keep calls out of the loop, and :func:`run_compiled` calls it with the unroll budget the
component loop needs.
"""
from __future__ import annotations

import numba
import numpy as np

from kernels.compile import FASTMATH, DeviceFunction
from kernels.fastmath import FAST_MATH
from kernels.mixture import mixture_flat
from kernels.numba_internals import WITHOUT_REFCOUNTING, llvm_unroll_threshold

BLOCK = 512  # particles per CPU block: the vectorised inner loop (a block's columns stay in L1)
# LLVM fully unrolls a loop only below a size budget (300 at -O3); the mixture's component loop (K × ~70
# instructions) must unroll for the particle loop around it to be innermost and vectorise, so the block
# kernel is compiled with a larger budget (K up to about 25), and the default is put back after it.
UNROLL_THRESHOLD = 2000
DEFAULT_UNROLL_THRESHOLD = 300
# numba passes a tuple into a prange region only up to NUMBA_PARFOR_MAX_TUPLE_SIZE (100) entries: the flat
# mixture of 10 numbers per component fits for K ≤ 10 (ring8, asym2, gauss …). A larger mixture (grid25, a
# drawing of 64 strokes) reaches the block launcher as an array instead (block_mixture).
BLOCKED_MAX_COMPONENTS = 10


def block_mixture(mix: np.ndarray) -> tuple | np.ndarray:
    """The (K, 10) mixture as a block launcher takes it. Up to BLOCKED_MAX_COMPONENTS components, the flat
    tuple of kernels.mixture.mixture_flat: K is in the kernel's type, the component loop unrolls and the
    particle loop vectorises (one kernel per K). Beyond, the Fortran-ordered array, each of its columns
    contiguous over the components: one kernel for every K, the component loops vectorised instead
    (kernels.mixture.mixture_potential_two_pass; :func:`is_wide` tells the two apart)."""
    if len(mix) <= BLOCKED_MAX_COMPONENTS:
        return mixture_flat(mix)
    return np.asfortranarray(mix, dtype=np.float64)


def is_wide(mixture) -> bool:
    """Whether a :func:`block_mixture` is the array of a mixture too large to unroll."""
    return isinstance(mixture, np.ndarray)


class Specialised(DeviceFunction):
    """``inner`` compiled with fixed ``overrides``, usable as the value of an override: kernels.compile
    compiles an override's value without the outer overrides, so they are bound here instead."""

    def __init__(self, inner: DeviceFunction, **overrides):
        super().__init__(inner.py_func)
        self.inner = inner
        self.fixed = overrides

    def refers_to(self, name: str) -> bool:
        return self.inner.refers_to(name)

    def fingerprint(self, **overrides) -> str:
        return self.inner.fingerprint(**{**overrides, **self.fixed})

    def compile(self, target: str, **overrides):
        return self.inner.compile(target, **{**overrides, **self.fixed})


def fast(function: DeviceFunction) -> Specialised:
    """``function`` with the vectorisable ``exp``/``log`` (kernels.fastmath.FAST_MATH) everywhere below it."""
    return Specialised(function, **FAST_MATH)


_BLOCK_KERNELS: dict = {}


def block_kernel(launcher: DeviceFunction, parallel: bool = True, **overrides):
    """``launcher`` (a ``@kernel``) for the CPU with ``overrides`` rebound, compiled once per set of
    overrides, with the vectorisable ``exp``/``log`` in it and in every device function it reaches
    (overrides included: each is compiled with them and with the other overrides, so a sampler's step
    sees the ``potential`` rebound beside it). A plain value (an int, a bool) is
    rebound as a compile-time constant, so the branches on it fold.

    Compiled here rather than by ``.compile("cpu")`` for two flags that keep calls out of the inner loop
    (a call stops it from vectorising): ``error_model="numpy"`` (a float division by zero gives ±Inf/NaN,
    which the divergence test sees, instead of a zero-divisor check that raises) and no reference counting
    (kernels.numba_internals.WITHOUT_REFCOUNTING: numba would otherwise incref and decref the state arrays
    around every inlined step; a block launcher allocates nothing, its scratch comes from the caller).
    ``parallel=False`` gives the serial build whose LLVM IR the tests inspect for vector instructions (a
    prange body is compiled out of the dispatcher's sight)."""
    key = (id(launcher), parallel, tuple(sorted(
        (name, id(value) if isinstance(value, DeviceFunction) else value) for name, value in overrides.items())))
    if key not in _BLOCK_KERNELS:
        below = {name: fast(value) if isinstance(value, DeviceFunction) else value
                 for name, value in overrides.items()}  # what an override's own callees see
        bound = {name: Specialised(value, **FAST_MATH, **{k: v for k, v in below.items() if k != name})
                 if isinstance(value, DeviceFunction) else value for name, value in overrides.items()}
        clone = launcher.rebound("cpu", **{**FAST_MATH, **bound})
        _BLOCK_KERNELS[key] = numba.njit(parallel=parallel, fastmath=FASTMATH, nogil=True, cache=parallel,
                                         error_model="numpy", **WITHOUT_REFCOUNTING)(clone)
    return _BLOCK_KERNELS[key]


def run_compiled(dispatcher, *args):
    """Call ``dispatcher``, compiling it first (or loading it from the cache) with the unroll budget
    UNROLL_THRESHOLD (kernels.numba_internals.llvm_unroll_threshold: under numba's compiler lock, as the LLVM
    option is process-wide)."""
    signature = tuple(numba.typeof(a) for a in args)
    if signature not in dispatcher.signatures:
        with llvm_unroll_threshold(UNROLL_THRESHOLD, DEFAULT_UNROLL_THRESHOLD):
            dispatcher.compile(signature)
    return dispatcher(*args)
