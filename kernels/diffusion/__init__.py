"""Diffusions and stochastic interpolants on 2D Gaussian mixtures with an exact score.

- :mod:`processes`: Gaussian probability paths x_t = a_t x₀ + s_t z (data at t = 0, noise at t = 1).
- :mod:`score`: the exact log-density, score and denoiser E[x₀ | x_t] of a mixture along such a path.
- :mod:`grids`: time grids (uniform, EDM ρ-schedule, uniform log-SNR) from an NFE budget.
- :mod:`samplers`: the per-particle ODE/SDE steps; :mod:`driver`: runs them on CPU or CUDA.
"""
from kernels.diffusion.driver import sample_paths
from kernels.diffusion.grids import SCHEDULES, build_grid
from kernels.diffusion.processes import PROCESSES
from kernels.diffusion.samplers import SAMPLERS, steps_for

__all__ = ["PROCESSES", "SAMPLERS", "SCHEDULES", "build_grid", "sample_paths", "steps_for"]
