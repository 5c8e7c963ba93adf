"""A small multilayer perceptron trained on increments: x_{n+1} = x_n + s_Δ · g_θ((x_n − μ)/s), with
g_θ a 3 → width → width → 3 tanh network fitted to the standardised one-step increments by the shared
Adam loop :func:`kernels.torch_training.fit` (cosine learning-rate decay, full batch, one step per epoch).
(The increment form is the residual / Euler-like parametrisation, cf. NG-RC's.)

Training reports progress through ``progress(fraction)`` and stops early, raising
:class:`kernels.torch_training.TrainingCancelled`, when ``cancel`` (a threading.Event or anything with
``is_set()``) is set; both are checked every ``REPORT_EVERY`` epochs.
"""
from __future__ import annotations

import numpy as np

from kernels.lorenz.features import require_length
from kernels.torch_training import fit, torch_module, torch_threads

REPORT_EVERY = 10   # epochs between progress reports and cancel checks


class MLP:
    name = "mlp"

    def __init__(self, width: int = 64, epochs: int = 400, learning_rate: float = 3e-3, seed: int = 0,
                 progress=None, cancel=None):
        self.width, self.epochs, self.learning_rate, self.seed = int(width), int(epochs), float(learning_rate), seed
        self.progress, self.cancel = progress, cancel
        self.network = None

    def _should_stop(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def fit(self, train: np.ndarray, dt: float) -> MLP:
        torch = torch_module()
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
        self.final_loss = fit(self.network.parameters(),
                              lambda epoch: torch.mean((self.network(inputs) - targets) ** 2),
                              self.epochs, self.learning_rate, progress=self.progress,
                              should_stop=self._should_stop, report_every=REPORT_EVERY, what="MLP training")
        return self

    def predict(self, history: np.ndarray, n_steps: int) -> np.ndarray:
        """Autonomous forecast from the last state of each history: (B, n_steps, 3). On one torch thread,
        as in training: a few hundred numbers per step gain nothing from more, and torch's idle threads
        would contend with numba's on a small machine."""
        x = history[:, -1].copy()
        out = np.empty((history.shape[0], n_steps, 3))
        with torch_threads(1) as torch, torch.no_grad():
            for n in range(n_steps):
                u = torch.as_tensor((x - self.mean) / self.scale, dtype=torch.float32)
                x = x + self.network(u).numpy().astype(np.float64) * self.step_scale
                out[:, n] = x
        return out
