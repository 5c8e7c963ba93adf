"""The bridges scene: its result contract, warm start across ε moves, bad input refused with a message,
every view drawable, and its presets."""
import holoviews as hv
import numpy as np
import pytest

from explorer.presets import list_presets, load_preset
from scenes import SCENES, BudgetError, DivergenceError, Result, SceneError
from scenes.bridges import BridgeScene

SMALL = dict(n_particles=300, n_frames=6, backend="cpu")
METRICS = ("marginal_error", "transport_cost", "entropy", "sliced_w2", "sinkhorn_iterations")


@pytest.fixture(scope="module")
def scene_and_result():
    scene = SCENES["bridges"](source="8gaussians", target="moons", epsilon=0.2, seed=2, **SMALL)
    return scene, scene.run()


def test_sinkhorn_run_gives_bridges_from_the_source_to_members_of_the_target(scene_and_result):
    scene, result = scene_and_result
    assert result.paths.shape == (6, 300, 2) and result.paths.dtype == np.float32
    x, y = scene.clouds()
    assert np.array_equal(result.paths[0], x.astype(np.float32))
    ends = result.paths[-1].astype(np.float64)
    gaps = np.min(((ends[:, None] - y[None]) ** 2).sum(-1), axis=1)
    assert gaps.max() < 1e-10  # every endpoint is a target point (a pair drawn from the plan)
    for name in METRICS:
        assert np.isfinite(result.metrics[name])
    assert result.metrics["marginal_error"] < scene.tolerance
    assert len(result.metrics["sinkhorn_errors"]) == result.metrics["sinkhorn_iterations"]
    again = SCENES["bridges"](source="8gaussians", target="moons", epsilon=0.2, seed=2, **SMALL).run()
    assert np.array_equal(again.paths, result.paths)


def test_moving_epsilon_warm_starts_from_the_previous_potentials():
    scene = BridgeScene(epsilon=0.1, tolerance=1e-8, **SMALL)
    first = scene.run()
    assert not first.extras["warm_start"]
    scene.epsilon = 0.12
    warm = scene.run()
    cold = BridgeScene(epsilon=0.12, tolerance=1e-8, **SMALL).run()
    assert warm.extras["warm_start"]
    assert warm.metrics["sinkhorn_iterations"] < cold.metrics["sinkhorn_iterations"]
    assert warm.metrics["transport_cost"] == pytest.approx(cold.metrics["transport_cost"], rel=1e-6)
    scene.target = "rings"  # new clouds: no stale potentials
    assert not scene.run().extras["warm_start"]


def test_bad_input_is_refused_with_a_message():
    scene = BridgeScene(**SMALL)
    with pytest.raises(SceneError, match="epsilon"):
        scene.update(epsilon=0.0)
    with pytest.raises(SceneError, match="epsilon"):
        scene.update(epsilon=-1.0)
    with pytest.raises(SceneError, match="CPU limit"):
        BridgeScene(n_particles=50_000, backend="cpu").run()
    scene.update(epsilon=0.01, max_iterations=3)
    with pytest.raises(DivergenceError, match="marginal error") as raised:
        scene.run()
    assert raised.value.result is not None
    big = np.zeros((20_000, 2))
    fake = Result(paths=np.zeros((2, 1, 2), np.float32), times=np.zeros(2),
                  extras={"source": big, "target": big, "f": np.zeros(20_000), "g": np.zeros(20_000)},
                  parameters={"epsilon": 0.1})
    with pytest.raises(BudgetError, match="MB"):
        scene.plan(fake)


def test_gaussian_method_matches_the_closed_form_coupling():
    scene = BridgeScene(source="gauss", target="gauss", epsilon=1.0, method="gaussian", n_particles=2500,
                        n_frames=3, backend="cpu")
    result = scene.run()
    golden = (np.sqrt(5) - 1) / 2
    assert result.metrics["gaussian_cross_covariance"] == pytest.approx(golden, abs=0.05)
    assert result.metrics["pair_cross_covariance"] == pytest.approx(golden, abs=0.05)


def test_every_view_draws_and_the_sweep_is_monotone(scene_and_result):
    scene, result = scene_and_result
    layout = scene.view(result)
    assert isinstance(layout, hv.Layout) and len(layout) == len(scene.panels_shown(result)) == 7
    for _, panel in scene.panels():
        assert panel(result, 0) is not None and panel(result, 5) is not None
    fan = scene.fan(result, 7)
    assert fan.shape == (6, 32, 2) and np.allclose(fan[0], result.extras["source"][7])
    table = scene.sweep()
    order = np.argsort(table["epsilon"])
    assert np.all(np.diff(table["transport_cost"][order]) > 0) and np.all(np.diff(table["entropy"][order]) > 0)
    hv.renderer("matplotlib").get_plot(layout)  # the export backend can draw every panel


