"""The branch-free exponential of the Sinkhorn and coupling kernels, clamped to [EXP_LOW, EXP_HIGH] =
[−700, 64]: it lives in :mod:`kernels.fastmath` (one fast exponential for the whole project; Cody–Waite
reduction, a polynomial and the exponent set in the bits, so the log-sum-exp loops vectorise, DESIGN §10).
Callers must keep arguments in the range or detect the clamp (a clamped term reads e^{−700} or e^{64})."""
from kernels.fastmath import EXP_HIGH, EXP_LOW, exp_clamped

__all__ = ["EXP_HIGH", "EXP_LOW", "exp_clamped"]
