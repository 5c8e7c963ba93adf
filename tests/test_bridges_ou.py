"""The OU reference of the multi-marginal bridges against independent truths: its transition law against
scipy's matrix exponential and Lyapunov solution, and the drift refined from OU snapshots against the true one."""
import numpy as np
import pytest
from scipy.linalg import expm, solve_continuous_lyapunov

from kernels.bridges.multi_marginal import refine
from kernels.bridges.ou import sample_ou, transition

SPIRAL = np.array([[-0.5, -2.0], [2.0, -0.5]])  # rotation plus contraction


def test_transition_matches_the_matrix_exponential_and_the_lyapunov_covariance():
    sigma, tau = 0.7, 0.8
    stationary = solve_continuous_lyapunov(SPIRAL, -sigma ** 2 * np.eye(2))
    propagator, covariance = transition(SPIRAL, sigma, tau)
    assert np.allclose(propagator, expm(SPIRAL * tau), atol=1e-12)
    assert np.allclose(covariance, stationary - propagator @ stationary @ propagator.T, atol=1e-12)
    _, brownian = transition(np.zeros((2, 2)), sigma, tau)
    assert np.allclose(brownian, sigma ** 2 * tau * np.eye(2), atol=1e-14)


def test_refinement_recovers_the_drift_of_ou_snapshots():
    sigma, times, n = 0.5, np.array([0.0, 0.5, 1.0, 1.5]), 400
    snapshots = [sample_ou(np.array([2.0, 0.0]) + 0.3 * np.random.default_rng(100 + k).standard_normal((n, 2)),
                           SPIRAL, sigma, t, seed=k) for k, t in enumerate(times)]
    record = refine(snapshots, times, sigma, refinements=3, tol=1e-6, max_iterations=3000)
    error = np.linalg.norm(record.drift - SPIRAL) / np.linalg.norm(SPIRAL)
    assert np.linalg.norm(record.drifts[0] - SPIRAL) / np.linalg.norm(SPIRAL) == pytest.approx(1.0)
    assert error < 0.06
