"""Ensembles of Lorenz-63 or Lorenz-96 members, with additive noise, on the CPU (parallel) and on CUDA.

One member step per scheme, written once over a block of members ``u[row, lane]`` (kernels.lorenz.systems),
with the vector field ``field`` bound when a launcher is compiled (the scheme is a run-time switch).
The drifts, the noise draw and the fields are outlined (kernels.compile): each loops over a whole block, so
a call costs nothing beside it, and compiled once instead of at each of their call sites they cut a
launcher's cold compile from 50 s (Lorenz-63) and 87 s (Lorenz-96) to 10 s, at the same speed or faster
(Lorenz-96: 532 → 287 ms per default ensemble). The schemes:

* ``euler``: X' = X + f(X) h + s ΔW (Euler–Maruyama);
* ``heun``:  X̃ = X + f(X) h + s ΔW,  X' = X + ½(f(X) + f(X̃)) h + s ΔW (stochastic Heun, additive noise);
* ``rk4``:   X' = RK4(X, h) + s ΔW (classical Runge–Kutta for the drift; the additive increment after it),

with ΔW ~ N(0, h I) from the counter-based generator (kernels.rng), so the noise a member sees is the
same on every backend and thread count (up to the rounding of the logarithm in its Box–Muller draw: the CPU
build takes the polynomial one of kernels.fastmath, which vectorises, 120 → 220 M member-steps/s for a noisy
Lorenz-63 RK4 ensemble; CUDA's is libdevice's). With s = 0 they are the deterministic Euler, Heun and RK4.
The same :func:`rk4_drift` also integrates the tangent-linear system of kernels.lorenz.lyapunov; a system
may bind its own fused RK4 in its place (RK4_DRIFTS: Lorenz-63's, its stages in registers).

The CPU launcher puts members in blocks (rows × lanes, the inner loops over a block's lanes vectorise:
DESIGN §10); the CUDA launcher runs one thread per member (one lane) with the time loop inside. A member
whose coordinates leave DIVERGENCE_LIMIT (or become NaN) is marked with the step at which it did, and is
NaN from then on.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from kernels.chunks import first_frame, run_in_slices
from kernels.compile import device, device_per_target, kernel, outlined
from kernels.fastmath import FAST_MATH
from kernels.lorenz.systems import FIELDS, lorenz63_rhs
from kernels.rng import STREAM_DYNAMICS, normal_pair

from kernels.backend import cuda  # numba.cuda, imported on first use

INTEGRATORS = ("euler", "heun", "rk4")
# The CPU launcher records float32 frames into float64 ones, rounded after the run, up to this size: so an
# ensemble's float32 frames and a trajectory's float64 ones take one compiled launcher, not two (4.9 s of the
# scene's 18 s cold start). Rounding there or after is the same round to nearest; larger runs record float32.
SHARED_RECORD_BYTES = 64 * 2**20
DIVERGENCE_LIMIT = 1e8   # far beyond either attractor: the integrator blew up
BLOCK_VALUES = 768       # rows × lanes per CPU block: 256 Lorenz-63 members, fewer of a long Lorenz-96 state
MAX_DIM = 64             # the largest state a CUDA thread holds (Lorenz-96 dimension bound)
SCRATCH = 8              # arrays per block: state, 4 RK stages, a temporary, the noise, the last checked state
# Steps between the CPU block's divergence tests. The test (a sum over the block) cost an eighth of a
# Lorenz-63 RK4 step; a block that fails one goes back to the state it had at the last test passed and
# takes those steps again, testing each, so every lane's divergence step is the one a test per step finds.
CHECK_EVERY = 8


@device
def field(u, du, p, dim, lanes):
    """Placeholder rebound to a vector field of kernels.lorenz.systems when a launcher is compiled."""
    return


@device
def axpy(out, u, a, k, dim, lanes):
    """out = u + a k on rows 0..dim-1 of every lane."""
    for j in range(dim):
        for i in range(lanes):
            out[j, i] = u[j, i] + a * k[j, i]


@outlined
def euler_drift(u, h, p, dim, lanes, noise, k, tmp):
    """u ← u + h f(u)."""
    field(u, k[0], p, dim, lanes)
    axpy(u, u, h, k[0], dim, lanes)


@outlined
def heun_drift(u, h, p, dim, lanes, noise, k, tmp):
    """Heun's predictor–corrector with the additive increment ``noise`` in the predictor."""
    field(u, k[0], p, dim, lanes)
    for j in range(dim):
        for i in range(lanes):
            tmp[j, i] = u[j, i] + h * k[0, j, i] + noise[j, i]
    field(tmp, k[1], p, dim, lanes)
    for j in range(dim):
        for i in range(lanes):
            u[j, i] += 0.5 * h * (k[0, j, i] + k[1, j, i])


