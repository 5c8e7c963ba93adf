"""The bridges scene's snapshots mode (multi-marginal bridges, scenes.bridges_snapshots) against independent
truths: Gaussian snapshots under a Brownian reference are coupled as the Gaussian closed form says, one
interval is the two-cloud bridge, and the mode runs, draws every panel and refuses bad input by name.
(The refined drift against the true OU drift is tests/test_bridges_ou.py.)"""
import holoviews as hv
import numpy as np
import pytest

from explorer.export import export_scene
from kernels.bridges.gaussian import GaussianBridge
from kernels.bridges.multi_marginal import plan_moments
from kernels.bridges.sinkhorn import dense_plan
from scenes import BudgetError, DivergenceError, SceneError
from scenes.bridges import BridgeScene

TIMES = [0.0, 0.5, 1.5, 2.0]     # unequal intervals: each has its own ε = σ²Δ
TINY = dict(mode="snapshots", n_particles=120, n_frames=6, backend="cpu")  # 6 frames miss t = 0.5


def test_gaussian_snapshots_are_coupled_as_the_gaussian_closed_form_says():
    # OU snapshots from a Gaussian start are exactly Gaussian; with no refinement the reference is σW, under
    # which each interval's static bridge is the entropic OT of ½‖x − y‖² at ε = σ²Δ (DESIGN §8)
    sigma, n = 1.0, 600
    scene = BridgeScene(**{**TINY, "n_particles": n}, population="ou", refinements=0, sigma=sigma,
                        snapshot_times=", ".join(map(str, TIMES)), n_snapshots=4, tolerance=1e-7, seed=1)
    result = scene.run()
    clouds, indices = result.extras["snapshots"], result.extras["indices"]
    for k in range(len(TIMES) - 1):
        x, y = clouds[k], clouds[k + 1]
        closed_form = GaussianBridge.fit(x, y, sigma ** 2 * (TIMES[k + 1] - TIMES[k])).coupling
        _, yx, _ = plan_moments(x, y, result.extras["intervals"][k])
        plan = (yx - np.outer(y.mean(0), x.mean(0))).T           # Cov(X, Y) under the interval's plan
        assert np.abs(plan - closed_form).max() < 0.01, k
        pairs = np.cov(x[indices[k]].T, y[indices[k + 1]].T)[:2, 2:]  # the chained paths' pairs
        standard_error = np.sqrt(np.outer(x.var(0), y.var(0)) / n)
        assert np.all(np.abs(pairs - closed_form) < 4 * standard_error), k


def test_one_interval_under_a_brownian_reference_is_the_two_cloud_bridge():
    sigma, clouds = 0.5, dict(source="8gaussians", target="moons", target_shift=1.0, target_scale=1.5,
                              n_particles=300, n_frames=6, tolerance=1e-8, backend="cpu", seed=4)
    two = BridgeScene(mode="clouds", epsilon=sigma ** 2, **clouds)
    pair = two.run()
    multi = BridgeScene(mode="snapshots", population="clouds", sigma=sigma, time_step=1.0, refinements=0, **clouds)
    through = multi.run()
    (interval,) = through.extras["intervals"]
    assert interval.epsilon == pytest.approx(sigma ** 2)
    # under σW the whitening is the identity (up to rounding): the same clouds at ε = σ²Δ
    assert np.allclose(interval.source, pair.extras["source"], rtol=0, atol=1e-12)
    assert np.allclose(interval.target, pair.extras["target"], rtol=0, atol=1e-12)
    plan = dense_plan(interval.source, interval.target, interval.solution.f, interval.solution.g, interval.epsilon)
    assert np.allclose(plan, two.plan(pair), rtol=1e-6, atol=1e-12)
    assert np.allclose(through.times, pair.times)
    assert np.allclose(through.paths, pair.paths, atol=1e-5)    # the same pairs, the same Brownian bridges


