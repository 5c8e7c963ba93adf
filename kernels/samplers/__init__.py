"""Samplers for 2D targets: per-particle steps written once for CPU and CUDA (see kernels.compile)."""
from kernels.samplers.registry import SAMPLERS, SamplerSpec, simulate

__all__ = ["SAMPLERS", "SamplerSpec", "simulate"]
