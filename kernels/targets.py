"""2D target densities π ∝ exp(−U): Gaussian mixtures and four classic shapes.

One device function, :func:`potential`, returns U and ∇U for every target; the kind is an integer so
the same compiled sampler serves them all. Host-side, :class:`Target` carries the arrays the kernels
need plus the plot box, exact samples (closed form, or rejection sampling inside the box) and a
normalised density grid for contours and metrics.

The classic shapes (parameters in ``params``):
- ``banana``: x ~ N(0, a²), y | x ~ N(b(x² − a²), 1) (a twisted Gaussian, Haario et al. 1999).
- ``donut``: U = (r − r₀)² / (2s²), r = ‖(x, y)‖.
- ``funnel``: Neal's funnel (2003): v ~ N(0, 3²) on the vertical axis, x | v ~ N(0, eᵛ).
- ``double_well``: U = a(x² − 1)² + y²/2; two modes of equal weight at x = ±1.
- ``custom``: a potential typed as a formula (:func:`custom_target`, :mod:`kernels.formula`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numba
import numpy as np

from kernels.compile import device, kernel
from kernels.formula import FormulaError, compile_formula
from kernels.formula_eval import formula_potential
from kernels.mixture import (mixture_as_potential, mixture_log_terms_argmax, mixture_potential, pack_mixture,
                             sample_mixture)

MIXTURE, BANANA, DONUT, FUNNEL, DOUBLE_WELL, CUSTOM = 0, 1, 2, 3, 4, 5
EDGE_DENSITY_LIMIT = 1e-3  # a custom density must fall below this fraction of its peak on the box edge


@device
def potential(x, y, kind, params, mix, noise_var):
    """(U, ∂U/∂x, ∂U/∂y) at (x, y) for target ``kind``; ``noise_var`` only applies to mixtures."""
    if kind == MIXTURE:
        return mixture_potential(x, y, mix, noise_var)
    if kind == BANANA:
        a = params[0]
        b = params[1]
        r = y - b * (x * x - a * a)
        return 0.5 * x * x / (a * a) + 0.5 * r * r, x / (a * a) - 2.0 * b * x * r, r
    if kind == DONUT:
        r0 = params[0]
        s2 = params[1] * params[1]
        r = math.sqrt(x * x + y * y) + 1e-300
        d = (r - r0) / s2
        return 0.5 * (r - r0) * d, d * x / r, d * y / r
    if kind == CUSTOM:  # a typed formula; params holds its compiled programs
        return formula_potential(x, y, params)
    if kind == FUNNEL:
        sv2 = params[0] * params[0]
        e = math.exp(-y)
        return 0.5 * y * y / sv2 + 0.5 * x * x * e + 0.5 * y, x * e, y / sv2 - 0.5 * x * x * e + 0.5
    # DOUBLE_WELL
    a = params[0]
    q = x * x - 1.0
    return a * q * q + 0.5 * y * y, 4.0 * a * x * q, y


@kernel
def potential_many(points, kind, params, mix, noise_var, out):
    """out[i] = U(points[i]) for every row, in parallel."""
    for i in numba.prange(points.shape[0]):
        out[i] = potential(points[i, 0], points[i, 1], kind, params, mix, noise_var)[0]


@kernel
def mode_many(points, mix, out):
    """out[i] = the mixture component with the largest responsibility at points[i]."""
    for i in numba.prange(points.shape[0]):
        out[i] = mixture_log_terms_argmax(points[i, 0], points[i, 1], mix)


@dataclass(frozen=True)
class Target:
    """A 2D target: what the kernels need (kind, params, mix) and what the views and metrics need."""

    name: str
    kind: int
    params: np.ndarray
    mix: np.ndarray
    box: tuple  # (xmin, xmax, ymin, ymax): the plotted region, holding all but a negligible mass
    label: str = ""
    _grid_cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_mixture(self) -> bool:
        return self.kind == MIXTURE

    @property
    def n_modes(self) -> int:
        """Components of a mixture, 2 for the double well, 0 where modes are not defined."""
        return len(self.mix) if self.is_mixture else (2 if self.kind == DOUBLE_WELL else 0)

    @property
    def mode_weights(self) -> np.ndarray:
        if self.is_mixture:
            return np.exp(self.mix[:, 0])
        return np.full(self.n_modes, 1.0 / max(self.n_modes, 1))

    def potential(self, points: np.ndarray, noise_var: float = 0.0) -> np.ndarray:
        """U at each row of ``points`` (n, 2), compiled, in parallel. A mixture's kernel is compiled with
        ``potential`` rebound to the mixture's alone: it compiles in a third of the time (0.9 s against 2.8,
        most of it the typed formula's branch), and a scene on a mixture draws its first density sooner."""
        points = np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 2)
        out = np.empty(len(points))
        compiled = (potential_many.compile("cpu", potential=mixture_as_potential) if self.is_mixture
                    else potential_many.compile("cpu"))
        compiled(points, self.kind, self.params, self.mix, noise_var, out)
        return out

    def grid(self, resolution: int = 120):
        """Cell centres xs (R,), ys (R,) and the density normalised over the box, shape (R, R) [y, x]."""
        if resolution not in self._grid_cache:
            xmin, xmax, ymin, ymax = self.box
            xs = np.linspace(xmin, xmax, resolution + 1)
            ys = np.linspace(ymin, ymax, resolution + 1)
            xs, ys = 0.5 * (xs[1:] + xs[:-1]), 0.5 * (ys[1:] + ys[:-1])
            gx, gy = np.meshgrid(xs, ys)
            u = self.potential(np.stack([gx.ravel(), gy.ravel()], axis=1)).reshape(gx.shape)
            density = np.exp(-(u - u.min()))
            cell = (xs[1] - xs[0]) * (ys[1] - ys[0])
            self._grid_cache[resolution] = (xs, ys, density / (density.sum() * cell))
        return self._grid_cache[resolution]

    def mode_of(self, points: np.ndarray) -> np.ndarray:
        """The mode each point belongs to (largest responsibility; the sign of x for the double well)."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if self.is_mixture:
            out = np.empty(len(points), dtype=np.int64)
            mode_many.compile("cpu")(np.ascontiguousarray(points), self.mix, out)
            return out
        if self.kind == DOUBLE_WELL:
            return (points[:, 0] > 0).astype(np.int64)
        raise ValueError(f"target {self.name!r} has no modes")

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """n exact draws: closed form where there is one, otherwise rejection sampling in the box."""
        rng = np.random.default_rng(seed)
        if self.is_mixture:
            return sample_mixture(self.mix, n, rng)
        if self.kind == BANANA:
            a, b = self.params[:2]
            x = a * rng.standard_normal(n)
            return np.stack([x, b * (x * x - a * a) + rng.standard_normal(n)], axis=1)
        if self.kind == FUNNEL:
            v = self.params[0] * rng.standard_normal(n)
            return np.stack([np.exp(0.5 * v) * rng.standard_normal(n), v], axis=1)
        return self._rejection_sample(n, rng)

    def _rejection_sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Uniform proposals in the box accepted with probability exp(−(U − U_min)); exact in the box."""
        xmin, xmax, ymin, ymax = self.box
        gx, gy = np.meshgrid(np.linspace(xmin, xmax, 401), np.linspace(ymin, ymax, 401))
        # the grid can miss the exact minimum by a little; a floor 0.05 lower keeps every ratio ≤ 1
        u_floor = self.potential(np.stack([gx.ravel(), gy.ravel()], axis=1)).min() - 0.05
        accepted, total = [], 0
        while total < n:
            proposals = rng.uniform((xmin, ymin), (xmax, ymax), size=(4 * n, 2))
            keep = rng.random(4 * n) < np.exp(-(self.potential(proposals) - u_floor))
            accepted.append(proposals[keep])
            total += int(keep.sum())
        return np.concatenate(accepted)[:n]


