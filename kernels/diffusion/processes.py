"""Gaussian probability paths x_t = a_t·x₀ + s_t·z, z ~ N(0, I), data x₀ at t = 0 and noise at t = 1.

``path_coefficients(kind, t, gamma_a)`` returns (a_t, s_t, da/dt, ds/dt):

- ``vp``: Song et al. 2021, β(t) = 0.1 + 19.9t, log a_t = −t²·19.9/4 − 0.05t, s_t = √(1 − a_t²) written
  as √(−expm1(2 log a_t)) so no cancellation near t = 0; da/dt = −½β a, ds/dt = ½β a²/s.
- ``ve``: a_t = 1, s_t = σ_min (σ_max/σ_min)^t with σ_min = 0.01, σ_max = 50 (Song et al. 2021).
- ``linear``: a_t = 1 − t, s_t = t (rectified flow, Liu et al. 2023; flow matching, Lipman et al. 2023).
- ``trig``: a_t = cos(πt/2), s_t = sin(πt/2).
- ``interpolant``: the stochastic interpolant x_t = α(t)x₀ + β(t)x₁ + γ(t)z of Albergo, Boffi &
  Vanden-Eijnden (2023) with α = 1 − t, β = t, γ(t) = √(a·t(1 − t)) and a Gaussian base x₁ ~ N(0, I):
  β x₁ + γ z is one Gaussian, so x_t = a_t x₀ + s_t ẑ with a_t = 1 − t, s_t = √(t² + a·t(1 − t)).
  Its velocity b = α'E[x₀|x] + β'E[x₁|x] + γ'E[z|x] equals a'E[x₀|x] + s'E[ẑ|x] (as s s' = ββ' + γγ').

The reverse-time machinery needs f = a'/a and g² = d(s²)/dt − 2f s² = 2s²·d log(s/a)/dt (the forward
SDE dx = f x dt + g dW that has these marginals; Kingma et al. 2021).
"""
from __future__ import annotations

import math

from kernels.compile import device

VP, VE, LINEAR, TRIG, INTERPOLANT = 0, 1, 2, 3, 4
PROCESSES = {"vp": VP, "ve": VE, "linear": LINEAR, "trig": TRIG, "interpolant": INTERPOLANT}
VP_BETA_MIN, VP_BETA_MAX = 0.1, 20.0
VE_SIGMA_MIN, VE_SIGMA_MAX = 0.01, 50.0


@device
def path_coefficients(kind, t, gamma_a):
    """(a_t, s_t, da_t/dt, ds_t/dt) of process ``kind`` at time t ∈ (0, 1] (see the module doc)."""
    if kind == VP:
        beta = VP_BETA_MIN + (VP_BETA_MAX - VP_BETA_MIN) * t
        log_a = -0.25 * t * t * (VP_BETA_MAX - VP_BETA_MIN) - 0.5 * VP_BETA_MIN * t
        a = math.exp(log_a)
        s = math.sqrt(-math.expm1(2.0 * log_a))
        return a, s, -0.5 * beta * a, 0.5 * beta * a * a / s
    if kind == VE:
        rate = math.log(VE_SIGMA_MAX / VE_SIGMA_MIN)
        s = VE_SIGMA_MIN * math.exp(rate * t)
        return 1.0, s, 0.0, rate * s
    if kind == LINEAR:
        return 1.0 - t, t, -1.0, 1.0
    if kind == TRIG:
        angle = 0.5 * math.pi * t
        return math.cos(angle), math.sin(angle), -0.5 * math.pi * math.sin(angle), 0.5 * math.pi * math.cos(angle)
    # INTERPOLANT
    s = math.sqrt(t * t + gamma_a * t * (1.0 - t))
    return 1.0 - t, s, -1.0, (2.0 * t + gamma_a * (1.0 - 2.0 * t)) / (2.0 * s)


def half_g2(a, s, da, ds):
    """½g² = s·s' − (a'/a)·s²: the diffusion of the reverse SDE whose marginals are the path's."""
    return s * ds - da / a * s * s
