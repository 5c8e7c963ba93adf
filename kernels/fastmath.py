"""Polynomial transcendentals for the hot loops, written once for CPU and CUDA.

Numba's CPU target here has no vector math library, so ``math.sin``/``math.cos`` are scalar library
calls (DESIGN §10). These use only + and ×, on the ranges where the kernels need them, and are tested
against ``math`` over that range (tests/test_fastmath.py). Measured: Box–Muller with
:func:`sincos_turn` draws normal pairs 3× faster than with ``math.sin``/``math.cos``. (A polynomial
``exp`` was tried in the mixture log-sum-exp too and was slower than libm's in scalar code: its
dependent multiplications are latency-bound until the loop itself vectorises.)
"""
import math

from kernels.compile import device


@device
def sincos_turn(u):
    """(sin 2πu, cos 2πu) for u in [0, 1): Taylor polynomials at a = 2π(u − ½)/4 ∈ [−π/4, π/4), two
    double-angle steps, and the half-turn shift sin(θ + π) = −sin θ. Absolute error below 1e-13."""
    a = (u - 0.5) * (0.5 * math.pi)
    a2 = a * a
    s = a * (1.0 - a2 / 6.0 * (1.0 - a2 / 20.0 * (1.0 - a2 / 42.0 * (1.0 - a2 / 72.0 * (1.0 - a2 / 110.0 * (
        1.0 - a2 / 156.0))))))
    c = 1.0 - a2 / 2.0 * (1.0 - a2 / 12.0 * (1.0 - a2 / 30.0 * (1.0 - a2 / 56.0 * (1.0 - a2 / 90.0 * (
        1.0 - a2 / 132.0 * (1.0 - a2 / 182.0))))))
    for _ in range(2):
        s, c = 2.0 * s * c, c * c - s * s
    return -s, -c
