"""A learned Schrödinger bridge: LightSB (Korotin, Gushchin & Burnaev 2024, "Light Schrödinger Bridge",
ICLR), trained in torch on the two clouds and simulated forward with Euler–Maruyama.

The adjusted Schrödinger potential is a Gaussian mixture with diagonal covariances,
v_θ(y) = Σ_k α_k N(y | r_k, ε S_k). Then (their Prop. 3.2, eqs. 10–12, cost ½‖x − y‖², reference √ε W):

    c_θ(x) = Σ_k α_k exp((xᵀ S_k x + 2 r_kᵀ x)/(2ε)),     loss L(θ) = E_x log c_θ(x) − E_y log v_θ(y),

and the bridge's drift is closed form: with A_k = t/(ε(1 − t)) + 1/(ε S_k) and
c_k(x) = x/(ε(1 − t)) + r_k/(ε S_k) (per coordinate),

    v_t(x) = (Σ_k w_k(x) c_k(x)/A_k − x)/(1 − t),
    log w_k ∝ log α_k − ½ Σ log S_k − ½ Σ log A_k − ½ Σ r_k²/(ε S_k) + ½ Σ c_k²/A_k,

(the gradient ε∇ log of their eq. 14, written out), i.e. (E[X₁ | X_t = x] − x)/(1 − t).

Training reports progress through a callback, stops when a cancel flag is set, and a trained model is
kept per (data, ε, settings) so a redraw does not retrain.
"""
from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict

import numpy as np

CACHE_SIZE = 8
# numpy streams seeded (seed, tag): apart from each other and from the clouds drawn with the same seed
TRAINING_TAG, SIMULATION_TAG = 0x51, 0x52
_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()


class TrainingCancelled(RuntimeError):
    """Training stopped because the cancel flag was set."""


def _torch():
    import torch  # imported on first use: only the learned method needs it

    return torch


class LightSB:
    """The LightSB potential's parameters (torch tensors) and what follows from them in closed form."""

    def __init__(self, epsilon: float, n_components: int, target: np.ndarray, seed: int):
        torch = _torch()
        generator = torch.Generator().manual_seed(seed)
        picks = torch.randint(0, len(target), (n_components,), generator=generator)
        self.epsilon = float(epsilon)
        self.log_alpha = torch.zeros(n_components, dtype=torch.float64, requires_grad=True)
        self.r = torch.tensor(target, dtype=torch.float64)[picks].clone().requires_grad_(True)
        self.log_s = torch.full((n_components, 2), math.log(0.1), dtype=torch.float64, requires_grad=True)

    @property
    def parameters(self):
        return [self.log_alpha, self.r, self.log_s]

    def log_c(self, x):
        """log c_θ(x) for rows of x."""
        torch = _torch()
        s = torch.exp(self.log_s)
        quad = (x[:, None, :] ** 2 * s[None]).sum(-1) + 2 * x @ self.r.T
        return torch.logsumexp(torch.log_softmax(self.log_alpha, 0) + quad / (2 * self.epsilon), dim=1)

    def log_v(self, y):
        """log v_θ(y) for rows of y (a normalised Gaussian mixture)."""
        torch = _torch()
        var = self.epsilon * torch.exp(self.log_s)
        log_normal = -0.5 * (((y[:, None, :] - self.r[None]) ** 2 / var[None]).sum(-1)
                             + torch.log(var).sum(-1)[None] + 2 * math.log(2 * math.pi))
        return torch.logsumexp(torch.log_softmax(self.log_alpha, 0) + log_normal, dim=1)

    def loss(self, x, y):
        return self.log_c(x).mean() - self.log_v(y).mean()

    def drift(self, t: float, x):
        """v_t(x) (module doc), for t ∈ [0, 1)."""
        torch = _torch()
        eps = self.epsilon
        s = torch.exp(self.log_s)
        a = t / (eps * (1 - t)) + 1 / (eps * s)                          # (K, 2)
        c = x[:, None, :] / (eps * (1 - t)) + (self.r / (eps * s))[None]  # (n, K, 2)
        logits = (torch.log_softmax(self.log_alpha, 0) - 0.5 * self.log_s.sum(-1) - 0.5 * torch.log(a).sum(-1)
                  - 0.5 * (self.r ** 2 / (eps * s)).sum(-1))[None] + 0.5 * (c ** 2 / a[None]).sum(-1)
        weights = torch.softmax(logits, dim=1)
        expected_end = (weights[:, :, None] * c / a[None]).sum(1)
        return (expected_end - x) / (1 - t)


