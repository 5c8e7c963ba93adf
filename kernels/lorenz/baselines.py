"""The forecasts every model must beat: persistence (x stays where it is) and climatology (the training
mean, the forecast with the least mean-square error once all skill is lost)."""
from __future__ import annotations

import numpy as np

from kernels.lorenz.features import require_length


class Persistence:
    name = "persistence"

    def fit(self, train: np.ndarray, dt: float) -> Persistence:
        require_length("persistence", len(train), 1, "one state")
        return self

    def predict(self, history: np.ndarray, n_steps: int) -> np.ndarray:
        return np.repeat(history[:, -1:], n_steps, axis=1)


class Climatology:
    name = "climatology"

    def fit(self, train: np.ndarray, dt: float) -> Climatology:
        require_length("climatology", len(train), 2, "a mean over at least two states")
        self.mean = train.mean(axis=0)
        return self

    def predict(self, history: np.ndarray, n_steps: int) -> np.ndarray:
        return np.broadcast_to(self.mean, (history.shape[0], n_steps, 3)).copy()
