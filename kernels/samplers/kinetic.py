"""Kinetic (underdamped) samplers with unit mass: BAOAB Langevin and Hamiltonian Monte Carlo.

State columns: 0–1 position, 2–3 velocity (BAOAB) or cached U (HMC, column 2), 4–5 cached ∇U; HMC's
proposal beside them (columns 6–13).
Same step signature and noise convention as :mod:`kernels.samplers.overdamped`.
"""
import math

from kernels.compile import device
from kernels.fastmath import exact_log as log
from kernels.rng import K_INITIAL_VELOCITY, K_STEP, STREAM_ACCEPT, STREAM_DYNAMICS, normal_pair, uniform
from kernels.samplers.layout import FRICTION, LEAPFROG_STEPS, STEP_SIZE, TEMPERATURE
from kernels.targets import potential


@device
def baoab_init(state, p, seed, params, kind, tparams, mix):
    """BAOAB's start: the velocity drawn from N(0, T I) (at step 0), ∇U cached in columns 4–5."""
    temperature = params[TEMPERATURE]
    v0, v1 = normal_pair(seed, STREAM_DYNAMICS, p, 0, K_INITIAL_VELOCITY)
    state[p, 2] = math.sqrt(temperature) * v0
    state[p, 3] = math.sqrt(temperature) * v1
    _, state[p, 4], state[p, 5] = potential(state[p, 0], state[p, 1], kind, tparams, mix, 0.0)


@device
def baoab_step(state, p, t, n_steps, seed, params, kind, tparams, mix):
    """BAOAB splitting of dx = v dt, dv = −∇U dt − γv dt + √(2γT) dW (Leimkuhler & Matthews 2013).

    B: v −= (h/2)∇U(x); A: x += (h/2)v; O: v ← c·v + √(T(1 − c²))ξ with c = e^{−γh};
    A: x += (h/2)v; B: v −= (h/2)∇U(x). The velocity starts from N(0, T I).
    """
    h = params[STEP_SIZE]
    temperature = params[TEMPERATURE]
    c = math.exp(-params[FRICTION] * h)
    kick = math.sqrt(temperature * (1.0 - c * c))
    vx = state[p, 2] - 0.5 * h * state[p, 4]
    vy = state[p, 3] - 0.5 * h * state[p, 5]
    x = state[p, 0] + 0.5 * h * vx
    y = state[p, 1] + 0.5 * h * vy
    xi0, xi1 = normal_pair(seed, STREAM_DYNAMICS, p, t, K_STEP)
    vx = c * vx + kick * xi0
    vy = c * vy + kick * xi1
    x += 0.5 * h * vx
    y += 0.5 * h * vy
    _, gx, gy = potential(x, y, kind, tparams, mix, 0.0)
    state[p, 0] = x
    state[p, 1] = y
    state[p, 2] = vx - 0.5 * h * gx
    state[p, 3] = vy - 0.5 * h * gy
    state[p, 4] = gx
    state[p, 5] = gy
    return 1.0


# HMC's columns: the position (0–1), its U (2) and ∇U (4–5) cached; the proposal's position, momentum, U and
# ∇U, and the starting energy H₀ (6–13). The proposal lives in the state so that HMC's leapfrog steps can be
# run as sub-steps over a whole block of particles (kernels.samplers.driver, the blocked launcher).
U, GX, GY = 2, 4, 5
PX, PY, QX, QY, PU, PGX, PGY, H0 = 6, 7, 8, 9, 10, 11, 12, 13
HMC_WIDTH = 14


@device
def hmc_init(state, p, seed, params, kind, tparams, mix):
    """HMC's start: U and ∇U cached."""
    state[p, U], state[p, GX], state[p, GY] = potential(state[p, 0], state[p, 1], kind, tparams, mix, 0.0)


@device
def hmc_propose(state, p, t, n_steps, seed, params, kind, tparams, mix):
    """The proposal starts at the position with a fresh momentum q ~ N(0, I); H₀ = U/T + |q|²/2."""
    qx, qy = normal_pair(seed, STREAM_DYNAMICS, p, t, K_STEP)
    state[p, PX] = state[p, 0]
    state[p, PY] = state[p, 1]
    state[p, PU] = state[p, U]
    state[p, PGX] = state[p, GX]
    state[p, PGY] = state[p, GY]
    state[p, QX] = qx
    state[p, QY] = qy
    state[p, H0] = state[p, U] / params[TEMPERATURE] + 0.5 * (qx * qx + qy * qy)


@device
def hmc_leapfrog(state, p, t, n_steps, seed, params, kind, tparams, mix, j):
    """Leapfrog step j of the proposal on H = U/T + |q|²/2: q −= (h/2)∇U/T, x += h q, q −= (h/2)∇U(x)/T."""
    h = params[STEP_SIZE]
    inv_t = 1.0 / params[TEMPERATURE]
    qx = state[p, QX] - 0.5 * h * state[p, PGX] * inv_t
    qy = state[p, QY] - 0.5 * h * state[p, PGY] * inv_t
    x = state[p, PX] + h * qx
    y = state[p, PY] + h * qy
    u, gx, gy = potential(x, y, kind, tparams, mix, 0.0)
    state[p, PX] = x
    state[p, PY] = y
    state[p, PU] = u
    state[p, PGX] = gx
    state[p, PGY] = gy
    state[p, QX] = qx - 0.5 * h * gx * inv_t
    state[p, QY] = qy - 0.5 * h * gy * inv_t


@device
def hmc_leapfrog_steps(params):
    """L, the leapfrog steps per HMC step."""
    return int(params[LEAPFROG_STEPS])


@device
def hmc_accept(state, p, t, n_steps, seed, params, kind, tparams, mix):
    """Metropolis: the proposal replaces the position with probability min(1, exp(H₀ − H)); returns 1 if so."""
    qx = state[p, QX]
    qy = state[p, QY]
    energy = state[p, PU] / params[TEMPERATURE] + 0.5 * (qx * qx + qy * qy)
    # a NaN energy (a diverged trajectory) compares False: the proposal is rejected
    if log(uniform(seed, STREAM_ACCEPT, p, t, K_STEP)) < state[p, H0] - energy:
        state[p, 0] = state[p, PX]
        state[p, 1] = state[p, PY]
        state[p, U] = state[p, PU]
        state[p, GX] = state[p, PGX]
        state[p, GY] = state[p, PGY]
        return 1.0
    return 0.0


@device
def hmc_step(state, p, t, n_steps, seed, params, kind, tparams, mix):
    """HMC (Duane et al. 1987; Neal 2011): fresh momentum q ~ N(0, I), L leapfrog steps of size h on
    H = U/T + |q|²/2, accepted with probability min(1, exp(−ΔH)). The blocked launcher runs the same three
    phases, each over a block of particles (its SamplerSpec.phases)."""
    hmc_propose(state, p, t, n_steps, seed, params, kind, tparams, mix)
    for j in range(hmc_leapfrog_steps(params)):
        hmc_leapfrog(state, p, t, n_steps, seed, params, kind, tparams, mix, j)
    return hmc_accept(state, p, t, n_steps, seed, params, kind, tparams, mix)
