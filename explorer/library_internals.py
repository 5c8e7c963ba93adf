"""Every private or undocumented API of HoloViews, Panel, Bokeh and Tornado the explorer uses, each behind one name.

Where the public API of a library did not reach (the Bokeh models behind a HoloViews plot, the server Panel
starts, a design's resources), the explorer reaches inside it here and nowhere else (DESIGN §9). Each entry
says why it is needed and which public API was missing. tests/test_library_internals.py checks each one on
the installed libraries, on real objects, and fails when an upgrade removes or changes it; when one fails,
this module is the one place to adapt. Numba's internals, which the kernels use, have their own module
(kernels.numba_internals: kernels never import the app).

The libraries are imported inside the functions: ``explorer.cli`` imports ``explorer.recycling``, which
imports this module, and the CLI starts without Panel.
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache

# ---------------------------------------------------------------------------------------------------------
# HoloViews: elements and the bokeh backend's plots (explorer.fastdraw, explorer.axes)


def plot_id(element) -> int:
    """The id HoloViews gives an element's data: a clone keeps its original's (``plot_id=`` sets it).

    HoloViews compares it to tell a redraw of the same data from new data (its plots skip sending a source
    whose element has the drawn id); fastdraw and axes make the same test. Public: only the constructor's
    ``plot_id`` keyword; the value is read from the private attribute ``_plot_id``."""
    return element._plot_id


def postprocess_data(layer_plot, data: dict) -> dict:
    """The columns ``get_data`` computed for ``layer_plot``, converted as HoloViews converts them before
    writing a ColumnDataSource (bytes to strings, cftime dates to timestamps).

    fastdraw writes a layer's source itself (the short redraw); HoloViews has no public function for this
    step, which its own update runs in the private ``ElementPlot._postprocess_data``."""
    return layer_plot._postprocess_data(data)


def plot_models(plot) -> dict:
    """The Bokeh models behind a HoloViews bokeh plot, by role ("plot", "source", "glyph", "xaxis",
    "x_range", "color_mapper", …): the plot's ``handles``, which HoloViews keeps but does not document.
    fastdraw writes new data and options into them."""
    return plot.handles


def layer_subplots(plot) -> list:
    """The plots of an overlay's layers, in the overlay's order (an element's plot has none): ``subplots``."""
    return list((getattr(plot, "subplots", None) or {}).values())


def drawn_element(plot):
    """The element a plot shows now (``current_frame``; None before it has drawn one)."""
    return getattr(plot, "current_frame", None)


def set_drawn_element(plot, element) -> None:
    """Record ``element`` as the one the plot shows, as HoloViews' update does (after a short redraw)."""
    plot.current_frame = element


def layer_data(layer_plot, element, style: dict) -> dict:
    """The columns HoloViews' update would write for ``element`` into ``layer_plot``'s source: its
    ``get_data`` with the plot's current ranges and ``style`` (:func:`layer_style`), the code a full update
    runs (undocumented)."""
    data, _, _ = layer_plot.get_data(element, layer_plot.current_ranges, style)
    return data


def layer_style(layer_plot) -> dict:
    """The style a layer's plot draws with (its option values; ``dim`` transforms among them)."""
    return dict(layer_plot.style[layer_plot.cyclic_index])


def push_changes(plot) -> None:
    """Send the plot's model changes to a notebook front end now (``push``: a served document sends its own)."""
    plot.push()


def compute_data_anew(layer_plot) -> None:
    """Make the next ``get_data`` of ``layer_plot`` compute every column.

    After an update whose element kept its plot id, HoloViews marks the plot's source static
    (``static_source``) and its ``get_data`` then leaves the data columns out; a short redraw
    (explorer.fastdraw) brings new data, so it clears the mark first. No public API sets it."""
    layer_plot.static_source = False


def mark_drawn(layer_plot, element) -> None:
    """Record ``element`` as the data ``layer_plot`` shows, as HoloViews' own update does.

    Its next full update compares the new element's plot id with this record (the ``"previous_id"`` entry
    of the plot's handles) to decide whether the source needs writing; after a short redraw
    (explorer.fastdraw) the record must name what was written. No public API keeps it."""
    layer_plot.handles["previous_id"] = element._plot_id


def draw_from_source(layer_plot, source) -> None:
    """Make ``layer_plot`` (one layer of a HoloViews bokeh plot) draw from the ColumnDataSource ``source``, which
    another plot's layer draws from too: its glyph renderer reads it, and HoloViews' record of the layer's source
    (the ``"source"``, ``"cds"`` and ``"selected"`` handles, which its updates write through) names it. HoloViews
    shares sources only between the plots of one Layout (``shared_datasource``), not across Panel panes."""
    handles = layer_plot.handles
    handles["glyph_renderer"].data_source = source
    handles["source"] = handles["cds"] = source
    handles["selected"] = source.selected


def combined_range(ranges: list) -> tuple:
    """The (low, high) covering every (low, high) of ``ranges``, as HoloViews combines layers' ranges.

    explorer.axes computes a panel's data extent the way HoloViews does, to decide whether its axes must
    refit; HoloViews' helper lives in ``holoviews.core.util``, outside its documented API."""
    from holoviews.core.util import max_range

    return max_range(ranges)


def dimension_extent(low, high, hard_range, soft_range) -> tuple:
    """(low, high) of data on a dimension with the dimension's hard ``range`` and ``soft_range`` applied,
    as HoloViews applies them (the same undocumented ``holoviews.core.util`` module as combined_range)."""
    from holoviews.core.util import dimension_range

    return dimension_range(low, high, hard_range, soft_range)


# ---------------------------------------------------------------------------------------------------------
# Panel: panes, state, designs and widget base classes (explorer.app, explorer.live, explorer.design,
# explorer.widgets, explorer.recycling)


def pane_plots(pane) -> list:
    """The HoloViews plots a ``pn.pane.HoloViews`` made, one per document it is shown in (none before).

    The app redraws a panel by writing into its plots' Bokeh models (explorer.fastdraw) and refits their
    axes; Panel keeps them in the pane's private ``_plots`` ({root id: (plot, pane)}) and has no accessor."""
    return [plot for plot, _ in getattr(pane, "_plots", {}).values()]


def started_servers() -> list:
    """The Bokeh servers Panel has started in this process (``pn.serve``), in the order started.

    explorer.recycling stops this process's server from accepting connections; Panel records its servers
    in the private ``pn.state._servers`` ({id: (server, panel, documents)}) and offers no public list."""
    import panel as pn

    return [entry[0] for entry in getattr(pn.state, "_servers", {}).values()]


@contextmanager
def session_document(doc):
    """Within the block, ``pn.state.curdoc`` is ``doc``: a callback scheduled on a session's event loop
    (explorer.live) runs as that session's code, as Panel's own callbacks do.

    Panel's context manager for this, ``panel.io.state.set_curdoc``, is not exported or documented."""
    from panel.io.state import set_curdoc

    with set_curdoc(doc):
        yield


def panel_stylesheet(name: str) -> str:
    """The URL of one of Panel's bundled stylesheets, ``name`` relative to its ``css/`` folder, as Panel's
    own widgets link it: under Panel's CDN folder, which Panel rewrites to the serving server's copy (so the
    page works offline).

    The explorer's knob slider reuses the look of Panel's editable slider (``editable_slider.css``); Panel
    gives that folder's URL only as ``panel.io.resources.CDN_DIST``, which it does not document."""
    from panel.io.resources import CDN_DIST

    return f"{CDN_DIST}css/{name}"


# The entry of a Panel design's resources that makes every page ask Google's font server
DESIGN_FONT_RESOURCE = "font"


def without_web_font(design: type, name: str, **namespace) -> type:
    """A subclass called ``name`` of the Panel design class ``design`` without its web font (the one resource
    Panel does not bundle: offline it is a failed request per page); the text falls back to the system's
    sans-serif. ``namespace`` adds to the class body (``__module__``, ``__doc__``).

    A design lists its resources in the private class attribute ``_resources``; Panel has no public way to
    leave one out. Panel finds a design's bundled files under its lowercased class name ("fast/js/…"), so
    the subclass then answers to the name of the design whose files it uses."""
    body = {"__qualname__": name, **namespace, "_resources": {**design._resources, DESIGN_FONT_RESOURCE: {}}}
    offline = type(design)(name, (design,), body)
    offline.__name__ = design.__name__
    return offline


@lru_cache(maxsize=None)
def column_composite_widget() -> type:
    """A base class for a widget made of other widgets and panes laid out in a ``pn.Column``: a subclass
    gives its parts with ``self.set_parts([...])`` (explorer.widgets.KnobSlider).

    Panel's ``CompositeWidget`` is the base for such widgets, but its layout type and the layout holding the
    parts are private (``_composite_type``, ``_composite``)."""
    import panel as pn
    from panel.widgets.base import CompositeWidget

    class ColumnCompositeWidget(CompositeWidget):
        """A composite widget whose parts stand in a column (see explorer.library_internals)."""

        _composite_type = pn.Column

        def set_parts(self, parts: list) -> None:
            """Put ``parts`` (widgets, panes, layouts) in the widget's column, replacing any there."""
            self._composite[:] = parts

    ColumnCompositeWidget.__module__ = __name__
    return ColumnCompositeWidget


# ---------------------------------------------------------------------------------------------------------
# BokehJS's slider in the browser (explorer.app)

# What BokehJS's slider writes into the page body's inline style at the start and end of every drag: noUiSlider
# (inside it) the cursor, BokehJS's slider view (``_toggle_user_select``) the user-select properties
SLIDER_BODY_STYLE = ("style.cursor=getComputedStyle(", "_toggle_user_select(t){const{style:e}=document.body")
BODY_STYLE_KEPT = ("cursor", "userSelect", "webkitUserSelect")
# Run in the page once it is loaded: these properties of the body's inline style can no longer be set
BODY_STYLE_GUARD = """
const style = document.body.style;
if (!style.__explorerGuard) {
  for (const name of %s)
    Object.defineProperty(style, name, {configurable: true, get: () => '', set: () => {}});
  style.__explorerGuard = true;
}
""" % list(BODY_STYLE_KEPT)


def keep_body_style() -> None:
    """Keep BokehJS's slider from writing the page body's inline style while a slider is dragged.

    When a drag starts, noUiSlider sets ``document.body.style.cursor`` (to keep its cursor over the page) and
    BokehJS's slider view sets ``user-select: none`` on the body; both are cleared when it ends. Any change of
    the body's inline style restyles every element on the page: on a scene page (4,000 elements on screen, the
    sidebar's knobs) 15–35 ms of the browser's main thread, twice per slider move, the second right at the
    release (the floor page, with 500, pays 2 ms). Text selection during a drag stays off (noUiSlider also
    cancels ``selectstart``), and the handle keeps its own cursor. BokehJS has no option for either, so the guard
    is installed in the page of the current session (none outside one): those properties of the body's style
    are made no-ops."""
    import panel as pn
    from bokeh.models import CustomJS

    if pn.state.curdoc is not None:
        pn.state.curdoc.js_on_event("document_ready", CustomJS(code=BODY_STYLE_GUARD))


def slider_script() -> str:
    """The text of BokehJS's widget bundle (where noUiSlider lives), for the test of ``keep_body_style``."""
    from pathlib import Path

    import bokeh

    return (Path(bokeh.__file__).parent / "server" / "static" / "js" / "bokeh-widgets.min.js").read_text()


# ---------------------------------------------------------------------------------------------------------
# Bokeh's server and the Tornado HTTP server inside it (explorer.recycling)


def http_server(server):
    """The Tornado ``HTTPServer`` a Bokeh ``Server`` listens with, or None (not started, or another kind).

    Recycling a process must stop it accepting connections while its requests in progress finish (Tornado's
    public ``stop`` and ``close_all_connections``). Bokeh's ``Server.stop`` also stops its sessions and
    loop, and the HTTP server itself is Bokeh's private ``_http``."""
    return getattr(server, "_http", None)


def stop_accepting(server) -> None:
    """The Bokeh ``server`` accepts no new connections (its sibling processes on the port take them)."""
    http_server(server).stop()


async def close_connections(server) -> None:
    """Close the Bokeh ``server``'s open connections once their requests in progress have finished."""
    await http_server(server).close_all_connections()


# ---------------------------------------------------------------------------------------------------------
# Bokeh's client (tests/test_load.py: many simulated users read the server's patches on one event loop)


def client_connection(session):
    """The websocket connection of a ``bokeh.client`` session (``pull_session``'s ClientSession).

    The load test reads every session's messages on one shared loop; bokeh.client reads only inside its
    blocking ``loop_until`` helpers and keeps the connection in the private ``ClientSession._connection``."""
    return session._connection


async def next_message(connection):
    """The next message the server sent on ``connection`` (None once the server has closed it), without
    applying it: the private coroutine ``ClientConnection._pop_message``."""
    return await connection._pop_message()


def connection_session(connection):
    """The ClientSession a ``bokeh.client`` connection belongs to (private ``ClientConnection._session``)."""
    return connection._session


def apply_patch(session, message) -> None:
    """Apply a server's PATCH-DOC ``message`` to the session's document, as bokeh.client's own reading
    does (the private ``ClientSession._handle_patch``); the load test filters the events first."""
    session._handle_patch(message)
