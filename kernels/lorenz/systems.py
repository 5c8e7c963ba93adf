"""The vector fields, written once as device functions (DESIGN §4), over a block of members.

A state is an array ``u[row, lane]``: rows are the coordinates, lanes are members (a block of members on
the CPU, so the inner loop over lanes vectorises; one lane per thread on CUDA). Every field writes
``du[row, lane]`` for rows ``0..dim-1``; a tangent field reads the base point from rows ``0..dim-1`` and
a tangent vector from rows ``off..off+dim-1`` and writes J(X)·V into the same rows of ``du``.

* Lorenz-63 (Lorenz 1963, "Deterministic nonperiodic flow"), p = (σ, ρ, β):
    ẋ = σ(y − x),  ẏ = x(ρ − z) − y,  ż = xy − βz.
* Lorenz-96 (Lorenz 1996, "Predictability: a problem partly solved"), p = (F,), cyclic index i mod n:
    ẋᵢ = (xᵢ₊₁ − xᵢ₋₂) xᵢ₋₁ − xᵢ + F.
"""
from __future__ import annotations

from kernels.compile import device, outlined

# σ, ρ, β of the classic chaotic regime (Lorenz 1963)
CLASSIC = (10.0, 28.0, 8.0 / 3.0)
SYSTEMS = ("lorenz63", "lorenz96")


@device
def lorenz63_rhs(x, y, z, sigma, rho, beta):
    """(ẋ, ẏ, ż) = (σ(y − x), x(ρ − z) − y, xy − βz) at one point (scalars or numpy arrays)."""
    return sigma * (y - x), x * (rho - z) - y, x * y - beta * z


@outlined
def lorenz63_field(u, du, p, dim, lanes):
    """Lorenz-63 on every lane: du[:3] = f(u[:3])."""
    sigma, rho, beta = p[0], p[1], p[2]
    for i in range(lanes):
        du[0, i], du[1, i], du[2, i] = lorenz63_rhs(u[0, i], u[1, i], u[2, i], sigma, rho, beta)


@outlined
def lorenz63_tangent(u, du, p, dim, lanes, off):
    """J(X)V = (σ(v − u), (ρ − z)u − v − xw, yu + xv − βw) with X = u[:3], V = u[off:off+3]."""
    sigma, rho, beta = p[0], p[1], p[2]
    for i in range(lanes):
        x, y, z = u[0, i], u[1, i], u[2, i]
        a, b, c = u[off, i], u[off + 1, i], u[off + 2, i]
        du[off, i] = sigma * (b - a)
        du[off + 1, i] = (rho - z) * a - b - x * c
        du[off + 2, i] = y * a + x * b - beta * c


@outlined
def lorenz96_field(u, du, p, dim, lanes):
    """Lorenz-96 on every lane: duᵢ = (uᵢ₊₁ − uᵢ₋₂) uᵢ₋₁ − uᵢ + F, indices cyclic mod dim."""
    forcing = p[0]
    for j in range(dim):
        jp1 = j + 1 if j + 1 < dim else j + 1 - dim
        jm1 = j - 1 if j >= 1 else j - 1 + dim
        jm2 = j - 2 if j >= 2 else j - 2 + dim
        for i in range(lanes):
            du[j, i] = (u[jp1, i] - u[jm2, i]) * u[jm1, i] - u[j, i] + forcing


@outlined
def lorenz96_tangent(u, du, p, dim, lanes, off):
    """J(X)V for Lorenz-96: (J V)ᵢ = (vᵢ₊₁ − vᵢ₋₂) xᵢ₋₁ + (xᵢ₊₁ − xᵢ₋₂) vᵢ₋₁ − vᵢ."""
    for j in range(dim):
        jp1 = j + 1 if j + 1 < dim else j + 1 - dim
        jm1 = j - 1 if j >= 1 else j - 1 + dim
        jm2 = j - 2 if j >= 2 else j - 2 + dim
        for i in range(lanes):
            du[off + j, i] = ((u[off + jp1, i] - u[off + jm2, i]) * u[jm1, i]
                              + (u[jp1, i] - u[jm2, i]) * u[off + jm1, i] - u[off + j, i])


@outlined
def lorenz63_joint(u, du, p, rows, lanes):
    """The state and every tangent vector stacked below it (rows 3(1+v) … of ``rows``): Ẋ = f(X), V̇ = J(X)V."""
    lorenz63_field(u, du, p, 3, lanes)
    for off in range(3, rows - 2, 3):
        lorenz63_tangent(u, du, p, 3, lanes, off)


@outlined
def lorenz96_joint(u, du, p, rows, lanes):
    """As :func:`lorenz63_joint`, for Lorenz-96 of dimension n = p[1] (p = (F, n))."""
    dim = int(p[1])
    lorenz96_field(u, du, p, dim, lanes)
    for off in range(dim, rows - dim + 1, dim):
        lorenz96_tangent(u, du, p, dim, lanes, off)


FIELDS = {"lorenz63": lorenz63_field, "lorenz96": lorenz96_field}
JOINT_FIELDS = {"lorenz63": lorenz63_joint, "lorenz96": lorenz96_joint}
