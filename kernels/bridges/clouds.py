"""Endpoint clouds for the bridges: named 2D point clouds, deterministic given (name, n, seed).

``gauss`` is N(mean, cov) for any mean and covariance; the Gaussian mixtures of :mod:`kernels.targets`
(``ring8``, ``asym2``, …) are drawn exactly with their own ``sample``; the rest are the usual toy
shapes of the flow/bridge literature (FFJORD, Grathwohl et al. 2019; torchcfm): ``moons``,
``8gaussians``, ``swiss_roll``, ``checkerboard``, ``rings``.
"""
from __future__ import annotations

import numpy as np

from kernels.targets import get_target

MIXTURES = ("ring8", "asym2", "grid25", "correlated")
SHAPES = ("moons", "8gaussians", "swiss_roll", "checkerboard", "rings")
CLOUDS = ("gauss", *MIXTURES, *SHAPES)


def sample_cloud(name: str, n: int, seed: int = 0, mean=(0.0, 0.0), cov=((1.0, 0.0), (0.0, 1.0))) -> np.ndarray:
    """(n, 2) float64 points of cloud ``name``; ``mean`` and ``cov`` apply to ``gauss`` only."""
    rng = np.random.default_rng(seed)
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
