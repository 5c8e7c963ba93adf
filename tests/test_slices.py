"""Runs in slices of their time loop (issue 17, kernels.chunks): the numbers do not depend on the slicing,
for every kernel that has a time loop, and a run stops at the first slice boundary after it is asked to.
(The CUDA builds run in slices too: the GPU check compares a sliced CUDA run with an unsliced CPU run, and
stops one between slices; tests/test_gpu_check.py.)"""
import threading
import time

import numpy as np
import pytest

from kernels.chunks import slices
from kernels.diffusion.driver import sample_paths, start_points
from kernels.diffusion.grids import build_grid
from kernels.diffusion.processes import PROCESSES
from kernels.diffusion.samplers import SAMPLERS as DIFFUSION
from kernels.lorenz.integrate import INTEGRATORS, integrate_ensemble
from kernels.samplers import SAMPLERS, simulate
from kernels.samplers.driver import INIT_GAUSSIAN
from kernels.targets import get_target
from scenes import SCENES, Cancelled
from tests.helpers import sampler_params

XDIST_GROUP = "langevin_block_kernels"  # shared with test_samplers: the same block kernels (tests/conftest.py)

FRAMES = np.array([0, 3, 4, 9, 12])  # on and off the slice boundaries of 1, 4 and 5 steps
SLICINGS = (1, 4, 5)                 # steps per slice, against one slice for the whole run


def assert_same_runs(run):
    """``run(slice_steps)`` gives the same arrays (NaN for NaN) for every slicing."""
    whole = run(10**9)
    for size in SLICINGS:
        for expected, got in zip(whole, run(size)):
            np.testing.assert_array_equal(got, expected)


def test_slices_cover_every_step_once_in_order():
    assert slices(10, 1.0, 4) == [(0, 4), (4, 8), (8, 10)]
    assert slices(0, 1.0) == [(0, 0)]              # still records the frame at step 0
    assert slices(3, 1e30) == [(0, 1), (1, 2), (2, 3)]  # at least one step a slice
    assert slices(10, 1.0) == [(0, 10)]            # a light run is one slice


@pytest.mark.parametrize("target_name", ["ring8", "banana"])
@pytest.mark.parametrize("sampler", list(SAMPLERS))
def test_langevin_numbers_do_not_depend_on_the_slicing(sampler, target_name):
    target = get_target(target_name)
    if SAMPLERS[sampler].mixture_only and not target.is_mixture:
        pytest.skip("mixture-only sampler")
    n = 20 if sampler == "svgd" else 50
    # a step size at which ULA's particles diverge, at several steps: the divergence steps must match too
    params = sampler_params(step_size=4.5 if sampler == "ula" else 0.05, leapfrog_steps=3, replicas=2)
    with np.errstate(over="ignore", invalid="ignore"):
        assert_same_runs(lambda size: simulate(sampler, target, n, 12, FRAMES, 3, params, INIT_GAUSSIAN,
                                               np.array([0.0, 0.0, 3.0, 0.0]), "cpu", slice_steps=size))


def test_a_diverging_langevin_run_diverges_in_the_slicing_check():
    """The check above covers divergence: at step size 4.5 ULA's particles on ring8 leave the finite numbers at
    several steps, some of them inside a slice, one of them not at all."""
    params = sampler_params(step_size=4.5)
    with np.errstate(over="ignore", invalid="ignore"):
        _, _, died = simulate("ula", get_target("ring8"), 50, 12, FRAMES, 3, params, INIT_GAUSSIAN,
                              np.array([0.0, 0.0, 3.0, 0.0]), "cpu")
    assert 0 < (died >= 0).sum() < 50 and len(set(died[died >= 0])) == 3


@pytest.mark.parametrize("sampler", list(DIFFUSION))
def test_diffusion_numbers_do_not_depend_on_the_slicing(sampler):
    target = get_target("asym2")
    grid = build_grid(PROCESSES["vp"], "uniform", 12, 1e-2, 1.0, 1.0)
    params = np.array([1.0, 0.16, 0.5, 1.0, 1.0, 0.2])  # noise 1, the perturbed score, the shared path, churn
    starts = start_points(target, 30, grid, 2)
    assert_same_runs(lambda size: sample_paths(sampler, starts, grid, params, FRAMES, 2, target.mix, "cpu",
                                               slice_steps=size))


@pytest.mark.parametrize("method", INTEGRATORS)
def test_lorenz_numbers_do_not_depend_on_the_slicing(method):
    starts = np.array([1.0, 1.0, 20.0]) + 4.0 * np.random.default_rng(0).standard_normal((30, 3))
    assert_same_runs(lambda size: integrate_ensemble(starts, 12, FRAMES, 0.01, noise=0.8, method=method, seed=4,
                                                     slice_steps=size))
    with np.errstate(over="ignore", invalid="ignore"):  # every member diverges, at various steps
        assert_same_runs(lambda size: integrate_ensemble(starts, 12, FRAMES, 0.3, method="euler", slice_steps=size))


def test_a_run_stops_at_the_first_slice_boundary_after_the_ask():
    asked_at, calls = 3, []

    def between():
        calls.append(len(calls))
        if len(calls) == asked_at:
            raise Cancelled("asked to stop")

    with pytest.raises(Cancelled):
        simulate("mala", get_target("ring8"), 50, 100, np.array([0, 100]), 1, sampler_params(), INIT_GAUSSIAN,
                 np.array([0.0, 0.0, 1.0, 0.0]), "cpu", between=between, slice_steps=10)
    assert len(calls) == asked_at  # no slice ran after the one that was asked to stop


@pytest.mark.parametrize("name, values", [
    ("langevin", dict(n_particles=200_000, n_steps=20_000, compare_sampler="none")),  # about 80 s of ULA
    ("lorenz", dict(n_members=200_000, horizon=1000.0, dt=0.001)),
    ("ode_sde", dict(n_particles=200_000, nfe=5000, sampler="euler")),
])
def test_a_cancel_mid_run_stops_a_long_scene_run_long_before_its_end(name, values):
    """A cancel set 0.5 s into a run of a minute or more: the run raises Cancelled at the first check between
    slices after the ask (counted, not timed: on a loaded machine a slice takes longer, not more slices)."""
    scene = SCENES[name](**values)
    scene.cancel = threading.Event()
    checks_after_the_ask = []
    check = scene.check_cancelled

    def counted(*args, **kwargs):
        if scene.cancel.is_set():
            checks_after_the_ask.append(time.perf_counter())
        return check(*args, **kwargs)

    scene.check_cancelled = counted
    threading.Timer(0.5, scene.cancel.set).start()
    with pytest.raises(Cancelled):
        scene.run()
    assert len(checks_after_the_ask) == 1, f"{len(checks_after_the_ask)} checks ran after the ask"
