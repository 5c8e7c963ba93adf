"""The Langevin scene: the contract of DESIGN §3, common noise, determinism, bad input."""
import numba
import numpy as np
import pytest

from scenes import SCENES, BudgetError, DivergenceError, LangevinScene, SceneError
from tests.helpers import draw_with_both_backends

SMALL = dict(n_particles=300, n_steps=60, n_frames=7)


def test_registry_and_result_shape():
    scene = SCENES["langevin"](target="ring8", sampler="mala", step_size=0.1, seed=3, **SMALL)
    result = scene.run()
    assert result.paths.shape == (7, 300, 2) and result.paths.dtype == np.float32
    assert result.times.shape == (7,) and result.times[0] == 0 and result.times[-1] == 60
    for key in ("kl", "tv", "sliced_w2", "mode_weights", "acceptance_rate", "kl_trace", "sliced_w2_trace"):
        assert key in result.metrics
    assert result.metrics["kl_trace"].shape == (7,)
    assert result.metrics["mode_weights"].shape == (8,)
    assert 0 < result.metrics["acceptance_rate"] <= 1


def test_same_parameters_and_seed_give_the_same_numbers_on_any_thread_count(threads):
    # threads (tests/conftest.py): skipped where numba has a single thread, 1 would be compared with 1
    scene = LangevinScene(sampler="hmc", target="banana", seed=5, **SMALL)
    threads(1)
    one = scene.run().paths
    threads(numba.config.NUMBA_NUM_THREADS)
    assert np.array_equal(one, scene.run().paths)
    scene.seed = 6
    assert not np.array_equal(one, scene.run().paths)


def test_compare_mode_uses_common_noise():
    # one step from the same start: where MALA accepts, it lands exactly where ULA lands
    scene = LangevinScene(target="gauss", sampler="mala", compare_sampler="ula", step_size=0.8, n_particles=500,
                          n_steps=1, n_frames=2, init="gaussian")
    result = scene.run()
    mala, ula = result.paths[-1], result.extras["compare"].paths[-1]
    moved = np.any(mala != result.paths[0], axis=1)
    assert 0.2 < moved.mean() < 1.0
    assert np.array_equal(mala[moved], ula[moved])


def test_sweep_shows_ula_bias_growing_with_h_and_mala_flat():
    # The cloud starts at N((3, −3), I), off the target: a MALA that rejected every proposal would stay there.
    scene = LangevinScene(target="gauss", init="gaussian", init_x=3.0, init_y=-3.0, n_particles=4000, n_steps=400,
                          n_frames=2)
    table = scene.sweep(step_sizes=[0.02, 0.6])
    assert table["ula"][1] > 3 * table["ula"][0]
    assert table["mala"][1] < 0.5 * table["ula"][1]


def test_out_of_bounds_values_are_refused_naming_the_bound():
    scene = LangevinScene()
    with pytest.raises(SceneError, match="step_size"):
        scene.update(step_size=-1.0)
    with pytest.raises(SceneError, match="unknown parameter"):
        scene.update(stepsize=0.1)
    assert scene.step_size == 0.05  # the last good value is kept


def test_memory_budget_is_refused_with_the_size():
    scene = LangevinScene(n_particles=20_000_000, n_frames=1000, n_steps=2000)
    with pytest.raises(BudgetError, match=r"MB"):
        scene.run()


def test_divergence_reports_the_step_and_the_fraction_lost():
    scene = LangevinScene(target="gauss", sampler="ula", step_size=5.0, **SMALL)
    with pytest.raises(DivergenceError, match=r"100\.0% of particles.*step \d+ of 60") as info:
        scene.run()
    assert info.value.result is not None


def test_annealing_needs_a_mixture():
    with pytest.raises(SceneError, match="mixture"):
        LangevinScene(target="banana", sampler="annealed", **SMALL).run()


def test_every_sampler_runs_on_every_target_kind():
    for sampler in ("ula", "mala", "baoab", "rmid", "hmc", "svgd", "tempering", "rwmh"):
        for target in ("ring8", "funnel"):
            scene = LangevinScene(target=target, sampler=sampler, step_size=0.01, n_particles=50, n_steps=10,
                                  n_frames=3, init="gaussian")
            assert np.isfinite(scene.run().paths).all(), (sampler, target)


def test_view_builds_every_panel():
    import holoviews as hv

    scene = LangevinScene(compare_sampler="ula", sampler="mala", **SMALL)
    result = scene.run()
    layout = scene.view(result)
    assert isinstance(layout, hv.Layout) and len(layout) == 7
    for title, panel in scene.panels():
        assert panel(result, 3) is not None, title
    draw_with_both_backends(lambda: scene.view(result))  # every panel, as the app and the export draw them


def test_stuck_fraction_counts_chains_that_never_accept_late_in_the_run():
    """From the kernel's per-particle accept record: MALA started in the double well's steep tails leaves
    chains that accept nothing in the last quarter of the steps (measured 0.56 at these sizes); MALA on the
    Gaussian with a tuned step (acceptance ≈ 0.88) leaves none. The preset that shows it loads and reports it."""
    from explorer.presets import list_presets
    from kernels.metrics import stuck_fraction

    tails = LangevinScene(target="double_well", sampler="mala", init="gaussian", init_scale=3.0, step_size=0.05,
                          n_particles=1000, n_steps=200, n_frames=9, backend="cpu").run()
    assert tails.metrics["stuck_fraction"] > 0.2, tails.metrics["stuck_fraction"]
    tuned = LangevinScene(target="gauss", sampler="mala", init="gaussian", step_size=0.5, n_particles=1000,
                          n_steps=200, n_frames=9, backend="cpu").run()
    assert tuned.metrics["stuck_fraction"] < 0.01, tuned.metrics["stuck_fraction"]
    # the record read: a particle that gained no accept since the frame at 3/4 of the steps is stuck
    accepts = np.array([[0, 0, 0], [5, 1, 2], [9, 1, 2], [9, 2, 2]], dtype=np.float32)
    assert stuck_fraction(accepts, np.array([0, 40, 75, 100])) == 2 / 3
    preset = list_presets("langevin")["stuck_in_the_tails"]["params"]
    assert preset["sampler"] == "mala" and preset["target"] == "double_well" and preset["init"] == "gaussian"
