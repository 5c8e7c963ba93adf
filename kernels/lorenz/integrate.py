"""Ensembles of Lorenz-63 members, with additive noise, on the CPU (parallel) and on CUDA.

One member step, :func:`member_step`, written once:

* ``euler``: X' = X + f(X) h + s ΔW (Euler–Maruyama);
* ``heun``:  X̃ = X + f(X) h + s ΔW,  X' = X + ½(f(X) + f(X̃)) h + s ΔW (stochastic Heun, additive noise);
* ``rk4``:   X' = RK4(X, h) + s ΔW (classical Runge–Kutta for the drift; the additive increment after it),

with ΔW ~ N(0, h I) from the counter-based generator (kernels.rng), so the noise a member sees is the
same on every backend and thread count. With s = 0 they are the deterministic Euler, Heun and RK4.

The CPU launcher puts members in blocks (struct-of-arrays, time loop outside the inner loop over a
block's members, so the inner loop vectorises: DESIGN §10); the CUDA launcher runs one thread per member
with the time loop inside. A member whose coordinate leaves DIVERGENCE_LIMIT (or becomes NaN) is marked
with the step at which it did, and is NaN from then on.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from kernels.compile import device, kernel
from kernels.lorenz.systems import lorenz63_rhs
from kernels.rng import STREAM_DYNAMICS, normal_pair

try:  # the CUDA target is optional; kernels refer to the module by this global name
    from numba import cuda
except ImportError:  # pragma: no cover
    cuda = None

INTEGRATORS = ("euler", "heun", "rk4")
DIVERGENCE_LIMIT = 1e8   # far beyond the attractor (|x| < 60 for ρ up to 100): the integrator blew up
BLOCK = 256              # members per CPU block (the inner, vectorised loop)


@device
def euler_drift(x, y, z, h, sigma, rho, beta, nx, ny, nz):
    """X + h f(X)."""
    dx, dy, dz = lorenz63_rhs(x, y, z, sigma, rho, beta)
    return x + h * dx, y + h * dy, z + h * dz


@device
def heun_drift(x, y, z, h, sigma, rho, beta, nx, ny, nz):
    """Heun's predictor–corrector with the additive increment (nx, ny, nz) in both stages."""
    ax, ay, az = lorenz63_rhs(x, y, z, sigma, rho, beta)
    px, py, pz = x + h * ax + nx, y + h * ay + ny, z + h * az + nz
    bx, by, bz = lorenz63_rhs(px, py, pz, sigma, rho, beta)
    return x + 0.5 * h * (ax + bx), y + 0.5 * h * (ay + by), z + 0.5 * h * (az + bz)


@device
def rk4_drift(x, y, z, h, sigma, rho, beta, nx, ny, nz):
    """Classical RK4: X + h/6 (k₁ + 2k₂ + 2k₃ + k₄)."""
    k1x, k1y, k1z = lorenz63_rhs(x, y, z, sigma, rho, beta)
    k2x, k2y, k2z = lorenz63_rhs(x + 0.5 * h * k1x, y + 0.5 * h * k1y, z + 0.5 * h * k1z, sigma, rho, beta)
    k3x, k3y, k3z = lorenz63_rhs(x + 0.5 * h * k2x, y + 0.5 * h * k2y, z + 0.5 * h * k2z, sigma, rho, beta)
    k4x, k4y, k4z = lorenz63_rhs(x + h * k3x, y + h * k3y, z + h * k3z, sigma, rho, beta)
    s = h / 6.0
    return (x + s * (k1x + 2.0 * k2x + 2.0 * k3x + k4x), y + s * (k1y + 2.0 * k2y + 2.0 * k3y + k4y),
            z + s * (k1z + 2.0 * k2z + 2.0 * k3z + k4z))


@device
def drift_step(x, y, z, h, sigma, rho, beta, nx, ny, nz):
    """Placeholder rebound to euler_drift, heun_drift or rk4_drift when a launcher is compiled."""
    return x, y, z


@device
def member_step(x, y, z, h, sigma, rho, beta, noise, seed, member, step):
    """One step of the bound ``drift_step`` for one member, plus the additive noise s ΔW."""
    if noise > 0.0:
        scale = noise * math.sqrt(h)
        z0, z1 = normal_pair(seed, STREAM_DYNAMICS, member, step, 0)
        z2, _ = normal_pair(seed, STREAM_DYNAMICS, member, step, 1)
        nx, ny, nz = scale * z0, scale * z1, scale * z2
        x, y, z = drift_step(x, y, z, h, sigma, rho, beta, nx, ny, nz)
        return x + nx, y + ny, z + nz
    return drift_step(x, y, z, h, sigma, rho, beta, 0.0, 0.0, 0.0)


DRIFTS = {"euler": euler_drift, "heun": heun_drift, "rk4": rk4_drift}


@device
def record(paths, frame, p, x, y, z):
    paths[frame, p, 0] = x
    paths[frame, p, 1] = y
    paths[frame, p, 2] = z


