"""Write a numerical function once, compile it for the CPU (``numba.njit``) and for CUDA.

A function decorated with :func:`device` stays plain Python (callable as is, slowly, as a reference).
``fn.compile("cpu")`` returns it compiled with ``numba.njit(inline="always")``; ``fn.compile("cuda")``
returns it compiled with ``numba.cuda.jit(device=True)``. Before compiling, every global name the function
refers to that is itself a :class:`DeviceFunction` is rebound to *its* compiled version for the same
target, so one source tree of device functions serves both targets (DESIGN §4). ``overrides`` rebinds
further globals by name, in this function and in the device functions it calls: that is how a generic driver is specialised for one sampler's step.
"""
from __future__ import annotations

import hashlib
import inspect
import types

import numba

from kernels.backend import LazyModule
from kernels.numba_internals import speed_up_compiles, use_full_vector_width

# Both before any kernel compiles (kernels.numba_internals): the same code in about half the time, and loops
# that fill the CPU's vector registers (512 bits on AVX-512, where LLVM's tuning would stop at 256)
speed_up_compiles()
use_full_vector_width()

# fastmath without the no-NaN / no-Inf assumptions: divergence detection must see NaN and Inf.
FASTMATH = {"contract", "arcp", "reassoc"}
OUTLINED_ERROR_MODEL = "numpy"  # see outlined
# The build flags and this module's own source (how overrides are bound) enter every kernel's cache
# fingerprint: a change to either is a new cache entry, never a kernel compiled by the old rules.
with open(__file__, "rb") as _source:
    COMPILER_DIGEST = hashlib.sha256(_source.read()).hexdigest()[:16]
BUILD_FLAGS = f"fastmath={sorted(FASTMATH)} outlined_error_model={OUTLINED_ERROR_MODEL} compiler={COMPILER_DIGEST}"


class DeviceFunction:
    """A plain-Python numerical function that can be compiled for ``"cpu"`` or ``"cuda"``."""

    def __init__(self, py_func, role: str = "device", per_target: dict | None = None, inline: bool = True):
        self.py_func = py_func
        self.inline = inline  # CPU device functions: inlined at each call site unless False (see outlined)
        self.per_target = per_target or {}  # target -> a replacement source for that target only
        self.role = role
        self.__name__ = py_func.__name__
        self.__doc__ = py_func.__doc__
        self.__wrapped__ = py_func
        self._compiled: dict = {}

    def __call__(self, *args):
        return self.py_func(*args)

    def refers_to(self, name: str) -> bool:
        """Whether this function, or a device function it calls, refers to the global ``name``."""
        names = self.py_func.__code__.co_names
        if name in names:
            return True
        scope = self.py_func.__globals__
        return any(isinstance(scope.get(n), DeviceFunction) and scope[n] is not self and scope[n].refers_to(name)
                   for n in names)

    def fingerprint(self, **overrides) -> str:
        """A hash of this function's source and of every device function it reaches (overrides applied).

        It names the on-disk numba cache of a compiled kernel, so editing any function a kernel inlines
        gives a new cache entry instead of a stale one (numba alone only watches the kernel's own file).
        """
        digest = hashlib.sha256(BUILD_FLAGS.encode() + inspect.getsource(self.py_func).encode())
        for target in sorted(self.per_target):
            digest.update(inspect.getsource(self.per_target[target]).encode())
        scope = self.py_func.__globals__
        for name in sorted(set(self.py_func.__code__.co_names)):
            value = overrides.get(name, scope.get(name))
            if name in overrides and not isinstance(value, DeviceFunction):  # a constant rebound by name
                digest.update(f"{name}={value!r}".encode())
            if isinstance(value, DeviceFunction) and value is not self:
                relevant = {k: v for k, v in overrides.items() if k != name and value.refers_to(k)}
                digest.update(name.encode() + value.fingerprint(**relevant).encode())
        return digest.hexdigest()[:16]

    def rebound(self, target: str, **overrides) -> types.FunctionType:
        """A copy of the Python function whose device-function globals point at ``target`` builds."""
        source = self.per_target.get(target, self.py_func)
        code = source.__code__
        scope = dict(source.__globals__)
        for name in code.co_names:
            value = overrides.get(name, scope.get(name))
            if isinstance(value, DeviceFunction):  # itself specialised by the overrides it reaches (not its own name)
                relevant = {k: v for k, v in overrides.items() if k != name and value.refers_to(k)}
                scope[name] = value.compile(target, **relevant)
            elif name in overrides:
                scope[name] = value
            elif isinstance(scope.get(name), LazyModule):  # numba types the module itself, not a proxy
                scope[name] = scope[name].load()
        clone = types.FunctionType(code, scope, self.py_func.__name__, source.__defaults__, source.__closure__)
        clone.__qualname__ = self.py_func.__qualname__
        if self.role == "kernel":  # a distinct cache entry per specialisation and per source version
            clone.__qualname__ += "_" + self.fingerprint(**overrides)
        return clone

    def compile(self, target: str, **overrides):
        """The function compiled for ``target`` ("cpu" or "cuda"), memoised per set of overrides."""
        key = (target, tuple(sorted((k, id(v)) for k, v in overrides.items())))
        if key not in self._compiled:
            clone = self.rebound(target, **overrides)
            if target == "cpu" and self.role == "device" and self.inline:
                compiled = numba.njit(inline="always", fastmath=FASTMATH, nogil=True)(clone)
            elif target == "cpu" and self.role == "device":  # see outlined: its own error model
                compiled = numba.njit(inline="never", fastmath=FASTMATH, nogil=True, error_model=OUTLINED_ERROR_MODEL)(clone)
            elif target == "cpu":
                compiled = numba.njit(parallel=True, fastmath=FASTMATH, nogil=True, cache=True)(clone)
            elif target == "cuda":
                from numba import cuda

                compiled = cuda.jit(device=self.role == "device")(clone)
            else:
                raise ValueError(f"unknown compile target {target!r}: expected 'cpu' or 'cuda'")
            self._compiled[key] = compiled
        return self._compiled[key]


def device(py_func) -> DeviceFunction:
    """Decorator: mark ``py_func`` as a device function compiled for both targets (see module doc)."""
    return DeviceFunction(py_func)


def outlined(py_func) -> DeviceFunction:
    """Decorator: a device function the CPU build calls instead of inlining (``inline="never"``), for a
    large body reached from several call sites (the learned score's network): it is compiled once, not
    once per site, which keeps the kernels' compile time down. Its source still enters the kernels'
    cache fingerprint like any device function's. Compiled on its own, it is given ``error_model="numpy"``
    (an inlined function takes its caller's): a float division by zero gives ±Inf or NaN, which the
    divergence tests see, instead of a zero-divisor check that raises, a branch that stops a loop from
    vectorising (the Lorenz noise draw with the polynomial log: 53 M members/s with the check, 256 without)."""
    return DeviceFunction(py_func, inline=False)


def device_per_target(cpu, cuda) -> DeviceFunction:
    """A device function with a different source per target, for the rare thing the targets spell
    differently (a per-thread scratch array: ``np.empty`` on the CPU, ``cuda.local.array`` on CUDA)."""
    return DeviceFunction(cpu, per_target={"cuda": cuda})


def kernel(py_func) -> DeviceFunction:
    """Decorator: a launchable entry point; for "cpu" it becomes ``njit(parallel=True)`` (use ``prange``),
    for "cuda" a ``cuda.jit`` kernel. It rebinds its device-function globals like :func:`device`."""
    return DeviceFunction(py_func, role="kernel")