def train_lightsb(x0: np.ndarray, x1: np.ndarray, epsilon: float, n_components: int = 16, steps: int = 1500,
                  batch: int = 512, learning_rate: float = 0.02, seed: int = 0, progress=None,
                  cancel=None) -> LightSB:
    """Fit LightSB between the clouds x0 and x1 by Adam on the loss of the module doc.

    ``progress(fraction)`` is called every 50 steps; ``cancel`` (anything with ``is_set()``, e.g. a
    threading.Event) stops training with :class:`TrainingCancelled`.
    """
    torch = _torch()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tensors of a few thousand numbers: more threads only add overhead
    try:
        return _train(torch, x0, x1, epsilon, n_components, steps, batch, learning_rate, seed, progress, cancel)
    finally:
        torch.set_num_threads(threads)


def _train(torch, x0, x1, epsilon, n_components, steps, batch, learning_rate, seed, progress, cancel) -> LightSB:
    model = LightSB(epsilon, n_components, x1, seed)
    optimiser = torch.optim.Adam(model.parameters, lr=learning_rate)
    rng = np.random.default_rng((seed, TRAINING_TAG))
    source = torch.tensor(x0, dtype=torch.float64)
    target = torch.tensor(x1, dtype=torch.float64)
    for step in range(steps):
        if cancel is not None and cancel.is_set():
            raise TrainingCancelled(f"LightSB training cancelled at step {step} of {steps}")
        loss = model.loss(source[rng.integers(0, len(source), batch)], target[rng.integers(0, len(target), batch)])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if progress is not None and (step % 50 == 0 or step == steps - 1):
            progress((step + 1) / steps)
    return model


def cached_lightsb(x0: np.ndarray, x1: np.ndarray, epsilon: float, **settings) -> LightSB:
    """:func:`train_lightsb`, remembered per (data, ε, settings) for the last CACHE_SIZE fits."""
    key = (hashlib.sha1(np.ascontiguousarray(x0).tobytes()).hexdigest(),
           hashlib.sha1(np.ascontiguousarray(x1).tobytes()).hexdigest(), float(epsilon),
           tuple(sorted((k, v) for k, v in settings.items() if k not in ("progress", "cancel"))))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    model = train_lightsb(x0, x1, epsilon, **settings)
    with _cache_lock:
        _cache[key] = model
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return model


def simulate(drift, x0: np.ndarray, epsilon: float, n_steps: int, frame_times: np.ndarray, seed: int) -> np.ndarray:
    """Euler–Maruyama for dX = drift(t, X) dt + √ε dW from X₀ = x0 on [0, 1] in n_steps equal steps,
    recording X at the step nearest each of ``frame_times``: (len(frame_times), n, 2) float32.

    ``drift(t, x)`` takes and returns float64 torch tensors; the noise is np.random.default_rng((seed, SIMULATION_TAG)).
    """
    torch = _torch()
    rng = np.random.default_rng((seed, SIMULATION_TAG))
    dt = 1.0 / n_steps
    record = np.round(np.asarray(frame_times) * n_steps).astype(np.int64)
    paths = np.empty((len(record), len(x0), 2), dtype=np.float32)
    x = torch.tensor(x0, dtype=torch.float64)
    with torch.no_grad():
        for step in range(n_steps + 1):
            paths[record == step] = x.numpy().astype(np.float32)
            if step == n_steps:
                break
            noise = torch.from_numpy(rng.standard_normal(x.shape))
            x = x + drift(step * dt, x) * dt + math.sqrt(epsilon * dt) * noise
    return paths
