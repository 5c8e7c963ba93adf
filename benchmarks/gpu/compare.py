"""Compare a CUDA run with the CPU run of the same kernel and seed: one :class:`Check` per family.

The two builds share the source and the counter-based draws, so they agree up to the rounding of the
device's math library: positions within a small tolerance, discrete outcomes (accept counts, partner
indices, divergence steps) exactly, and NaN in the same places.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# |CPU − CUDA| allowed for positions stored as float32 (a few float32 ulps at the plotted scales) and for
# float64 outputs (rounding of exp/log/sin in the device's library over a few steps)
FLOAT32_TOL = 1e-5
FLOAT64_TOL = 1e-9
EXACT = 0.0


@dataclass
class Check:
    """One family's verdict: the largest |CPU − CUDA| over its outputs, against their tolerances."""

    family: str
    max_diff: float
    verified: bool
    moved: bool          # the CPU run changed its input: a check of a run that did nothing could not fail
    detail: str = ""     # which output was furthest off its tolerance (on a mismatch)

    def as_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        verdict = "verified" if self.verified else "MISMATCH"
        extra = "" if self.verified else f"  ({self.detail})"
        return f"{self.family:<44}{verdict:<10} largest |CPU − CUDA| {self.max_diff:.3g}{extra}"


def difference(cpu, gpu) -> float:
    """max |cpu − gpu| over the entries (float64); inf where the shapes or the NaN pattern differ."""
    cpu = np.asarray(cpu, dtype=np.float64)
    gpu = np.asarray(gpu, dtype=np.float64)
    if cpu.shape != gpu.shape:
        return float("inf")
    nan_cpu, nan_gpu = np.isnan(cpu), np.isnan(gpu)
    if not np.array_equal(nan_cpu, nan_gpu):
        return float("inf")
    both = ~nan_cpu
    return float(np.max(np.abs(cpu[both] - gpu[both]), initial=0.0))


def compare(family: str, outputs: dict, moved: bool) -> Check:
    """``outputs`` = {name: (cpu array, cuda array, tolerance)}: verified when every output is within its
    tolerance and ``moved`` holds."""
    worst, detail, verified = 0.0, "", bool(moved)
    for name, (cpu, gpu, tolerance) in outputs.items():
        diff = difference(cpu, gpu)
        worst = max(worst, diff)
        if not diff <= tolerance:
            verified = False
            detail += f"{name}: {diff:.3g} > {tolerance:g}; "
    if not moved:
        detail += "the CPU run did not move; "
    return Check(family, worst, verified, bool(moved), detail.rstrip("; "))
