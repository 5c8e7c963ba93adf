"""Redraw a panel by writing a new result's data straight into its Bokeh models (issue 8, many users).

HoloViews updates a DynamicMap's plot through ``update_frame``: for every layer it recomputes the ranges,
looks up and re-applies every option, runs the hooks and compares the glyphs, even when only the numbers
changed. On the Langevin page that was two thirds of the time a result took to draw (0.85 of 1.34 s over
three results, profiled), all of it on the server's one event loop, which every session of the process shares.

``refresh(plot, element)`` is the short way for the common case, a new run drawn with the same look: when
``element`` has the layers, dimensions, labels and options of the element the plot shows, each layer's
data comes from its own HoloViews plot (``get_data``, the code a full update runs too) and replaces its
ColumnDataSource's; a span (HLine, VLine) gets its new location; a title, axis label or limits that quote
the data (SETTABLE) are written into their Bokeh models. A layer whose data did not change (same plot id,
e.g. ``scenes.layers.density_image``) is left alone. Anything else — another look, a layer kind this does
not know, an image coloured otherwise than linearly over its range, option values computed from the data
(``dim`` transforms) — returns False before any model has changed, and the caller does the full update. The axes'
ranges are explorer.axes' job.

What is sent is kept small (issue 15): float64 columns go as float32 (``compact``: half the bytes; seven
significant digits are more than a panel shows), and a source whose new columns equal the drawn ones, NaN for
NaN (float64 columns HoloViews drew compared at float32), is not written at all (``changed_columns``; Bokeh's own
check of equal writes takes NaN for unequal, so trajectories joined by NaN rows were sent with every result), so a
panel whose inputs a move left alone (the ODE's paths when only the SDE's noise moved, a forecaster's scores when
only the ensemble's noise moved) costs the browser nothing. Where some columns changed and the others stayed (a
curve's times, the coupling lines' starts), only the changed ones are sent.

Layers that several panels show from the same arrays (group ``scenes.layers.shared_group(name)``: bridges'
particles at t, in the coupling and marginal panels, 8 kB of the page's 51–56 kB per move) are drawn from one
source (``share_sources``): the first panel's write sends their data, the others find it there and send nothing.

Writing the models the short way takes a few of HoloViews' private plot internals (the plot id, the data's last
conversion, the plot's record of what it shows); they are in explorer.library_internals, with tests.
"""
from __future__ import annotations

import holoviews as hv
import numpy as np
from holoviews.util.transform import dim

from explorer.library_internals import (compute_data_anew, draw_from_source, drawn_element, layer_data, layer_style,
                                        layer_subplots, mark_drawn, plot_id, plot_models, postprocess_data,
                                        set_drawn_element)
from scenes.layers import SHARED_GROUP

# Layers whose data is all in one ColumnDataSource, computed from the element alone by get_data
SOURCE_LAYERS = (hv.Points, hv.Scatter, hv.Curve, hv.Path, hv.Histogram, hv.Area, hv.Bars, hv.Segments,
                 hv.Labels, hv.VectorField, hv.Spread)
SPAN_LAYERS = (hv.HLine, hv.VLine)
OPTION_GROUPS = ("plot", "style")  # not "norm": framewise and axiswise only decide the axes, never touched here
# Plot options that may change from one update to the next (a title or label quoting a figure, limits set from
# the data), each with the Bokeh model it is written into
SETTABLE = {"title": "plot", "xlabel": "xaxis", "ylabel": "yaxis", "xlim": "x_range", "ylim": "y_range",
            "clim": "color_mapper"}
# Colour options under which HoloViews maps an image's values other than linearly from clim or their range
NONLINEAR_COLOUR = ("logz", "symmetric", "clim_percentile")
# float64 values float32 cannot hold to its seven digits (overflow, or underflow on a log axis) stay float64
FLOAT32_RANGE = (1e-30, 1e30)


class Look:
    """Options every element drawn in a panel gets on top of its own (the app's plot size, projector styles):
    ``plot`` for the panel's top element, ``style`` per element type for each layer. The caller may apply them
    only to elements HoloViews draws; refresh compares looks as if every element had them."""

    def __init__(self, plot: dict | None = None, style: dict | None = None):
        self.plot, self.style = dict(plot or {}), dict(style or {})


