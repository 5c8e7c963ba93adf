"""The shared fine Brownian path's step draws, drawn once and kept (kernels.diffusion.brownian): a run that
reads them gives the numbers of one that draws them as it goes, and they are kept per seed, particle count
and grid, within their memory bound."""
import numpy as np
import pytest

from kernels.diffusion import brownian
from kernels.diffusion.driver import sample_paths, start_points
from kernels.diffusion.grids import build_grid
from kernels.diffusion.processes import PROCESSES
from kernels.diffusion.score import EXACT
from kernels.targets import get_target

N = 300


def run(sampler="em", steps=20, seed=3, noise=1.0, shared_path=1.0):
    target = get_target("ring8")
    grid = build_grid(PROCESSES["vp"], "uniform", steps, 1e-3, 1.0, 1.0)
    params = np.array([noise, 0.16, 0.0, EXACT, shared_path, 0.0])  # noise, snr, δ, score, shared path, churn
    starts = start_points(target, N, grid, seed)
    return sample_paths(sampler, starts, grid, params, np.array([0, 1, steps // 2, steps]), seed, target.mix,
                        blocked=False)


@pytest.fixture
def nothing_kept(monkeypatch):
    monkeypatch.setattr(brownian, "_KEPT", type(brownian._KEPT)())


@pytest.mark.parametrize("sampler", ["em", "heun", "pc"])
def test_a_run_on_kept_draws_gives_the_numbers_drawn_as_it_goes(sampler, nothing_kept, monkeypatch):
    kept, kept_died = run(sampler)
    assert len(brownian._KEPT) == 1
    monkeypatch.setattr(brownian, "KEPT_BYTES", 0)  # every run draws its ξ as it goes
    now, now_died = run(sampler)
    assert np.any(now[-1] != now[0])
    assert np.array_equal(kept, now) and np.array_equal(kept_died, now_died)


def test_draws_are_kept_per_seed_and_grid_and_shared_across_noise_and_samplers(nothing_kept):
    run("em", noise=1.0)
    run("em", noise=0.5)
    run("heun", noise=0.7)
    assert len(brownian._KEPT) == 1  # the noise knob and the sampler leave the draws as they are
    run("em", seed=4)
    run("em", steps=30)
    assert len(brownian._KEPT) == 3
    run("em", shared_path=0.0)  # per-step draws: nothing to keep
    run("euler")  # an ODE reads no draws
    assert len(brownian._KEPT) == 3


def test_the_kept_draws_stay_within_their_bound(nothing_kept, monkeypatch):
    one_run = N * 20 * 2 * 8
    monkeypatch.setattr(brownian, "KEPT_BYTES", 2 * one_run)
    for seed in range(5):
        run("em", seed=seed)
    assert len(brownian._KEPT) == 2 and sum(a.nbytes for a in brownian._KEPT.values()) <= 2 * one_run
    assert [key[0] for key in brownian._KEPT] == [3, 4]  # the latest
