"""Lorenz-63 kernels against independent truths: λ₁ (Sprott), the flow's divergence, scipy's ODE solver,
SINDy's recovered coefficients, NG-RC on the data of Gauthier et al. (2021), the EnKF against climatology,
and the ensemble spread's growth rate against λ₁ (DESIGN §8)."""
import re

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from kernels.lorenz.enkf import twin_experiment
from kernels.lorenz.features import TrainingTooShort, ridge_solve
from kernels.lorenz.forecasters import twin_data
from kernels.lorenz.integrate import integrate_ensemble, trajectory
from kernels.lorenz.lyapunov import lyapunov_spectrum
from kernels.lorenz.ngrc import NGRC
from kernels.lorenz.scores import score
from kernels.lorenz.sindy import SINDy

SIGMA, RHO, BETA = 10.0, 28.0, 8.0 / 3.0
LAMBDA_1 = 0.9056   # Sprott, RK4 h = 0.001


def lorenz(t, u):
    return [SIGMA * (u[1] - u[0]), u[0] * (RHO - u[2]) - u[1], u[0] * u[1] - BETA * u[2]]


def test_largest_lyapunov_exponent_matches_sprott():
    """λ₁ = 0.9056 (Sprott); λ₂ = 0; the sum is the flow's divergence −(σ + 1 + β)."""
    spectrum = lyapunov_spectrum(SIGMA, RHO, BETA, dt=0.01, duration=300.0, n_starts=8)
    assert abs(spectrum[0] - LAMBDA_1) < 0.02
    assert abs(spectrum[1]) < 0.02
    assert abs(spectrum.sum() + (SIGMA + 1 + BETA)) < 1e-2   # the trace of the Jacobian, exactly


def test_rk4_ensemble_matches_scipy():
    starts = np.array([[1.0, 1.0, 1.0], [-5.0, 3.0, 20.0], [10.0, 10.0, 30.0]])
    paths, final, died = integrate_ensemble(starts, 100, [0, 50, 100], 0.001, SIGMA, RHO, BETA, method="rk4",
                                            dtype=np.float64)
    assert (died == -1).all()
    for member, start in enumerate(starts):
        exact = solve_ivp(lorenz, (0, 0.1), start, t_eval=[0.05, 0.1], method="DOP853", rtol=1e-12, atol=1e-12).y.T
        assert np.allclose(paths[1:, member], exact, atol=1e-9)
        assert np.allclose(final[member], exact[-1], atol=1e-9)


def test_lorenz63s_fused_rk4_takes_the_generic_schemes_step():
    # the Lorenz-63 ensembles run lorenz63_rk4_drift, bound in place of rk4_drift (the scheme written over a
    # block's scratch rows, which Lorenz-96 and the tangent systems run): one step of each on the same block
    from kernels.lorenz.integrate import lorenz63_rk4_drift, rk4_drift
    from kernels.lorenz.systems import lorenz63_field

    lanes, p = 37, np.array([SIGMA, RHO, BETA])
    block = np.array([1.0, 1.0, 20.0])[:, None] + 8.0 * np.random.default_rng(3).standard_normal((3, lanes))
    scratch = lambda: (np.zeros((3, lanes)), np.empty((4, 3, lanes)), np.empty((3, lanes)))
    fused, generic = block.copy(), block.copy()
    lorenz63_rk4_drift.compile("cpu")(fused, 0.01, p, 3, lanes, *scratch())
    rk4_drift.compile("cpu", field=lorenz63_field)(generic, 0.01, p, 3, lanes, *scratch())
    assert np.abs(fused - block).min() > 1e-4   # each lane moved
    assert np.allclose(fused, generic, rtol=1e-14, atol=1e-12)


