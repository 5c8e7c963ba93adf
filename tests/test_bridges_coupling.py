"""Coupled pairs, Brownian bridges and the Gaussian closed form against independent truths: the entropic
coupling of two standard Gaussians at ε = 1 has cross-covariance (√5 − 1)/2 (DESIGN §8); a Brownian bridge
has variance σ²t(1 − t) and covariance σ²s(1 − t); the closed-form drift carries N(μ₀, Σ₀) through Σ_t."""
import numpy as np
import pytest

from kernels.bridges.brownian_bridge import bridge_paths
from kernels.bridges.clouds import CLOUDS, sample_cloud
from kernels.bridges.coupling import sample_partners
from kernels.bridges.gaussian import GaussianBridge, sqrtm2
from kernels.bridges.sinkhorn import dense_plan, sinkhorn

GOLDEN = (np.sqrt(5) - 1) / 2


def cross_covariance(a, b):
    return ((a - a.mean(0)).T @ (b - b.mean(0))) / len(a)


def test_clouds_are_deterministic_and_finite():
    ring = "(x**2 + y**2 - 1)**2 / 0.1"   # read by the custom cloud only
    for name in CLOUDS:
        first, again = sample_cloud(name, 50, seed=4, formula=ring), sample_cloud(name, 50, seed=4, formula=ring)
        assert first.shape == (50, 2) and np.isfinite(first).all() and np.array_equal(first, again)
    shifted = sample_cloud("gauss", 20_000, seed=1, mean=(2, -1), cov=((2.0, 0.5), (0.5, 1.0)))
    assert np.allclose(shifted.mean(0), (2, -1), atol=0.05)
    assert np.allclose(np.cov(shifted.T), [[2.0, 0.5], [0.5, 1.0]], atol=0.06)
    with pytest.raises(ValueError, match="unknown cloud"):
        sample_cloud("nope", 3)
    with pytest.raises(ValueError, match="needs a formula"):
        sample_cloud("custom", 3)


def test_coupled_pairs_of_two_standard_gaussians_at_epsilon_one_have_the_golden_cross_covariance():
    x, y = sample_cloud("gauss", 1500, seed=11), sample_cloud("gauss", 1500, seed=12)
    solution = sinkhorn(x, y, 1.0, tol=1e-8)
    draws = [cross_covariance(x, y[sample_partners(x, y, solution.g, 1.0, seed)]) for seed in range(4)]
    c = np.mean(draws, axis=0)
    assert np.diag(c) == pytest.approx([GOLDEN, GOLDEN], abs=0.04)
    assert abs(c[0, 1]) < 0.04 and abs(c[1, 0]) < 0.04
    assert GaussianBridge(np.zeros(2), np.eye(2), np.zeros(2), np.eye(2), 1.0).coupling == pytest.approx(
        GOLDEN * np.eye(2), abs=1e-14)


def test_partner_draws_follow_the_rows_of_the_plan():
    x, y = sample_cloud("gauss", 4, seed=1), sample_cloud("moons", 5, seed=2)
    solution = sinkhorn(x, y, 0.5, tol=1e-12)
    plan = dense_plan(x, y, solution.f, solution.g, 0.5)
    draws = 6000
    partners = sample_partners(x, y, solution.g, 0.5, seed=3, rows=np.full(draws, 2), keys=np.arange(draws))
    frequencies = np.bincount(partners, minlength=5) / draws
    assert np.abs(frequencies - plan[2] / plan[2].sum()).max() < 0.025


def test_closed_form_coupling_agrees_with_sinkhorn_pairs_for_anisotropic_gaussians():
    cov0, cov1 = np.array([[1.0, 0.3], [0.3, 0.5]]), np.array([[2.0, -0.5], [-0.5, 1.0]])
    x = sample_cloud("gauss", 1500, seed=5, cov=cov0)
    y = sample_cloud("gauss", 1500, seed=6, mean=(1, 0), cov=cov1)
    solution = sinkhorn(x, y, 0.5, tol=1e-8)
    pairs = np.mean([cross_covariance(x, y[sample_partners(x, y, solution.g, 0.5, seed)]) for seed in range(4)], 0)
    exact = GaussianBridge(np.zeros(2), cov0, np.array([1.0, 0.0]), cov1, 0.5).coupling
    assert np.abs(pairs - exact).max() < 0.06
    root = sqrtm2(cov1)
    assert root @ root == pytest.approx(cov1, abs=1e-13)


def test_brownian_bridge_mean_variance_and_covariance():
    n, sigma = 40_000, 0.7
    x0 = np.tile([1.0, -1.0], (n, 1))
    x1 = np.tile([3.0, 2.0], (n, 1))
    times = np.linspace(0, 1, 11)
    paths = bridge_paths(x0, x1, times, sigma, seed=3).astype(np.float64)
    assert np.array_equal(paths[0], x0) and np.allclose(paths[-1], x1, atol=1e-6)
    mean = (1 - times)[:, None] * x0[0] + times[:, None] * x1[0]
    assert np.abs(paths.mean(1) - mean).max() < 0.01
    variance = sigma ** 2 * times * (1 - times)
    assert np.abs(paths.var(1)[:, 0] - variance).max() < 0.03 * variance.max()
    assert np.abs(paths.var(1)[:, 1] - variance).max() < 0.03 * variance.max()
    s, t = 3, 7  # Cov(X_s, X_t) = σ² s (1 − t) for s ≤ t
    covariance = np.mean((paths[s, :, 0] - mean[s, 0]) * (paths[t, :, 0] - mean[t, 0]))
    assert covariance == pytest.approx(sigma ** 2 * times[s] * (1 - times[t]), abs=0.006)


def test_closed_form_drift_carries_the_source_through_the_closed_form_marginals():
    bridge = GaussianBridge(np.array([0.0, 0.0]), np.array([[1.0, 0.3], [0.3, 0.5]]), np.array([1.0, -1.0]),
                            np.array([[2.0, -0.5], [-0.5, 1.0]]), 0.5)
    rng = np.random.default_rng(0)
    x = rng.multivariate_normal(bridge.mean0, bridge.cov0, 20_000)
    steps = 400
    for k in range(steps):
        t = k / steps
        if k == steps // 2:
            mean, cov = bridge.marginal(0.5)
            assert np.abs(x.mean(0) - mean).max() < 0.03 and np.abs(np.cov(x.T) - cov).max() < 0.06
        x = x + bridge.drift(t, x) / steps + np.sqrt(bridge.epsilon / steps) * rng.standard_normal(x.shape)
    assert np.abs(x.mean(0) - bridge.mean1).max() < 0.03
    assert np.abs(np.cov(x.T) - bridge.cov1).max() < 0.08
    ends = bridge.sample_endpoints(rng.multivariate_normal(bridge.mean0, bridge.cov0, 20_000), seed=1)
    assert np.abs(np.cov(ends.T) - bridge.cov1).max() < 0.08
