"""The right-hand sides, written once as device functions (DESIGN §4).

Lorenz-63 (Lorenz 1963, "Deterministic nonperiodic flow"):
    ẋ = σ(y − x),  ẏ = x(ρ − z) − y,  ż = xy − βz.

The functions are pure arithmetic, so their ``py_func`` also runs on numpy arrays (vectorised reference).
"""
from __future__ import annotations

from kernels.compile import device

# σ, ρ, β of the classic chaotic regime (Lorenz 1963)
CLASSIC = (10.0, 28.0, 8.0 / 3.0)


@device
def lorenz63_rhs(x, y, z, sigma, rho, beta):
    """(ẋ, ẏ, ż) = (σ(y − x), x(ρ − z) − y, xy − βz)."""
    return sigma * (y - x), x * (rho - z) - y, x * y - beta * z


@device
def lorenz63_tangent(x, y, z, u, v, w, sigma, rho, beta):
    """The Jacobian of Lorenz-63 at (x, y, z) applied to (u, v, w): the tangent-linear flow
    (σ(v − u), (ρ − z)u − v − xw, yu + xv − βw)."""
    return sigma * (v - u), (rho - z) * u - v - x * w, y * u + x * v - beta * w
