"""Endpoint clouds for the bridges: named 2D point clouds, deterministic given (name, n, seed).

``gauss`` is N(mean, cov) for any mean and covariance; the Gaussian mixtures of :mod:`kernels.targets`
(``ring8``, ``asym2``, …) are drawn exactly with their own ``sample``; the rest are the usual toy
shapes of the flow/bridge literature (FFJORD, Grathwohl et al. 2019; torchcfm): ``moons``,
``8gaussians``, ``swiss_roll``, ``checkerboard``, ``rings``; ``custom`` is the density ∝ exp(−U) of a typed
formula U(x, y) (:func:`kernels.targets.custom_target`) on the box [−w, w]², drawn by :func:`sample_grid`;
``drawn`` is the Gaussian mixture drawn on a canvas (:mod:`kernels.drawn`), drawn exactly.
"""
from __future__ import annotations

import numpy as np

from functools import lru_cache

from kernels.drawn import DEFAULT_DRAWING, drawn_target
from kernels.targets import Target, custom_target, get_target

MIXTURES = ("ring8", "asym2", "grid25", "correlated")
SHAPES = ("moons", "8gaussians", "swiss_roll", "checkerboard", "rings")
CLOUDS = ("gauss", *MIXTURES, *SHAPES, "custom", "drawn")
GRID_CELLS = 512  # cells per side of the grid a custom density is drawn on


def sample_grid(target: Target, n: int, rng: np.random.Generator, cells: int = GRID_CELLS) -> np.ndarray:
    """n draws from exp(−U) on the target's box, piecewise constant on a cells × cells grid.

    A cell is picked with probability ∝ exp(−U(its centre)) (a multinomial draw), then a point uniform in
    it: exact for the density that is constant on each cell, so moments are off by O(h²) in the cell width
    h (midpoint rule). Time is bounded (cells² potential evaluations, cached per target) whatever U is,
    unlike rejection sampling, whose acceptance rate a sharply peaked U can drive to zero.
    """
    xs, ys, density = target.grid(cells)
    weights = density.ravel() / density.sum()
    picked = rng.choice(weights.size, size=n, p=weights)
    row, col = np.divmod(picked, cells)
    dx, dy = xs[1] - xs[0], ys[1] - ys[0]
    jitter = rng.random((n, 2)) - 0.5
    return np.stack([xs[col] + dx * jitter[:, 0], ys[row] + dy * jitter[:, 1]], axis=1)


@lru_cache(maxsize=16)
def formula_target(formula: str, half_width: float) -> Target:
    """The checked, compiled density of a typed U on [−w, w]² (FormulaError if refused); cached per text."""
    return custom_target(formula, half_width)


def sample_cloud(name: str, n: int, seed: int = 0, mean=(0.0, 0.0), cov=((1.0, 0.0), (0.0, 1.0)),
                 formula: str | None = None, half_width: float = 3.0, drawing: str | None = None,
                 width: float = 0.4) -> np.ndarray:
    """(n, 2) float64 points of cloud ``name``; ``mean`` and ``cov`` apply to ``gauss`` only, ``formula``
    (U(x, y), see :mod:`kernels.formula`) and ``half_width`` of its box to ``custom`` only, ``drawing``
    (:func:`kernels.drawn.encode`'s text) and its components' ``width`` to ``drawn`` only."""
    rng = np.random.default_rng(seed)
    if name == "drawn":  # no drawing given: the default one (the scene's knob always gives its own)
        return drawn_target(DEFAULT_DRAWING if drawing is None else drawing, float(width)).sample(n, seed=seed)
    if name == "custom":
        if formula is None:
            raise ValueError("the 'custom' cloud needs a formula U(x, y)")
        return sample_grid(formula_target(formula, float(half_width)), n, rng)
    if name == "gauss":
        cov = np.asarray(cov, dtype=float)
        if not (np.allclose(cov, cov.T) and np.linalg.eigvalsh(cov).min() > 0):
            raise ValueError(f"the covariance of 'gauss' must be symmetric positive definite, got {cov.tolist()}")
        return np.asarray(mean, float) + rng.standard_normal((n, 2)) @ np.linalg.cholesky(cov).T
    if name in MIXTURES:
        return get_target(name).sample(n, seed=seed)
    if name == "moons":
        upper = rng.random(n) < 0.5
        angle = np.pi * rng.random(n)
        x = np.where(upper, np.cos(angle), 1.0 - np.cos(angle))
        y = np.where(upper, np.sin(angle), 0.5 - np.sin(angle))
        points = np.stack([x, y], axis=1) + 0.08 * rng.standard_normal((n, 2))
        return 2.0 * (points - np.array([0.5, 0.25]))
    if name == "8gaussians":
        angles = 2 * np.pi * rng.integers(0, 8, n) / 8
        centres = 2.5 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        return centres + 0.25 * rng.standard_normal((n, 2))
    if name == "swiss_roll":
        turn = 1.5 * np.pi * (1 + 2 * rng.random(n))
        points = np.stack([turn * np.cos(turn), turn * np.sin(turn)], axis=1) / 5.0
        return points + 0.1 * rng.standard_normal((n, 2))
    if name == "checkerboard":
        x = 4 * rng.random(n) - 2
        y = rng.random(n) - rng.integers(0, 2, n) * 2.0
        y += np.floor(x) % 2
        return 1.5 * np.stack([x, y], axis=1)
    if name == "rings":
        radius = rng.choice([0.75, 1.5, 2.25, 3.0], size=n)
        angle = 2 * np.pi * rng.random(n)
        return (radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
                + 0.06 * rng.standard_normal((n, 2)))
    raise ValueError(f"unknown cloud {name!r}; known clouds: {', '.join(CLOUDS)}")
