"""Gaussian mixtures in 2D: log-density and gradient by a one-pass log-sum-exp, 2×2 algebra in closed form.

A mixture is a float64 array ``mix`` of shape (K, 10), one row per component:
``[log w_k, μ_x, μ_y, Σ_xx, Σ_xy, Σ_yy, P_xx, P_xy, P_yy, log w_k − log 2π − ½ log det Σ_k]`` with
P = Σ⁻¹ precomputed, so the common case (no added noise) costs no log and no division per component. ``noise_var`` adds s²·I to every covariance, which is the
mixture convolved with N(0, s² I): the exact noised density used by annealed Langevin (and by any
Gaussian probability path, p_t = Σ w_k N(a μ_k, a² Σ_k + s² I)).

``mix`` may also be a tuple of K row tuples (:func:`mixture_rows`): the functions read it as ``mix[k][j]`` and
``len(mix)``, so with a tuple K is a compile-time constant, the loop over components unrolls, and a loop
over particles that calls them vectorises (kernels.samplers.driver). ``exp`` and ``log`` are the exact
library functions unless a kernel rebinds them to the vectorisable ones (kernels.fastmath.FAST_MATH).
"""
from __future__ import annotations

import math

import numpy as np
from numba import types
from numba.extending import overload

from kernels.compile import device
from kernels.fastmath import exact_exp as exp
from kernels.fastmath import exact_log as log

LOG_2PI = math.log(2.0 * math.pi)
MIX_WIDTH = 10  # columns of a mixture row


@device
def component_term(k, x, y, mix, noise_var):
    """(log w_k N((x, y); μ_k, Σ_k + s² I), and (Σ_k + s² I)⁻¹ (x − μ_k) as two numbers)."""
    if noise_var == 0.0:
        pxx = mix[k][6]
        pxy = mix[k][7]
        pyy = mix[k][8]
        log_norm = mix[k][9]
    else:  # closed-form inverse and log-determinant of Σ_k + s² I
        sxx = mix[k][3] + noise_var
        syy = mix[k][5] + noise_var
        det = sxx * syy - mix[k][4] * mix[k][4]
        pxx = syy / det
        pxy = -mix[k][4] / det
        pyy = sxx / det
        log_norm = mix[k][0] - LOG_2PI - 0.5 * log(det)
    dx = x - mix[k][1]
    dy = y - mix[k][2]
    px = pxx * dx + pxy * dy
    py = pxy * dx + pyy * dy
    return log_norm - 0.5 * (dx * px + dy * py), px, py


@device
def lse_step(log_term, running_max):
    """One step of a streaming log-sum-exp: (factor for the running sums, weight of the new term, new
    maximum). Every exponent is −|ℓ − m| ≤ 0, so nothing overflows; written with selects, not branches."""
    gap = log_term - running_max
    decay = exp(-abs(gap))
    is_new_max = gap > 0.0
    return (decay if is_new_max else 1.0), (1.0 if is_new_max else decay), max(running_max, log_term)


@device
def mixture_potential(x, y, mix, noise_var):
    """U = −log Σ_k w_k N((x, y); μ_k, Σ_k + s² I) and ∇U = Σ_k r_k (Σ_k + s² I)⁻¹ (x − μ_k).

    r_k are the responsibilities. One pass of streaming log-sum-exp: a running maximum m, and the sums
    rescaled by e^{m_old − m_new} when it grows, written with selects rather than branches; every
    exponent is −|ℓ_k − m| ≤ 0, so nothing overflows, and no scratch array is needed.
    """
    running_max = -math.inf
    total = 0.0
    gx = 0.0
    gy = 0.0
    for k in range(len(mix)):
        log_term, px, py = component_term(k, x, y, mix, noise_var)
        scale, weight, running_max = lse_step(log_term, running_max)
        total = total * scale + weight
        gx = gx * scale + weight * px
        gy = gy * scale + weight * py
    return -(running_max + log(total)), gx / total, gy / total


@device
def mixture_potential_two_pass(x, y, mix, noise_var):
    """:func:`mixture_potential` by two passes over the components: m = max_k ℓ_k, then
    U = −(m + log Σ_k e^{ℓ_k − m}) and ∇U = Σ_k e^{ℓ_k − m} (Σ_k + s² I)⁻¹ (x − μ_k) / Σ_k e^{ℓ_k − m}.

    Each pass is a reduction over k with no select between iterations, which LLVM vectorises over
    components when ``mix`` is a Fortran-ordered (K, 10) array (its columns contiguous): the block
    launchers' path for a mixture too large to unroll (kernels.blocked.BLOCKED_MAX_COMPONENTS), one
    compiled kernel for every K. The ℓ_k are computed twice rather than kept: no scratch array."""
    running_max = -math.inf
    for k in range(len(mix)):
        running_max = max(running_max, component_term(k, x, y, mix, noise_var)[0])
    total = 0.0
    gx = 0.0
    gy = 0.0
    for k in range(len(mix)):
        log_term, px, py = component_term(k, x, y, mix, noise_var)
        weight = exp(log_term - running_max)
        total += weight
        gx += weight * px
        gy += weight * py
    return -(running_max + log(total)), gx / total, gy / total


@device
def mixture_as_potential(x, y, kind, params, mix, noise_var):
    """:func:`kernels.targets.potential` for a mixture target, without the branches on ``kind``: the
    samplers' CPU kernel is compiled with ``potential`` rebound to it, so its particle loop vectorises."""
    return mixture_potential(x, y, mix, noise_var)


@device
def wide_mixture_as_potential(x, y, kind, params, mix, noise_var):
    """:func:`mixture_as_potential` by :func:`mixture_potential_two_pass`, for a mixture passed as a
    Fortran-ordered array (the block launchers' path past BLOCKED_MAX_COMPONENTS components)."""
    return mixture_potential_two_pass(x, y, mix, noise_var)


