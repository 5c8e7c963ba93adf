"""A denoiser learned from target samples by denoising score matching, for the sampler kernels.

Training (torch, imported lazily): draw x₀ from the training samples, σ log-uniform on
[SIGMA_LOW, SIGMA_HIGH], y = x₀ + σz, and minimise E‖F_θ(c_in(y − μ), c_noise) − (x₀ − μ − c_skip(y − μ))/c_out‖²:
the EDM loss λ(σ)‖D_θ(y; σ) − x₀‖² with λ = 1/c_out² (Karras et al. 2022, eq. 8 and Table 1), whose
minimiser is D_θ = E[x₀ | y] (Vincent 2011; Tweedie), i.e. denoising score matching with the score
(D − y)/σ². Every Gaussian path x_t = a_t x₀ + s_t z is this VE problem in y = x/a at σ = s/a, so one
network serves vp, ve, linear, trig and the interpolant; on the linear path this regression is flow
matching's (Lipman et al. 2023) up to a weight in σ, since its velocity is v = (x − D)/(1 − t)·… written
through D (see :mod:`kernels.diffusion.samplers`). The preconditioning and the network's layout are
those of :mod:`kernels.diffusion.mlp_eval`, which evaluates the exported weights inside the kernels.

Trained models are kept per (training samples, settings) in a small LRU, so moving any other knob
reuses the model.
"""
from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from kernels.diffusion.mlp_eval import MAX_WIDTH, N_INPUTS, N_OUTPUTS, pack_model, preconditioning
from kernels.torch_training import fit, torch_module

SIGMA_LOW, SIGMA_HIGH = 2e-3, 100.0   # covers σ(t_min)…80 of every process at the default t_min
CACHE_SIZE = 8
_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class LearnedDenoiser:
    """A trained denoiser: the flat weights the kernels read, and how training went."""

    weights: np.ndarray      # the layout of :mod:`kernels.diffusion.mlp_eval`
    final_loss: float
    seconds: float
    steps: int


def build_network(width: int, hidden_layers: int, seed: int):
    """F_θ: N_INPUTS → width (tanh) → … → N_OUTPUTS, torch's default initialisation under ``seed``."""
    torch = torch_module()
    if not 1 <= width <= MAX_WIDTH:
        raise ValueError(f"width {width} must be between 1 and {MAX_WIDTH}")
    torch.manual_seed(seed)
    sizes = [N_INPUTS] + [width] * hidden_layers
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.Tanh()]
    return torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-1], N_OUTPUTS))


def torch_denoiser(network, y, sigma, sigma_data: float, mean):
    """D_θ(y; σ) in torch: y (n, 2), σ (n, 1), mean (2,) tensors (the formula of mlp_eval's module doc)."""
    torch = torch_module()
    c_skip, c_out, c_in, c_noise = preconditioning(sigma, torch.log(sigma), sigma_data)
    centred = y - mean
    return mean + c_skip * centred + c_out * network(torch.cat([c_in * centred, c_noise], dim=1))


def export_weights(network, sigma_data: float, mean) -> np.ndarray:
    """The flat float64 array of mlp_eval's layout for a ``build_network`` network."""
    return pack_model([(m.weight.detach().double().numpy(), m.bias.detach().double().numpy())
                       for m in network if hasattr(m, "weight")], sigma_data, mean)


def train_denoiser(samples: np.ndarray, steps: int = 3000, width: int = 64, hidden_layers: int = 2,
                   batch: int = 512, learning_rate: float = 1e-2, seed: int = 0, progress=None,
                   should_stop=None) -> LearnedDenoiser:
    """Fit D_θ to ``samples`` (n, 2) by the loss of the module doc with Adam and cosine decay
    (:func:`kernels.torch_training.fit`; ``progress`` and ``should_stop`` as there)."""
    torch = torch_module()
    start = time.perf_counter()
    data = torch.as_tensor(np.asarray(samples, dtype=np.float32))
    mean = data.mean(dim=0)
    sigma_data = float((data - mean).square().mean().sqrt())
    network = build_network(width, hidden_layers, seed)
    generator = torch.Generator().manual_seed(seed)
    log_low, log_high = math.log(SIGMA_LOW), math.log(SIGMA_HIGH)

    def batch_loss(_step):
        x0 = data[torch.randint(0, len(data), (batch,), generator=generator)]
        log_sigma = log_low + (log_high - log_low) * torch.rand(batch, 1, generator=generator)
        sigma = torch.exp(log_sigma)
        y = x0 + sigma * torch.randn(batch, 2, generator=generator)
        c_skip, c_out, c_in, c_noise = preconditioning(sigma, log_sigma, sigma_data)
        centred = y - mean
        prediction = network(torch.cat([c_in * centred, c_noise], dim=1))
        return (prediction - (x0 - mean - c_skip * centred) / c_out).square().sum(dim=1).mean()

    loss = fit(network.parameters(), batch_loss, steps, learning_rate, progress=progress, should_stop=should_stop,
               what="training the learned score")
    return LearnedDenoiser(export_weights(network, sigma_data, mean.double().numpy()), loss,
                           time.perf_counter() - start, steps)


def cached_denoiser(samples: np.ndarray, **settings) -> LearnedDenoiser:
    """:func:`train_denoiser`, remembered per (samples, settings) for the last CACHE_SIZE fits."""
    key = (hashlib.sha1(np.ascontiguousarray(samples).tobytes()).hexdigest(),
           tuple(sorted((k, v) for k, v in settings.items() if k not in ("progress", "should_stop"))))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    model = train_denoiser(samples, **settings)
    with _cache_lock:
        _cache[key] = model
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return model
