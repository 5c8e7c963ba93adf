"""Sparse identification of nonlinear dynamics (SINDy) by sequentially thresholded least squares.

Brunton, Proctor & Kutz (2016), "Discovering governing equations from data by sparse identification of
nonlinear dynamical systems", PNAS 113, 3932. Ẋ ≈ Θ(X) Ξ with Θ a polynomial library (degree 2: 1, x, y,
z, x², xy, xz, y², yz, z²); STLSQ: Ξ ← argmin ‖Θ Ξ − Ẋ‖², then repeatedly zero the entries below the
threshold λ and refit each equation on its remaining terms. Ẋ by fourth-order central differences.
Forecasts integrate the recovered ODE with RK4 at the sampling step.
"""
from __future__ import annotations

import numpy as np

from kernels.lorenz.features import (
    monomial_names,
    polynomial_features,
    require_length,
    ridge_solve,
)

VARIABLES = ("x", "y", "z")


def central_derivative(series: np.ndarray, dt: float) -> np.ndarray:
    """Fourth-order central difference (−x₊₂ + 8x₊₁ − 8x₋₁ + x₋₂)/(12 dt), at the interior points [2:−2]."""
    return (-series[4:] + 8 * series[3:-1] - 8 * series[1:-3] + series[:-4]) / (12 * dt)


def stlsq(library: np.ndarray, derivatives: np.ndarray, threshold: float, iterations: int = 10) -> np.ndarray:
    """Sequentially thresholded least squares (Brunton et al. 2016, Algorithm in the SI)."""
    xi = ridge_solve(library, derivatives, 0.0)
    for _ in range(iterations):
        small = np.abs(xi) < threshold
        xi[small] = 0.0
        for j in range(derivatives.shape[1]):
            big = ~small[:, j]
            if big.any():
                xi[big, j] = ridge_solve(library[:, big], derivatives[:, j], 0.0)
    return xi


class SINDy:
    name = "sindy"

    def __init__(self, threshold: float = 0.1, degree: int = 2):
        self.threshold, self.degree = float(threshold), int(degree)
        self.coefficients = None
        self.dt = None

    def fit(self, train: np.ndarray, dt: float) -> SINDy:
        n_terms = len(monomial_names(VARIABLES, self.degree))
        require_length("SINDy", len(train), n_terms + 4,
                       f"4 points are used up by the central differences, then one equation per library term, "
                       f"{n_terms} terms")
        self.dt = dt
        self.coefficients = stlsq(polynomial_features(train[2:-2], self.degree), central_derivative(train, dt),
                                  self.threshold)
        return self

    def rhs(self, state: np.ndarray) -> np.ndarray:
        return polynomial_features(state, self.degree) @ self.coefficients

    def predict(self, history: np.ndarray, n_steps: int) -> np.ndarray:
        x = history[:, -1].copy()
        out = np.empty((history.shape[0], n_steps, 3))
        h = self.dt
        with np.errstate(all="ignore"):
            for n in range(n_steps):
                k1 = self.rhs(x)
                k2 = self.rhs(x + 0.5 * h * k1)
                k3 = self.rhs(x + 0.5 * h * k2)
                k4 = self.rhs(x + h * k3)
                x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
                out[:, n] = x
        return out

    def equations(self, digits: int = 3) -> list[str]:
        """The recovered equations as text, e.g. 'ẋ = -10.000 x + 10.000 y'."""
        names = monomial_names(VARIABLES, self.degree)
        lines = []
        for j, var in enumerate(VARIABLES):
            terms = [f"{c:+.{digits}f}" + ("" if name == "1" else f" {name}")
                     for c, name in zip(self.coefficients[:, j], names) if c != 0.0]
            body = " ".join(terms).lstrip("+") if terms else "0"
            lines.append(f"d{var}/dt = {body}")
        return lines

    def lorenz_parameters(self) -> dict:
        """(σ, ρ, β) read off the recovered coefficients: ẋ's y term, ẏ's x term, −ż's z term."""
        names = monomial_names(VARIABLES, self.degree)
        c = {name: self.coefficients[i] for i, name in enumerate(names)}
        return {"sigma": float(c["y"][0]), "rho": float(c["x"][1]), "beta": float(-c["z"][2])}
