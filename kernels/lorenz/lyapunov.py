"""Lyapunov exponents of Lorenz-63 by the tangent-linear method with QR re-orthonormalisation.

Benettin, Galgani, Giorgilli & Strelcyn (1980), Meccanica 15: propagate the state X and three tangent
vectors with  Ẋ = f(X),  V̇ = J(X) V  (RK4 on the joint system), re-orthonormalise V by Gram–Schmidt
(a QR factorisation V = QR) every ``reorthonormalise`` steps, and average the logarithms of the diagonal
of R:  λᵢ ≈ (1/T) Σ log Rᵢᵢ.  Each member of a small ensemble of starting points gives one estimate (a
``prange`` over members); the estimates are averaged. Reference: λ = (0.9056, 0, −14.572) at σ=10,
ρ=28, β=8/3 (Sprott), and λ₁ + λ₂ + λ₃ = −(σ + 1 + β) exactly (the divergence of the flow).
"""
from __future__ import annotations

import math

import numba
import numpy as np

from kernels.compile import device, kernel
from kernels.lorenz.systems import lorenz63_rhs, lorenz63_tangent


@device
def joint_rk4(s, h, sigma, rho, beta, k, tmp):
    """One RK4 step of the joint system s = (X, V₁, V₂, V₃) (12 numbers), with scratch k (4×12), tmp (12)."""
    for stage in range(4):
        if stage == 0:
            for i in range(12):
                tmp[i] = s[i]
        else:
            weight = h if stage == 3 else 0.5 * h
            for i in range(12):
                tmp[i] = s[i] + weight * k[stage - 1, i]
        k[stage, 0], k[stage, 1], k[stage, 2] = lorenz63_rhs(tmp[0], tmp[1], tmp[2], sigma, rho, beta)
        for v in range(3):
            o = 3 + 3 * v
            k[stage, o], k[stage, o + 1], k[stage, o + 2] = lorenz63_tangent(
                tmp[0], tmp[1], tmp[2], tmp[o], tmp[o + 1], tmp[o + 2], sigma, rho, beta)
    for i in range(12):
        s[i] += h / 6.0 * (k[0, i] + 2.0 * k[1, i] + 2.0 * k[2, i] + k[3, i])


@device
def gram_schmidt(s, log_growth):
    """Orthonormalise the tangent vectors s[3:12] in place; add log Rᵢᵢ to log_growth[i]."""
    for v in range(3):
        o = 3 + 3 * v
        for u in range(v):
            q = 3 + 3 * u
            dot = s[o] * s[q] + s[o + 1] * s[q + 1] + s[o + 2] * s[q + 2]
            for c in range(3):
                s[o + c] -= dot * s[q + c]
        norm = math.sqrt(s[o] * s[o] + s[o + 1] * s[o + 1] + s[o + 2] * s[o + 2])
        log_growth[v] += math.log(norm)
        for c in range(3):
            s[o + c] /= norm


@kernel
def cpu_spectrum(starts, n_transient, n_steps, reorthonormalise, params, out):
    h, sigma, rho, beta = params[0], params[1], params[2], params[3]
    for m in numba.prange(starts.shape[0]):
        s = np.zeros(12)
        k = np.empty((4, 12))
        tmp = np.empty(12)
        log_growth = np.zeros(3)
        for c in range(3):
            s[c] = starts[m, c]
            s[3 + 4 * c] = 1.0  # V = I
        for t in range(n_transient + n_steps):
            joint_rk4(s, h, sigma, rho, beta, k, tmp)
            if (t + 1) % reorthonormalise == 0:
                if t < n_transient:  # align the vectors before measuring, without counting the growth
                    gram_schmidt(s, tmp)
                else:
                    gram_schmidt(s, log_growth)
        for c in range(3):
            out[m, c] = log_growth[c] / (n_steps * h)


def lyapunov_spectrum(sigma=10.0, rho=28.0, beta=8.0 / 3.0, dt=0.01, duration=200.0, transient=10.0,
                      n_starts=8, reorthonormalise=10, seed=0):
    """(λ₁, λ₂, λ₃), each the mean over ``n_starts`` estimates of length ``duration`` (after ``transient``)."""
    rng = np.random.default_rng(seed)
    starts = np.array([1.0, 1.0, 1.0]) + rng.normal(scale=5.0, size=(n_starts, 3))
    starts[:, 2] += rho - 1.0  # near the attractor's centre height, so the transient is short
    out = np.empty((n_starts, 3))
    params = np.array([dt, sigma, rho, beta])
    cpu_spectrum.compile("cpu")(starts, int(round(transient / dt)), int(round(duration / dt)),
                                int(reorthonormalise), params, out)
    return out.mean(axis=0)


def largest_lyapunov_exponent(sigma=10.0, rho=28.0, beta=8.0 / 3.0, **kwargs) -> float:
    """λ₁ by :func:`lyapunov_spectrum`."""
    return float(lyapunov_spectrum(sigma, rho, beta, **kwargs)[0])
