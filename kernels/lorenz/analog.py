"""The method of analogues (Lorenz 1969, "Atmospheric predictability as revealed by naturally occurring
analogues"): find the k training states nearest to the current one and step by their mean observed
increment, x_{n+1} = x_n + (1/k) Σⱼ (x_{j+1} − x_j)."""
from __future__ import annotations

import numpy as np

from kernels.lorenz.features import require_length


class Analog:
    name = "analog"

    def __init__(self, neighbours: int = 4):
        self.neighbours = int(neighbours)

    def fit(self, train: np.ndarray, dt: float) -> Analog:
        require_length("analog", len(train), self.neighbours + 1, f"{self.neighbours} neighbours, each with a successor")
        self.states, self.increments = train[:-1], np.diff(train, axis=0)
        self.squared_norms = (self.states ** 2).sum(axis=1)
        return self

    def predict(self, history: np.ndarray, n_steps: int) -> np.ndarray:
        x = history[:, -1].copy()
        out = np.empty((history.shape[0], n_steps, 3))
        k = self.neighbours
        for n in range(n_steps):
            distances = self.squared_norms[None] - 2 * x @ self.states.T   # ‖x‖² is the same for every j
            nearest = np.argpartition(distances, k - 1, axis=1)[:, :k]
            x = x + self.increments[nearest].mean(axis=1)
            out[:, n] = x
        return out
