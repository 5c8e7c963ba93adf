"""What the GPU timings share: the peers' GPU libraries (or why one is skipped) and the timed rows."""
from __future__ import annotations

import os
import time


class Skipped(Exception):
    """A peer that cannot run here; its message says why (printed in the table instead of a figure)."""


def cuda_skip_reason() -> str | None:
    """Why our CUDA kernels cannot be timed here (None when a GPU is present)."""
    from kernels.backend import cuda_available

    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return "the CUDA simulator is on: timings need a GPU"
    return None if cuda_available() else "no CUDA device (numba.cuda.is_available() is False)"


def torch_cuda():
    """torch, when it is installed and sees a GPU; else Skipped."""
    try:
        import torch
    except ImportError as error:
        raise Skipped(f"torch is not importable ({error})") from None
    if not torch.cuda.is_available():
        raise Skipped("torch sees no GPU (torch.cuda.is_available() is False)")
    return torch


def jax_gpu():
    """(jax, its first GPU device) with float64 on and memory allocated on demand; else Skipped."""
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # leave the GPU's memory to the others
    try:
        import jax
    except ImportError as error:
        raise Skipped(f"JAX is not importable ({error})") from None
    jax.config.update("jax_enable_x64", True)
    try:
        return jax, jax.devices("gpu")[0]
    except RuntimeError as error:
        raise Skipped(f"JAX has no GPU backend ({str(error).splitlines()[0]})") from None


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def timed_rows(implementations):
    """(rows, reasons) for (name, seconds_fn, size, steps) entries: rows (name, size, steps, units per
    second), a peer that raised Skipped (or failed) with rate None and its reason in ``reasons``."""
    rows, reasons = [], {}
    for name, seconds_for, size, steps in implementations:
        try:
            rate = size * steps / seconds_for(size, steps)
        except Skipped as skip:
            rate, reasons[name] = None, str(skip)
        except Exception as error:  # noqa: BLE001 - a peer's failure is reported, the others still run
            rate, reasons[name] = None, f"failed: {type(error).__name__}: {str(error).splitlines()[0][:200]}"
        rows.append((name, size, steps, rate))
        free_gpu_memory()
    return rows, reasons


def free_gpu_memory():
    """Hand back what torch's caching allocator holds, so the next implementation has the GPU's memory."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
