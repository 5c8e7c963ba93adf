"""The ODE-vs-SDE scene: the contract (shapes, metrics, determinism), common starts and noise, bad
input refused naming the bound, divergence reported with its step, the sweep, views and presets."""
import holoviews as hv
import numpy as np
import pytest

from explorer.presets import list_presets
from scenes import SCENES, BudgetError, DivergenceError, SceneError
from scenes.ode_sde import OdeSdeScene
from tests.helpers import draw_with_both_backends

SMALL = {"n_particles": 400, "nfe": 60, "n_frames": 12}


@pytest.fixture(scope="module")
def result():
    return OdeSdeScene(**SMALL).run()


def test_registered():
    assert SCENES["ode_sde"] is OdeSdeScene


def test_paths_run_from_noise_to_data_with_the_contract_metrics(result):
    assert result.paths.dtype == np.float32 and result.paths.shape == (12, 400, 2)
    assert result.times[0] > 0.9 and result.times[-1] == 0.0   # t_max (noise) → t_min → the data (σ = 0 step)
    assert np.std(result.paths[0]) == pytest.approx(1.0, abs=0.1)             # vp's prior is N(0, I)
    for key in ("sliced_w2", "kl", "mode_weights", "ode_sliced_w2", "ode_kl", "ode_mode_weights", "ode_sde_gap"):
        assert key in result.metrics
    assert result.metrics["mode_error"] < 0.06 and result.metrics["ode_mode_error"] < 0.06
    assert result.extras["ode"].paths.shape == result.paths.shape


def test_ode_and_sde_start_together_and_the_noise_knob_moves_only_the_sde(result):
    np.testing.assert_array_equal(result.paths[0], result.extras["ode"].paths[0])
    quieter = OdeSdeScene(**SMALL, noise=0.3).run()
    np.testing.assert_array_equal(quieter.extras["ode"].paths, result.extras["ode"].paths)
    assert not np.array_equal(quieter.paths[-1], result.paths[-1])
    silent = OdeSdeScene(**SMALL, noise=0.0).run()                            # ε = 0: the SDE is the ODE
    np.testing.assert_array_equal(silent.paths, silent.extras["ode"].paths)


def test_same_seed_same_numbers(result):
    np.testing.assert_array_equal(OdeSdeScene(**SMALL).run().paths, result.paths)


@pytest.mark.parametrize("name, value, bound", [("nfe", 0, "nfe"), ("t_min", 0.9, "t_min"), ("noise", -1.0, "noise"),
                                                ("noise", 1000.0, "noise"), ("t_min", 0.0, "t_min")])
def test_out_of_range_knobs_are_refused_naming_the_bound(name, value, bound):
    with pytest.raises(SceneError, match=bound):
        OdeSdeScene().update(**{name: value})


def test_huge_noise_with_few_steps_reports_divergence_with_its_step():
    with pytest.raises(DivergenceError, match=r"step \d+ of 5") as caught:
        # without the final step to σ = 0, whose denoiser output is bounded, so it would hide the blow-up
        OdeSdeScene(n_particles=200, n_frames=6, noise=50.0, nfe=5, denoise=False).run()
    assert caught.value.result is not None


def test_budget_is_refused_with_its_size():
    with pytest.raises(BudgetError, match="MB"):
        OdeSdeScene(n_particles=20_000_000, n_frames=200).run()


def test_sweep_gives_quality_against_nfe():
    scene = OdeSdeScene(**SMALL)
    table = scene.sweep(nfes=(4, 32), samplers=("euler", "dpmpp2m"), n_particles=300)
    assert list(table) == ["nfe", "euler", "dpmpp2m"]
    assert table["dpmpp2m"][1] < table["dpmpp2m"][0]
    assert scene.nfe == SMALL["nfe"]


def test_a_noise_move_reruns_only_the_nfe_chart_columns_that_read_noise(monkeypatch):
    """The chart's columns are cached per the knobs each sampler reads: after a noise move the ODE solver's
    column is the one computed before, the SDE's is computed again, and both equal an uncached sweep's."""
    scene = OdeSdeScene(**SMALL, sweep_samplers=["euler", "em"], noise=0.37)
    before = scene.cached_sweep()
    swept, real_sweep = [], OdeSdeScene.sweep
    monkeypatch.setattr(OdeSdeScene, "sweep", lambda self, samplers=None, **kw: (
        swept.append(list(samplers)), real_sweep(self, samplers=samplers, **kw))[1])
    scene.noise = 0.91
    after = scene.cached_sweep()
    assert swept == [["em"]]
    assert list(after) == ["nfe", "euler", "em"]
    np.testing.assert_array_equal(after["euler"], before["euler"])
    assert not np.array_equal(after["em"], before["em"])  # it reads the noise
    uncached = real_sweep(scene)
    for sampler in ("euler", "em"):
        np.testing.assert_array_equal(after[sampler], uncached[sampler])


def test_views_build_for_every_panel_and_frame(result):
    scene = OdeSdeScene(**SMALL, sweep_samplers=["euler"])
    result = scene.run()
    titles = [title for title, _ in scene.panels()]
    assert titles[:2] == ["ODE paths", "SDE paths"] and "quality vs NFE" in titles
    for frame in (0, 5, 11):
        for title, panel in scene.panels():
            assert isinstance(panel(result, frame), (hv.Overlay, hv.Element)), title
    assert isinstance(scene.view(result), hv.Layout)
    draw_with_both_backends(lambda: scene.view(result))  # every panel, as the app and the export draw them


def test_presets_are_valid():
    presets = list_presets("ode_sde")
    assert len(presets) == 6 and presets["learned_score_close"]["params"]["score"] == "learned"
    for preset in presets.values():
        assert preset["title"] and preset["description"]
        OdeSdeScene().update(**preset["params"])


def test_moving_the_noise_knob_reruns_the_sde_alone_and_keeps_the_numbers_pure():
    """The ODE run is kept while only the SDE's knobs move (its panel then costs the browser nothing), and a
    kept ODE is exactly what a fresh scene computes; any other knob makes a new one."""
    small = dict(n_particles=200, n_frames=5, nfe=10, seed=4)
    scene = SCENES["ode_sde"](**small)
    first = next(iter(scene.stages()))
    scene.noise = 0.5
    second = next(iter(scene.stages()))
    assert second.extras["ode"] is first.extras["ode"]
    fresh = next(iter(SCENES["ode_sde"](**small, noise=0.5).stages()))
    np.testing.assert_array_equal(second.extras["ode"].paths, fresh.extras["ode"].paths)
    np.testing.assert_array_equal(second.paths, fresh.paths)
    scene.seed = 5
    assert next(iter(scene.stages())).extras["ode"] is not first.extras["ode"]


def test_sweep_reports_the_distance_to_the_converged_ode_and_the_variance_error():
    """ode_error falls with NFE for an ODE sampler and is NaN for an SDE run (no per-particle ODE limit);
    variance_error is a relative error per mode, small for a converged run."""
    scene = OdeSdeScene(**SMALL)
    ode = scene.sweep(nfes=(10, 40), samplers=("euler", "dpmpp2m", "em"), metric="ode_error", n_particles=300)
    assert ode["dpmpp2m"][1] < 0.35 * ode["dpmpp2m"][0] and ode["euler"][1] < 0.6 * ode["euler"][0]
    assert np.isnan(ode["em"]).all()
    variance = scene.sweep(nfes=(40,), samplers=("dpmpp2m",), metric="variance_error", n_particles=300)
    assert 0 <= variance["dpmpp2m"][0] < 0.3
