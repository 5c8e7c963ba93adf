"""Polynomial transcendentals for the hot loops, written once for CPU and CUDA.

Numba's CPU target here has no vector math library, so ``math.exp``/``log``/``sin``/``cos`` in a loop are
scalar library calls that stop the loop from vectorising (DESIGN §10). The functions here use only +, ×,
÷, √, rounding and IEEE-754 bit manipulation, so a loop over particles that inlines them vectorises.
Each is tested against numpy over the range the kernels use it on (tests/test_fastmath.py):

- :func:`fast_exp`: Cody & Waite (1980) range reduction x = n ln 2 + r, |r| ≤ ½ ln 2, e^r by its Taylor
  polynomial of degree 13 (remainder < 0.35¹⁴/14! ≈ 4e−18), times 2ⁿ built in the exponent field.
  Relative error ≈ 1e−16 on [−708, 709]; below −708 it reads 0, above 709 +∞; NaN stays NaN.
- :func:`fast_log`: x = m·2ᵉ with m ∈ [√½, √2) read from the bits, log m = 2 atanh s, s = (m − 1)/(m + 1),
  |s| ≤ 0.172, by its series to s²³ (remainder < 1e−18). For positive normal x (not subnormals);
  0 → −∞, negatives and NaN → NaN, +∞ → +∞.
- :func:`fast_expm1`: e^x − 1, by its Taylor series to x¹⁷ for |x| < ½ (remainder < 0.5¹⁸/18! ≈ 6e−22, no
  cancellation), by ``fast_exp(x) − 1`` beyond (relative error below 3e−16 there).
- :func:`sincos_turn`: (sin 2πu, cos 2πu) for u ∈ [0, 1).

On CUDA, ``fast_exp``, ``fast_log`` and ``fast_expm1`` are libdevice's ``exp``, ``log`` and ``expm1`` (the GPU has them in fast code
already). The rest of the project calls the exact library functions through the names ``exp``, ``log`` and
``expm1`` bound to :func:`exact_exp`, :func:`exact_log` and :func:`exact_expm1` (kernels.mixture, kernels.rng, the samplers), so their
results do not change; a kernel that wants the vectorisable versions compiles with the overrides
:data:`FAST_MATH` (``kernel.compile("cpu", **FAST_MATH)``), which rebind those names everywhere below it.
"""
import math
import struct

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from kernels.compile import device, device_per_target

LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01   # ln 2 to 32 bits: n·LN2_HI is exact for |n| < 2²¹ (fdlibm)
LN2_LO = 1.90821492927058770002e-10   # ln 2 − LN2_HI
SQRT2 = 1.4142135623730951
EXP_MIN = -708.0   # 2ⁿ stays a normal number: n ≥ −1021
EXP_MAX = 709.0    # and n ≤ 1023
EXPONENT_BIAS = 1023
MANTISSA_BITS = 52
MANTISSA_MASK = (1 << 52) - 1
ONE_BITS = 1023 << 52   # the bit pattern of 1.0
EXPONENT_MASK = 0x7FF

# Clamp for exp_clamped (the Sinkhorn and coupling kernels; kernels.bridges.fastexp re-exports them).
EXP_LOW = -700.0
EXP_HIGH = 64.0


def float_from_bits(bits):
    """The float64 whose IEEE-754 bit pattern is the int64 ``bits`` (a register move once compiled)."""
    return struct.unpack("<d", struct.pack("<q", int(bits)))[0]


def bits_from_float(x):
    """The int64 bit pattern of the float64 ``x``."""
    return struct.unpack("<q", struct.pack("<d", float(x)))[0]


