"""Legends do not cover the data (issue 16 item 5: Lorenz's "spread grows …" and "error against lead time"
legends sat on their curves).

For every panel of every scene at small sizes, a legend drawn inside the axes (Bokeh's default, top right)
must sit where few of the panel's points are; a legend outside the axes (right, left, top, bottom) covers
nothing. The legend's box is taken as a generous LEGEND_WIDTH of the axes across and LEGEND_ROW of their height
per entry, in its corner of the axes as drawn (the panel's xlim/ylim where it sets them, else the data's
extent; log10 on a log axis).
"""
from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest

from scenes import SCENES
from tests.test_stages import SMALL

OUTSIDE = {"right", "left", "top", "bottom"}
MOST_COVERED = 0.05   # largest share of a panel's points under its legend
LEGEND_WIDTH = 0.45   # of the axes' width (Bokeh's legend at this app's 370 px plots: 0.3 to 0.4)
LEGEND_ROW = 0.09     # of the axes' height per entry (measured: 0.07 to 0.08), plus one row of padding
MARKED = (hv.Curve, hv.Scatter, hv.Points, hv.Histogram)  # layers whose points a legend could hide (bars: their tops)
LINES = (hv.Curve, hv.Histogram)  # a line or a bar under the legend is hidden where it passes: none may


def plot_options(element) -> dict:
    return hv.Store.lookup_options("bokeh", element, "plot").kwargs


def legend_entries(element) -> list:
    """The labelled point layers of an overlay: those its legend lists."""
    if not isinstance(element, hv.Overlay):
        return []
    return [layer for layer in element if isinstance(layer, MARKED) and layer.label]


def points(element, kinds=MARKED) -> np.ndarray:
    """(x, y) of every layer of the overlay of one of ``kinds``, finite only."""
    xy = np.concatenate([np.column_stack([layer.dimension_values(0), layer.dimension_values(1)]).astype(float)
                         for layer in element if isinstance(layer, kinds) and len(layer)] or [np.zeros((0, 2))])
    return xy[np.isfinite(xy).all(axis=1)]


def share_in_corner(xy: np.ndarray, corner: str, entries: int, xlim, ylim, logx: bool, logy: bool) -> float:
    """The share of the points inside the axes that lie under a legend of ``entries`` rows in ``corner``."""
    def scaled(values, limits, log):
        values, limits = np.asarray(values, float), np.asarray(limits, float)
        if log:
            values, limits = np.log10(np.maximum(values, 1e-300)), np.log10(np.maximum(limits, 1e-300))
        return values, limits
    x, (x0, x1) = scaled(xy[:, 0], xlim, logx)
    y, (y0, y1) = scaled(xy[:, 1], ylim, logy)
    inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    if not inside.any():
        return 0.0
    u, v = (x - x0) / max(x1 - x0, 1e-300), (y - y0) / max(y1 - y0, 1e-300)  # 0 to 1 across the axes
    height = LEGEND_ROW * (entries + 1)
    vertical, horizontal = corner.split("_")
    in_corner = ((v > 1 - height) if vertical == "top" else (v < height)) & \
                ((u > 1 - LEGEND_WIDTH) if horizontal == "right" else (u < LEGEND_WIDTH))
    return float((inside & in_corner).sum() / inside.sum())


def limits(options: dict, name: str, values: np.ndarray):
    given = options.get(name)
    low, high = (given if given is not None else (None, None))
    return (np.min(values) if low is None else low, np.max(values) if high is None else high)


@pytest.fixture(scope="module", params=list(SMALL))
def scene_result(request):
    scene = SCENES[request.param](**SMALL[request.param])
    return scene, scene.run()


def test_no_legend_sits_on_the_data(scene_result):
    scene, result = scene_result
    shown, last = scene.panels_shown(result), len(result.times) - 1
    covered = []
    for title, view in scene.panels():
        element = view(result, last)
        if title not in shown or len(legend_entries(element)) < 2:
            continue  # no legend drawn
        options = plot_options(element)
        corner = options.get("legend_position", "top_right")
        xy = points(element)
        if corner in OUTSIDE or not len(xy):
            continue
        axes = (limits(options, "xlim", xy[:, 0]), limits(options, "ylim", xy[:, 1]),
                options.get("logx", False), options.get("logy", False))
        entries = len(legend_entries(element))
        share = share_in_corner(xy, corner, entries, *axes)
        lines = points(element, LINES)
        on_lines = share_in_corner(lines, corner, entries, *axes) if len(lines) else 0.0
        if share > MOST_COVERED or on_lines > 0:
            covered.append(f"{title}: legend at {corner} over {share:.1%} of the points, {on_lines:.1%} of the lines")

    assert not covered, covered


def test_the_corner_rule_sees_a_legend_on_its_curve():
    """The judge itself: a curve rising to the top right is covered by a top-right legend, not a bottom-right one."""
    xy = np.column_stack([np.linspace(0, 1, 50), np.exp(np.linspace(-5, 2, 50))])
    args = (2, (0, 1), (xy[:, 1].min(), xy[:, 1].max()), False, True)
    assert share_in_corner(xy, "top_right", *args) > 0.1
    assert share_in_corner(xy, "bottom_right", *args) == 0.0
