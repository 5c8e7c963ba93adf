"""The Lorenz scene: a run's shape and metrics, cached forecasters, refusals, divergence, views, presets."""
import holoviews as hv
import numpy as np
import pytest

from explorer.presets import list_presets, load_preset
from scenes import SCENES, DivergenceError, SceneError
from scenes.lorenz import LorenzScene

SMALL = dict(n_members=200, horizon=5.0, n_frames=20, enkf_cycles=30, train_length=400, backend="cpu")


@pytest.fixture(scope="module")
def run():
    scene = LorenzScene(**SMALL)
    return scene, scene.run()


def test_registered():
    assert SCENES["lorenz"] is LorenzScene


def test_run_shape_and_metrics(run):
    scene, result = run
    assert result.paths.shape == (20, 200, 3) and result.paths.dtype == np.float32
    assert result.times[-1] == pytest.approx(5.0)
    m = result.metrics
    assert abs(m["lyapunov_exponent"] - 0.9056) < 0.03
    assert m["enkf_rmse"] < 0.2 * m["climatology_rmse"]
    assert np.isfinite(m["vpt_lyapunov"]) and m["vpt_lyapunov"] >= 0
    assert {"sindy", "persistence", "climatology"} <= set(result.extras["scores"])


def test_same_seed_same_numbers(run):
    scene, result = run
    again = LorenzScene(**SMALL).run()
    assert np.array_equal(again.paths, result.paths)


def test_views_build_for_export(run):
    scene, result = run
    layout = scene.view(result)
    assert isinstance(layout, hv.Layout) and len(layout) == len(scene.panels())
    for projection in ("xy", "yz"):
        scene.projection = projection
        assert scene.panels()[0][1](result, 3).values()[0].kdims[0].name == projection[0]


def test_second_forecaster_is_added_to_the_scores(run):
    scene, first = run
    assert first.extras["scores"]["sindy"]["equations"][0].startswith("dx/dt")
    scene.update(forecaster="ngrc")
    result = scene.run()
    assert {"ngrc", "sindy"} <= set(result.extras["scores"])     # the earlier model is kept and shown too
    scene.update(forecaster="sindy")


def test_too_short_training_is_refused():
    with pytest.raises(SceneError, match="at least 30 training points"):
        LorenzScene(**{**SMALL, "forecaster": "ngrc", "train_length": 25}).run()


def test_euler_with_a_large_step_diverges_with_the_step():
    with pytest.raises(DivergenceError, match=r"first at step \d+"):
        LorenzScene(**{**SMALL, "integrator": "euler", "dt": 0.2, "enkf_cycles": 5}).run()


def test_budget_is_enforced():
    with pytest.raises(SceneError, match="MB"):
        LorenzScene(**{**SMALL, "n_members": 20_000_000, "n_frames": 300, "horizon": 50.0}).run()


def test_presets_load_and_are_valid():
    presets = list_presets("lorenz")
    assert len(presets) == 5
    for name in presets:
        LorenzScene().update(**load_preset("lorenz", name))


def test_mlp_training_reports_progress_and_stops_when_cancelled():
    import threading

    from scenes.base import Cancelled

    scene = LorenzScene(**{**SMALL, "forecaster": "mlp", "mlp_epochs": 20})
    fractions = []
    scene.progress = fractions.append
    scene.run()
    assert fractions and fractions[-1] == pytest.approx(1.0)
    scene.seed = 1  # new data: the MLP is trained again, and this time told to stop
    scene.cancel = threading.Event()
    scene.cancel.set()
    with pytest.raises(Cancelled, match="MLP training cancelled"):
        scene.run()
