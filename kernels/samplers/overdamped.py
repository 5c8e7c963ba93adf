"""Overdamped Langevin samplers for π ∝ exp(−U/T): ULA, MALA, randomized midpoint, random-walk MH.

Every step function has the signature ``step(state, p, t, n_steps, seed, params, kind, tparams, mix)``,
updates row ``p`` of ``state`` in place (position in columns 0–1) and returns 1.0 if a proposal was
accepted, 0.0 if not (1.0 for samplers without an accept step). A sampler that caches something beside
the position has an ``init(state, p, seed, params, kind, tparams, mix)`` the driver runs once, before
step 0 (the BlackJAX init/step shape): no step branches on t == 0, which kept the block launcher's
particle loop from vectorising (MALA: 8 M particle-steps/s on one core with the branch, 59 M without). The noise of step t is
``normal_pair(seed, STREAM_DYNAMICS, p, t, K_STEP)`` for every sampler: common random numbers (the
streams and sub-indices: the table in :mod:`kernels.rng`).
"""
import math

from kernels.compile import device
from kernels.fastmath import exact_log as log
from kernels.rng import K_MIDPOINT, K_STEP, STREAM_ACCEPT, STREAM_DYNAMICS, normal_pair, uniform
from kernels.samplers.layout import STEP_SIZE, TEMPERATURE
from kernels.targets import potential


@device
def ula_step(state, p, t, n_steps, seed, params, kind, tparams, mix):
    """ULA (Roberts & Tweedie 1996): x' = x − h∇U(x) + √(2hT)·ξ, ξ ~ N(0, I)."""
    h = params[STEP_SIZE]
    scale = math.sqrt(2.0 * h * params[TEMPERATURE])
    x = state[p, 0]
    y = state[p, 1]
    _, gx, gy = potential(x, y, kind, tparams, mix, 0.0)
    xi0, xi1 = normal_pair(seed, STREAM_DYNAMICS, p, t, K_STEP)
    state[p, 0] = x - h * gx + scale * xi0
    state[p, 1] = y - h * gy + scale * xi1
    return 1.0


@device
def mala_move(x, y, u, gx, gy, h, temperature, seed, p, t, k, kind, tparams, mix):
    """One MALA transition (Roberts & Tweedie 1996) from (x, y) with cached U and ∇U.

    Proposal x' = x − h∇U(x) + √(2hT)ξ; accept with probability
    min(1, exp(−(U(x') − U(x))/T − |x − x' + h∇U(x')|²/(4hT) + |x' − x + h∇U(x)|²/(4hT))).
    Returns the new (x, y, U, ∂xU, ∂yU, accepted).
    """
    scale = math.sqrt(2.0 * h * temperature)
    xi0, xi1 = normal_pair(seed, STREAM_DYNAMICS, p, t, k)
    nx = x - h * gx + scale * xi0
    ny = y - h * gy + scale * xi1
    nu, ngx, ngy = potential(nx, ny, kind, tparams, mix, 0.0)
    back_x = x - nx + h * ngx
    back_y = y - ny + h * ngy
    log_ratio = (-(nu - u) / temperature
                 - (back_x * back_x + back_y * back_y - (xi0 * xi0 + xi1 * xi1) * scale * scale)
                 / (4.0 * h * temperature))
    # a select, not a branch: the block launcher's particle loop stays straight-line code and vectorises
    accept = log(uniform(seed, STREAM_ACCEPT, p, t, k)) < log_ratio
    return (nx if accept else x, ny if accept else y, nu if accept else u, ngx if accept else gx,
            ngy if accept else gy, 1.0 if accept else 0.0)


@device
def cache_potential(state, p, seed, params, kind, tparams, mix):
    """MALA's init: U and ∇U at the start, cached in columns 2–4."""
    state[p, 2], state[p, 3], state[p, 4] = potential(state[p, 0], state[p, 1], kind, tparams, mix, 0.0)


@device
def mala_step(state, p, t, n_steps, seed, params, kind, tparams, mix):
    """MALA: the ULA proposal corrected by Metropolis–Hastings; U, ∇U cached in columns 2–4."""
    x, y, u, gx, gy, accepted = mala_move(state[p, 0], state[p, 1], state[p, 2], state[p, 3], state[p, 4],
                                          params[STEP_SIZE], params[TEMPERATURE], seed, p, t, K_STEP,
                                          kind, tparams, mix)
    state[p, 0] = x
    state[p, 1] = y
    state[p, 2] = u
    state[p, 3] = gx
    state[p, 4] = gy
    return accepted


@device
def cache_energy(state, p, seed, params, kind, tparams, mix):
    """Random-walk Metropolis's init: U at the start, cached in column 2."""
    state[p, 2] = potential(state[p, 0], state[p, 1], kind, tparams, mix, 0.0)[0]


@device
def rwmh_step(state, p, t, n_steps, seed, params, kind, tparams, mix):
    """Random-walk Metropolis: x' = x + √(2hT)ξ, accepted with probability min(1, exp(−ΔU/T))."""
    temperature = params[TEMPERATURE]
    scale = math.sqrt(2.0 * params[STEP_SIZE] * temperature)
    x = state[p, 0]
    y = state[p, 1]
    xi0, xi1 = normal_pair(seed, STREAM_DYNAMICS, p, t, K_STEP)
    nx = x + scale * xi0
    ny = y + scale * xi1
    nu = potential(nx, ny, kind, tparams, mix, 0.0)[0]
    if log(uniform(seed, STREAM_ACCEPT, p, t, K_STEP)) < -(nu - state[p, 2]) / temperature:
        state[p, 0] = nx
        state[p, 1] = ny
        state[p, 2] = nu
        return 1.0
    return 0.0


@device
def rmid_step(state, p, t, n_steps, seed, params, kind, tparams, mix):
    """Randomized midpoint for overdamped Langevin (He, Balasubramanian & Erdogdu 2020).

    α ~ U(0, 1); W_α = √(2TαH)ξ₁ and W_h = W_α + √(2T(1−α)h)ξ₂ lie on one Brownian path;
    x_α = x − αh∇U(x) + W_α, then x' = x − h∇U(x_α) + W_h.
    """
    h = params[STEP_SIZE]
    temperature = params[TEMPERATURE]
    alpha = uniform(seed, STREAM_ACCEPT, p, t, K_MIDPOINT)
    x = state[p, 0]
    y = state[p, 1]
    xi0, xi1 = normal_pair(seed, STREAM_DYNAMICS, p, t, K_STEP)
    eta0, eta1 = normal_pair(seed, STREAM_DYNAMICS, p, t, K_MIDPOINT)
    first = math.sqrt(2.0 * temperature * alpha * h)
    second = math.sqrt(2.0 * temperature * (1.0 - alpha) * h)
    wx = first * xi0
    wy = first * xi1
    _, gx, gy = potential(x, y, kind, tparams, mix, 0.0)
    mx = x - alpha * h * gx + wx
    my = y - alpha * h * gy + wy
    _, gx, gy = potential(mx, my, kind, tparams, mix, 0.0)
    state[p, 0] = x - h * gx + wx + second * eta0
    state[p, 1] = y - h * gy + wy + second * eta1
    return 1.0
