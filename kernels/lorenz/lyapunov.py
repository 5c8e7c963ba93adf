"""Lyapunov exponents by the tangent-linear method with QR re-orthonormalisation, for Lorenz-63 and Lorenz-96.

Benettin, Galgani, Giorgilli & Strelcyn (1980), Meccanica 15: propagate the state X and m tangent vectors
with  Ẋ = f(X),  V̇ = J(X) V  (the joint system of kernels.lorenz.systems, stepped by the same
:func:`kernels.lorenz.integrate.rk4_drift` as the ensembles), re-orthonormalise V by Gram–Schmidt (a QR
factorisation V = QR) every ``reorthonormalise`` steps, and average the logarithms of the diagonal of R:
λᵢ ≈ (1/T) Σ log Rᵢᵢ. Each of a few starting points gives one estimate (a ``prange`` over starts); the
estimates are averaged. References: Lorenz-63 λ = (0.9056, 0, −14.572) at σ=10, ρ=28, β=8/3 (Sprott),
with λ₁ + λ₂ + λ₃ = −(σ + 1 + β) exactly (the divergence of the flow); Lorenz-96 n = 40, F = 8:
λ₁ ≈ 1.68 (e.g. Karimi & Paul 2010, Chaos 20, 043105: 1.67–1.69).
"""
from __future__ import annotations

import math

import numba
import numpy as np

from kernels.compile import kernel
from kernels.lorenz.integrate import rk4_drift, system_parameters
from kernels.lorenz.systems import JOINT_FIELDS


def gram_schmidt(s, dim, m, log_growth):
    """Orthonormalise the m tangent vectors in rows dim·(1+v)… of s[:, 0]; add log Rᵥᵥ to log_growth[v]."""
    for v in range(m):
        o = dim * (1 + v)
        for w in range(v):
            q = dim * (1 + w)
            dot = 0.0
            for c in range(dim):
                dot += s[o + c, 0] * s[q + c, 0]
            for c in range(dim):
                s[o + c, 0] -= dot * s[q + c, 0]
        norm = 0.0
        for c in range(dim):
            norm += s[o + c, 0] * s[o + c, 0]
        norm = math.sqrt(norm)
        log_growth[v] += math.log(norm)
        for c in range(dim):
            s[o + c, 0] /= norm


gram_schmidt = numba.njit(inline="always", nogil=True)(gram_schmidt)  # CPU only: the estimate is small work


@kernel
def cpu_spectrum(starts, n_vectors, n_transient, n_steps, reorthonormalise, h, p, out):
    dim = starts.shape[1]
    rows = dim * (1 + n_vectors)
    for m in numba.prange(starts.shape[0]):
        s = np.zeros((rows, 1))
        k = np.empty((4, rows, 1))
        tmp = np.empty((rows, 1))
        unused = np.empty(n_vectors)
        log_growth = np.zeros(n_vectors)
        for c in range(dim):
            s[c, 0] = starts[m, c]
        for v in range(n_vectors):
            s[dim * (1 + v) + v, 0] = 1.0  # V = the first m unit vectors
        for t in range(n_transient + n_steps):
            rk4_drift(s, h, p, rows, 1, tmp, k, tmp)
            if (t + 1) % reorthonormalise == 0:
                if t < n_transient:  # align the vectors before measuring, without counting the growth
                    gram_schmidt(s, dim, n_vectors, unused)
                else:
                    gram_schmidt(s, dim, n_vectors, log_growth)
        for v in range(n_vectors):
            out[m, v] = log_growth[v] / (n_steps * h)


def attractor_starts(system, n_starts, dim=3, rho=28.0, forcing=8.0, seed=0):
    """Starting points near the attractor's middle, so the transient is short."""
    rng = np.random.default_rng(seed)
    if system == "lorenz63":
        starts = np.array([1.0, 1.0, 1.0]) + rng.normal(scale=5.0, size=(n_starts, 3))
        starts[:, 2] += rho - 1.0
        return starts
    return forcing + rng.normal(scale=1.0, size=(n_starts, dim))


def lyapunov_spectrum(sigma=10.0, rho=28.0, beta=8.0 / 3.0, dt=0.01, duration=200.0, transient=10.0,
                      n_starts=8, reorthonormalise=10, seed=0, system="lorenz63", dimension=3, forcing=8.0,
                      n_exponents=None):
    """The ``n_exponents`` largest exponents (all of Lorenz-63's three by default, λ₁ alone for Lorenz-96),
    each the mean over ``n_starts`` estimates of length ``duration`` (after ``transient``)."""
    dim = 3 if system == "lorenz63" else int(dimension)
    m = int(n_exponents or (3 if system == "lorenz63" else 1))
    starts = attractor_starts(system, n_starts, dim, rho, forcing, seed)
    out = np.empty((n_starts, m))
    p = np.append(system_parameters(system, sigma, rho, beta, forcing), dim)  # the joint field reads n last
    cpu_spectrum.compile("cpu", field=JOINT_FIELDS[system])(
        starts, m, int(round(transient / dt)), int(round(duration / dt)), int(reorthonormalise), float(dt), p, out)
    return out.mean(axis=0)


def largest_lyapunov_exponent(sigma=10.0, rho=28.0, beta=8.0 / 3.0, **kwargs) -> float:
    """λ₁ by :func:`lyapunov_spectrum`."""
    return float(lyapunov_spectrum(sigma, rho, beta, **{"n_exponents": 1, **kwargs})[0])
