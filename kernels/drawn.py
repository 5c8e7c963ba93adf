"""A target drawn by hand: strokes and dots on a canvas become a Gaussian mixture, so every exact answer
(log-density, score, exact samples, the noised score p_t = Σ w_k N(a μ_k, (a² w² + s²) I), the reference
floors of the diagnostics) stays exact.

Placement along the strokes, weighted by the ink: a stroke of arc length L_i gets n_i components at the
midpoints of n_i equal arc-length pieces, each of weight L_i / n_i; a dot (a stroke shorter than one
width) gets one component of weight w. The pieces are one width long, or longer when that would need
more than :data:`MAX_COMPONENTS` components (the piece length is then the smallest that fits). Every
component is N(μ_k, w² I) with w the width knob, so the drawn density is

    π(x) = Σ_k ω_k N(x; μ_k, w² I),   ω_k ∝ ink of piece k.

For a straight stroke from a to b cut in n pieces this has mean (a + b)/2 and variance along the stroke
L²(1 − 1/n²)/12 + w², against the uniform ink's L²/12 + w² blurred by the same width.

The drawing is state: :func:`encode` writes the components, not the pixels ("x,y,ink;…", x and y to
0.01, the ink to three significant digits), and :func:`decode` reads that text back, refusing anything that is
not such a list (nothing typed is evaluated).
"""
from __future__ import annotations

import hashlib
import math
import re
from functools import lru_cache

import numpy as np

from kernels.mixture import pack_mixture
from kernels.targets import MIXTURE, Target, remember_drawn

MAX_COMPONENTS = 64
MAX_POINTS = 20_000            # points over all strokes (a freehand stroke sends one per mouse move)
CANVAS = (-5.0, 5.0)           # the drawing square [−5, 5]², in the plots' units
WIDTH_BOUNDS = (0.1, 1.5)
MAX_TEXT = MAX_COMPONENTS * 24  # characters of an encoded drawing ("-4.99,-4.99,0.0123;" is 19)
_NUMBER = r"-?\d+(?:\.\d+)?(?:e-?\d+)?"
_COMPONENT = re.compile(rf"^({_NUMBER}),({_NUMBER}),({_NUMBER})$")


class DrawingError(ValueError):
    """A drawing that cannot become a target: the message says what to change."""


def components(strokes, width: float, budget: int = MAX_COMPONENTS) -> tuple[np.ndarray, np.ndarray]:
    """Means (K, 2) and ink (K,) (the weights before normalising) of the mixture drawn by ``strokes``
    (module doc), with K ≤ ``budget``.

    ``strokes`` is a sequence of point lists, each (m, 2) in canvas units; a list of one point is a dot.
    """
    check_width(width)
    strokes = [np.asarray(stroke, dtype=float).reshape(-1, 2) for stroke in strokes]
    strokes = [stroke for stroke in strokes if len(stroke)]
    if not strokes:
        raise DrawingError("the drawing is empty: draw a stroke or a dot on the canvas")
    if len(strokes) > budget:
        raise DrawingError(f"{len(strokes)} strokes and dots, with room for {budget} more components of the "
                           f"{MAX_COMPONENTS} a drawing may have (each stroke or dot needs one): clear the canvas "
                           f"and draw fewer")
    total_points = sum(len(stroke) for stroke in strokes)
    if total_points > MAX_POINTS:
        raise DrawingError(f"{total_points} points in the drawing: at most {MAX_POINTS}; draw fewer or shorter strokes")
    everything = np.concatenate(strokes)
    if not np.all(np.isfinite(everything)):
        raise DrawingError("the drawing has a point that is not a finite number")
    outside = int(np.sum(np.any((everything < CANVAS[0]) | (everything > CANVAS[1]), axis=1)))
    if outside:
        raise DrawingError(f"{outside} of {total_points} drawn points lie outside the canvas "
                           f"[{CANVAS[0]:g}, {CANVAS[1]:g}]²: draw inside it")
    lengths = np.array([arc_lengths(stroke)[-1] for stroke in strokes])
    counts = piece_counts(lengths, width, budget)
    means, weights = [], []
    for stroke, length, count in zip(strokes, lengths, counts):
        if length < width:  # a dot (or a stroke shorter than one width): one component at its centre
            means.append(stroke.mean(axis=0)[None])
            weights.append([width])
        else:
            means.append(along(stroke, (np.arange(count) + 0.5) / count))
            weights.append(np.full(count, length / count))
    return np.concatenate(means), np.concatenate(weights)


def arc_lengths(stroke: np.ndarray) -> np.ndarray:
    """Cumulative arc length at each point of a stroke, starting at 0."""
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(stroke, axis=0).T))])


