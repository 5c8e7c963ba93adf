"""Which compute target runs the kernels: "cpu" (numba njit, parallel) or "cuda" (numba-cuda).

``numba.cuda`` takes about 0.7 s to import (most of it ml_dtypes), which a CPU-only start should not
pay: the kernel modules refer to it through :data:`cuda`, imported on its first use, and
:func:`cuda_available` answers False without importing it when no CUDA driver library can be loaded.
"""
from __future__ import annotations

import ctypes
import functools
import importlib
import os

BACKENDS = ("auto", "cpu", "cuda")
# where numba-cuda looks for the driver first (numba.cuda.cudadrv.driver.find_driver, on Linux)
DRIVER_LIBRARIES = ("libcuda.so.1", "libcuda.so", "nvcuda.dll")


class LazyModule:
    """A module imported on its first attribute access. kernels.compile binds the module itself
    (:meth:`load`) into a function compiled for CUDA, where numba must see the real module."""

    def __init__(self, name: str):
        self.name = name

    def load(self):
        return importlib.import_module(self.name)

    def __getattr__(self, attribute):
        return getattr(self.load(), attribute)


cuda = LazyModule("numba.cuda")


@functools.cache  # asked at every run's backend choice; the answer is the process's
def driver_library_present() -> bool:
    """Whether a CUDA driver library loads (a dlopen: milliseconds), or numba is told where one is or to
    simulate CUDA; numba.cuda's own check runs only then."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" or os.environ.get("NUMBA_CUDA_DRIVER"):
        return True
    for name in DRIVER_LIBRARIES:
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            continue
    return False


def cuda_available() -> bool:
    """True when numba-cuda is installed and sees a GPU (or the CUDA simulator is enabled)."""
    if not driver_library_present():
        return False
    try:
        from numba import cuda as numba_cuda
    except ImportError:
        return False
    try:
        return bool(numba_cuda.is_available())
    except Exception:  # a broken driver install reads as "no GPU", never as a crash
        return False


def resolve_backend(name: str) -> str:
    """"auto" → "cuda" when available, else "cpu"; an explicit "cuda" without a GPU is refused."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name == "auto":
        return "cuda" if cuda_available() else "cpu"
    if name == "cuda" and not cuda_available():
        raise ValueError("backend 'cuda' was asked for but no CUDA device is available "
                         "(numba.cuda.is_available() is False); use 'cpu' or 'auto'")
    return name
