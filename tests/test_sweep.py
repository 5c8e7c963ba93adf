"""The general sweep (scenes.sweep): grids checked before anything runs, the tidy table, failing points as
rows, cancel, and the per-scene sweeps as views of it."""
import numpy as np
import pytest

from scenes import LangevinScene
from scenes.sweep import ERROR, PROVENANCE, make_spec, start, sweep
from scenes.sweep_grid import GridError

TINY = dict(n_particles=200, n_steps=40, n_frames=3)


@pytest.mark.parametrize("grid, fixed, message", [
    ({"stepsize": [0.1]}, {}, r"unknown knob 'stepsize'"),
    ({"step_size": [20.0]}, {}, r"step_size: 20 is above its upper bound 10"),
    ({"step_size": "lin:-1:1:3"}, {}, r"step_size: -1 is below its lower bound 1e-05"),
    ({"step_size": "log:0:1:3"}, {}, r"step_size: a log range needs START and STOP above 0"),
    ({"step_size": "log:0.1:1"}, {}, r"step_size: a range is log:START:STOP:COUNT"),
    ({"n_steps": "lin:1:10:0"}, {}, r"n_steps: a range needs COUNT ≥ 1"),
    ({"n_steps": [1.5]}, {}, r"n_steps: 1.5 is not a whole number"),
    ({"sampler": "ula,nuts"}, {}, r"sampler: 'nuts' is not one of ula, mala"),
    ({"target": "lin:1:2:3"}, {}, r"target: a lin range needs a numeric knob"),
    ({"step_size": [0.1]}, {"n_particles": 0}, r"n_particles: 0 is below its lower bound 1"),
    ({"step_size": [0.1]}, {"step_size": 0.2}, r"step_size: both in the grid and fixed"),
    ({}, {}, r"at least one knob"),
])
def test_bad_grids_are_refused_naming_the_knob_and_bound(grid, fixed, message):
    with pytest.raises(GridError, match=message):
        make_spec("langevin", grid, seeds=1, fixed=fixed)


def test_ranges_give_typed_values():
    spec = make_spec("langevin", {"step_size": "log:0.01:1:3", "n_steps": "lin:10:12:5", "init": "box,point"}, seeds=2)
    assert np.allclose(spec.axes[0].values, [0.01, 0.1, 1.0]) and spec.axes[0].scale == "log"
    assert spec.axes[1].values == (10, 11, 12)  # integers rounded, repeats dropped
    assert len(spec) == len(spec.points()) == 3 * 3 * 2 * 2


def test_table_has_a_row_per_point_and_seed_and_failures_carry_their_error():
    table = sweep("langevin", {"sampler": ["ula", "mala"], "step_size": [0.1, 5.0]}, seeds=[3, 4],
                  fixed={**TINY, "target": "gauss"})
    assert list(table.columns[:3]) == ["sampler", "step_size", "seed"] and list(table.columns[-3:]) == [ERROR, *PROVENANCE]
    assert len(table) == 8 and list(table["seed"]) == [3, 4] * 4
    failed = table[table[ERROR].notna()]
    assert set(failed["sampler"]) == {"ula"} and set(failed["step_size"]) == {5.0}  # ULA diverges at h = 5
    assert failed[ERROR].str.contains("diverged").all() and failed["sliced_w2"].isna().all()
    good = table[table[ERROR].isna()]
    assert np.isfinite(good["sliced_w2"]).all() and good["acceptance_rate"].notna().sum() == 4  # MALA only
    again = LangevinScene(**TINY, target="gauss", sampler="mala", step_size=0.1, seed=4).run().metrics["sliced_w2"]
    assert good.query("sampler == 'mala' and step_size == 0.1 and seed == 4")["sliced_w2"].item() == again


def test_progress_streams_and_cancel_stops_what_is_queued():
    job = start(make_spec("langevin", {"step_size": [0.05, 0.1, 0.2, 0.3]}, seeds=2, fixed=TINY))
    seen = []
    for progress in job:
        seen.append(progress.done)
        assert len(progress.table) == progress.done and progress.total == 8
        if progress.done == 3:
            job.cancel()
    assert seen == [1, 2, 3] and len(job.table()) == 3


def test_langevin_sweep_is_a_view_of_the_general_one():
    table = LangevinScene(**TINY, target="gauss").sweep(step_sizes=[0.05, 5.0], samplers=("ula", "mala"))
    assert set(table) == {"step_size", "ula", "mala"} and table["ula"].shape == (2,)
    assert np.isfinite(table["ula"][0]) and np.isnan(table["ula"][1])  # diverged: NaN, as before


ODE_TINY = dict(n_particles=300, n_frames=3, target="ring8")


def test_the_nfe_chart_is_a_view_of_the_general_sweep_and_its_points_are_the_runs_a_user_sees():
    from scenes import OdeSdeScene

    scene = OdeSdeScene(**ODE_TINY, noise=0.5, seed=5)
    table = scene.sweep(nfes=(8, 24), samplers=("euler", "em"), n_particles=300)
    for sampler in ("euler", "em"):
        for k, nfe in enumerate((8, 24)):  # the same numbers as the scene run at those knobs
            run = OdeSdeScene(**ODE_TINY, noise=0.5, seed=5, sampler=sampler, nfe=nfe).run()
            assert table[sampler][k] == pytest.approx(run.metrics["sliced_w2"], rel=1e-12)
    errors = scene.sweep(nfes=(8,), samplers=("euler", "em"), metric="ode_error", n_particles=300)
    assert 0 < errors["euler"][0] < 1 and np.isnan(errors["em"][0])  # an SDE run has no ODE limit


def test_an_ode_sde_sweep_point_measures_the_paths_stage_not_the_nfe_chart(monkeypatch):
    from scenes import OdeSdeScene

    charts = []
    monkeypatch.setattr(OdeSdeScene, "sweep", lambda self, *a, **k: charts.append(1) or {})
    table = sweep("ode_sde", {"noise": [0.0, 1.0]}, fixed=dict(**ODE_TINY, nfe=16))
    assert charts == [] and table[ERROR].isna().all()
    assert table["ode_sde_gap"][0] < table["ode_sde_gap"][1]  # at noise 0 the SDE run is the ODE's
    assert "ode_error" not in table
    errors = sweep("ode_sde", {"sampler": ["euler", "em"]}, fixed=dict(**ODE_TINY, nfe=16, sweep_metric="ode_error"))
    assert np.isfinite(errors["ode_error"][0]) and np.isnan(errors["ode_error"][1])


def test_a_cancel_stops_a_serial_sweep_instead_of_giving_rows():
    import threading

    from scenes.base import Cancelled

    flag = threading.Event()

    def prepare(scene):
        scene.cancel = flag
        flag.set()

    with pytest.raises(Cancelled):
        sweep("langevin", {"step_size": [0.05, 0.1]}, fixed=TINY, prepare=prepare)