def along(stroke: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """The points at the given fractions of a stroke's arc length (linear between its points)."""
    s = arc_lengths(stroke)
    at = fractions * s[-1]
    return np.stack([np.interp(at, s, stroke[:, 0]), np.interp(at, s, stroke[:, 1])], axis=1)


def piece_counts(lengths: np.ndarray, width: float, budget: int = MAX_COMPONENTS) -> np.ndarray:
    """Components per stroke: one per width of arc length (at least one), with the piece length grown
    (bisection) until the total is at most ``budget`` (at least one per stroke)."""
    def counts(piece):
        return np.maximum(1, np.round(lengths / piece)).astype(int)

    if counts(width).sum() <= budget:
        return counts(width)
    low, high = width, max(float(lengths.max()), width) * 2
    for _ in range(60):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if counts(middle).sum() > budget else (low, middle)
    return counts(high)


def check_width(width: float) -> None:
    if not (WIDTH_BOUNDS[0] <= width <= WIDTH_BOUNDS[1]):
        raise DrawingError(f"the drawing's width {width:g} is outside [{WIDTH_BOUNDS[0]:g}, {WIDTH_BOUNDS[1]:g}]")


def encode(means: np.ndarray, weights: np.ndarray) -> str:
    """The components as text, "x,y,ink;…" (module doc); the text :func:`decode` reads back. The ink is
    kept unnormalised, so strokes drawn later add to a drawing in proportion to their length."""
    return ";".join(f"{x:.2f},{y:.2f},{w:.3g}" for (x, y), w in zip(np.round(means, 2) + 0.0, weights))


def decode(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Means (K, 2) and ink (K,) from the text :func:`encode` writes; anything else is refused with a
    message naming the first bad part."""
    text = str(text)
    if len(text) > MAX_TEXT:
        raise DrawingError(f"the drawing's text is {len(text)} characters: at most {MAX_TEXT} "
                           f"({MAX_COMPONENTS} components)")
    parts = [part.strip() for part in text.strip().split(";") if part.strip()]
    if not parts:
        raise DrawingError("the drawing is empty: draw a stroke or a dot on the canvas")
    if len(parts) > MAX_COMPONENTS:
        raise DrawingError(f"the drawing has {len(parts)} components: at most {MAX_COMPONENTS}")
    rows = []
    for index, part in enumerate(parts, 1):
        found = _COMPONENT.match(part.replace(" ", ""))
        if not found:
            raise DrawingError(f"component {index} of the drawing, {part[:40]!r}, is not 'x,y,weight'")
        rows.append([float(value) for value in found.groups()])
    rows = np.array(rows)
    if np.any(rows[:, :2] < CANVAS[0]) or np.any(rows[:, :2] > CANVAS[1]):
        raise DrawingError(f"a component of the drawing lies outside the canvas [{CANVAS[0]:g}, {CANVAS[1]:g}]²")
    if np.any(rows[:, 2] <= 0) or not np.all(np.isfinite(rows[:, 2])):
        raise DrawingError("every component of the drawing needs a positive weight")
    return rows[:, :2], rows[:, 2]


def box(width: float) -> tuple:
    """The plotted box of a drawn target: the canvas and three widths around it (all but ~1e-3 of the mass)."""
    edge = CANVAS[1] + 3 * width
    return (-edge, edge, -edge, edge)


@lru_cache(maxsize=64)
def drawn_target(text: str, width: float):
    """The Target π(x) = Σ_k ω_k N(x; μ_k, w² I) of the drawing ``text`` (:func:`encode`) at width w.

    Its name carries a digest of the drawing, so the caches keyed by a target's name (metrics, views)
    tell two drawings apart, and kernels.targets.get_target finds it by that name."""
    check_width(width)
    means, weights = decode(text)
    mix = pack_mixture(weights, means, np.tile(width ** 2 * np.eye(2), (len(weights), 1, 1)))
    digest = hashlib.sha1(f"{text}|{width!r}".encode()).hexdigest()[:8]
    return remember_drawn(Target(f"drawn-{digest}", MIXTURE, np.zeros(2), mix, box(width),
                                 label=f"drawn: {len(weights)} components of width {width:g}"))


def _smiley() -> str:
    """The default drawing: two eyes and a smile."""
    t = np.linspace(math.pi * 1.15, math.pi * 1.85, 40)
    smile = np.stack([3.0 * np.cos(t), 0.5 + 3.0 * np.sin(t)], axis=1)
    return encode(*components([[(-1.6, 1.8)], [(1.6, 1.8)], smile], width=0.4))


def _wave() -> str:
    """A second drawing, for a bridge's other end: one sine stroke across the canvas."""
    x = np.linspace(-3.5, 3.5, 60)
    return encode(*components([np.stack([x, 1.5 * np.sin(1.2 * x)], axis=1)], width=0.4))


DEFAULT_DRAWING, WAVE_DRAWING = _smiley(), _wave()
