"""Lorenz-63 kernels against independent truths: λ₁ (Sprott), the flow's divergence, scipy's ODE solver,
SINDy's recovered coefficients, NG-RC on the data of Gauthier et al. (2021), the EnKF against climatology,
and the ensemble spread's growth rate against λ₁ (DESIGN §8)."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from kernels.lorenz.enkf import twin_experiment
from kernels.lorenz.features import TrainingTooShort, ridge_solve
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


def test_euler_blow_up_reports_the_step():
    paths, _, died = integrate_ensemble(np.array([[1.0, 1.0, 20.0]] * 3), 200, [0, 100, 200], 0.2, method="euler")
    assert (died >= 0).all() and (died < 200).all()
    assert np.isnan(paths[-1]).all()
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


def test_ngrc_forecasts_five_lyapunov_times_on_the_papers_data():
    """Gauthier et al. (2021): k = 2, quadratic + constant (28 features), ridge 2.5e-6, dt 0.025, 400 points.

    The data are made as in the paper's code (scipy RK23 at its default tolerances). On data integrated to
    1e-12 the same settings fail within a Lyapunov time (Zhang & Cornelius 2023, "Catch-22s of reservoir
    computing"); the scene shows that too.
    """
    dt, n_starts, steps = 0.025, 10, 400
    n = 200 + 400 + n_starts * (2 + steps)
    data = solve_ivp(lorenz, (0, n * dt), [17.677, 12.931, 43.914], t_eval=np.arange(n) * dt, method="RK23").y.T
    train, tests = data[200:600], data[600:].reshape(n_starts, 2 + steps, 3)
    model = NGRC(delays=2, stride=1, ridge=2.5e-6).fit(train, dt)
    assert model.n_features == 28
    scored = score(model.predict(tests[:, :2], steps), tests[:, 2:], data.std(axis=0), dt, LAMBDA_1)
    assert scored["vpt_mean"] >= 5.0, scored["vpt"]


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
