"""ULA on the ring8 mixture (8 modes, float64): particle-steps per second, ours against the peers.

Every implementation does the same work, x' = x − h∇U(x) + √(2h)ξ on U = −log Σ_k w_k N(μ_k, 0.3 I),
with its own random numbers: our compiled kernel (numba; blocks of particles in parallel, the
vectorised inner loop over a block, counter-based noise), vectorised numpy and torch on the CPU (both
with the analytic mixture gradient, written with log-sum-exp as ours is), and JAX where installed
(``jax.jit`` of a ``lax.fori_loop`` over steps of ``jax.vmap(jax.grad(log_density))``: the autograd
score, float64). The peers that are not installed read "not installed".
"""
from __future__ import annotations

import time

import numpy as np

from benchmarks._harness import rate_rows
from kernels.samplers import simulate
from kernels.samplers.driver import INIT_GAUSSIAN
from kernels.targets import get_target

TITLE = "ULA on ring8 (8-mode mixture), float64; units: particle-steps"
STEP_SIZE = 0.05


def _params():
    return np.array([STEP_SIZE, 1.0, 1.0, 1, 5.0, 0.01, 4, 2.0])


def _mixture_arrays():
    mix = get_target("ring8").mix
    return mix[:, 0], mix[:, 1:3], mix[:, 3]  # log weights, means, isotropic variances


def ours(n: int, steps: int) -> float:
    """Seconds for n particles × steps with our CPU kernel (compiled beforehand)."""
    target = get_target("ring8")
    run = lambda k: simulate("ula", target, n, k, np.array([0, k]), 1, _params(), INIT_GAUSSIAN,  # noqa: E731
                             np.array([0.0, 0.0, 1.0, 0.0]), "cpu")
    run(2)  # compile (or load the cache) outside the timing
    start = time.perf_counter()
    run(steps)
    return time.perf_counter() - start


def numpy_peer(n: int, steps: int) -> float:
    log_w, means, var = _mixture_arrays()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, 2))
    scale = np.sqrt(2 * STEP_SIZE)
    start = time.perf_counter()
    for _ in range(steps):
        diff = x[:, None, :] - means[None]                                   # (n, K, 2)
        log_terms = log_w - np.log(2 * np.pi * var) - 0.5 * (diff ** 2).sum(-1) / var
        log_terms -= log_terms.max(axis=1, keepdims=True)
        resp = np.exp(log_terms)
        resp /= resp.sum(axis=1, keepdims=True)
        grad = np.einsum("nk,nkd->nd", resp / var, diff)
        x = x - STEP_SIZE * grad + scale * rng.standard_normal((n, 2))
    return time.perf_counter() - start


def torch_peer(n: int, steps: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    log_w, means, var = (torch.as_tensor(a, dtype=torch.float64) for a in _mixture_arrays())
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(n, 2, dtype=torch.float64, generator=gen)
    scale = (2 * STEP_SIZE) ** 0.5
    start = time.perf_counter()
    with torch.no_grad():
        for _ in range(steps):
            diff = x[:, None, :] - means[None]
            log_terms = log_w - torch.log(2 * torch.pi * var) - 0.5 * (diff ** 2).sum(-1) / var
            resp = torch.softmax(log_terms, dim=1)
            grad = torch.einsum("nk,nkd->nd", resp / var, diff)
            x = x - STEP_SIZE * grad + scale * torch.randn(n, 2, dtype=torch.float64, generator=gen)
    return time.perf_counter() - start


def jax_peer(n: int, steps: int, platform: str | None = None) -> float | None:
    """Seconds for the JAX peer on ``platform`` ("cpu", "gpu"; None: JAX's default device)."""
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    if platform is None:
        return _jax_run(jax, n, steps)
    with jax.default_device(jax.devices(platform)[0]):
        return _jax_run(jax, n, steps)


def _jax_run(jax, n: int, steps: int) -> float:
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    log_w, means, var = (jnp.asarray(a) for a in _mixture_arrays())
    scale = (2 * STEP_SIZE) ** 0.5

    def log_density(x):
        log_terms = log_w - jnp.log(2 * jnp.pi * var) - 0.5 * jnp.sum((x - means) ** 2, axis=-1) / var
        return logsumexp(log_terms)

    score = jax.vmap(jax.grad(log_density))

    @jax.jit
    def run(x, key):
        def body(_, carry):
            x, key = carry
            key, sub = jax.random.split(key)
            return x + STEP_SIZE * score(x) + scale * jax.random.normal(sub, x.shape, dtype=x.dtype), key
        return jax.lax.fori_loop(0, steps, body, (x, key))[0]

    x = jax.random.normal(jax.random.PRNGKey(1), (n, 2), dtype=jnp.float64)
    run(x, jax.random.PRNGKey(2)).block_until_ready()  # compile outside the timing
    start = time.perf_counter()
    run(x, jax.random.PRNGKey(3)).block_until_ready()
    return time.perf_counter() - start


def rows(quick: bool = False):
    """(implementation, particles, steps, particle-steps/s) for each implementation."""
    n = 100_000 if quick else 400_000
    ours_steps, peer_steps = (100, 10) if quick else (400, 20)
    return rate_rows([("ours (numba CPU)", ours, ours_steps), ("numpy (vectorised)", numpy_peer, peer_steps),
                      ("torch CPU", torch_peer, peer_steps), ("JAX CPU (jit+vmap)", jax_peer, peer_steps)],
                     n, quick)
