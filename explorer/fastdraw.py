"""Redraw a panel by writing a new result's data straight into its Bokeh models (issue 8, many users).

HoloViews updates a DynamicMap's plot through ``update_frame``: for every layer it recomputes the ranges,
looks up and re-applies every option, runs the hooks and compares the glyphs, even when only the numbers
changed. On the Langevin page that was about 150 of the 200 ms a result took to draw, all of it on the
server's one event loop, which 20 sessions share.

``refresh(plot, element)`` is the short way for the common case, a new run drawn with the same look: when
``element`` has the layers, dimensions, labels and options of the element the plot shows, each layer's
data comes from its own HoloViews plot (``get_data``, the code a full update runs too) and replaces its
ColumnDataSource's; a span (HLine, VLine) gets its new location. A layer whose data did not change
(same plot id, e.g. ``scenes.layers.density_image``) is left alone. Anything else — another look, a layer
kind this does not know, an image whose colour range may move, option values computed from the data
(``dim`` transforms) — returns False before any model has changed, and the caller does the full update.
The axes are never touched: the caller takes the full update whenever the data's extent moved.
"""
from __future__ import annotations

import holoviews as hv
from holoviews.util.transform import dim

# Layers whose data is all in one ColumnDataSource, computed from the element alone by get_data
SOURCE_LAYERS = (hv.Points, hv.Scatter, hv.Curve, hv.Path, hv.Histogram, hv.Area, hv.Bars, hv.Segments,
                 hv.Labels, hv.VectorField, hv.Spread)
SPAN_LAYERS = (hv.HLine, hv.VLine)
OPTION_GROUPS = ("plot", "style")  # not "norm": framewise and axiswise only decide the axes, never touched here


def options(element) -> tuple:
    """The element's bokeh options, as dictionaries per group (what a plot of it is made from)."""
    return tuple(hv.Store.lookup_options("bokeh", element, group).kwargs for group in OPTION_GROUPS)


def same_look(drawn, new) -> bool:
    """Whether ``new`` would be drawn exactly like ``drawn`` apart from its data."""
    if type(drawn) is not type(new) or (drawn.group, drawn.label) != (new.group, new.label):
        return False
    try:
        return drawn.dimensions() == new.dimensions() and bool(options(drawn) == options(new))
    except (TypeError, ValueError):  # an option holding an array: not comparable, so not known to be the same
        return False


def layer_plots(plot, element) -> list | None:
    """(layer plot, new layer) pairs, or None where the plot's layers do not match the element's."""
    if not isinstance(element, hv.Overlay):
        return [(plot, element)]
    subplots = list(getattr(plot, "subplots", {}).values())
    layers = list(element)
    return list(zip(subplots, layers)) if len(subplots) == len(layers) else None


def new_data(layer_plot, layer):
    """What replaces the layer's drawn data: None (unchanged), ("location", value) or ("source", dict);
    raises LookupError where this layer cannot be redrawn the short way."""
    drawn = layer_plot.current_frame
    if drawn is None or not same_look(drawn, layer):
        raise LookupError("another look")
    if layer._plot_id == drawn._plot_id:
        return None  # the same data (a clone of a static layer)
    if isinstance(layer, SPAN_LAYERS):
        if "glyph" not in layer_plot.handles:
            raise LookupError("no span model")
        return "location", float(layer.data)
    if not isinstance(layer, SOURCE_LAYERS) or "source" not in layer_plot.handles:
        raise LookupError(f"{type(layer).__name__} is redrawn by HoloViews")
    style = dict(layer_plot.style[layer_plot.cyclic_index])
    if any(isinstance(value, dim) for value in style.values()):
        raise LookupError("a style computed from the data")
    layer_plot.static_source = False
    data, _, _ = layer_plot.get_data(layer, layer_plot.current_ranges, style)
    return "source", layer_plot._postprocess_data(data)


def refresh(plot, element) -> bool:
    """Put ``element``'s data into the Bokeh models of ``plot`` (a HoloViews bokeh plot showing an element
    of the same look); False, with nothing changed, where a full HoloViews update is needed."""
    drawn = getattr(plot, "current_frame", None)
    pairs = layer_plots(plot, element)
    if drawn is None or pairs is None or not same_look(drawn, element):
        return False
    try:
        updates = [(layer_plot, layer, new_data(layer_plot, layer)) for layer_plot, layer in pairs]
    except LookupError:
        return False
    for layer_plot, layer, update in updates:  # every layer computed first: a panel is redrawn whole or not at all
        if update is not None:
            kind, value = update
            if kind == "location":
                layer_plot.handles["glyph"].location = value
            else:
                layer_plot.handles["source"].data = value
        layer_plot.current_frame = layer
        layer_plot.handles["previous_id"] = layer._plot_id
    plot.current_frame = element
    return True