def test_presets_load_and_the_quick_ones_run():
    presets = list_presets("bridges")
    assert len(presets) == 8
    scene = BridgeScene()
    for name in presets:  # one after another, as the app applies them: each sets its mode
        scene.update(**load_preset("bridges", name))
        assert scene.mode == ("snapshots" if name.startswith("snapshots") else "clouds")
    scene = BridgeScene()
    scene.update(**{**load_preset("bridges", "gaussian_exact"), "n_particles": 500, "n_frames": 4})
    assert scene.run().metrics["sliced_w2"] < 0.3


# -- an endpoint typed as a formula: density ∝ exp(−U) -----------------------------------------------

TILTED_RING = "(x**2 + y**2 - 1)**2 / 0.1 + 0.5*x - 0.3*y"


def tilted_ring(x, y):
    """The same U as TILTED_RING, written in numpy (the truth does not go through the formula parser)."""
    return (x ** 2 + y ** 2 - 1) ** 2 / 0.1 + 0.5 * x - 0.3 * y


def test_custom_cloud_has_the_moments_of_exp_minus_u():
    from kernels.bridges.clouds import sample_cloud

    half = 3.0
    axis = np.linspace(-half, half, 2001)              # a grid unrelated to the sampler's (Simpson weights)
    simpson = np.ones_like(axis)
    simpson[1:-1:2], simpson[2:-1:2] = 4, 2
    gx, gy = np.meshgrid(axis, axis)
    weight = np.exp(-tilted_ring(gx, gy)) * np.outer(simpson, simpson)
    weight /= weight.sum()
    truth = {name: float((weight * f).sum()) for name, f in
             {"x": gx, "y": gy, "xx": gx * gx, "yy": gy * gy, "xy": gx * gy}.items()}

    n = 200_000
    points = sample_cloud("custom", n, seed=3, formula=TILTED_RING, half_width=half)
    assert points.shape == (n, 2) and np.abs(points).max() <= half
    x, y = points[:, 0], points[:, 1]
    drawn = {"x": x, "y": y, "xx": x * x, "yy": y * y, "xy": x * y}
    for name, values in drawn.items():
        tolerance = 5 * values.std() / np.sqrt(n) + 2e-3   # sampling error + the grid's O(h²)
        assert values.mean() == pytest.approx(truth[name], abs=tolerance), name
    assert np.array_equal(points, sample_cloud("custom", n, seed=3, formula=TILTED_RING, half_width=half))


def test_formula_endpoints_run_and_bad_formulas_are_refused_with_the_parsers_message():
    scene = BridgeScene(source="custom", source_formula=TILTED_RING, target="custom", epsilon=0.3, **SMALL)
    result = scene.run()
    x, y = scene.clouds()
    assert np.array_equal(result.paths[0], x.astype(np.float32))
    assert np.abs(x).max() <= scene.formula_box and np.isfinite(result.metrics["sliced_w2"])
    assert abs(np.hypot(y[:, 0], y[:, 1]).mean() - 2.0) < 0.1   # the default target formula: a ring of radius 2
    for text, message in [("x +* y", "not a formula"), ("__import__('os')", "not an allowed function"),
                          ("x**2 + z", "unknown name 'z'"), ("x**2", "not normalisable")]:
        scene.source_formula = text
        with pytest.raises(SceneError, match="^source formula: ") as raised:
            scene.run()
        assert message in str(raised.value)
    scene.source = "gauss"                               # a formula not in use is not parsed
    assert scene.run().paths.shape == result.paths.shape


def test_the_complete_stage_carries_the_sweep_and_a_sweep_point_does_not():
    """The ε sweep is computed on the run's thread, in the complete stage (not by the view on the server's event
    loop); a sweep point (``measure``) leaves it out, since the sweep is made of such points."""
    scene = BridgeScene(n_particles=200, seed=4)
    first, complete = list(scene.stages())
    assert "sweep" not in first.extras
    assert complete.extras["sweep"] is scene.sweep()  # the scene's own cached table
    assert "sweep" not in scene.measure().extras