NO_LOOK = Look()


def options(element, look: Look = NO_LOOK, top: bool = False) -> tuple:
    """The element's bokeh (plot, style) options, dictionaries with ``look``'s on top (what a plot of it is
    made from)."""
    plot, style = (hv.Store.lookup_options("bokeh", element, group).kwargs for group in OPTION_GROUPS)
    return ({**plot, **look.plot} if top else plot), {**style, **look.style.get(type(element), {})}


def _equal(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # arrays: not comparable, so not known to be equal
        return False


def look_changes(drawn, new, look: Look = NO_LOOK, top: bool = False) -> dict | None:
    """The SETTABLE plot options ``new`` changes (``{}``: none) where ``new`` is otherwise drawn exactly like
    ``drawn`` apart from its data (both with ``look``, as the ``top`` element or a layer); None where it looks
    different in any other way."""
    if drawn is None or type(drawn) is not type(new) or (drawn.group, drawn.label) != (new.group, new.label):
        return None
    if not _equal(drawn.dimensions(), new.dimensions()):
        return None
    (old_plot, old_style), (new_plot, new_style) = options(drawn, look, top), options(new, look, top)
    if not _equal(old_style, new_style):
        return None
    changed = {name: new_plot.get(name) for name in set(old_plot) | set(new_plot)
               if not _equal(old_plot.get(name), new_plot.get(name))}
    if set(changed) - set(SETTABLE) or any(value is None for value in changed.values()):
        return None
    if "{" in str(changed.get("title", "")):  # a title template: HoloViews formats it
        return None
    return changed


def same_look(drawn, new) -> bool:
    """Whether ``new`` would be drawn exactly like ``drawn`` apart from its data."""
    return look_changes(drawn, new) == {}


def settable(models: dict, changed: dict) -> bool:
    """Whether the figure has a model for each option of ``changed``."""
    return all(SETTABLE[name] in models and (name != "title" or models["plot"].title is not None)
               for name in changed)


def set_options(models: dict, changed: dict) -> None:
    """Write the SETTABLE plot options ``changed`` into the figure's models."""
    for name, value in changed.items():
        model = models[SETTABLE[name]]
        if name == "title":
            model.title.text = str(value)
        elif name in ("xlabel", "ylabel"):
            model.axis_label = str(value)
        elif name == "clim":
            model.update(low=value[0], high=value[1])
        else:
            start, end = value
            model.update(**{key: bound for key, bound in (("start", start), ("end", end)) if bound is not None})


def layer_plots(plot, element) -> list | None:
    """(layer plot, new layer) pairs, or None where the plot's layers do not match the element's."""
    if not isinstance(element, hv.Overlay):
        return [(plot, element)]
    subplots = layer_subplots(plot)
    layers = list(element)
    return list(zip(subplots, layers)) if len(subplots) == len(layers) else None


def new_data(layer_plot, layer):
    """What replaces the layer's drawn data: None (unchanged), ("location", value), ("image", (data, low,
    high)) or ("source", data);
    raises LookupError where this layer cannot be redrawn the short way."""
    drawn, models = drawn_element(layer_plot), plot_models(layer_plot)
    if plot_id(layer) == plot_id(drawn) and layer.data is drawn.data:
        return None  # the same data (a clone of a static layer; a plot id alone may be a reused address)
    if isinstance(layer, SPAN_LAYERS):
        if "glyph" not in models:
            raise LookupError("no span model")
        return "location", float(layer.data)
    if type(layer) is hv.Image:
        return "image", image_data(layer_plot, layer)
    if not isinstance(layer, SOURCE_LAYERS) or "source" not in models:
        raise LookupError(f"{type(layer).__name__} is redrawn by HoloViews")
    style = layer_style(layer_plot)
    if any(isinstance(value, dim) for value in style.values()):
        raise LookupError("a style computed from the data")
    compute_data_anew(layer_plot)
    plain = None if layer_plot.invert_axes else plain_path_columns(layer, style, models)
    return "source", postprocess_data(layer_plot, layer_data(layer_plot, layer, style) if plain is None else plain)


def plain_path_columns(layer, style: dict, models: dict) -> dict | None:
    """The columns HoloViews' PathPlot.get_data gives a plain path (no colour or style mapped from its
    dimensions, no hover, pieces held as (k, 2) arrays): {"xs": [each piece's x], "ys": [each piece's y]}, NaN
    rows kept (Bokeh breaks a line there), taken from the arrays at once instead of through HoloViews' split,
    which took 9 ms for one path of 100 trajectories (8 % of the ODE/SDE page's event loop during a drag).
    None for any other layer."""
    pieces = layer.data
    if type(layer) is not hv.Path or layer.vdims or "hover" in models or not isinstance(pieces, list) \
            or any(isinstance(value, str) and value in layer for value in style.values()) \
            or not all(isinstance(piece, np.ndarray) and piece.ndim == 2 and piece.shape[1] == 2 for piece in pieces):
        return None
    return {"xs": [piece[:, 0].astype(np.float64) for piece in pieces],
            "ys": [piece[:, 1].astype(np.float64) for piece in pieces]}


def image_data(layer_plot, image) -> tuple:
    """(the source's data, low, high) of an image: its colours span ``clim`` if set, else its values' range,
    as HoloViews maps them by default; LookupError under any other colour mapping."""
    plot_options = hv.Store.lookup_options("bokeh", image, "plot").kwargs
    if any(plot_options.get(name) for name in NONLINEAR_COLOUR) or plot_options.get("cnorm", "linear") != "linear" \
            or not {"source", "color_mapper"} <= set(plot_models(layer_plot)):
        raise LookupError("an image coloured otherwise than linearly")
    low, high = plot_options.get("clim") or image.range(image.vdims[0])
    compute_data_anew(layer_plot)
    return postprocess_data(layer_plot, layer_data(layer_plot, image, layer_style(layer_plot))), low, high


def palette_indices(values: np.ndarray, low: float, high: float, colours: int) -> np.ndarray:
    """The palette entry BokehJS's LinearColorMapper paints each value in (``value_to_index``, the same float64
    operations on the float32 values it would receive): ⌊((v − low)/(high − low)) / (1/colours)⌋, ``high``
    itself the last entry, clamped to the palette (with no low or high colour set, below and above paint the
    end entries)."""
    v = values.astype(np.float32).astype(np.float64)
    index = np.floor(((v - low) * (1.0 / (high - low))) / (1.0 / colours))
    index[v == high] = colours - 1
    return np.clip(index, 0, colours - 1).astype(np.uint8)


def as_indices(models: dict, data: dict, low: float, high: float) -> tuple:
    """An image's (data, low, high) as its colours' palette indices (uint8, a quarter of float32's bytes) with
    the mapper spanning them exactly (low 0, high the palette's length), where that paints the same pixels and
    nothing reads the values: no hover, no colour bar, no low, high or NaN colour used, at most 256 colours,
    finite values, a range that is not empty. Else as they are."""
    mapper, images = models["color_mapper"], data.get("image")
    colours = len(mapper.palette)
    if ("hover" in models or "colorbar" in models or mapper.low_color is not None or mapper.high_color is not None
            or not 2 <= colours <= 256 or not high > low or not isinstance(images, list)
            or not all(isinstance(image, np.ndarray) and np.isfinite(image).all() for image in images)):
        return data, low, high
    return {**data, "image": [palette_indices(image, low, high, colours) for image in images]}, 0, colours


def narrow(value):
    """A float64 array (or a list of them: a path's pieces, an image) as float32 where its values fit; any other
    value as it is."""
    if isinstance(value, list):
        return [narrow(item) for item in value] if all(isinstance(item, np.ndarray) for item in value) else value
    if not isinstance(value, np.ndarray) or value.dtype != np.float64:
        return value
    magnitude = np.abs(value[np.isfinite(value)])
    tiny, huge = FLOAT32_RANGE
    if magnitude.size and (magnitude.max() > huge or magnitude[magnitude > 0].min(initial=huge) < tiny):
        return value
    return value.astype(np.float32)


def compact(data: dict) -> dict:
    """A source's columns as they are sent: float64 arrays as float32 (``narrow``)."""
    return {name: narrow(value) for name, value in data.items()}


def _same_values(a, b) -> bool:
    if isinstance(a, list) or isinstance(b, list):
        return isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and all(map(_same_values, a, b))
    a, b = np.asarray(a), np.asarray(b)
    if a.shape == b.shape and a.dtype == np.float64 and b.dtype == np.float32:
        a = a.astype(np.float32)  # drawn by HoloViews in float64, the same values as sent now (``narrow``)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def changed_columns(drawn: dict, new: dict) -> list[str] | None:
    """The names of a source's ``new`` columns whose values differ from those it holds, when only those need be
    sent (the same columns, each as long as before); None when the whole source is to be replaced."""
    try:
        if set(drawn) != set(new) or any(len(drawn[name]) != len(new[name]) for name in new):
            return None
        return [name for name in new if not _same_values(drawn[name], new[name])]
    except (TypeError, ValueError):  # ragged or incomparable values: not known to be equal
        return None


def write_source(source, data: dict) -> bool:
    """Put ``data`` (compacted) into a ColumnDataSource: nothing where it holds the same already, only the
    columns that changed where the others stay (Bokeh then sends just those: a curve's times stay), else the
    whole source. Whether it wrote."""
    data = compact(data)
    changed = changed_columns(source.data, data)
    if changed == []:
        return False
    if changed is None:
        source.data = data
    else:
        source.data.update({name: data[name] for name in changed})
    return True


def refresh(plot, element, look: Look = NO_LOOK, changed: list | None = None) -> bool:
    """Put ``element``'s data (and SETTABLE options) into the Bokeh models of ``plot``, a HoloViews bokeh plot
    showing an element of the same look; False, with nothing changed, where a full HoloViews update is needed.
    ``changed``, if given, gets True appended when a model was written (False: the panel looks as it did)."""
    pairs = layer_plots(plot, element)
    changes = [] if pairs is None else [(plot, look_changes(drawn_element(plot), element, look, top=True))]
    if isinstance(element, hv.Overlay) and pairs is not None:
        changes += [(layer_plot, look_changes(drawn_element(layer_plot), layer, look)) for layer_plot, layer in pairs]
    if pairs is None or any(changed is None or not settable(plot_models(target), changed)
                            for target, changed in changes):
        return False
    try:
        updates = [(layer_plot, layer, new_data(layer_plot, layer)) for layer_plot, layer in pairs]
    except LookupError:
        return False
    # every layer computed first: a panel is redrawn whole or not at all
    wrote = False
    for target, options_changed in changes:
        set_options(plot_models(target), options_changed)
        wrote = wrote or bool(options_changed)
    for layer_plot, layer, update in updates:
        models = plot_models(layer_plot)
        if update is not None:
            kind, value = update
            if kind == "location":
                wrote = wrote or models["glyph"].location != value
                models["glyph"].location = value
            elif kind == "image":
                data, low, high = as_indices(models, *value)
                wrote = write_source(models["source"], data) or wrote
                models["color_mapper"].update(low=low, high=high)
            else:
                wrote = write_source(models["source"], value) or wrote
        set_drawn_element(layer_plot, layer)
        mark_drawn(layer_plot, layer)
    set_drawn_element(plot, element)
    if changed is not None:
        changed.append(wrote)
    return True


def share_sources(plots) -> int:
    """Draw every layer of a shared group (scenes.layers.SHARED_GROUP) in ``plots`` from the source of the first
    such layer, where its data are that source's (the same columns, equal values: the panels show the same
    arrays); returns how many layers were moved onto another's source. A layer already on it is left alone, so
    the call is cheap after the first: PlotGrid makes it after each draw, which covers plots built since."""
    first, moved = {}, 0
    for plot in plots:
        for layer in layer_subplots(plot) or [plot]:
            element, source = drawn_element(layer), plot_models(layer).get("source")
            if element is None or source is None or not element.group.startswith(SHARED_GROUP):
                continue
            shared = first.setdefault((element.group, type(element)), source)
            if source is not shared and changed_columns(shared.data, source.data) == []:
                draw_from_source(layer, shared)
                moved += 1
    return moved
