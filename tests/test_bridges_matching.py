"""Bridge matching (DSBM-IMF): between two standard Gaussian clouds at ε = 1 the coupling's cross-covariance
climbs from the independent coupling's 0 to the closed form (√5 − 1)/2 and its gap to Sinkhorn's plan on the
same clouds shrinks; the same seed gives the same numbers; training reports progress, can be cancelled and
is cached; bad input is refused with a message; and the bridges scene runs it with its views."""
import threading

import holoviews as hv
import numpy as np
import pytest

from kernels.bridges.clouds import sample_cloud
from kernels.bridges.matching import (TrainingCancelled, bridge_matching, cached_bridge_matching,
                                      cross_covariance, plan_cross_covariance)
from kernels.bridges.sinkhorn import sinkhorn, transport_cost_and_entropy

pytest.importorskip("torch")

GOLDEN = (np.sqrt(5) - 1) / 2   # C_ε for Σ₀ = Σ₁ = I, ε = 1 (kernels.bridges.gaussian)
N = 2000
# Sampling error alone: the mean diagonal of Cov(x₀, X₁) over N simulated pairs has sd ≈ √((1 − C² + …)/2N)
# ≈ 0.02, and each of the four entries of the 2×2 matrix ≈ 0.025, so ‖C − C_π‖_F has a floor near 0.05.
# Measured over seeds 0–3 (3 iterations, 400 steps per fit): the last coupling's mean diagonal 0.606–0.641
# and the gap 0.026–0.05. The tolerances allow that and fail an IMF that stops improving after its first fit.
CROSS_TOLERANCE = 0.05
GAP_LIMIT = 0.1


def diagonal(c):
    return float(np.trace(c) / 2)


@pytest.fixture(scope="module")
def gaussian_imf():
    x, y = sample_cloud("gauss", N, seed=1), sample_cloud("gauss", N, seed=2)
    plan = sinkhorn(x, y, 1.0, tol=1e-6)
    seen = []
    fit = bridge_matching(x, y, 1.0, iterations=3, steps=400, seed=0, progress=seen.append)
    return x, y, plan, fit, seen


def test_the_coupling_approaches_the_closed_form(gaussian_imf):
    x, y, plan, fit, seen = gaussian_imf
    assert fit.directions == ("independent",) + ("backward", "forward") * 3
    errors = [abs(diagonal(c) - GOLDEN) for c in fit.cross_covariances]
    assert errors[0] > GOLDEN - 0.05           # the independent coupling: no correlation
    assert max(errors[2:]) < CROSS_TOLERANCE  # after one full iteration, within sampling of the closed form
    assert errors[-1] < errors[1] < errors[0]  # the first projection is only part of the way
    # the last coupling is the forward simulation: its pairs start on the source and end on the target's law
    assert fit.endpoints.shape == (N, 2)
    assert np.allclose(fit.endpoints.std(0), 1.0, atol=0.1) and np.allclose(fit.endpoints.mean(0), 0.0, atol=0.1)
    assert diagonal(cross_covariance(x, fit.endpoints)) == pytest.approx(diagonal(fit.cross_covariances[-1]))
    # its transport cost ½E‖X₀ − X₁‖² approaches the closed form 2 − 2C and Sinkhorn's ⟨π, C⟩
    cost, _ = transport_cost_and_entropy(x, y, plan.f, plan.g, 1.0)
    assert cost == pytest.approx(2 - 2 * GOLDEN, abs=0.03)
    assert fit.transport_costs[0] > 1.8 and fit.transport_costs[-1] == pytest.approx(cost, abs=0.05)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and np.all(np.diff(seen) >= 0)
    assert fit.seconds > 0


def test_the_gap_to_sinkhorns_plan_shrinks(gaussian_imf):
    x, y, plan, fit, _ = gaussian_imf
    reference = plan_cross_covariance(x, y, plan.f, plan.g, 1.0)
    assert diagonal(reference) == pytest.approx(GOLDEN, abs=0.03)  # Sinkhorn's plan itself, on these clouds
    gaps = fit.gaps(reference)
    assert gaps.shape == (7,)
    assert gaps[0] > 0.8                                             # ≈ √2 · C: the independent coupling
    assert gaps[-1] < GAP_LIMIT and gaps[-1] < gaps[1] and max(gaps[2:]) < GAP_LIMIT


def test_plan_cross_covariance_matches_the_dense_plan():
    from kernels.bridges.sinkhorn import dense_plan

    x, y = sample_cloud("gauss", 300, seed=3), sample_cloud("moons", 300, seed=4)
    plan = sinkhorn(x, y, 0.3, tol=1e-7)
    dense = dense_plan(x, y, plan.f, plan.g, 0.3)
    dense /= dense.sum()
    a, b = dense.sum(1), dense.sum(0)
    truth = (x - a @ x).T @ dense @ (y - b @ y)
    assert np.allclose(plan_cross_covariance(x, y, plan.f, plan.g, 0.3, block=64), truth, atol=1e-12)