def test_float32_and_float64_frames_take_one_compiled_launcher():
    # float32 frames are recorded as float64 and rounded after the run (kernels.lorenz.integrate,
    # SHARED_RECORD_BYTES), so the launcher a trajectory's float64 frames take serves them: the same numbers
    # as rounding them where they are stored
    from kernels.lorenz.integrate import SHARED_RECORD_BYTES, recorded_dtype

    starts = (np.array([[1.0, 1.0, 1.0], [-5.0, 3.0, 20.0]]) + np.linspace(0, 1, 40)[:, None, None]).reshape(-1, 3)
    run = dict(n_steps=300, frame_steps=[0, 100, 300], dt=0.005, noise=0.7, seed=5)
    single, final32, died32 = integrate_ensemble(starts, **run)
    double, final64, died64 = integrate_ensemble(starts, **run, dtype=np.float64)
    assert single.dtype == np.float32 and double.dtype == np.float64
    assert np.array_equal(single, double.astype(np.float32)) and np.array_equal(final32, final64)
    assert np.array_equal(died32, died64)
    default_ensemble = (201, 1000, 3)
    assert recorded_dtype(default_ensemble, np.float32, "cpu") == recorded_dtype((2000, 1, 3), np.float64, "cpu") \
        == np.float64
    huge = (1000, SHARED_RECORD_BYTES // 8 // 3000 + 1, 3)   # over the limit: recorded as asked
    assert recorded_dtype(huge, np.float32, "cpu") == np.float32
    assert recorded_dtype(default_ensemble, np.float32, "cuda") == np.float32


def _euler_divergence_step(start, dt):
    """The step of forward Euler on Lorenz-63 after which |x| + |y| + |z| first reaches 1e8 or is NaN (numpy)."""
    x, y, z = start
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(1000):
            x, y, z = x + dt * SIGMA * (y - x), y + dt * (x * (RHO - z) - y), z + dt * (x * y - BETA * z)
            if not abs(x) + abs(y) + abs(z) < 1e8:
                return step
    raise AssertionError("did not diverge")


def test_euler_blow_up_reports_the_step():
    starts = np.array([[1.0, 1.0, 20.0]] * 3 + [[0.0, 0.0, 0.0]])  # the last one sits on the fixed point
    paths, final, died = integrate_ensemble(starts, 200, [0, 100, 200], 0.2, method="euler")
    assert (died[:3] >= 0).all() and (died[:3] < 200).all() and died[3] == -1
    assert np.isnan(paths[-1, :3]).all() and np.isnan(final[:3]).all()  # NaN from the divergence on, as on CUDA
    assert np.array_equal(final[3], [0.0, 0.0, 0.0])
    assert (died[:3] == _euler_divergence_step([1.0, 1.0, 20.0], 0.2)).all()  # the step itself, not a later one
    sliced = integrate_ensemble(starts, 200, [0, 100, 200], 0.2, method="euler", slice_steps=3)
    assert np.array_equal(sliced[2], died)  # a member that died in an earlier slice keeps its step
    with pytest.raises(FloatingPointError, match="diverged at step"):
        trajectory([1.0, 1.0, 20.0], 10, 20, 0.2, method="euler")


def test_sindy_recovers_the_lorenz_parameters():
    clean = trajectory([1.0, 1.0, 1.0], 10_000, 1, 0.002)[2000:]
    model = SINDy(threshold=0.1).fit(clean, 0.002)
    recovered = model.lorenz_parameters()
    for name, value in (("sigma", SIGMA), ("rho", RHO), ("beta", BETA)):
        assert abs(recovered[name] - value) < 0.02 * value, (name, recovered)
    assert (model.coefficients != 0).sum() == 7            # exactly the seven terms of Lorenz-63
    assert model.equations()[0].startswith("dx/dt = -10.0")


def test_ngrc_forecasts_five_lyapunov_times_on_accurate_noiseless_data():
    """Gauthier et al. (2021) settings: k = 2, quadratic + constant (28 features), ridge 2.5e-6 on the raw
    features, dt 0.025, 400 points, increments. Data: RK4 at h = 0.0025 (error ~1e-9 per sample), six
    training trajectories × eight forecast starts each; the mean VPT must reach 5 Lyapunov times."""
    vpts = []
    for seed in range(6):
        train, histories, truths, scale = twin_data(SIGMA, RHO, BETA, 0.025, 400, 8, 400, seed=seed)
        model = NGRC(delays=2, stride=1, ridge=2.5e-6).fit(train, 0.025)
        assert model.n_features == 28
        vpts.append(score(model.predict(histories, 400), truths, scale, 0.025, LAMBDA_1)["vpt"])
    assert np.mean(vpts) >= 5.0, np.round(np.mean(vpts, axis=1), 2)


def test_ngrc_without_input_noise_is_the_papers_model_on_the_papers_data():
    """ε = 0 is Gauthier et al.'s model exactly; on their data (scipy RK23, default tolerances) it forecasts
    about 5 Lyapunov times, and on exact data it loses the truth within one (the instability the input-noise
    term removes)."""
    dt, n_starts, steps = 0.025, 10, 400
    n = 200 + 400 + n_starts * (2 + steps)
    for method, options, check in (("RK23", {}, lambda v: v > 4.0),
                                   ("DOP853", dict(rtol=1e-12, atol=1e-12), lambda v: v < 1.0)):
        data = solve_ivp(lorenz, (0, n * dt), [17.677, 12.931, 43.914], t_eval=np.arange(n) * dt, method=method,
                         **options).y.T
        train, tests = data[200:600], data[600:].reshape(n_starts, 2 + steps, 3)
        model = NGRC(delays=2, stride=1, ridge=2.5e-6, input_noise=0.0).fit(train, dt)
        scored = score(model.predict(tests[:, :2], steps), tests[:, 2:], data.std(axis=0), dt, LAMBDA_1)
        assert check(scored["vpt_mean"]), (method, scored["vpt_mean"])


def test_too_short_training_is_refused_with_the_minimum():
    with pytest.raises(TrainingTooShort, match="at least 30 training points"):
        NGRC(delays=2).fit(np.ones((20, 3)), 0.025)


def test_ridge_is_stable_on_rank_deficient_features():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((50, 2))
    features = np.column_stack([base, base[:, 0]])           # a repeated column: F F^T is singular
    targets = base @ np.array([[2.0], [-1.0]])
    weights = ridge_solve(features, targets, 0.0)              # minimum norm: the weight 2 split evenly
    assert np.allclose(weights[:, 0], [1.0, -1.0, 1.0], atol=1e-10)
    alpha = 1e-3
    normal = np.linalg.solve(features.T @ features + alpha * np.eye(3), features.T @ targets)
    assert np.allclose(ridge_solve(features, targets, alpha), normal, atol=1e-8)


@pytest.mark.parametrize("method", ["perturbed", "sqrt"])
def test_enkf_tracks_the_truth_far_below_climatology(method):
    run = twin_experiment(n_cycles=120, obs_interval=25, dt=0.01, obs_variance=2.0, n_members=20,
                          inflation=1.02, method=method, seed=1)
    rmse = run["rmse"][20:].mean()
    assert rmse < 0.2 * run["climatology_rmse"], (rmse, run["climatology_rmse"])
    assert rmse < np.sqrt(2.0)                                   # better than the observations themselves


def test_ensemble_spread_grows_at_about_lambda_1():
    centres = trajectory([1.0, 1.0, 1.0], 65, 250, 0.01)[1:]   # 64 points on the attractor
    rng = np.random.default_rng(0)
    members = 16
    initial = np.repeat(centres, members, axis=0) + 1e-9 * rng.standard_normal((len(centres) * members, 3))
    frames = np.arange(0, 1001, 50)
    paths, _, _ = integrate_ensemble(initial, 1000, frames, 0.01, dtype=np.float64)
    clouds = paths.reshape(len(frames), len(centres), members, 3)
    log_spread = np.log(np.sqrt(clouds.var(axis=2).mean(axis=2))).mean(axis=1)   # averaged over centres
    rate = np.polyfit(frames * 0.01, log_spread, 1)[0]
    assert abs(rate - LAMBDA_1) < 0.15 * LAMBDA_1, rate


# -- Lorenz-96 -------------------------------------------------------------------------------------------
def lorenz96(t, u, forcing=8.0):
    return (np.roll(u, -1) - np.roll(u, 2)) * np.roll(u, 1) - u + forcing


def test_lorenz96_rk4_matches_scipy():
    rng = np.random.default_rng(3)
    starts = 8.0 + rng.standard_normal((3, 40))
    paths, _, died = integrate_ensemble(starts, 200, [0, 100, 200], 0.001, method="rk4", dtype=np.float64,
                                        system="lorenz96", forcing=8.0)
    assert (died == -1).all() and paths.shape == (3, 3, 40)
    for member, start in enumerate(starts):
        exact = solve_ivp(lorenz96, (0, 0.2), start, t_eval=[0.1, 0.2], method="DOP853", rtol=1e-12, atol=1e-12).y.T
        assert np.allclose(paths[1:, member], exact, atol=1e-9)


@pytest.mark.parametrize("method", ["euler", "heun", "rk4"])
def test_lorenz96_uniform_forcing_state_is_a_fixed_point(method):
    """xᵢ = F for all i: (F − F)F − F + F = 0, for every n and F, so every scheme keeps it exactly."""
    for n, forcing in ((4, 8.0), (13, 3.5), (40, 8.0)):
        paths, _, _ = integrate_ensemble(np.full((2, n), forcing), 50, [0, 50], 0.01, method=method,
                                         dtype=np.float64, system="lorenz96", forcing=forcing)
        assert np.array_equal(paths[-1], np.full((2, n), forcing))


def test_lorenz96_without_forcing_loses_energy():
    """F = 0: d/dt ½Σxᵢ² = Σ(xᵢ₊₁ − xᵢ₋₂)xᵢ₋₁xᵢ − Σxᵢ² = −Σxᵢ² (the advection term telescopes to 0), so
    the energy decays exactly as E(0) e^{−2t}."""
    start = np.random.default_rng(1).standard_normal((1, 20))
    paths, _, _ = integrate_ensemble(start, 1000, [0, 500, 1000], 0.001, dtype=np.float64, system="lorenz96",
                                     forcing=0.0)
    energy = (paths[:, 0] ** 2).sum(axis=1)
    assert np.allclose(energy, energy[0] * np.exp(-2.0 * np.array([0.0, 0.5, 1.0])), rtol=1e-9)


def test_lorenz96_largest_lyapunov_exponent():
    """n = 40, F = 8: λ₁ ≈ 1.68 (Lorenz & Emanuel 1998 give an error-doubling time of about 0.42, λ₁ ≈ 1.65;
    later spectra 1.67–1.69); and against an independent estimate: the growth of the separation of two
    scipy solve_ivp trajectories 1e-8 apart, renormalised every 0.5 time units (Benettin's two-orbit method)."""
    lam = lyapunov_spectrum(dt=0.01, duration=300.0, n_starts=4, system="lorenz96", dimension=40, forcing=8.0)[0]
    assert abs(lam - 1.68) < 0.05, lam
    rng = np.random.default_rng(0)
    a = solve_ivp(lorenz96, (0, 20), 8.0 + rng.standard_normal(40), rtol=1e-10, atol=1e-10).y[:, -1]
    b = a + 1e-8 * rng.standard_normal(40) / np.sqrt(40)
    total, interval = 0.0, 0.5
    for _ in range(200):
        a, b = (solve_ivp(lorenz96, (0, interval), u, method="DOP853", rtol=1e-11, atol=1e-11).y[:, -1] for u in (a, b))
        gap = np.linalg.norm(b - a)
        total += np.log(gap / 1e-8)
        b = a + (b - a) * (1e-8 / gap)
    independent = total / (200 * interval)
    assert abs(lam - independent) < 0.1 * lam, (lam, independent)


def test_the_noise_draw_vectorises_with_the_polynomial_log():
    """An outlined function is compiled with error_model="numpy" (kernels.compile.outlined). With Python's,
    the polynomial log's division got a zero-divisor check that raises, and the draw's loop over a block's
    lanes stayed scalar (half the speed of the library log). Checked on its LLVM IR, as built for the
    Lorenz CPU launcher."""
    from kernels.fastmath import FAST_MATH
    from kernels.lorenz.integrate import draw_noise

    compiled = draw_noise.compile("cpu", **FAST_MATH)
    compiled(np.zeros((3, 64)), 0.1, np.uint64(1), 0, 0, 3, 64)
    llvm_ir = next(iter(compiled.inspect_llvm().values()))
    assert "division by zero" not in llvm_ir
    assert re.search(r"<\d+ x double>", llvm_ir)