def _mixture(name, weights, means, covariances, box, label):
    return Target(name, MIXTURE, np.zeros(2), pack_mixture(weights, means, covariances), box, label)


def _shape(name, kind, params, box, label):
    return Target(name, kind, np.asarray(params, dtype=float), np.zeros((1, 10)), box, label)


def ring_of_modes(k: int, radius: float, variance: float, box: tuple | None = None, name: str = "") -> Target:
    """K equal-weight modes N(μ_j, variance·I), μ_j = radius·(cos 2πj/K, sin 2πj/K); the box reaches four
    standard deviations past the ring unless given."""
    angles = 2 * np.pi * np.arange(k) / k
    means = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    half = radius + 4 * np.sqrt(variance)
    return _mixture(name or f"ring{k}", np.ones(k), means, np.tile(variance * np.eye(2), (k, 1, 1)),
                    box or (-half, half, -half, half),
                    f"{k} equal modes on a circle of radius {radius:g}, variance {variance:g}")


def _grid25():
    centres = np.array([(x, y) for y in range(-4, 5, 2) for x in range(-4, 5, 2)], dtype=float)
    return _mixture("grid25", np.ones(25), centres, np.tile(0.1 * np.eye(2), (25, 1, 1)), (-6, 6, -6, 6),
                    "5×5 grid of equal modes, spacing 2, variance 0.1")


