"""The learned score against independent truths: the kernels' MLP against torch's forward pass of the same
network, the PF-ODE's samples of a briefly trained network against the exact mixture (and an untrained
one failing the same check), cancel and progress of training, and the scene's wiring (cached training,
the drift view and the sweep on the learned weights)."""
import threading

import numpy as np
import pytest

from kernels.diffusion import learned
from kernels.diffusion.driver import sample_paths, start_points
from kernels.diffusion.grids import build_grid
from kernels.diffusion.learned import build_network, export_weights, torch_denoiser, train_denoiser
from kernels.diffusion.processes import PROCESSES
from kernels.diffusion.samplers import N_PARAMS, steps_for
from kernels.diffusion.score import EXACT, LEARNED, model_fields
from kernels.metrics import mode_occupancy, reference_projections, sliced_w2
from kernels.targets import get_target
from kernels.torch_training import TrainingCancelled
from scenes.base import Cancelled, SceneError
from scenes.ode_sde import OdeSdeScene
from scenes.ode_sde_views import _coefficients, drift_field

torch = pytest.importorskip("torch")

# measured (2 cores, 1500 steps in 4–6 s, width 64, 20 000 draws; euler, nfe 100, 2000 particles): sliced W₂
# 0.24–0.31 and largest mode-weight error 0.013–0.034 (exact score: 0.06 and 0.004). 20 steps: W₂ 0.79 but mode
# error 0.03 (a near-Gaussian denoiser spreads ring8's equal weights evenly), so W₂ is the discriminating check.
TRAINED_W2, TRAINED_MODE_ERROR = 0.5, 0.08


@pytest.mark.parametrize("width, hidden_layers", [(7, 1), (16, 3), (128, 2)])
def test_kernel_mlp_equals_torch_forward_pass(width, hidden_layers):
    network = build_network(width, hidden_layers, seed=width).double()
    with torch.no_grad():  # weights larger than the default initialisation, so tanh leaves its linear part
        for parameter in network.parameters():
            parameter.mul_(3.0)
    sigma_data, mean = 1.7, np.array([0.4, -1.1])
    weights = export_weights(network, sigma_data, mean)
    rng = np.random.default_rng(1)
    for sigma in (2e-3, 0.3, 1.0, 7.0, 80.0):
        y = rng.normal(scale=3.0 + sigma, size=(50, 2))
        _, kernel = model_fields(y, 1.0, sigma, get_target("ring8").mix, LEARNED, 0.0, weights)
        with torch.no_grad():
            expected = torch_denoiser(network, torch.as_tensor(y), torch.full((50, 1), sigma, dtype=torch.float64),
                                      sigma_data, torch.as_tensor(mean)).numpy()
        np.testing.assert_allclose(kernel, expected, rtol=0, atol=1e-12 * (1 + np.abs(expected).max()))
        assert np.abs(expected - y).max() > 1e-3  # the network is not the identity here


def pf_ode_quality(weights, target, n=2000, nfe=100):
    grid = build_grid(PROCESSES["vp"], "uniform", steps_for("euler", nfe), 1e-3, 1.0, 0.0)
    params = np.array([0.0, 0.16, 0.0, LEARNED, 0.0, 0.0])
    assert params.shape == (N_PARAMS,)
    paths, died = sample_paths("euler", start_points(target, n, grid, 0), grid, params, np.array([0, nfe]), 0,
                               target.mix, model=weights)
    assert (died < 0).all()
    points = paths[-1].astype(np.float64)
    error = np.abs(mode_occupancy(points, target) - target.mode_weights).max()
    return sliced_w2(points, reference_projections(target), presorted=True), error


def test_briefly_trained_score_carries_noise_to_the_mixture_and_an_untrained_one_does_not():
    target = get_target("ring8")
    data = target.sample(20_000, seed=[0, 2])
    w2, mode_error = pf_ode_quality(train_denoiser(data, steps=1500, width=64).weights, target)
    assert w2 < TRAINED_W2 and mode_error < TRAINED_MODE_ERROR, (w2, mode_error)
    w2_untrained, _ = pf_ode_quality(train_denoiser(data, steps=20, width=64).weights, target)
    assert w2_untrained > TRAINED_W2, w2_untrained


