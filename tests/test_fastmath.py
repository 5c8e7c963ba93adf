"""The polynomial transcendentals against numpy / ``math`` over the ranges the kernels use, compiled the
way the kernels compile them (and vectorised: a loop over them is checked for vector instructions)."""
import math

import numba
import numpy as np
import pytest

from kernels.compile import FASTMATH
from kernels.fastmath import exp_clamped, fast_exp, fast_expm1, fast_log, sincos_turn

sincos_cpu = sincos_turn.compile("cpu")
exp_cpu = fast_exp.compile("cpu")
log_cpu = fast_log.compile("cpu")
expm1_cpu = fast_expm1.compile("cpu")


@numba.njit(fastmath=FASTMATH, error_model="numpy")
def exp_many(xs, out):
    for i in range(xs.size):
        out[i] = exp_cpu(xs[i])


@numba.njit(fastmath=FASTMATH, error_model="numpy")
def log_many(xs, out):
    for i in range(xs.size):
        out[i] = log_cpu(xs[i])


@numba.njit(fastmath=FASTMATH, error_model="numpy")
def expm1_many(xs, out):
    for i in range(xs.size):
        out[i] = expm1_cpu(xs[i])


def max_relative_error(values, truth):
    return float(np.max(np.abs(values / truth - 1.0)))


@numba.njit
def worst_sincos_error(n):
    worst = 0.0
    for i in range(n):
        u = i / n
        s, c = sincos_cpu(u)
        worst = max(worst, abs(s - math.sin(2 * math.pi * u)), abs(c - math.cos(2 * math.pi * u)))
    return worst


def test_sincos_turn_matches_math_on_the_unit_turn():
    assert worst_sincos_error(2_000_003) < 1e-13


def test_sincos_turn_is_the_same_in_python_and_compiled():
    for u in np.linspace(0, 1, 97, endpoint=False):
        assert np.allclose(sincos_turn(u), sincos_cpu(u), rtol=0, atol=1e-15)


@pytest.mark.parametrize("low, high", [(-708.0, 709.0), (-40.0, 0.0)])  # whole range; the log-sum-exp decays
def test_fast_exp_is_within_two_ulps_of_numpy(low, high):
    xs = np.linspace(low, high, 2_000_001)
    out = np.empty_like(xs)
    exp_many(xs, out)
    assert max_relative_error(out, np.exp(xs)) < 4.5e-16


def test_fast_exp_edges_and_special_values():
    xs = np.array([0.0, -709.0, -1e6, 710.0, math.inf, -math.inf, math.nan])
    out = np.empty_like(xs)
    exp_many(xs, out)
    assert out[0] == 1.0
    assert out[1] == 0.0 and out[2] == 0.0  # below EXP_MIN: flushed to zero (true value < 1.3e-308)
    assert out[3] == math.inf and out[4] == math.inf and out[5] == 0.0
    assert math.isnan(out[6])


@pytest.mark.parametrize("low, high", [(2.0 ** -32, 1.0), (1.0, 64.0)])  # Box–Muller's u; a mixture's sum
def test_fast_log_is_within_two_ulps_of_numpy(low, high):
    xs = np.geomspace(low, high, 2_000_001)
    out = np.empty_like(xs)
    log_many(xs, out)
    truth = np.log(xs)
    away_from_one = np.abs(truth) > 1e-300
    assert max_relative_error(out[away_from_one], truth[away_from_one]) < 4.5e-16
    near_one = np.abs(truth) < 1.0
    assert np.max(np.abs(out[near_one] - truth[near_one])) < 2.5e-16  # absolute too, near log 1 = 0


def test_fast_log_special_values():
    xs = np.array([1.0, 0.0, -1.0, math.inf, math.nan])
    out = np.empty_like(xs)
    log_many(xs, out)
    assert out[0] == 0.0 and out[1] == -math.inf and math.isnan(out[2]) and out[3] == math.inf
    assert math.isnan(out[4])


@pytest.mark.parametrize("low, high", [(-1.0, 1.0), (-40.0, 40.0)])  # DPM-Solver's −h, −2ηh; both sides of ½
def test_fast_expm1_is_within_three_ulps_of_numpy(low, high):
    xs = np.linspace(low, high, 2_000_000)  # an even count: 0 is not on the grid
    out = np.empty_like(xs)
    expm1_many(xs, out)
    assert max_relative_error(out, np.expm1(xs)) < 6.7e-16


def test_fast_expm1_small_and_special_values():
    xs = np.array([0.0, 1e-300, -1e-12, 0.5, -0.5, math.inf, -math.inf, math.nan])
    out = np.empty_like(xs)
    expm1_many(xs, out)
    assert out[0] == 0.0 and out[1] == 1e-300 and out[2] == pytest.approx(np.expm1(-1e-12), rel=1e-15)
    assert out[3] == pytest.approx(np.expm1(0.5), rel=5e-16) and out[4] == pytest.approx(np.expm1(-0.5), rel=5e-16)
    assert out[5] == math.inf and out[6] == -1.0 and math.isnan(out[7])


def test_python_and_compiled_builds_agree():
    for x in np.linspace(-50, 50, 41):
        assert fast_exp(x) == pytest.approx(exp_cpu(x), rel=1e-15)
    for x in np.geomspace(1e-9, 1e3, 37):
        assert fast_log(x) == pytest.approx(log_cpu(x), rel=1e-15, abs=1e-16)
    for x in np.linspace(-3, 3, 37):
        assert fast_expm1(x) == pytest.approx(expm1_cpu(x), rel=1e-15)
    assert exp_clamped(-1e6) == pytest.approx(math.exp(-700.0), rel=1e-15)
    assert exp_clamped(1e6) == pytest.approx(math.exp(64.0), rel=1e-15)


@pytest.mark.parametrize("loop", [exp_many, log_many, expm1_many])
def test_a_loop_over_them_vectorises(loop):
    """No vector math library here (DESIGN §10): the point of these functions is that this holds."""
    xs = np.linspace(0.5, 2.0, 64)
    loop(xs, np.empty_like(xs))
    llvm_ir = next(iter(loop.inspect_llvm().values()))
    assert "x double>" in llvm_ir  # <2/4/8 x double>: whatever the machine's vector width