@outlined
def rk4_drift(u, h, p, dim, lanes, noise, k, tmp):
    """Classical RK4: u ← u + h/6 (k₁ + 2k₂ + 2k₃ + k₄)."""
    field(u, k[0], p, dim, lanes)
    axpy(tmp, u, 0.5 * h, k[0], dim, lanes)
    field(tmp, k[1], p, dim, lanes)
    axpy(tmp, u, 0.5 * h, k[1], dim, lanes)
    field(tmp, k[2], p, dim, lanes)
    axpy(tmp, u, h, k[2], dim, lanes)
    field(tmp, k[3], p, dim, lanes)
    s = h / 6.0
    for j in range(dim):
        for i in range(lanes):
            u[j, i] += s * (k[0, j, i] + 2.0 * k[1, j, i] + 2.0 * k[2, j, i] + k[3, j, i])


@device
def lorenz63_rk4(x, y, z, h, sigma, rho, beta):
    """One classical RK4 step of Lorenz-63 from (x, y, z) (scalars, or numpy arrays for the benchmark's peer):
    the same stages as :func:`rk4_drift`, held in registers instead of a block's scratch rows."""
    a1, b1, c1 = lorenz63_rhs(x, y, z, sigma, rho, beta)
    a2, b2, c2 = lorenz63_rhs(x + 0.5 * h * a1, y + 0.5 * h * b1, z + 0.5 * h * c1, sigma, rho, beta)
    a3, b3, c3 = lorenz63_rhs(x + 0.5 * h * a2, y + 0.5 * h * b2, z + 0.5 * h * c2, sigma, rho, beta)
    a4, b4, c4 = lorenz63_rhs(x + h * a3, y + h * b3, z + h * c3, sigma, rho, beta)
    s = h / 6.0
    return (x + s * (a1 + 2.0 * a2 + 2.0 * a3 + a4), y + s * (b1 + 2.0 * b2 + 2.0 * b3 + b4),
            z + s * (c1 + 2.0 * c2 + 2.0 * c3 + c4))


@outlined
def lorenz63_rk4_drift(u, h, p, dim, lanes, noise, k, tmp):
    """:func:`rk4_drift` for Lorenz-63, lane by lane with :func:`lorenz63_rk4`: one pass over the block instead
    of eleven through its scratch rows, which bounded the generic scheme by the cores' loads and stores
    (100k members, 200 steps, both cores: 280–600 → 850–1,600 M member-steps/s, 15–29× → 33–37× numpy's).
    Bound in place of rk4_drift for Lorenz-63 (RK4_DRIFTS)."""
    sigma, rho, beta = p[0], p[1], p[2]
    for i in range(lanes):
        u[0, i], u[1, i], u[2, i] = lorenz63_rk4(u[0, i], u[1, i], u[2, i], h, sigma, rho, beta)


@device
def drift_step(scheme, u, h, p, dim, lanes, noise, k, tmp):
    """The drift of scheme 0 (Euler), 1 (Heun) or 2 (RK4): one branch per block step, not per member."""
    if scheme == 0:
        euler_drift(u, h, p, dim, lanes, noise, k, tmp)
    elif scheme == 1:
        heun_drift(u, h, p, dim, lanes, noise, k, tmp)
    else:
        rk4_drift(u, h, p, dim, lanes, noise, k, tmp)


