"""Next-generation reservoir computing (NG-RC / NVAR), Gauthier, Bollt, Griffith & Barbosa (2021),
"Next generation reservoir computing", Nat. Commun. 12, 5564.

Features at step n: the linear part L = [x_n, x_{n−s}, …, x_{n−(k−1)s}] (k delays, stride s), the unique
quadratic monomials of L, and a constant: 1 + 3k + 3k(3k+1)/2 numbers (28 for k = 2). The model predicts
the increment, x_{n+1} = x_n + W·φ_n, with W from ridge regression (α = 2.5e-6 in the paper).
"""
from __future__ import annotations

import numpy as np

from kernels.lorenz.features import (
    delay_vectors,
    polynomial_features,
    require_length,
    ridge_solve,
)


class NGRC:
    name = "ngrc"

    def __init__(self, delays: int = 2, stride: int = 1, ridge: float = 2.5e-6):
        self.delays, self.stride, self.ridge = int(delays), int(stride), float(ridge)
        self.weights = None

    @property
    def history_length(self) -> int:
        return (self.delays - 1) * self.stride + 1

    @property
    def n_features(self) -> int:
        linear = 3 * self.delays
        return 1 + linear + linear * (linear + 1) // 2

    def features(self, series: np.ndarray) -> np.ndarray:
        """(B, T, 3) → (B, T − (k−1)s, n_features)."""
        return polynomial_features(delay_vectors(series, self.delays, self.stride), 2)

    def fit(self, train: np.ndarray, dt: float) -> NGRC:
        minimum = self.history_length + self.n_features
        require_length("NG-RC", len(train), minimum,
                       f"{self.history_length - 1} warm-up points for the delays plus one equation per feature, "
                       f"{self.n_features} features")
        phi = self.features(train[None, :-1])[0]
        increments = train[self.history_length:] - train[self.history_length - 1:-1]
        self.weights = ridge_solve(phi, increments, self.ridge)
        return self

    def predict(self, history: np.ndarray, n_steps: int) -> np.ndarray:
        """(B, ≥ history_length, 3) past → (B, n_steps, 3) autonomous forecast."""
        window = history[:, -self.history_length:].copy()
        out = np.empty((history.shape[0], n_steps, 3))
        with np.errstate(all="ignore"):
            for n in range(n_steps):
                step = window[:, -1] + self.features(window)[:, -1] @ self.weights
                out[:, n] = step
                window = np.concatenate([window[:, 1:], step[:, None]], axis=1)
        return out
