"""A learned denoiser evaluated inside the sampler kernels (CPU and CUDA): an MLP over one flat float64 array.

Preconditioning (Karras et al. 2022, "Elucidating the design space…", §5 and Table 1), in the VE variable
y = x/a = x₀ + σz that every Gaussian path shares (so one network serves every process):

    D_θ(y; σ) = μ + c_skip(σ)(y − μ) + c_out(σ) F_θ(c_in(σ)(y − μ), c_noise(σ)),
    c_skip = σ_d²/(σ² + σ_d²),  c_out = σσ_d/√(σ² + σ_d²),  c_in = 1/√(σ² + σ_d²),  c_noise = ¼ log σ,

with σ_d the data's standard deviation and μ its mean (centring is our addition: a mixture need not be
centred). F_θ is a multilayer perceptron with tanh hidden units and a linear last layer of two outputs
(tanh fitted the sharp switches of E[x₀ | y] between modes better than SiLU in an earlier comparison on
ring8). Measured on ring8 with 2 × 64 tanh units, 20 000 training draws, PF-ODE samples: sliced W₂ 0.24–0.31
after 1500 Adam steps, 0.13 after 2000, 0.09 after 6000, against 0.06–0.08 with the exact score; the error
is mostly modes drawn too wide (spread 0.7 against 0.55 at 2000 steps), the mode weights stay within 0.03.

The flat array ``model`` (written by :func:`pack_model`, for a torch network by
:func:`kernels.diffusion.learned.export_weights`):

    [L, n₀, n₁, …, n_L, σ_d, μ_x, μ_y, W₁ (n₁×n₀, row-major), b₁ (n₁), …, W_L, b_L]

L linear layers, n₀ = 3 inputs, n_L = 2 outputs, every hidden width at most MAX_WIDTH. The hidden
activations live in a per-thread scratch of 2·MAX_WIDTH numbers (two halves, read one, write the other).
"""
from __future__ import annotations

import math

import numba
import numpy as np

from kernels.compile import device, device_per_target, outlined
from kernels.fastmath import fast_exp

from kernels.backend import cuda  # numba.cuda, imported on first use

MAX_WIDTH = 128
N_INPUTS, N_OUTPUTS = 3, 2
HEADER_AFTER_SIZES = 3  # σ_d, μ_x, μ_y
NO_MODEL = np.zeros(1)  # what the kernels get when the score is not learned


def pack_model(layers, sigma_data: float, mean) -> np.ndarray:
    """The flat float64 ``model`` of the module doc from ``layers`` = [(W (n_out, n_in), b (n_out)), …]."""
    sizes = [np.shape(layers[0][0])[1]] + [np.shape(w)[0] for w, _ in layers]
    if sizes[0] != N_INPUTS or sizes[-1] != N_OUTPUTS or max(sizes[1:-1], default=0) > MAX_WIDTH:
        raise ValueError(f"layer sizes {sizes}: need {N_INPUTS} inputs, {N_OUTPUTS} outputs, widths ≤ {MAX_WIDTH}")
    parts = [np.array([len(layers), *sizes, sigma_data, *np.asarray(mean, dtype=np.float64)], dtype=np.float64)]
    assert len(parts[0]) == len(layers) + 2 + HEADER_AFTER_SIZES
    for weight, bias in layers:
        parts += [np.asarray(weight, dtype=np.float64).ravel(), np.asarray(bias, dtype=np.float64)]
    return np.ascontiguousarray(np.concatenate(parts))


def as_model(model, learned: bool) -> np.ndarray:
    """What the kernels get as ``model``: NO_MODEL when the score is not learned, else ``model`` checked
    against its header (the kernels index it unchecked, so a short or malformed array must not reach them)."""
    if not learned:
        return NO_MODEL
    if model is None:
        raise ValueError("the learned score needs the network's weights (model=...)")
    model = np.ascontiguousarray(model, dtype=np.float64)
    n_layers = int(model[0]) if model.size else 0
    sizes = model[1:n_layers + 2].astype(np.int64)
    expected = n_layers + 2 + HEADER_AFTER_SIZES + int(np.sum(sizes[:-1] * sizes[1:] + sizes[1:]))
    if (n_layers < 1 or len(sizes) != n_layers + 1 or sizes[0] != N_INPUTS or sizes[-1] != N_OUTPUTS
            or sizes[1:-1].max(initial=1) > MAX_WIDTH or sizes.min() < 1 or model.size != expected):
        raise ValueError(f"model: {model.size} numbers do not match the layout of kernels.diffusion.mlp_eval")
    return model


def _scratch_cpu():
    return np.empty(2 * MAX_WIDTH)


def _scratch_cuda():
    return cuda.local.array(2 * MAX_WIDTH, numba.float64)


new_scratch = device_per_target(cpu=_scratch_cpu, cuda=_scratch_cuda)


@device
def preconditioning(sigma, log_sigma, sigma_data):
    """(c_skip, c_out, c_in, c_noise) of EDM at noise level σ (module doc). Plain arithmetic, so the same
    function serves the kernels (floats) and training (torch tensors, with log σ passed in)."""
    total = sigma * sigma + sigma_data * sigma_data
    c_in = total ** -0.5
    return sigma_data * sigma_data / total, sigma * sigma_data * c_in, c_in, 0.25 * log_sigma


@device
def fast_tanh(v):
    """tanh v = 1 − 2/(1 + e^{2v}) with the vectorisable exponential (absolute error ≈ 2e−16; ±1 beyond
    |v| ≈ 19, and e^{2v} = ∞ gives 1, not NaN)."""
    return 1.0 - 2.0 / (1.0 + fast_exp(2.0 * v))


@device
def mlp_forward(model, buffer):
    """The two outputs of the MLP stored in ``model`` at the input held in buffer[0:n₀]."""
    n_layers = int(model[0])
    offset = n_layers + 2 + HEADER_AFTER_SIZES
    source = 0
    target = MAX_WIDTH
    for layer in range(n_layers - 1):
        n_in = int(model[1 + layer])
        n_out = int(model[2 + layer])
        bias = offset + n_in * n_out
        for j in range(n_out):
            acc = model[bias + j]
            row = offset + j * n_in
            for i in range(n_in):
                acc += model[row + i] * buffer[source + i]
            buffer[target + j] = acc
        for j in range(n_out):  # a separate loop, so that it vectorises
            buffer[target + j] = fast_tanh(buffer[target + j])
        offset = bias + n_out
        source, target = target, source
    n_in = int(model[n_layers])
    bias = offset + N_OUTPUTS * n_in
    out0 = model[bias]
    out1 = model[bias + 1]
    for i in range(n_in):
        out0 += model[offset + i] * buffer[source + i]
        out1 += model[offset + n_in + i] * buffer[source + i]
    return out0, out1


@outlined  # two call sites in every sampler step: inlined, it doubled the kernels' compile time
def learned_denoiser(y0, y1, sigma, model):
    """D_θ(y; σ) of the preconditioned network in ``model`` (module doc)."""
    head = int(model[0]) + 2
    sigma_data = model[head]
    mean0 = model[head + 1]
    mean1 = model[head + 2]
    c_skip, c_out, c_in, c_noise = preconditioning(sigma, math.log(sigma), sigma_data)
    buffer = new_scratch()
    buffer[0] = c_in * (y0 - mean0)
    buffer[1] = c_in * (y1 - mean1)
    buffer[2] = c_noise
    f0, f1 = mlp_forward(model, buffer)
    return mean0 + c_skip * (y0 - mean0) + c_out * f0, mean1 + c_skip * (y1 - mean1) + c_out * f1