@outlined
def draw_noise(noise, scale, seed, first_member, step, dim, lanes):
    """noise[j, i] = scale · N(0, 1), pair j//2 of counter (seed, dynamics, member, step, j//2); the inner loop
    over the block's lanes vectorises."""
    for j in range(0, dim - 1, 2):
        for i in range(lanes):
            a, b = normal_pair(seed, STREAM_DYNAMICS, first_member + i, step, j // 2)
            noise[j, i] = scale * a
            noise[j + 1, i] = scale * b
    if dim % 2:
        for i in range(lanes):
            a, _ = normal_pair(seed, STREAM_DYNAMICS, first_member + i, step, (dim - 1) // 2)
            noise[dim - 1, i] = scale * a


@device
def block_step(scheme, u, h, p, dim, lanes, noise_amplitude, seed, first_member, step, noise, k, tmp):
    """One step of the bound ``drift_step`` for a block of members, plus the additive noise s ΔW."""
    if noise_amplitude > 0.0:
        draw_noise(noise, noise_amplitude * math.sqrt(h), seed, first_member, step, dim, lanes)
        drift_step(scheme, u, h, p, dim, lanes, noise, k, tmp)
        for j in range(dim):
            for i in range(lanes):
                u[j, i] += noise[j, i]
    else:
        drift_step(scheme, u, h, p, dim, lanes, noise, k, tmp)


SCHEMES = {"euler": 0, "heun": 1, "rk4": 2}
RK4_DRIFTS = {"lorenz63": lorenz63_rk4_drift}  # a system's fused RK4, bound in place of the generic rk4_drift


def _scratch_cpu(dim, lanes):
    return np.empty((dim, lanes)), np.empty((dim, lanes)), np.empty((4, dim, lanes)), np.empty((dim, lanes))


def _scratch_cuda(dim, lanes):
    return (cuda.local.array((MAX_DIM, 1), numba.float64), cuda.local.array((MAX_DIM, 1), numba.float64),
            cuda.local.array((4, MAX_DIM, 1), numba.float64), cuda.local.array((MAX_DIM, 1), numba.float64))


scratch = device_per_target(_scratch_cpu, _scratch_cuda)


@device
def diverged(u, dim, i):
    """Whether lane i has left the finite numbers (NaN fails the test too)."""
    total = 0.0
    for j in range(dim):
        total += abs(u[j, i])
    return not (total < DIVERGENCE_LIMIT)


@device
def any_diverged(u, dim, lanes):
    """Whether some lane of the block may have diverged: the sum of |u| over the whole block reaches
    DIVERGENCE_LIMIT or is NaN. It bounds every lane's sum, so False means no lane diverged; one reduction
    that vectorises, against a per-lane test with a branch that does not (a third of a Lorenz-63 step)."""
    total = 0.0
    for j in range(dim):
        for i in range(lanes):
            total += abs(u[j, i])
    return not (total < DIVERGENCE_LIMIT)


@device
def copy_block(out, u, dim, lanes):
    """out[j, i] = u[j, i] over the block."""
    for j in range(dim):
        for i in range(lanes):
            out[j, i] = u[j, i]


@device
def mark_diverged(u, dim, lanes, died, t):
    """died[i] = t for each lane that diverged at step t, and its state set to 0 from then on, a finite
    point that keeps :func:`any_diverged` cheap for the block's other lanes (a dead lane's frames and final
    state are written NaN from its ``died`` step)."""
    for i in range(lanes):
        if diverged(u, dim, i):
            if died[i] < 0:
                died[i] = t
            for j in range(dim):
                u[j, i] = 0.0


@kernel
def cpu_launch(scheme, state, t_start, t_stop, frame_steps, p, h, noise_amplitude, seed, lanes_per_block, paths,
               died_at):
    dim, n = state.shape[0], state.shape[1]
    n_frames = frame_steps.shape[0]
    for block in numba.prange((n + lanes_per_block - 1) // lanes_per_block):
        lo = block * lanes_per_block
        lanes = min(lanes_per_block, n - lo)
        u, noise, k, tmp = scratch(dim, lanes)   # contiguous block-local copies, so the inner loops vectorise
        checked = np.empty((dim, lanes))         # the block as it was at the last divergence test
        died = np.empty(lanes, dtype=np.int64)
        for i in range(lanes):
            died[i] = died_at[lo + i]
            for j in range(dim):
                u[j, i] = state[j, lo + i]
                noise[j, i] = 0.0  # Heun's predictor reads it; without noise it stays zero
        frame = first_frame(frame_steps, t_start)
        t, checked_t, checked_frame, retrying = t_start, t_start, frame, 0
        copy_block(checked, u, dim, lanes)
        while True:
            while frame < n_frames and frame_steps[frame] == t:
                for i in range(lanes):
                    for j in range(dim):
                        paths[frame, lo + i, j] = u[j, i]
                frame += 1
            if t == t_stop:
                break
            block_step(scheme, u, h, p, dim, lanes, noise_amplitude, seed, lo, t, noise, k, tmp)
            t += 1
            if retrying > 0:  # again from the last check, testing each step: the step a lane diverged at
                retrying -= 1
                if any_diverged(u, dim, lanes):
                    mark_diverged(u, dim, lanes, died, t - 1)
                if retrying == 0:
                    checked_t, checked_frame = t, frame
                    copy_block(checked, u, dim, lanes)
            elif t - checked_t == CHECK_EVERY or t == t_stop:
                if any_diverged(u, dim, lanes):  # the same steps again, the same noise: counter-based draws
                    retrying, t, frame = t - checked_t, checked_t, checked_frame
                    copy_block(u, checked, dim, lanes)
                else:
                    checked_t, checked_frame = t, frame
                    copy_block(checked, u, dim, lanes)
        for i in range(lanes):
            died_at[lo + i] = died[i]
            for j in range(dim):
                state[j, lo + i] = u[j, i] if died[i] < 0 else math.nan  # as the CUDA build: NaN once diverged
            if died[i] >= 0:  # a diverged member reads NaN from its divergence on
                for f in range(n_frames):
                    if frame_steps[f] > died[i]:
                        for j in range(dim):
                            paths[f, lo + i, j] = math.nan


@kernel
def cuda_launch(scheme, state, t_start, t_stop, frame_steps, p, h, noise_amplitude, seed, lanes_per_block, paths,
                died_at):
    m = cuda.grid(1)
    if m >= state.shape[1] or died_at[m] >= 0:  # a member that died in an earlier slice reads NaN from then on
        return
    dim = state.shape[0]
    n_frames = frame_steps.shape[0]
    u, noise, k, tmp = scratch(dim, 1)
    for j in range(dim):
        u[j, 0] = state[j, m]
        noise[j, 0] = 0.0
    frame = first_frame(frame_steps, t_start)
    for t in range(t_start, t_stop + 1):
        while frame < n_frames and frame_steps[frame] == t:
            for j in range(dim):
                paths[frame, m, j] = u[j, 0]
            frame += 1
        if t == t_stop:
            break
        block_step(scheme, u, h, p, dim, 1, noise_amplitude, seed, m, t, noise, k, tmp)
        if diverged(u, dim, 0):
            died_at[m] = t
            while frame < n_frames:
                for j in range(dim):
                    paths[frame, m, j] = math.nan
                frame += 1
            for j in range(dim):
                u[j, 0] = math.nan  # a diverged member's final state reads NaN, as in the CPU build
            break
    for j in range(dim):
        state[j, m] = u[j, 0]


def system_parameters(system, sigma=10.0, rho=28.0, beta=8.0 / 3.0, forcing=8.0) -> np.ndarray:
    """The parameter vector p a field of ``system`` reads: (σ, ρ, β) or (F,)."""
    if system == "lorenz63":
        return np.array([sigma, rho, beta], dtype=np.float64)
    if system == "lorenz96":
        return np.array([forcing], dtype=np.float64)
    raise ValueError(f"unknown system {system!r}; choose one of {', '.join(FIELDS)}")


def recorded_dtype(shape: tuple, dtype, backend: str):
    """The dtype frames of ``shape`` asked for in ``dtype`` are recorded in: float64 on the CPU up to
    SHARED_RECORD_BYTES (rounded to ``dtype`` after the run), else ``dtype`` itself."""
    if backend == "cpu" and np.prod(shape, dtype=float) * 8 <= SHARED_RECORD_BYTES:
        return np.dtype(np.float64)
    return np.dtype(dtype)


def integrate_ensemble(initial, n_steps, frame_steps, dt, sigma=10.0, rho=28.0, beta=8.0 / 3.0, noise=0.0,
                       method="rk4", seed=0, backend="cpu", dtype=np.float32, system="lorenz63", forcing=8.0,
                       between=None, slice_steps=None):
    """Integrate members ``initial`` (n, dim) for ``n_steps`` of size ``dt`` (dim 3 for Lorenz-63, any
    n ≥ 4 up to MAX_DIM for Lorenz-96), in slices of steps with ``between()`` after each but the last
    (kernels.chunks; the numbers do not depend on the slicing).

    Returns (paths ``dtype`` (n_frames, n, dim), final float64 (n, dim), NaN for a member that diverged,
    died_at int64 (n,), −1 where finite).
    """
    state = np.ascontiguousarray(np.asarray(initial, dtype=np.float64).T)  # (dim, n): struct of arrays
    dim, n = state.shape
    if method not in INTEGRATORS:
        raise ValueError(f"unknown integrator {method!r}; choose one of {', '.join(INTEGRATORS)}")
    p = system_parameters(system, sigma, rho, beta, forcing)
    if (system == "lorenz63" and dim != 3) or not 1 <= dim <= MAX_DIM:
        raise ValueError(f"{system} state of dimension {dim} is not supported")
    frame_steps = np.asarray(frame_steps, dtype=np.int64)
    shape = (len(frame_steps), n, dim)
    paths = np.empty(shape, dtype=recorded_dtype(shape, dtype, backend))
    died_at = np.full(n, -1, dtype=np.int64)
    field, rk4 = FIELDS[system], RK4_DRIFTS.get(system, rk4_drift)
    scheme, lanes = SCHEMES[method], max(1, BLOCK_VALUES // dim)
    tail = (float(dt), float(noise), np.uint64(seed), lanes)
    work = n * step_cost(method, dim, noise > 0.0)
    if backend == "cpu":
        kernel = cpu_launch.compile("cpu", field=field, rk4_drift=rk4, **FAST_MATH)  # the noise's log vectorises
        run_in_slices(int(n_steps), work, lambda t0, t1: kernel(scheme, state, t0, t1, frame_steps, p, *tail, paths,
                                                                died_at), between, slice_steps)
        return paths.astype(dtype, copy=False), state.T.copy(), died_at
    d_state, d_frames, d_p, d_paths, d_died = (cuda.to_device(a) for a in (state, frame_steps, p, paths, died_at))
    threads = min(128, 32 * ((n + 31) // 32))
    kernel = cuda_launch.compile("cuda", field=field, rk4_drift=rk4)[(n + threads - 1) // threads, threads]

    def run_slice(t0, t1):
        kernel(scheme, d_state, t0, t1, d_frames, d_p, *tail, d_paths, d_died)
        cuda.synchronize()  # the slice is done before ``between`` may stop the run

    run_in_slices(int(n_steps), work, run_slice, between, slice_steps)
    return d_paths.copy_to_host(), d_state.copy_to_host().T.copy(), d_died.copy_to_host()


STAGES = {"euler": 1, "heun": 2, "rk4": 4}   # evaluations of the field per step
STAGE_COST = 0.02     # work units (kernels.chunks: ULA particle-steps on ring8) of one field evaluation per coordinate
NOISE_COST = 0.08     # the units of one coordinate's noise draw (half a Box–Muller pair and its counter hash)
MIN_STEP_COST = 0.05  # a member-step's loop, divergence test and frames, whatever the scheme


def step_cost(method: str, dim: int, noisy: bool = True) -> float:
    """The work of one member-step in units of ULA's on ring8 (kernels.chunks): the scheme's evaluations of
    the field times STAGE_COST per coordinate, plus NOISE_COST per coordinate of a noisy run, at least
    MIN_STEP_COST. Measured with ``python benchmarks/step_costs.py`` (Lorenz-96's field; Lorenz-63's fused
    RK4 takes about a fifth of its estimate without noise)."""
    return max(MIN_STEP_COST, dim * (STAGES[method] * STAGE_COST + (NOISE_COST if noisy else 0.0)))


def trajectory(start, n_samples, sample_every, dt, sigma=10.0, rho=28.0, beta=8.0 / 3.0, method="rk4",
               system="lorenz63", forcing=8.0):
    """One deterministic trajectory sampled every ``sample_every`` steps: (n_samples, dim) float64.

    Raises FloatingPointError naming the step where it left the finite numbers.
    """
    steps = np.arange(n_samples, dtype=np.int64) * int(sample_every)
    paths, _, died = integrate_ensemble(np.asarray(start, float)[None], steps[-1], steps, dt, sigma, rho, beta,
                                        0.0, method, dtype=np.float64, system=system, forcing=forcing)
    if died[0] >= 0:
        raise FloatingPointError(f"{method} with dt={dt:g} diverged at step {died[0]} (t = {died[0] * dt:g})")
    return paths[:, 0, :]