@kernel
def cpu_launch(state, n_steps, frame_steps, params, seed, paths, died_at):
    n = state.shape[1]
    n_frames = frame_steps.shape[0]
    h, sigma, rho, beta, noise = params[0], params[1], params[2], params[3], params[4]
    for block in numba.prange((n + BLOCK - 1) // BLOCK):
        lo = block * BLOCK
        hi = min(lo + BLOCK, n)
        xs = np.empty(hi - lo)  # contiguous block-local copies, so the inner loops vectorise
        ys = np.empty(hi - lo)
        zs = np.empty(hi - lo)
        died = np.empty(hi - lo, dtype=np.int64)
        for i in range(hi - lo):
            xs[i] = state[0, lo + i]
            ys[i] = state[1, lo + i]
            zs[i] = state[2, lo + i]
            died[i] = died_at[lo + i]
        frame = 0
        for t in range(n_steps + 1):
            while frame < n_frames and frame_steps[frame] == t:
                for i in range(hi - lo):
                    record(paths, frame, lo + i, xs[i], ys[i], zs[i])
                frame += 1
            if t == n_steps:
                break
            if noise > 0.0:
                for i in range(hi - lo):
                    x, y, z = member_step(xs[i], ys[i], zs[i], h, sigma, rho, beta, noise, seed, lo + i, t)
                    xs[i] = x
                    ys[i] = y
                    zs[i] = z
            else:  # the noiseless loop on its own, so that it vectorises
                for i in range(hi - lo):
                    x, y, z = drift_step(xs[i], ys[i], zs[i], h, sigma, rho, beta, 0.0, 0.0, 0.0)
                    xs[i] = x
                    ys[i] = y
                    zs[i] = z
            for i in range(hi - lo):  # NaN fails the test too
                fine = abs(xs[i]) + abs(ys[i]) + abs(zs[i]) < DIVERGENCE_LIMIT
                died[i] = t if (died[i] < 0 and not fine) else died[i]
        for i in range(hi - lo):
            state[0, lo + i] = xs[i]
            state[1, lo + i] = ys[i]
            state[2, lo + i] = zs[i]
            died_at[lo + i] = died[i]
        for i in range(hi - lo):  # a diverged member reads NaN from its divergence on
            if died[i] >= 0:
                for f in range(n_frames):
                    if frame_steps[f] > died[i]:
                        record(paths, f, lo + i, math.nan, math.nan, math.nan)


@kernel
def cuda_launch(state, n_steps, frame_steps, params, seed, paths, died_at):
    p = cuda.grid(1)
    if p >= state.shape[1]:
        return
    h, sigma, rho, beta, noise = params[0], params[1], params[2], params[3], params[4]
    n_frames = frame_steps.shape[0]
    x, y, z = state[0, p], state[1, p], state[2, p]
    frame = 0
    for t in range(n_steps + 1):
        while frame < n_frames and frame_steps[frame] == t:
            record(paths, frame, p, x, y, z)
            frame += 1
        if t == n_steps:
            break
        x, y, z = member_step(x, y, z, h, sigma, rho, beta, noise, seed, p, t)
        if not (abs(x) + abs(y) + abs(z) < DIVERGENCE_LIMIT):
            died_at[p] = t
            while frame < n_frames:
                record(paths, frame, p, math.nan, math.nan, math.nan)
                frame += 1
            break
    state[0, p], state[1, p], state[2, p] = x, y, z


def integrate_ensemble(initial, n_steps, frame_steps, dt, sigma=10.0, rho=28.0, beta=8.0 / 3.0, noise=0.0,
                       method="rk4", seed=0, backend="cpu", dtype=np.float32):
    """Integrate members ``initial`` (n, 3) for ``n_steps`` of size ``dt``.

    Returns (paths ``dtype`` (n_frames, n, 3), final float64 (n, 3), died_at int64 (n,), −1 where finite).
    """
    state = np.ascontiguousarray(np.asarray(initial, dtype=np.float64).T)  # (3, n): struct of arrays
    n = state.shape[1]
    frame_steps = np.asarray(frame_steps, dtype=np.int64)
    paths = np.empty((len(frame_steps), n, 3), dtype=dtype)
    died_at = np.full(n, -1, dtype=np.int64)
    params = np.array([dt, sigma, rho, beta, noise], dtype=np.float64)
    if method not in INTEGRATORS:
        raise ValueError(f"unknown integrator {method!r}; choose one of {', '.join(INTEGRATORS)}")
    drift = DRIFTS[method]
    args = (int(n_steps), frame_steps, params, np.uint64(seed))
    if backend == "cpu":
        cpu_launch.compile("cpu", drift_step=drift)(state, *args, paths, died_at)
        return paths, state.T.copy(), died_at
    d_state, d_frames, d_params, d_paths, d_died = (cuda.to_device(a) for a in (state, frame_steps, params,
                                                                                 paths, died_at))
    threads = min(128, 32 * ((n + 31) // 32))
    cuda_launch.compile("cuda", drift_step=drift)[(n + threads - 1) // threads, threads](
        d_state, int(n_steps), d_frames, d_params, np.uint64(seed), d_paths, d_died)
    return d_paths.copy_to_host(), d_state.copy_to_host().T.copy(), d_died.copy_to_host()


def trajectory(start, n_samples, sample_every, dt, sigma=10.0, rho=28.0, beta=8.0 / 3.0, method="rk4"):
    """One deterministic trajectory sampled every ``sample_every`` steps: (n_samples, 3) float64.

    Raises FloatingPointError naming the step where it left the finite numbers.
    """
    steps = np.arange(n_samples, dtype=np.int64) * int(sample_every)
    paths, _, died = integrate_ensemble(np.asarray(start, float)[None], steps[-1], steps, dt, sigma, rho, beta,
                                        0.0, method, dtype=np.float64)
    if died[0] >= 0:
        raise FloatingPointError(f"{method} with dt={dt:g} diverged at step {died[0]} (t = {died[0] * dt:g})")
    return paths[:, 0, :]