@device
def mixture_log_terms_argmax(x, y, mix):
    """Index of the component with the largest responsibility at (x, y) (the mode a point belongs to)."""
    best = 0
    best_value = -math.inf
    for k in range(mix.shape[0]):
        dx = x - mix[k, 1]
        dy = y - mix[k, 2]
        value = mix[k, 9] - 0.5 * (mix[k, 6] * dx * dx + 2.0 * mix[k, 7] * dx * dy + mix[k, 8] * dy * dy)
        if value > best_value:
            best_value = value
            best = k
    return best


def pack_mixture(weights, means, covariances) -> np.ndarray:
    """The (K, 10) array of a mixture from weights (K,), means (K, 2) and covariances (K, 2, 2)."""
    weights = np.asarray(weights, dtype=float)
    means = np.asarray(means, dtype=float).reshape(-1, 2)
    covariances = np.asarray(covariances, dtype=float).reshape(-1, 2, 2)
    if not (len(weights) == len(means) == len(covariances)):
        raise ValueError("a mixture needs as many weights, means and covariances")
    if np.any(weights <= 0):
        raise ValueError("mixture weights must be positive")
    det = covariances[:, 0, 0] * covariances[:, 1, 1] - covariances[:, 0, 1] ** 2
    if np.any(covariances[:, 0, 0] <= 0) or np.any(det <= 0):
        raise ValueError("every mixture covariance must be positive definite")
    mix = np.empty((len(weights), 10))
    mix[:, 0] = np.log(weights / weights.sum())
    mix[:, 1:3] = means
    mix[:, 3] = covariances[:, 0, 0]
    mix[:, 4] = covariances[:, 0, 1]
    mix[:, 5] = covariances[:, 1, 1]
    mix[:, 6] = covariances[:, 1, 1] / det
    mix[:, 7] = -covariances[:, 0, 1] / det
    mix[:, 8] = covariances[:, 0, 0] / det
    mix[:, 9] = mix[:, 0] - LOG_2PI - 0.5 * np.log(det)
    return mix


def mixture_flat(mix: np.ndarray) -> tuple:
    """The (K, 10) mixture array as one flat tuple of 10K floats: passed to a CPU kernel, K becomes part
    of its type (a ``prange`` body can take a flat tuple, not a tuple of tuples); the kernel turns it
    back into rows with :func:`mixture_rows`."""
    return tuple(float(v) for v in np.asarray(mix, dtype=np.float64).ravel())


def mixture_rows(flat):
    """The tuple of K row tuples of a flat mixture tuple (:func:`mixture_flat`); an array passes through.
    Compiled (CPU), it is K static slices: the rows are values, loop-invariant in the kernel."""
    if isinstance(flat, np.ndarray):
        return flat
    return tuple(tuple(flat[i:i + MIX_WIDTH]) for i in range(0, len(flat), MIX_WIDTH))


# The rows of a flat mixture of K components, one function of K static slices per K (up to the K a prange body
# can take: kernels.blocked.BLOCKED_MAX_COMPONENTS). A recursive overload (a row, then the rest) compiled in
# 10.5 s for K = 8, against 0.4 s for this: numba retyped every level.
_ROWS_OF_K = (
    lambda flat: (flat[0:10],),
    lambda flat: (flat[0:10], flat[10:20]),
    lambda flat: (flat[0:10], flat[10:20], flat[20:30]),
    lambda flat: (flat[0:10], flat[10:20], flat[20:30], flat[30:40]),
    lambda flat: (flat[0:10], flat[10:20], flat[20:30], flat[30:40], flat[40:50]),
    lambda flat: (flat[0:10], flat[10:20], flat[20:30], flat[30:40], flat[40:50], flat[50:60]),
    lambda flat: (flat[0:10], flat[10:20], flat[20:30], flat[30:40], flat[40:50], flat[50:60],
                  flat[60:70]),
    lambda flat: (flat[0:10], flat[10:20], flat[20:30], flat[30:40], flat[40:50], flat[50:60],
                  flat[60:70], flat[70:80]),
    lambda flat: (flat[0:10], flat[10:20], flat[20:30], flat[30:40], flat[40:50], flat[50:60],
                  flat[60:70], flat[70:80], flat[80:90]),
    lambda flat: (flat[0:10], flat[10:20], flat[20:30], flat[30:40], flat[40:50], flat[50:60],
                  flat[60:70], flat[70:80], flat[80:90], flat[90:100]),
)


@overload(mixture_rows, inline="always")
def _mixture_rows_compiled(flat):
    if isinstance(flat, types.Array):
        return lambda flat: flat
    assert MIX_WIDTH == 10 and len(flat) % MIX_WIDTH == 0 and len(flat) // MIX_WIDTH <= len(_ROWS_OF_K), len(flat)
    return _ROWS_OF_K[len(flat) // MIX_WIDTH - 1]


def sample_mixture(mix: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Exact draws: a component by its weight, then μ_k + L_k z with L_k the 2×2 Cholesky factor."""
    component = rng.choice(len(mix), size=n, p=np.exp(mix[:, 0]))
    z = rng.standard_normal((n, 2))
    sxx, sxy, syy = mix[component, 3], mix[component, 4], mix[component, 5]
    l11 = np.sqrt(sxx)
    l21 = sxy / l11
    l22 = np.sqrt(syy - l21 ** 2)
    return np.stack([mix[component, 1] + l11 * z[:, 0],
                     mix[component, 2] + l21 * z[:, 0] + l22 * z[:, 1]], axis=1)