def test_training_reports_progress_and_stops_when_asked():
    data = get_target("ring8").sample(500, seed=3)
    seen = []
    train_denoiser(data, steps=60, width=8, progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    calls = []

    def stop_at_third_check():
        calls.append(1)
        return len(calls) == 3

    with pytest.raises(TrainingCancelled, match="step 50 of 1000"):
        train_denoiser(data, steps=1000, width=8, should_stop=stop_at_third_check)


SCENE = {"score": "learned", "training_steps": 150, "hidden_width": 16, "training_samples": 3000,
         "n_particles": 300, "nfe": 20, "n_frames": 6}


def test_cancelled_scene_training_raises_cancelled():
    scene = OdeSdeScene(**SCENE, seed=11)
    scene.cancel = threading.Event()
    scene.cancel.set()
    with pytest.raises(Cancelled, match="training the learned score"):
        scene.run()


def test_scene_trains_once_per_settings_and_every_view_uses_the_weights(monkeypatch):
    fits = []
    real = learned.train_denoiser
    monkeypatch.setattr(learned, "train_denoiser", lambda *a, **kw: fits.append(kw) or real(*a, **kw))
    scene = OdeSdeScene(**SCENE, seed=12)
    seen = []
    scene.progress = seen.append
    result = scene.run()
    assert len(fits) == 1 and seen[-1] == 1.0 and result.metrics["training_seconds"] > 0
    weights = result.extras["model"]
    assert result.extras["ode"].extras["model"] is weights
    for change in ({"noise": 0.4}, {"sampler": "heun"}, {"nfe": 12}, {"compare_sampler": "dpmpp2m"}):
        scene.update(**change)
        scene.run()
    assert len(fits) == 1
    exact = OdeSdeScene(**{**SCENE, "score": "exact"}, seed=12).run()
    assert not np.array_equal(exact.paths[-1], result.paths[-1])
    # the drift view draws the learned field: its angles are those of model_fields on the weights
    target = get_target("ring8")
    field = drift_field(result, 2, target).get(1)
    points = np.stack([field.dimension_values("x"), field.dimension_values("y")], axis=1)
    drawn = field.dimension_values("angle")
    assert not np.allclose(drawn, drift_field(exact, 2, target).get(1).dimension_values("angle"))
    _, (a, s, da, ds) = _coefficients(result, 2)
    score, den = model_fields(points, a, s, target.mix, LEARNED, 0.0, weights)
    v = -(da * den - ds * s * score)
    np.testing.assert_allclose(drawn, np.arctan2(v[:, 1], v[:, 0]), atol=1e-12)
    # the sweep samples with the same weights (no new training)
    table = scene.sweep(nfes=(8,), samplers=("euler",), n_particles=200)
    exact_table = OdeSdeScene(**{**SCENE, "score": "exact"}, seed=12).sweep(nfes=(8,), samplers=("euler",),
                                                                            n_particles=200)
    assert table["euler"][0] != exact_table["euler"][0] and len(fits) == 1
    scene.update(hidden_width=12)
    scene.run()
    assert len(fits) == 2


def test_learned_training_knobs_are_bounded():
    for name, value in (("training_steps", 0), ("hidden_width", 1000), ("training_samples", 10)):
        with pytest.raises(SceneError, match=name):
            OdeSdeScene().update(**{name: value})


def test_exact_score_ignores_the_model():
    points = np.random.default_rng(0).normal(size=(20, 2))
    mix = get_target("ring8").mix
    with_model = model_fields(points, 0.8, 0.6, mix, EXACT, 0.0, np.ones(50))
    np.testing.assert_array_equal(with_model[1], model_fields(points, 0.8, 0.6, mix, EXACT, 0.0)[1])


def test_a_missing_or_malformed_model_is_refused_before_the_kernels_read_it():
    target = get_target("ring8")
    grid = build_grid(PROCESSES["vp"], "uniform", 4, 1e-3, 1.0, 0.0)
    params = np.array([0.0, 0.16, 0.0, LEARNED, 0.0, 0.0])
    good = export_weights(build_network(8, 2, seed=0), 1.0, np.zeros(2))
    for model, message in ((None, "needs the network's weights"), (good[:-1], "do not match the layout"),
                           (np.concatenate([good, [0.0]]), "do not match the layout")):
        with pytest.raises(ValueError, match=message):
            sample_paths("euler", np.zeros((3, 2)), grid, params, np.array([0, 4]), 0, target.mix, model=model)
        with pytest.raises(ValueError, match=message):
            model_fields(np.zeros((3, 2)), 1.0, 0.5, target.mix, LEARNED, 0.0, model)
