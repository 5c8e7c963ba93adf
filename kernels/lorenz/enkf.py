"""Ensemble Kalman filter twin experiments on Lorenz-63.

A truth run is observed every ``obs_interval`` model steps, all three variables, y = x + ε, ε ~ N(0, R),
R = r I. The ensemble is propagated with the same model (the RK4 step of kernels.lorenz.integrate, run
vectorised over the few members in numpy: cheaper than a parallel launch per cycle), inflated
multiplicatively about its mean (Anderson & Anderson 1999), then updated with the ensemble covariance
P = A Aᵀ/(N − 1), A the anomalies, and K = P (P + R)⁻¹ (H = I):

* ``perturbed``: each member assimilates y + εᵢ, εᵢ ~ N(0, R) (Burgers, van Leeuwen & Evensen 1998);
* ``sqrt``: the ensemble transform Kalman filter (Bishop, Etherton & Majumdar 2001; Hunt, Kostelich &
  Szunyogh 2007): mean updated with K, anomalies by the symmetric square root of
  [(N − 1)I + Yᵀ R⁻¹ Y]⁻¹ (N − 1).

The usual setting (Evensen 1997; e.g. Miller, Ghil & Gauthiez 1994): dt = 0.01, observations every 25
steps, R = 2 I.
"""
from __future__ import annotations

import numpy as np

from kernels.lorenz.integrate import integrate_ensemble, trajectory

METHODS = ("perturbed", "sqrt")


def analysis(ensemble: np.ndarray, observation: np.ndarray, obs_variance: float, method: str, rng) -> np.ndarray:
    """(N, 3) forecast ensemble → (N, 3) analysis ensemble, with H = I and R = obs_variance · I."""
    n = len(ensemble)
    mean = ensemble.mean(axis=0)
    anomalies = ensemble - mean
    covariance = anomalies.T @ anomalies / (n - 1)
    innovation_cov = covariance + obs_variance * np.eye(3)
    gain = np.linalg.solve(innovation_cov, covariance).T   # P (P + R)⁻¹, both symmetric
    if method == "perturbed":
        perturbed = observation + np.sqrt(obs_variance) * rng.standard_normal(ensemble.shape)
        return ensemble + (perturbed - ensemble) @ gain.T
    new_mean = mean + gain @ (observation - mean)
    # ETKF: T = [(N−1) I + Aᵀ R⁻¹ A / 1]^{-1/2} √(N−1), in ensemble space, by the eigen-decomposition
    values, vectors = np.linalg.eigh((n - 1) * np.eye(n) + anomalies @ anomalies.T / obs_variance)
    transform = vectors @ np.diag(np.sqrt((n - 1) / values)) @ vectors.T
    return new_mean + transform @ anomalies


def twin_experiment(n_cycles=200, obs_interval=25, dt=0.01, obs_variance=2.0, n_members=20, inflation=1.02,
                    method="perturbed", sigma=10.0, rho=28.0, beta=8.0 / 3.0, initial_spread=3.0, seed=0):
    """Run the filter; returns times, truth, observations, the ensemble mean at every step, its spread, and
    the analysis RMSE at each observation time, plus the climatological RMSE (truth against its mean)."""
    if method not in METHODS:
        raise ValueError(f"unknown EnKF method {method!r}; choose one of {', '.join(METHODS)}")
    if n_members < 2:
        raise ValueError("the EnKF needs at least 2 members to estimate a covariance")
    rng = np.random.default_rng(seed)
    n_steps = n_cycles * obs_interval
    spin = trajectory([1.0, 1.0, 1.0] + rng.normal(size=3), 2, int(round(10 / dt)), dt, sigma, rho, beta)[-1]
    truth = trajectory(spin, n_steps + 1, 1, dt, sigma, rho, beta)
    obs_steps = np.arange(1, n_cycles + 1) * obs_interval
    observations = truth[obs_steps] + np.sqrt(obs_variance) * rng.standard_normal((n_cycles, 3))
    ensemble = truth[0] + initial_spread * rng.standard_normal((n_members, 3))
    mean = np.empty((n_steps + 1, 3))
    spread = np.empty(n_steps + 1)
    rmse = np.empty(n_cycles)
    for cycle in range(n_cycles):
        start = cycle * obs_interval
        paths, _, died = integrate_ensemble(ensemble, obs_interval, np.arange(obs_interval + 1), dt, sigma, rho,
                                            beta, dtype=np.float64)
        if (died >= 0).any():
            raise FloatingPointError(f"EnKF forecast diverged in cycle {cycle} at step {start + died.max() + 1}")
        ensemble = paths[-1].copy()
        mean[start:start + obs_interval + 1] = paths.mean(axis=1)
        spread[start:start + obs_interval + 1] = np.sqrt(paths.var(axis=1, ddof=1).sum(axis=1) / 3)
        forecast_mean = ensemble.mean(axis=0)
        ensemble = forecast_mean + inflation * (ensemble - forecast_mean)
        ensemble = analysis(ensemble, observations[cycle], obs_variance, method, rng)
        mean[start + obs_interval] = ensemble.mean(axis=0)
        rmse[cycle] = np.sqrt(((mean[start + obs_interval] - truth[start + obs_interval]) ** 2).mean())
    climatology = np.sqrt(truth.var(axis=0).mean())
    return {"times": np.arange(n_steps + 1) * dt, "truth": truth, "obs_times": obs_steps * dt,
            "observations": observations, "mean": mean, "spread": spread, "rmse": rmse,
            "climatology_rmse": float(climatology)}