def test_snapshots_mode_runs_and_draws_every_panel(tmp_path):
    scene = BridgeScene(**TINY, population="ou", n_snapshots=3, refinements=2, seed=2)
    result = scene.run()
    times, clouds, indices = (result.extras[k] for k in ("snapshot_times", "snapshots", "indices"))
    assert np.allclose(times, [0.0, 0.5, 1.0]) and result.paths.shape == (7, 120, 2)   # t = 0.5 added
    for k, t in enumerate(times):  # the paths pass through the snapshot points they were chained along
        frame = int(np.searchsorted(result.times, t))
        assert np.allclose(result.paths[frame], clouds[k][indices[k]], atol=1e-5)
    assert len(result.metrics["fits"]) == len(result.metrics["drift_errors"]) == 3
    assert result.metrics["drift_errors"][0] == pytest.approx(1.0)   # round 0 is the Brownian reference
    assert result.metrics["marginal_error"] < scene.tolerance
    shown = scene.panels_shown(result)
    assert shown == {"snapshot paths", "learned drift", "refinement fit", "drift error"}
    for title, view in scene.panels():   # the other mode's panels draw a note (the app hides them)
        for frame in (0, len(result.times) - 1):
            element = view(result, frame)
            assert isinstance(element, hv.Labels) != (title in shown), title
    layout = scene.view(result)
    assert len(layout) == len(shown)
    export_scene(scene, tmp_path / "view.png", result=result)   # the views built and drawn for export (matplotlib)
    assert (tmp_path / "view.png").read_bytes().startswith(b"\x89PNG")
    scene.population = "split"
    split = scene.run()
    assert "drift error" not in scene.panels_shown(split) and "drift_errors" not in split.metrics


@pytest.mark.parametrize("values, error, message", [
    (dict(n_snapshots=1), SceneError, "at least two snapshots, got 1"),
    (dict(n_snapshots=3, snapshot_times="0, 1, 0.5"), SceneError, "strictly increasing"),
    (dict(n_snapshots=3, snapshot_times="0, 1"), SceneError, "3 snapshots but 2 times"),
    (dict(n_snapshots=3, snapshot_times="0, 1, __import__('os')"), SceneError, "is not a number"),
    (dict(population="clouds", snapshot_times="0, 1, 2"), SceneError, "clouds population is two snapshots"),
    # an expanding population: the refit drift grows the reference by e^16 over the span
    (dict(n_snapshots=4, contraction=-5.0, time_step=1.0), DivergenceError, "fitted drift diverges"),
])
def test_bad_snapshots_are_refused_with_a_message_naming_the_problem(values, error, message):
    with pytest.raises(error, match=message):
        BridgeScene(**{**TINY, "n_particles": 80, **values}).run()


def test_bad_knob_values_and_runs_over_the_budget_are_refused():
    scene = BridgeScene(**TINY)
    with pytest.raises(SceneError, match="n_snapshots"):
        scene.update(n_snapshots=0)
    with pytest.raises(SceneError, match="sigma"):
        scene.update(sigma=0.0)
    scene.update(n_particles=4000, refinements=30)
    scene.max_run_seconds = 5.0
    with pytest.raises(BudgetError, match="lower n_particles, n_snapshots or refinements"):
        scene.run()


def test_the_app_redraws_the_snapshot_clouds_with_their_time_colours():
    # the second result of a page is drawn the short way where it can (explorer.fastdraw): the clouds' colour
    # column (their times) must survive it, or the browser draws no clouds
    from bokeh.document import Document
    from bokeh.models import GlyphRenderer

    from explorer.app import PlotGrid

    scene = BridgeScene(**TINY, population="split", n_snapshots=3, refinements=1)
    grid = PlotGrid(scene.panels(), shown=scene.panels_shown)
    grid.show(scene.run())
    grid.pane("snapshot paths").get_root(Document())
    scene.refinements = 0
    grid.show(scene.run())
    (figure,) = grid._first_plot("snapshot paths")
    clouds = next(r for r in figure.renderers if isinstance(r, GlyphRenderer))
    colours = clouds.glyph.fill_color.field
    assert colours in clouds.data_source.data and len(clouds.data_source.data[colours]) == 3 * 120
