"""The polynomial transcendentals against ``math`` over the ranges the kernels use."""
import math

import numba
import numpy as np

from kernels.fastmath import sincos_turn

sincos_cpu = sincos_turn.compile("cpu")


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
