"""explorer.axes: a live panel's axes stay while new runs fit in them, and refit when the data leave them."""
from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest

from explorer.axes import data_extent, drawn_axes, fit, refit_needed
from explorer.library_internals import plot_id

hv.extension("bokeh", logo=False)


def test_refit_only_when_the_data_leave_the_axes_or_shrink_far_inside():
    axes = ((-1.0, 1.0), (0.0, 10.0))
    assert not refit_needed(axes, ((-0.9, 0.95), (0.5, 9.0)))     # another seed, inside the axes: they stay
    assert refit_needed(axes, ((-0.9, 1.2), (0.5, 9.0)))          # beyond the right edge
    assert refit_needed(axes, ((-0.9, 0.9), (0.0, 3.0)))          # fills under half of the y axis
    assert not refit_needed(axes, ((0.0, 0.0), (2.0, 2.0)))       # one point inside: nothing to widen
    assert not refit_needed(axes, ((np.nan, np.nan), (0.5, 9.0)))  # no data on x
    assert not refit_needed((("0", "7"), (0.0, 1.0)), (("0", "7"), (0.2, 0.9)))   # same categories
    assert refit_needed((("0", "7"), (0.0, 1.0)), (("0", "3"), (0.2, 0.9)))       # other categories
    assert refit_needed(None, axes)                                               # never fitted


def histogram(top: float, **options):
    edges = np.linspace(-3, 3, 11)
    return hv.Histogram((edges, np.linspace(0.1, top, 10)), kdims=["x"], vdims=["density"]).opts(**options)


def plot_of(element):
    return hv.renderer("bokeh").get_plot(element)


def test_a_taller_histogram_raises_the_y_axis_padded_and_keeps_its_baseline():
    plot = plot_of(histogram(1.0))
    fitted = drawn_axes(plot, data_extent(histogram(1.0)))
    assert fitted[1] == (0, pytest.approx(1.0 + 0.1 * 0.9))                  # HoloViews pads 10 % of the span too
    axes = fit(plot, histogram(2.0), fitted)
    y = plot.handles["y_range"]
    assert (y.start, y.end) == (0.0, pytest.approx(2.0 + 0.1 * (2.0 - 0.1)))  # data's span padded, 0 kept
    assert axes[1] == (y.start, y.end)
    assert axes[0] == fitted[0]                                                # x: same bins, untouched


def test_the_users_zoom_survives_data_that_fit_and_fixed_limits_stay():
    plot = plot_of(histogram(1.0))
    fitted = drawn_axes(plot, data_extent(histogram(1.0)))
    x = plot.handles["x_range"]
    x.start, x.end = -1.0, 1.0                               # the user zooms in
    assert fit(plot, histogram(0.9), fitted) == fitted       # another seed, same extent: nothing moves
    assert (x.start, x.end) == (-1.0, 1.0)
    fixed = plot_of(histogram(1.0, ylim=(0, 5)))
    fitted = drawn_axes(fixed, data_extent(histogram(1.0)))
    fit(fixed, histogram(8.0, ylim=(0, 5)), fitted)
    assert (fixed.handles["y_range"].start, fixed.handles["y_range"].end) == (0, 5)


def test_a_log_axis_is_padded_in_decades():
    xs = np.arange(1, 11.0)
    curve = hv.Curve((xs, 10.0 ** np.linspace(-2, 0, 10)), "step", "value").opts(logy=True)
    plot = plot_of(curve)
    fitted = drawn_axes(plot, data_extent(curve))
    taller = hv.Curve((xs, 10.0 ** np.linspace(-2, 2, 10)), "step", "value").opts(logy=True)
    fit(plot, taller, fitted)
    y = plot.handles["y_range"]
    assert np.log10(y.start) == pytest.approx(-2.4) and np.log10(y.end) == pytest.approx(2.4)


def test_other_categories_ask_for_a_new_drawing():
    bars = hv.Bars((["a", "b"], [1.0, 2.0]), "mode", "weight")
    plot = plot_of(bars)
    fitted = drawn_axes(plot, data_extent(bars))
    assert fit(plot, hv.Bars((["a", "b", "c"], [1.0, 2.0, 3.0]), "mode", "weight"), fitted) is None



@pytest.mark.parametrize("scene_name, sizes", [("langevin", {"n_particles": 300, "n_steps": 40}),
                                               ("lorenz", {"n_members": 100, "horizon": 3.0})])
def test_data_extent_is_holoviews_own_range_for_every_panel(scene_name, sizes):
    """The layer-wise, remembered extent equals element.range on the axes' dimensions, twice in a row."""
    from scenes import SCENES

    scene = SCENES[scene_name](**sizes)
    result = scene.run()
    for title, view in scene.panels():
        element = view(result, len(result.times) - 1)
        want = tuple(element.range(dim) for dim in element.dimensions()[:2])
        assert repr(data_extent(element)) == repr(want), title
        assert repr(data_extent(element)) == repr(want), title   # from the remembered layer ranges


def test_only_clones_have_their_ranges_remembered_and_only_with_their_own_data():
    from explorer import axes

    original = hv.Curve(([0.0, 1.0], [0.0, 2.0]), "x", "y")
    assert axes.layer_range(original, "y") == (0.0, 2.0)
    assert (plot_id(original), "y") not in axes._ranges            # a fresh element: its id may be reused
    clone = original.clone()
    assert axes.layer_range(clone, "y") == (0.0, 2.0) and (plot_id(clone), "y") in axes._ranges
    other = hv.Curve(([0.0, 1.0], [0.0, 5.0]), "x", "y", plot_id=plot_id(original))   # same id, other data
    assert axes.layer_range(other, "y") == (0.0, 5.0)