def small(**settings):
    x, y = sample_cloud("gauss", 200, seed=1), sample_cloud("moons", 200, seed=2)
    return x, y, dict(dict(iterations=1, steps=30, batch=64, width=16, em_steps=20), **settings)


def test_same_seed_same_numbers():
    x, y, settings = small()
    first, again = bridge_matching(x, y, 0.5, seed=3, **settings), bridge_matching(x, y, 0.5, seed=3, **settings)
    assert np.array_equal(first.cross_covariances, again.cross_covariances)
    assert np.array_equal(first.endpoints, again.endpoints)
    other = bridge_matching(x, y, 0.5, seed=4, **settings)
    assert not np.array_equal(first.endpoints, other.endpoints)


def test_training_can_be_cancelled_and_is_cached():
    x, y, settings = small()
    with pytest.raises(TrainingCancelled, match="cancelled"):
        bridge_matching(x, y, 0.5, should_stop=lambda: True, **settings)
    asked = []
    with pytest.raises(TrainingCancelled, match="forward fit"):  # stopped inside the second fit
        bridge_matching(x, y, 0.5, should_stop=lambda: asked.append(1) or len(asked) > 4, **settings)
    first = cached_bridge_matching(x, y, 0.5, seed=0, **settings)
    assert cached_bridge_matching(x, y, 0.5, seed=0, progress=print, **settings) is first
    assert cached_bridge_matching(x, y, 0.6, seed=0, **settings) is not first


@pytest.mark.parametrize("change, message", [
    (dict(iterations=0), "iterations must be a whole number ≥ 1"),
    (dict(steps=0), "steps must be"),
    (dict(epsilon=0.0), "ε must be a positive number"),
    (dict(epsilon=float("nan")), "ε must be a positive number"),
    (dict(x1=np.zeros((200, 3))), "2D points"),
    (dict(x1=np.zeros((150, 2))), "200 source and 150 target points"),
    (dict(x0=np.full((200, 2), np.nan)), "NaN or Inf"),
])
def test_bad_input_is_refused_with_a_message(change, message):
    x, y, settings = small()
    arguments = dict(x0=x, x1=y, epsilon=0.5, **settings)
    arguments.update(change)
    with pytest.raises(ValueError, match=message):
        bridge_matching(**arguments)


# -- in the bridges scene: method "imf" ---------------------------------------------------------------

def imf_scene(**settings):
    from scenes.bridges import BridgeScene

    return BridgeScene(**{**dict(method="imf", source="gauss", target="gauss", epsilon=1.0, n_particles=1000,
                                 n_frames=3, training_steps=300, imf_iterations=2, backend="cpu", seed=0),
                          **settings})


@pytest.fixture(scope="module")
def scene_and_result():
    scene = imf_scene()
    return scene, scene.run()


def test_the_scene_reports_the_gap_to_sinkhorn_per_projection(scene_and_result):
    _, result = scene_and_result
    metrics = result.metrics
    gaps = metrics["matching_gaps"]
    assert gaps.shape == (5,) and gaps[0] > 0.6             # independent, then 2 × (backward, forward)
    assert gaps[-1] < 0.2 and gaps[-1] < gaps[0] / 4         # 1000 points: the sampling floor is near 0.07
    assert metrics["plan_cross_covariance"] == pytest.approx(GOLDEN, abs=0.04)
    assert metrics["pair_cross_covariance"] == pytest.approx(GOLDEN, abs=0.07)  # the bridges drawn
    assert metrics["matching_cross_covariances"][0] == pytest.approx(0.0, abs=0.1)
    assert 0 <= metrics["matching_gap"] < 0.25
    assert np.isfinite(result.paths).all() and result.paths.shape == (3, 1000, 2)


def test_the_scene_shows_the_matching_panel_only_for_imf(scene_and_result):
    scene, result = scene_and_result
    assert "matching" in scene.panels_shown(result)
    layout = scene.view(result)
    assert len(layout) == len(scene.panels_shown(result)) == 8
    panels = dict(scene.panels())
    assert "gap" in panels["matching"](result, 0).opts.get().kwargs["title"]
    assert "bridge matching" in panels["drift"](result, 1).opts.get().kwargs["title"]
    assert scene.fan(result, 3).shape == (3, 32, 2)
    hv.renderer("matplotlib").get_plot(layout)
    sinkhorn = imf_scene(method="sinkhorn", n_particles=200)
    plain = sinkhorn.run()
    assert "matching" not in sinkhorn.panels_shown(plain) and "matching_gaps" not in plain.metrics


def test_the_scene_caches_the_fit_and_a_cancel_stops_it(scene_and_result):
    scene, result = scene_and_result
    assert scene.run().extras["model"] is result.extras["model"]   # a redraw does not retrain
    from scenes.base import Cancelled

    other = imf_scene(n_particles=300, training_steps=5000, imf_iterations=3)
    other.cancel = threading.Event()
    other.progress = lambda fraction: fraction > 0.01 and other.cancel.set()
    with pytest.raises(Cancelled, match="bridge matching"):
        other.run()
