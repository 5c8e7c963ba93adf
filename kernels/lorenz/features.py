"""Feature maps and the ridge solve shared by the linear-in-parameters forecasters (NG-RC, ESN, SINDy)."""
from __future__ import annotations

from itertools import combinations_with_replacement

import numpy as np


class TrainingTooShort(ValueError):
    """A training set shorter than the model needs; the message gives the minimum length."""


def require_length(model: str, n_points: int, minimum: int, why: str) -> None:
    """Refuse a training set of ``n_points`` when ``minimum`` are needed, saying why."""
    if n_points < minimum:
        raise TrainingTooShort(f"{model} needs at least {minimum} training points ({why}); got {n_points}")


def ridge_solve(features: np.ndarray, targets: np.ndarray, alpha: float) -> np.ndarray:
    """W minimising ‖F W − Y‖² + α‖W‖², by the SVD F = U S Vᵀ:  W = V diag(s/(s² + α)) Uᵀ Y.

    Stable however ill-conditioned F is (no normal equations are formed). With α = 0 it is the
    minimum-norm least-squares solution, with singular values below the float64 rank cut-off dropped.
    Raises FloatingPointError if the inputs are not finite.
    """
    if not (np.isfinite(features).all() and np.isfinite(targets).all()):
        raise FloatingPointError("ridge regression on non-finite training data (NaN or Inf in the features)")
    if targets.ndim == 1:
        return ridge_solve(features, targets[:, None], alpha)[:, 0]
    u, s, vt = np.linalg.svd(features, full_matrices=False)
    if alpha > 0:
        gain = s / (s * s + alpha)
    else:
        cutoff = s.max() * max(features.shape) * np.finfo(float).eps
        gain = np.where(s > cutoff, 1.0 / np.where(s > cutoff, s, 1.0), 0.0)
    return vt.T @ (gain[:, None] * (u.T @ targets))


def monomial_exponents(n_variables: int, degree: int) -> list[tuple[int, ...]]:
    """Index tuples of the monomials of total degree 0..degree in n variables (the constant first)."""
    out = [()]
    for d in range(1, degree + 1):
        out.extend(combinations_with_replacement(range(n_variables), d))
    return out


def polynomial_features(values: np.ndarray, degree: int) -> np.ndarray:
    """(..., n) → (..., m): every monomial of total degree ≤ ``degree`` (the constant 1 first)."""
    columns = [np.ones(values.shape[:-1])]
    for combo in monomial_exponents(values.shape[-1], degree)[1:]:
        column = values[..., combo[0]].copy()
        for index in combo[1:]:
            column = column * values[..., index]
        columns.append(column)
    return np.stack(columns, axis=-1)


def polynomial_jacobian_rows(values: np.ndarray, degree: int, scale: np.ndarray) -> np.ndarray:
    """(N, n) inputs → (n·N, m): row (c, t) is scale_c · ∂φ(v_t)/∂v_c for the features φ of
    :func:`polynomial_features` (degree ≤ 2). Appended to a least-squares system with zero targets they add
    Σ_t Σ_c scale_c² ‖∂(φ(v_t)·W)/∂v_c‖², the first-order effect of input noise of standard deviation
    ``scale`` (Bishop 1995, "Training with noise is equivalent to Tikhonov regularization")."""
    if degree > 2:
        raise ValueError("the Jacobian rows are written for quadratic features")
    combos = monomial_exponents(values.shape[1], degree)
    rows = np.zeros((values.shape[1], len(values), len(combos)))
    for column, combo in enumerate(combos):
        if len(combo) == 1:
            rows[combo[0], :, column] = 1.0
        elif len(combo) == 2:
            a, b = combo
            rows[a, :, column] += values[:, b]
            rows[b, :, column] += values[:, a]
    return (rows * np.asarray(scale)[:, None, None]).reshape(-1, len(combos))


def monomial_names(variables: tuple[str, ...], degree: int) -> list[str]:
    """Names of the columns of :func:`polynomial_features`, e.g. '1', 'x', 'x y', 'z²'."""
    names = []
    for combo in monomial_exponents(len(variables), degree):
        if not combo:
            names.append("1")
            continue
        parts = []
        for index in sorted(set(combo)):
            power = combo.count(index)
            parts.append(variables[index] + ("" if power == 1 else "²" if power == 2 else f"^{power}"))
        names.append(" ".join(parts))
    return names


def delay_vectors(series: np.ndarray, delays: int, stride: int) -> np.ndarray:
    """(B, T, d) → (B, T − (k−1)s, k·d): [x_n, x_{n−s}, …, x_{n−(k−1)s}] for every n with a full past."""
    span = (delays - 1) * stride
    parts = [series[:, span - j * stride: series.shape[1] - j * stride] for j in range(delays)]
    return np.concatenate(parts, axis=-1)
