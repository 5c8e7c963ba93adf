"""Annealed Langevin dynamics over a geometric noise ladder (Song & Ermon 2019), with the exact score.

At step t of n the target is the mixture convolved with N(0, σ_t² I),
σ_t = σ_max (σ_min/σ_max)^{t/(n−1)}, whose score is exact for Gaussian mixtures (kernels.mixture).
The step grows with the noise level, h_t = h(1 + σ_t²), since the smoothed target is that much wider:
x' = x + h_t ∇log p_{σ_t}(x) + √(2h_t T) ξ. Mixture targets only.
"""
import math

from kernels.compile import device
from kernels.mixture import mixture_potential
from kernels.rng import K_STEP, STREAM_DYNAMICS, normal_pair
from kernels.samplers.layout import SIGMA_MAX, SIGMA_MIN, STEP_SIZE, TEMPERATURE


@device
def noise_level(t, n_steps, sigma_max, sigma_min):
    """σ_t on the geometric ladder from σ_max (t = 0) to σ_min (t = n − 1)."""
    if n_steps <= 1:
        return sigma_min
    return sigma_max * math.pow(sigma_min / sigma_max, t / (n_steps - 1.0))


@device
def annealed_step(state, p, t, n_steps, seed, params, kind, tparams, mix):
    """One annealed Langevin step at noise level σ_t (see module doc)."""
    sigma = noise_level(t, n_steps, params[SIGMA_MAX], params[SIGMA_MIN])
    h = params[STEP_SIZE] * (1.0 + sigma * sigma)
    scale = math.sqrt(2.0 * h * params[TEMPERATURE])
    x = state[p, 0]
    y = state[p, 1]
    _, gx, gy = mixture_potential(x, y, mix, sigma * sigma)
    xi0, xi1 = normal_pair(seed, STREAM_DYNAMICS, p, t, K_STEP)
    state[p, 0] = x - h * gx + scale * xi0
    state[p, 1] = y - h * gy + scale * xi1
    return 1.0
