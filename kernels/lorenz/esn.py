"""Echo-state network (reservoir computing), Jaeger (2001); Pathak, Hunt, Girvan, Lu & Ott (2018),
"Model-free prediction of large spatiotemporally chaotic systems", PRL 120, 024102.

Leaky reservoir r_{n+1} = (1 − a) r_n + a tanh(W r_n + W_in u_n + b), W a sparse random matrix scaled to
spectral radius ρ_W, u_n the standardised state. Readout (ridge): the increment u_{n+1} − u_n ≈ W_out
[1, r_{n+1}, r_{n+1}²] (squaring half the nodes breaks the tanh symmetry, as in Pathak et al.). Trained by
teacher forcing after a wash-out; forecasts feed the prediction back as the next input.
"""
from __future__ import annotations

import numpy as np

from kernels.lorenz.features import require_length, ridge_solve

WASHOUT = 100
DEGREE_PER_NODE = 3.0  # average non-zeros per row of W


class ESN:
    name = "esn"

    def __init__(self, size: int = 300, spectral_radius: float = 0.9, leak: float = 1.0, ridge: float = 1e-6,
                 input_scale: float = 0.5, seed: int = 0):
        self.size, self.spectral_radius, self.leak = int(size), float(spectral_radius), float(leak)
        self.ridge, self.input_scale = float(ridge), float(input_scale)
        rng = np.random.default_rng(seed)
        mask = rng.random((self.size, self.size)) < DEGREE_PER_NODE / self.size
        w = np.where(mask, rng.uniform(-1.0, 1.0, (self.size, self.size)), 0.0)
        radius = np.abs(np.linalg.eigvals(w)).max()
        self.w = w * (self.spectral_radius / radius if radius > 0 else 0.0)
        self.w_in = rng.uniform(-self.input_scale, self.input_scale, (3, self.size))
        self.bias = rng.uniform(-0.1, 0.1, self.size)
        self.w_out = None

    def _advance(self, r, u):
        return (1 - self.leak) * r + self.leak * np.tanh(r @ self.w.T + u @ self.w_in + self.bias)

    def _readout_features(self, r):
        squared = r.copy()
        squared[..., ::2] = r[..., ::2] ** 2
        return np.concatenate([np.ones(r.shape[:-1] + (1,)), squared], axis=-1)

    def _listen(self, u):
        """Teacher-force the reservoir with (B, T, 3) standardised inputs; reservoir states (B, T, N)."""
        r = np.zeros((u.shape[0], self.size))
        states = np.empty(u.shape[:2] + (self.size,))
        for n in range(u.shape[1]):
            r = self._advance(r, u[:, n])
            states[:, n] = r
        return states

    def fit(self, train: np.ndarray, dt: float) -> ESN:
        require_length("ESN", len(train), WASHOUT + 2 * 10, f"a wash-out of {WASHOUT} steps and at least 20 "
                       "teacher-forced steps")
        self.mean, self.scale = train.mean(axis=0), train.std(axis=0)
        u = (train - self.mean) / self.scale
        states = self._listen(u[None, :-1])[0][WASHOUT:]
        self.w_out = ridge_solve(self._readout_features(states), u[WASHOUT + 1:] - u[WASHOUT:-1], self.ridge)
        return self

    def predict(self, history: np.ndarray, n_steps: int) -> np.ndarray:
        u = (history - self.mean) / self.scale
        r = self._listen(u)[:, -1]
        last = u[:, -1]
        out = np.empty((history.shape[0], n_steps, 3))
        with np.errstate(all="ignore"):
            for n in range(n_steps):
                last = last + self._readout_features(r) @ self.w_out
                out[:, n] = last
                r = self._advance(r, last)
        return out * self.scale + self.mean
