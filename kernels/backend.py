"""Which compute target runs the kernels: "cpu" (numba njit, parallel) or "cuda" (numba-cuda)."""
from __future__ import annotations

BACKENDS = ("auto", "cpu", "cuda")


def cuda_available() -> bool:
    """True when numba-cuda is installed and sees a GPU (or the CUDA simulator is enabled)."""
    try:
        from numba import cuda
    except ImportError:
        return False
    try:
        return bool(cuda.is_available())
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
