"""The axes of a live panel: kept while new runs fit in them, refitted when the data leave them.

Moving a knob (another seed, a slightly different step size) should not make the axes jump with every run,
and must not throw away a zoom the user made; but data that leave the axes, or shrink to a corner of them,
must be shown whole. So each panel remembers the axes it was last fitted to (``drawn_axes`` right after
HoloViews drew it), and after each new run ``fit`` compares the data's extent on the two axes with them:

- the data reach beyond them, or fill less than KEEP_FILL of an axis (``refit_needed``): that axis gets the
  data's extent padded by PADDING of its span on each side, as HoloViews pads (in decades on a log axis), an
  axis starting at 0 (bars, histograms) keeps its 0, and limits the view fixed (``xlim``/``ylim``) stay;
- otherwise the axes, zoomed or not, stay as they are.

The new start and end are written into the Bokeh ranges: a HoloViews refit (``framewise``) recomputes every
layer's ranges for a few milliseconds per panel, and from a DynamicMap's stale ranges it did not move the
axes at all in HoloViews 1.23 (a marginal's y axis kept the first run's height).

The data's extent is combined as HoloViews combines it, with its range helpers and plot ids, which are outside
its public API (explorer.library_internals).
"""
from __future__ import annotations

import math
import numbers
import threading
from collections import OrderedDict

import holoviews as hv
import numpy as np

from explorer.library_internals import combined_range, dimension_extent, plot_id, plot_models

PADDING = 0.1     # HoloViews' default padding: this fraction of the span on each side
KEEP_FILL = 0.5   # data filling less than this fraction of an axis refit it
AXES = ("x_range", "y_range")


def numeric(*values) -> bool:
    return all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in values)


def data_extent(element) -> tuple:
    """The data's (low, high) on ``element``'s axes: its first two dimensions, x then y; what ``element.range``
    gives, with a static layer's range computed once (``layer_range``)."""
    layers = list(element.values()) if isinstance(element, hv.Overlay) else [element]
    extent = []
    for dimension in element.dimensions()[:2]:
        name = dimension.name
        ranges = [layer_range(layer, name) for layer in layers if name in layer.kdims + layer.vdims]
        low, high = combined_range(ranges) if ranges else (np.nan, np.nan)
        extent.append(dimension_extent(low, high, dimension.range, dimension.soft_range))
    return tuple(extent)


_ranges: OrderedDict = OrderedDict()  # (plot id, dimension name) -> (the data, its range), for clones only
_ranges_lock = threading.Lock()
RANGES_KEPT = 64


def layer_range(layer, name: str) -> tuple:
    """``layer.range(name)``, remembered for a clone drawn again with the same data (a static density).

    Only clones are remembered: a clone carries its original's plot id and shares its data. A fresh element's
    plot id is its own address, which a later element may reuse, so its range is always computed; and the
    data are checked by identity (the entry holds them, so no other data can take their place)."""
    key = (plot_id(layer), name)
    shared = key[0] != id(layer)
    if shared:
        with _ranges_lock:
            entry = _ranges.get(key)
            if entry is not None and entry[0] is layer.data:
                _ranges.move_to_end(key)
                return entry[1]
    value = layer.range(name)
    if shared:
        with _ranges_lock:
            _ranges[key] = (layer.data, value)
            while len(_ranges) > RANGES_KEPT:
                _ranges.popitem(last=False)
    return value


def drawn_axes(plot, fallback: tuple) -> tuple:
    """(start, end) of ``plot``'s x and y ranges as drawn (padding and fixed limits included); ``fallback``'s
    entry for an axis that is not numeric (categories) or not drawn yet."""
    axes = []
    for key, data_range in zip(AXES, fallback):
        axis = plot_models(plot).get(key) if plot is not None else None
        start, end = getattr(axis, "start", None), getattr(axis, "end", None)
        axes.append((min(start, end), max(start, end)) if numeric(start, end) and start != end else data_range)
    return tuple(axes)


def refit_needed(fitted: tuple | None, new: tuple) -> bool:
    """Whether axes spanning ``fitted`` must refit to show data of extent ``new`` (see the module doc);
    categorical axes refit when their categories differ. Data without extent (none, or one value) refit
    only when they lie outside."""
    if fitted is None or len(fitted) != len(new):
        return True
    return any(axis_refit_needed(a, b) for a, b in zip(fitted, new))


def axis_refit_needed(fitted: tuple, new: tuple) -> bool:
    (a0, a1), (b0, b1) = fitted, new
    if numeric(b0, b1):
        if not numeric(a0, a1):
            return True
        a0, a1, b0, b1 = float(a0), float(a1), float(b0), float(b1)
        return b0 < a0 or b1 > a1 or (b1 > b0 and (b1 - b0) < KEEP_FILL * (a1 - a0))
    if all(v is None or (isinstance(v, float) and v != v) for v in (b0, b1)):
        return False  # no data on this axis: nothing to show, nothing to fit
    return (a0, a1) != (b0, b1)  # categories


def fixed_limits(element) -> tuple:
    """(xlim, ylim) set on the element or its layers (None where none is set)."""
    limits = [None, None]
    for layer in [element, *(element.values() if isinstance(element, hv.Overlay) else [])]:
        options = hv.Store.lookup_options("bokeh", layer, "plot").kwargs
        for i, name in enumerate(("xlim", "ylim")):
            if limits[i] is None and options.get(name) is not None:
                limits[i] = options[name]
    return tuple(limits)


def padded(low: float, high: float, fitted: tuple, log: bool, limit) -> tuple:
    """The new (start, end) of one axis for data in [low, high] (see the module doc)."""
    if log and low > 0:
        lo, hi = math.log10(low), math.log10(high)
        pad = PADDING * (hi - lo) if hi > lo else 0.5
        start, end = 10 ** (lo - pad), 10 ** (hi + pad)
    else:
        pad = PADDING * (high - low) if high > low else max(abs(high), 1.0) * PADDING
        start, end = low - pad, high + pad
        if fitted[0] == 0 and low >= 0:
            start = 0.0  # a baseline (bars, histograms, densities) stays at 0
    if limit is not None:
        start = limit[0] if limit[0] is not None and numeric(limit[0]) else start
        end = limit[1] if limit[1] is not None and numeric(limit[1]) else end
    return start, end


def fit(plot, element, fitted: tuple, data: tuple | None = None) -> tuple | None:
    """Refit ``plot``'s numeric axes where ``element``'s data (of extent ``data``, computed if not given) need
    it; returns the axes now fitted, or None where a categorical axis changed its categories (the panel must be
    drawn anew)."""
    data = data_extent(element) if data is None else data
    if not refit_needed(fitted, data):
        return fitted
    limits = fixed_limits(element)
    figure = plot_models(plot).get("plot")
    axes = list(fitted)
    for i, key in enumerate(AXES):
        if i >= len(data) or not axis_refit_needed(fitted[i], data[i]):
            continue
        low, high = data[i]
        if not numeric(low, high):
            return None  # other categories
        axis = plot_models(plot).get(key)
        if not numeric(getattr(axis, "start", None), getattr(axis, "end", None)):
            continue
        scale = getattr(figure, f"{key[0]}_scale", None)
        start, end = padded(float(low), float(high), fitted[i], type(scale).__name__ == "LogScale", limits[i])
        if axis.start > axis.end:  # an inverted axis stays inverted
            start, end = end, start
        axis.update(start=start, end=end)
        axes[i] = (min(start, end), max(start, end))
    return tuple(axes)
