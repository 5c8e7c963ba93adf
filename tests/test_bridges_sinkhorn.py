"""Log-domain Sinkhorn against independent truths: its marginals, POT's ``sinkhorn_log`` on the same
inputs (cost ‖x − y‖² there, so reg = 2ε for our ½‖x − y‖²), and the exponential it is built on."""
import numpy as np
import pytest

from kernels.bridges.clouds import sample_cloud
from kernels.bridges.fastexp import exp_clamped
from kernels.bridges.sinkhorn import dense_plan, sinkhorn, transport_cost_and_entropy, warm_start

ot = pytest.importorskip("ot")


@pytest.fixture(scope="module")
def clouds():
    return sample_cloud("8gaussians", 160, seed=1), sample_cloud("moons", 120, seed=2)


def pot_plan(x, y, epsilon):
    a, b = np.full(len(x), 1 / len(x)), np.full(len(y), 1 / len(y))
    return ot.sinkhorn(a, b, ot.dist(x, y), 2 * epsilon, method="sinkhorn_log", stopThr=1e-13, numItermax=100_000)


def test_polynomial_exponential_matches_numpy_over_its_range():
    xs = np.linspace(-700, 64, 200_001)
    values = np.array([exp_clamped.py_func(v) for v in xs[::97]])
    assert np.max(np.abs(values / np.exp(xs[::97]) - 1)) < 3e-13
    assert exp_clamped.py_func(-1e6) == pytest.approx(np.exp(-700.0), rel=1e-12)


@pytest.mark.parametrize("epsilon", [0.5, 0.05])
def test_plan_matches_pot_sinkhorn_log_and_has_the_marginals(clouds, epsilon):
    x, y = clouds
    solution = sinkhorn(x, y, epsilon, tol=1e-11, max_iterations=20_000)
    assert solution.converged
    plan = dense_plan(x, y, solution.f, solution.g, epsilon)
    assert np.allclose(plan.sum(1), 1 / len(x), rtol=1e-10, atol=0)            # rows exact after the f-update
    assert np.linalg.norm(plan.sum(0) - 1 / len(y)) == pytest.approx(solution.marginal_error, rel=1e-6, abs=1e-15)
    assert solution.marginal_error < 1e-11
    reference = pot_plan(x, y, epsilon)
    assert np.max(np.abs(plan - reference)) < 1e-9 * plan.max() * 1e3


def test_small_epsilon_goes_through_epsilon_scaling_and_still_matches_pot(clouds):
    x, y = sample_cloud("gauss", 60, seed=3), sample_cloud("moons", 50, seed=4)
    solution = sinkhorn(x, y, 0.03, tol=1e-9, max_iterations=50_000)
    assert solution.converged and len(solution.levels) > 3 and solution.levels[-1] == 0.03
    assert all(1 < a / b <= 2 for a, b in zip(solution.levels, solution.levels[1:]))
    plan = dense_plan(x, y, solution.f, solution.g, 0.03)
    assert np.max(np.abs(plan - pot_plan(x, y, 0.03))) < 1e-6 * plan.max()


def test_warm_start_lands_on_the_same_plan_in_fewer_iterations(clouds):
    x, y = clouds
    history = [(eps, *(lambda s: (s.f, s.g))(sinkhorn(x, y, eps, tol=1e-9))) for eps in (0.08, 0.1)]
    cold = sinkhorn(x, y, 0.12, tol=1e-9)
    f, g, near = warm_start(history, 0.12)
    assert near == 0.1
    warm = sinkhorn(x, y, 0.12, tol=1e-9, init=(f, g), init_epsilon=near)
    assert warm.converged and warm.iterations < cold.iterations
    assert np.allclose(dense_plan(x, y, warm.f, warm.g, 0.12), dense_plan(x, y, cold.f, cold.g, 0.12), atol=1e-8)
    assert warm_start([], 0.1) is None


def test_non_convergence_is_reported_with_its_marginal_error(clouds):
    x, y = clouds
    solution = sinkhorn(x, y, 0.01, tol=1e-9, max_iterations=5)
    assert not solution.converged
    assert solution.iterations == 5 and solution.marginal_error > 1e-9
    with pytest.raises(ValueError, match="positive"):
        sinkhorn(x, y, 0.0)


def test_cost_and_entropy_row_by_row_equal_the_dense_sums(clouds):
    x, y = clouds
    solution = sinkhorn(x, y, 0.3, tol=1e-10)
    plan = dense_plan(x, y, solution.f, solution.g, 0.3)
    cost = 0.5 * ((x[:, None] - y[None]) ** 2).sum(-1)
    blocked = transport_cost_and_entropy(x, y, solution.f, solution.g, 0.3)
    assert blocked[0] == pytest.approx(np.sum(plan * cost), rel=1e-12)
    assert blocked[1] == pytest.approx(-np.sum(plan * np.log(plan)), rel=1e-12)
    assert blocked[0] == pytest.approx(ot.sinkhorn2(np.full(160, 1 / 160), np.full(120, 1 / 120), ot.dist(x, y),
                                                    0.6, method="sinkhorn_log", stopThr=1e-12) / 2, rel=1e-6)