@intrinsic
def _int64_as_float64(typingctx, bits):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@intrinsic
def _float64_as_int64(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@overload(float_from_bits, inline="always")
def _float_from_bits_compiled(bits):
    return lambda bits: _int64_as_float64(np.int64(bits))


@overload(bits_from_float, inline="always")
def _bits_from_float_compiled(x):
    return lambda x: _float64_as_int64(np.float64(x))


def _exp_cpu(x):
    """e^x by Cody–Waite reduction and a degree-13 Taylor polynomial (module doc); selects, no branches."""
    xc = x if x > EXP_MIN else EXP_MIN  # NaN lands on EXP_MIN too, so n stays a finite integer
    xc = xc if xc < EXP_MAX else EXP_MAX
    n = math.floor(xc * LOG2E + 0.5)
    r = (xc - n * LN2_HI) - n * LN2_LO
    p = 1.0 / 6227020800.0
    p = 1.0 / 479001600.0 + r * p
    p = 1.0 / 39916800.0 + r * p
    p = 1.0 / 3628800.0 + r * p
    p = 1.0 / 362880.0 + r * p
    p = 1.0 / 40320.0 + r * p
    p = 1.0 / 5040.0 + r * p
    p = 1.0 / 720.0 + r * p
    p = 1.0 / 120.0 + r * p
    p = 1.0 / 24.0 + r * p
    p = 1.0 / 6.0 + r * p
    p = 0.5 + r * p
    p = 1.0 + r * p
    p = 1.0 + r * p
    y = p * float_from_bits((int(n) + EXPONENT_BIAS) << MANTISSA_BITS)
    y = 0.0 if x < EXP_MIN else y
    y = math.inf if x > EXP_MAX else y
    return y if x == x else x


def _exp_cuda(x):
    return math.exp(x)


def _log_cpu(x):
    """log x from the exponent field and 2 atanh((m − 1)/(m + 1)) (module doc); selects, no branches."""
    bits = bits_from_float(x)
    e = ((bits >> MANTISSA_BITS) & EXPONENT_MASK) - EXPONENT_BIAS
    m = float_from_bits((bits & MANTISSA_MASK) | ONE_BITS)  # in [1, 2)
    big = m > SQRT2
    m = 0.5 * m if big else m
    e = e + 1 if big else e
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    q = 1.0 / 23.0
    q = 1.0 / 21.0 + s2 * q
    q = 1.0 / 19.0 + s2 * q
    q = 1.0 / 17.0 + s2 * q
    q = 1.0 / 15.0 + s2 * q
    q = 1.0 / 13.0 + s2 * q
    q = 1.0 / 11.0 + s2 * q
    q = 1.0 / 9.0 + s2 * q
    q = 1.0 / 7.0 + s2 * q
    q = 1.0 / 5.0 + s2 * q
    q = 1.0 / 3.0 + s2 * q
    fe = float(e)
    y = fe * LN2_HI + (2.0 * s + (2.0 * s * s2 * q + fe * LN2_LO))
    y = y if x > 0.0 else (-math.inf if x == 0.0 else math.nan)
    return y if x < math.inf else x


def _log_cuda(x):
    return math.log(x)


def _expm1_cpu(x):
    """e^x − 1: for |x| < ½ its Taylor series to x¹⁷ (no cancellation), beyond it fast_exp(x) − 1; selects,
    no branches (module doc)."""
    p = 1.0 / 355687428096000.0
    p = 1.0 / 20922789888000.0 + x * p
    p = 1.0 / 1307674368000.0 + x * p
    p = 1.0 / 87178291200.0 + x * p
    p = 1.0 / 6227020800.0 + x * p
    p = 1.0 / 479001600.0 + x * p
    p = 1.0 / 39916800.0 + x * p
    p = 1.0 / 3628800.0 + x * p
    p = 1.0 / 362880.0 + x * p
    p = 1.0 / 40320.0 + x * p
    p = 1.0 / 5040.0 + x * p
    p = 1.0 / 720.0 + x * p
    p = 1.0 / 120.0 + x * p
    p = 1.0 / 24.0 + x * p
    p = 1.0 / 6.0 + x * p
    p = 0.5 + x * p
    p = 1.0 + x * p
    return fast_exp(x) - 1.0 if abs(x) >= 0.5 else x * p


def _expm1_cuda(x):
    return math.expm1(x)


fast_exp = device_per_target(_exp_cpu, _exp_cuda)
fast_log = device_per_target(_log_cpu, _log_cuda)
fast_expm1 = device_per_target(_expm1_cpu, _expm1_cuda)


@device
def exact_exp(x):
    """e^x from the math library (the default behind the name ``exp`` in the kernels; see module doc)."""
    return math.exp(x)


@device
def exact_log(x):
    """log x from the math library (the default behind the name ``log`` in the kernels)."""
    return math.log(x)


@device
def exact_expm1(x):
    """e^x − 1 from the math library (the default behind the name ``expm1`` in the kernels)."""
    return math.expm1(x)


FAST_MATH = {"exp": fast_exp, "log": fast_log, "expm1": fast_expm1}


@device
def exp_clamped(x):
    """e^x for x in [EXP_LOW, EXP_HIGH] = [−700, 64]; outside, the value at the nearer end (so a caller
    can detect the clamp: a clamped term reads e^{−700} or e^{64})."""
    return fast_exp(min(max(x, EXP_LOW), EXP_HIGH))


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
