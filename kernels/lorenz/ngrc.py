"""Next-generation reservoir computing (NG-RC / NVAR), Gauthier, Bollt, Griffith & Barbosa (2021),
"Next generation reservoir computing", Nat. Commun. 12, 5564.

Features at step n: the linear part L = [x_n, x_{n−s}, …, x_{n−(k−1)s}] (k delays, stride s), the unique
quadratic monomials of L, and a constant: 1 + 3k + 3k(3k+1)/2 numbers (28 for k = 2). The model predicts
the increment, x_{n+1} = x_n + W·φ_n, with W from ridge regression on the un-normalised features, the
constant included (α = 2.5e-6 in the paper).

Input-noise regularisation (``input_noise`` ε, relative to each variable's standard deviation s_i): the
least-squares problem also penalises Σ_n Σ_c (ε s_c)² ‖∂(W·φ_n)/∂L_c‖², the first-order effect of
training on inputs perturbed by N(0, (ε s_c)²) (Bishop 1995). Why: on accurately integrated data the
delayed coordinates are an exact smooth function of the current state, so the 28 features nearly
collinear (condition number ~2e10 on 400 points), and the fitted two-step map keeps a weight pattern in
the directions off that manifold which the data never test; run autonomously, those "auxiliary"
directions grow and the forecast is lost within a Lyapunov time (Zhang, dos Santos & Cornelius 2024,
"How more data can hurt: instability and regularization in NGRC", arXiv:2407.08641). Gauthier et al.'s
data (scipy RK23 at rtol 1e-3) carry integration errors of about that size, which regularise the same
way. ε = 0 is the paper's model exactly.
"""
from __future__ import annotations

import numpy as np

from kernels.lorenz.features import (
    delay_vectors,
    polynomial_features,
    polynomial_jacobian_rows,
    require_length,
    ridge_solve,
)

INPUT_NOISE = 1.5e-5   # ε: measured best-and-safe on noiseless RK4 data (tests/test_lorenz_kernels.py)


class NGRC:
    name = "ngrc"

    def __init__(self, delays: int = 2, stride: int = 1, ridge: float = 2.5e-6, input_noise: float = INPUT_NOISE):
        self.delays, self.stride, self.ridge = int(delays), int(stride), float(ridge)
        self.input_noise = float(input_noise)
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
        linear = delay_vectors(train[None, :-1], self.delays, self.stride)[0]
        phi = polynomial_features(linear, 2)
        increments = train[self.history_length:] - train[self.history_length - 1:-1]
        if self.input_noise > 0:
            scale = self.input_noise * np.tile(train.std(axis=0), self.delays)
            penalty = polynomial_jacobian_rows(linear, 2, scale)
            phi = np.vstack([phi, penalty])
            increments = np.vstack([increments, np.zeros((len(penalty), increments.shape[1]))])
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
