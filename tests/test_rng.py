"""The counter-based generator: correct normal law, pure function of its counters, same on every path."""
import numba
import numpy as np
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