TARGETS = {
    "gauss": _mixture("gauss", [1.0], [[0.0, 0.0]], [np.eye(2)], (-4.5, 4.5, -4.5, 4.5),
                      "standard normal"),
    "correlated": _mixture("correlated", [1.0], [[0.0, 0.0]], [[[1.0, 0.9], [0.9, 1.0]]],
                           (-4.5, 4.5, -4.5, 4.5), "unit variances, correlation 0.9"),
    "ring8": ring_of_modes(8, 4.0, 0.3, (-6, 6, -6, 6), "ring8"),
    "grid25": _grid25(),
    "asym2": _mixture("asym2", [0.8, 0.2], [[-5.0, -5.0], [5.0, 5.0]], [np.eye(2), np.eye(2)],
                      (-9, 9, -9, 9), "weights 0.8 / 0.2, means ±(5, 5), unit variance"),
    "banana": _shape("banana", BANANA, [2.0, 0.25], (-8, 8, -4, 12),
                     "x ~ N(0, 4), y | x ~ N(0.25(x² − 4), 1)"),
    "donut": _shape("donut", DONUT, [3.0, 0.4], (-5, 5, -5, 5), "U = (r − 3)² / (2·0.4²)"),
    "funnel": _shape("funnel", FUNNEL, [3.0], (-12, 12, -10, 10), "Neal's funnel: v ~ N(0, 9), x | v ~ N(0, eᵛ)"),
    "double_well": _shape("double_well", DOUBLE_WELL, [5.0], (-2.5, 2.5, -4.5, 4.5),
                          "U = 5(x² − 1)² + y²/2"),
}


def custom_target(formula: str, half_width: float = 3.0) -> Target:
    """The target exp(−U) for a typed U(x, y) on the box [−w, w]², checked to be normalisable there.

    Refused (FormulaError) when the text is not an allowed formula, when U is nowhere finite on the box,
    or when exp(−U) has not fallen below EDGE_DENSITY_LIMIT of its peak at the box edge.
    """
    program = compile_formula(formula)
    target = Target("custom", CUSTOM, program, np.zeros((1, 10)), (-half_width, half_width, -half_width, half_width),
                    label=f"U = {formula}")
    xs = np.linspace(-half_width, half_width, 121)
    gx, gy = np.meshgrid(xs, xs)
    u = target.potential(np.stack([gx.ravel(), gy.ravel()], axis=1)).reshape(gx.shape)
    finite = np.isfinite(u)
    if not finite.any() or np.isnan(u).all():
        raise FormulaError("U is not finite anywhere on the plotted box")
    if np.any(np.isneginf(u)) or np.any(np.isnan(u)):
        raise FormulaError("U is −∞ or undefined (NaN) somewhere on the plotted box: exp(−U) is not a density there")
    density = np.exp(-(u - u.min()))
    edge = max(density[0].max(), density[-1].max(), density[:, 0].max(), density[:, -1].max())
    if edge > EDGE_DENSITY_LIMIT:
        raise FormulaError(f"exp(−U) is not normalisable on the plotted box: at the edge it is still "
                           f"{edge:.2g} of its peak; make U grow faster or widen the box (half width {half_width:g})")
    return target


DRAWN_KEPT = 256  # drawn targets remembered by name (the oldest is forgotten first)
_drawn_targets: dict[str, Target] = {}


def remember_drawn(target: Target) -> Target:
    """Make a drawn target (kernels.drawn) findable by its name, as the caches keyed by a name look it up."""
    _drawn_targets.pop(target.name, None)
    _drawn_targets[target.name] = target
    while len(_drawn_targets) > DRAWN_KEPT:
        _drawn_targets.pop(next(iter(_drawn_targets)))
    return target


def get_target(name: str) -> Target:
    """The named target (or a drawn one, by the name kernels.drawn gave it); an unknown name is refused with
    the list of known ones."""
    try:
        return TARGETS[name] if name in TARGETS else _drawn_targets[name]
    except KeyError:
        raise ValueError(f"unknown target {name!r}; known targets: {', '.join(TARGETS)}") from None
