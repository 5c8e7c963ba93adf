"""A small multilayer perceptron trained on increments: x_{n+1} = x_n + s_Δ · g_θ((x_n − μ)/s), with
g_θ a 3 → width → width → 3 tanh network fitted by Adam to the standardised one-step increments.
(The increment form is the residual / Euler-like parametrisation, cf. NG-RC's.)

Training reports progress through ``progress(fraction)`` and stops early, raising TrainingCancelled,
when ``cancel`` (a threading.Event or anything with ``is_set()``) is set.
"""
from __future__ import annotations

import numpy as np

from kernels.lorenz.features import require_length


class TrainingCancelled(RuntimeError):
    """Training was stopped by its cancel flag."""


class MLP:
    name = "mlp"

    def __init__(self, width: int = 64, epochs: int = 400, learning_rate: float = 3e-3, seed: int = 0,
                 progress=None, cancel=None):
        self.width, self.epochs, self.learning_rate, self.seed = int(width), int(epochs), float(learning_rate), seed
        self.progress, self.cancel = progress, cancel
        self.network = None

    def fit(self, train: np.ndarray, dt: float) -> MLP:
        import torch

        require_length("MLP", len(train), 16, "a few increments to fit")
        torch.manual_seed(self.seed)
        self.mean, self.scale = train.mean(axis=0), train.std(axis=0)
        increments = np.diff(train, axis=0)
        self.step_scale = increments.std(axis=0) + 1e-12
        inputs = torch.as_tensor((train[:-1] - self.mean) / self.scale, dtype=torch.float32)
        targets = torch.as_tensor(increments / self.step_scale, dtype=torch.float32)
        self.network = torch.nn.Sequential(torch.nn.Linear(3, self.width), torch.nn.Tanh(),
                                           torch.nn.Linear(self.width, self.width), torch.nn.Tanh(),
                                           torch.nn.Linear(self.width, 3))
        optimiser = torch.optim.Adam(self.network.parameters(), lr=self.learning_rate)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, self.epochs)
        for epoch in range(self.epochs):
            if self.cancel is not None and self.cancel.is_set():
                raise TrainingCancelled(f"MLP training cancelled after {epoch} of {self.epochs} epochs")
            optimiser.zero_grad()
            loss = torch.mean((self.network(inputs) - targets) ** 2)
            loss.backward()
            optimiser.step()
            schedule.step()
            if self.progress is not None:
                self.progress((epoch + 1) / self.epochs)
        self.final_loss = float(loss.detach())
        return self

    def predict(self, history: np.ndarray, n_steps: int) -> np.ndarray:
        import torch

        x = history[:, -1].copy()
        out = np.empty((history.shape[0], n_steps, 3))
        with torch.no_grad():
            for n in range(n_steps):
                u = torch.as_tensor((x - self.mean) / self.scale, dtype=torch.float32)
                x = x + self.network(u).numpy().astype(np.float64) * self.step_scale
                out[:, n] = x
        return out
