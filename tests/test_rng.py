"""The counter-based generator: correct normal law, pure function of its counters, same on every path."""
import numba
import numpy as np
import pytest
from scipy import stats

from kernels.rng import counter_hash, normal_pair, uniform

pair_cpu = normal_pair.compile("cpu")
uniform_cpu = uniform.compile("cpu")


@numba.njit(parallel=True)
def draw_pairs(n, seed, step):
    out = np.empty((n, 2))
    for i in numba.prange(n):
        out[i, 0], out[i, 1] = pair_cpu(seed, 1, i, step, 0)
    return out


def test_normal_pairs_have_the_standard_normal_law():
    z = draw_pairs(400_000, 11, 3)
    assert abs(z.mean()) < 0.005
    assert abs(z.var() - 1) < 0.01
    assert abs(np.mean(z[:, 0] * z[:, 1])) < 0.005
    assert abs(np.mean(z ** 4) - 3) < 0.05
    assert stats.kstest(z[:, 0], "norm").pvalue > 1e-3
    assert stats.kstest(z[:, 1], "norm").pvalue > 1e-3


def test_draws_are_a_pure_function_of_the_counters():
    z1 = draw_pairs(1000, 5, 9)
    z2 = draw_pairs(1000, 5, 9)
    assert np.array_equal(z1, z2)
    assert not np.allclose(draw_pairs(1000, 5, 10), z1)  # another step: other numbers
    assert not np.allclose(draw_pairs(1000, 6, 9), z1)   # another seed: other numbers


def test_python_and_compiled_builds_agree():
    # the hash and uniforms bit for bit; normals to rounding (the compiled build may fuse multiply-adds)
    with np.errstate(over="ignore"):
        for particle in (0, 1, 77):
            assert np.allclose(normal_pair(3, 1, particle, 4, 2), pair_cpu(3, 1, particle, 4, 2), rtol=1e-14)
            assert uniform(3, 2, particle, 4, 2) == uniform_cpu(3, 2, particle, 4, 2)


def test_uniforms_are_in_the_half_open_unit_interval_and_streams_differ():
    with np.errstate(over="ignore"):
        assert counter_hash(1, 0, 0, 0, 0) != counter_hash(1, 1, 0, 0, 0)
    values = np.array([uniform_cpu(1, 2, i, 0, 0) for i in range(20_000)])
    assert values.min() > 0 and values.max() <= 1
    assert stats.kstest(values, "uniform").pvalue > 1e-3


def test_the_vectorisable_build_draws_the_same_normals_to_rounding():
    # kernels compiled with FAST_MATH (the samplers' CPU block launcher) take log from a polynomial
    from kernels.fastmath import FAST_MATH

    fast_pair = normal_pair.compile("cpu", **FAST_MATH)
    worst = max(abs(a - b) for i in range(20_000)
                for a, b in zip(fast_pair(8, 1, i, 3, 0), pair_cpu(8, 1, i, 3, 0)))
    assert worst < 1e-14


# -- the table of streams and sub-indices (kernels.rng): no two draws of a sampler step share a counter ----

def _recorded_draws(monkeypatch, sampler: str, p: int, t: int) -> list[tuple]:
    """The counters (stream, particle, step, k) of every draw one step of ``sampler`` makes (at step 0 with its
    init's), its py_func run in Python with the generator's two functions replaced by recorders."""
    from kernels.samplers import annealed, kinetic, overdamped, tempering
    from kernels.samplers.layout import (FRICTION, LADDER, LEAPFROG_STEPS, N_PARAMS, N_REPLICAS, SIGMA_MAX,
                                         SIGMA_MIN, STEP_SIZE, TEMPERATURE)
    from kernels.samplers.registry import SAMPLERS, state_width
    from kernels.targets import get_target

    draws = []
    for module in (annealed, kinetic, overdamped, tempering):
        if hasattr(module, "normal_pair"):
            monkeypatch.setattr(module, "normal_pair", lambda seed, *c: draws.append(c) or (0.3, -0.2))
        if hasattr(module, "uniform"):
            monkeypatch.setattr(module, "uniform", lambda seed, *c: draws.append(c) or 0.5)
    params = np.zeros(N_PARAMS)
    params[[STEP_SIZE, TEMPERATURE, FRICTION, LEAPFROG_STEPS, SIGMA_MAX, SIGMA_MIN, N_REPLICAS, LADDER]] = (
        0.05, 1.0, 1.0, 3, 5.0, 0.1, 4, 2.0)
    target = get_target("ring8")
    state = np.full((p + 1, state_width(sampler, params)), 0.5)
    arguments = (params, target.kind, target.params, target.mix)
    if t == 0:  # the sampler's init runs before step 0: its draws are step 0's
        SAMPLERS[sampler].init.py_func(state, p, 7, *arguments)
    SAMPLERS[sampler].step.py_func(state, p, t, 10, 7, *arguments)
    return draws


@pytest.mark.parametrize("sampler", ["ula", "mala", "baoab", "rmid", "hmc", "annealed", "tempering", "rwmh"])
def test_no_two_draws_of_a_sampler_step_share_a_counter(monkeypatch, sampler):
    from kernels.rng import K_STEP, STREAM_ACCEPT, STREAM_DYNAMICS

    for t in (0, 1, 2):  # step 0 draws the initial velocity of BAOAB too; tempering swaps by step parity
        draws = _recorded_draws(monkeypatch, sampler, p=3, t=t)
        assert draws and len(set(draws)) == len(draws), draws
        assert all(particle == 3 and step == t for _, particle, step, _ in draws), draws
        assert {stream for stream, *_ in draws} <= {STREAM_DYNAMICS, STREAM_ACCEPT}  # STREAM_INIT: the starts only
        assert (STREAM_DYNAMICS, 3, t, K_STEP) in draws  # the increment every sampler shares (common noise)


def test_the_stream_table_gives_every_family_its_own_number():
    import kernels.rng as rng

    streams = {name: value for name, value in vars(rng).items() if name.startswith("STREAM_")}
    assert len(streams) == 7 and len(set(streams.values())) == len(streams)
    from kernels.bridges import brownian_bridge, coupling, ou
    from kernels.diffusion import brownian, driver

    for module in (brownian_bridge, coupling, ou, driver, brownian):  # they take their streams from the table
        for name, value in vars(module).items():
            if name.startswith("STREAM_"):
                assert streams[name] == value and getattr(rng, name) is value
