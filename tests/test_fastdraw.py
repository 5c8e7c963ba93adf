"""explorer.fastdraw: a panel redrawn the short way holds exactly what HoloViews' own full update draws.

Each case draws element A through a DynamicMap fed by a Pipe (as the app does), redraws it with element B
by ``refresh``, and compares every layer's Bokeh data with a plot HoloViews made of B from scratch.
"""
from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest

from explorer.fastdraw import refresh, share_sources
from explorer.library_internals import plot_id
from scenes.layers import cloud_layer, density_image, path_layer, shared_group

hv.extension("bokeh", logo=False)


def ring_target():
    from kernels.targets import get_target

    return get_target("ring8")


def overlay_pair(kind: str, rng):
    """Two elements of the same look with different data, built by the same function."""
    def build(seed):
        r = np.random.default_rng(seed)
        xs = np.linspace(0, 1, 30)
        if kind == "points on density":
            return density_image(TARGET) * hv.Points(r.normal(size=(200, 2)), ["x", "y"]).opts(color="red")
        if kind == "cloud image on density":  # a cloud past MAX_POINTS_DRAWN (issue 20)
            return density_image(TARGET) * cloud_layer(r.normal(size=(3000, 2)), (-6, -6, 6, 6), max_points=1000)
        if kind == "paths":
            return path_layer(r.normal(size=(20, 5, 2)).cumsum(axis=0)).opts(color="black")
        if kind == "histogram and curve":
            edges = np.linspace(-3, 3, 21)
            return (hv.Histogram((edges, r.random(20)), kdims=["x"], vdims=["density"])
                    * hv.Curve((xs, r.random(30)), "x", "density").opts(color="black"))
        if kind == "curves and spans":
            return hv.Overlay([hv.Curve((xs, r.random(30) + 1), "step", "value", label="kl"),
                               hv.HLine(float(r.random() + 1)), hv.VLine(float(r.random()))]).opts(logy=True)
        if kind == "bars and dots":
            labels = ["0", "1", "2"]
            return (hv.Bars((labels, r.random(3)), "mode", "weight")
                    * hv.Scatter((labels, r.random(3)), "mode", "weight"))
        if kind == "fan":
            lo = r.random(30)
            return hv.Area((xs, lo, lo + 1), "t", ["x", "x_high"]) * hv.Curve((xs, lo + 0.5), "t", "x")
        if kind == "labels":
            return hv.Labels(([0.0, 0.0], [1.0, 2.0], [f"a{seed}", f"b{seed}"]), ["u", "v"], "text")
        if kind == "image":
            return hv.Image(r.random((8, 6)) * seed).opts(cmap="viridis")
        if kind == "image with limits":
            heat = r.random((8, 6)) * seed
            return hv.Image(heat).opts(clim=(0, float(heat.max())), title=f"max {heat.max():.3f}")
        if kind == "title, label and limits quoting the data":
            ys = r.random(30) * seed
            return hv.Curve((xs, ys), "t", "y").opts(title=f"mean {ys.mean():.3f}", xlabel=f"n = {seed}",
                                                      ylim=(0, float(ys.max())))
        raise ValueError(kind)
    return build(1), build(2)


TARGET = None
KINDS = ["points on density", "cloud image on density", "paths", "histogram and curve", "curves and spans", "bars and dots", "fan", "labels",
         "image", "image with limits", "title, label and limits quoting the data"]


def drawn(element):
    """A bokeh plot of ``element`` made as the app makes one: a DynamicMap over a Pipe."""
    pipe = hv.streams.Pipe(data=element)
    plot = hv.renderer("bokeh").get_plot(hv.DynamicMap(lambda data: data, streams=[pipe]))
    return plot


def layer_data(plot, y_range: bool = False) -> list:
    """Per layer: the ColumnDataSource's columns (and colour range), or a span's location; then the figure's
    title and x label, and its y range if asked (refresh sets it only from ylim; else it is explorer.axes')."""
    layers = list(plot.subplots.values()) if getattr(plot, "subplots", None) else [plot]
    out = []
    for layer in layers:
        if "source" in layer.handles:
            out.append({k: np.asarray(v) for k, v in layer.handles["source"].data.items()})
            if "color_mapper" in layer.handles:  # an image: the colours it paints (its values may go as indices)
                out[-1]["image"] = painted(out[-1]["image"], layer.handles["color_mapper"])
        else:
            out.append(layer.handles["glyph"].location)
    handles = plot.handles
    out.append({"title": np.array([handles["plot"].title.text]), "xlabel": np.array([handles["xaxis"].axis_label])})
    if y_range:
        out[-1]["y range"] = np.array([handles["y_range"].start, handles["y_range"].end], dtype=float)
    return out


def painted(images, mapper) -> np.ndarray:
    """The palette colour of each pixel under a linear mapper with no low, high or NaN colour: entry
    ⌊N (v − low)/(high − low)⌋, clamped to the N entries."""
    palette = np.asarray(mapper.palette)
    values = np.asarray(images, dtype=float)
    index = np.floor(len(palette) * (values - mapper.low) / (mapper.high - mapper.low))
    colours = palette[np.clip(np.nan_to_num(index), 0, len(palette) - 1).astype(int)]
    return np.where(np.isnan(values), mapper.nan_color, colours)


def test_an_images_colours_go_as_palette_indices_where_nothing_reads_its_values():
    heat = np.random.default_rng(1).random((8, 6))
    for options, values_sent in (({}, False), ({"tools": ["hover"]}, True), ({"colorbar": True}, True)):
        plot = drawn(hv.Image(heat).opts(cmap="viridis", clim=(0.0, 1.0), **options))
        assert refresh(plot, hv.Image(heat ** 2).opts(cmap="viridis", clim=(0.0, 1.0), **options))
        sent = plot.handles["source"].data["image"][0]
        assert (sent.dtype == np.uint8) != values_sent, options
        if not values_sent:
            assert plot.handles["color_mapper"].low == 0 and plot.handles["color_mapper"].high == 256


def assert_same(got, want):
    assert len(got) == len(want)
    for a, b in zip(got, want):
        if isinstance(b, dict):
            assert sorted(a) == sorted(b)
            for column in b:
                x, y = a[column], b[column]
                if x.dtype.kind in "fc" and y.dtype.kind in "fc":
                    assert np.allclose(x, y, equal_nan=True), column
                else:
                    assert [str(v) for v in x.ravel()] == [str(v) for v in y.ravel()], column
        else:
            assert a == pytest.approx(b)


@pytest.mark.parametrize("kind", KINDS)
def test_short_redraw_holds_what_a_full_holoviews_draw_holds(kind):
    global TARGET
    TARGET = TARGET or ring_target()
    first, second = overlay_pair(kind, np.random.default_rng(0))
    plot = drawn(first)
    before = layer_data(plot, y_range="limits" in kind)
    assert refresh(plot, second)
    limits = "limits" in kind
    after = layer_data(plot, y_range=limits)
    assert_same(after, layer_data(drawn(second), y_range=limits))
    assert plot.current_frame is second
    changed = [not isinstance(b, dict) and a != b or isinstance(b, dict) and any(
        not np.array_equal(np.asarray(a[k], dtype=object), np.asarray(b[k], dtype=object)) for k in b)
        for a, b in zip(after, before)]
    assert any(changed)  # the data did change (the case is not vacuous)


def test_another_look_is_left_to_holoviews_untouched():
    xs = np.linspace(0, 1, 10)
    plot = drawn(hv.Curve((xs, xs), "x", "y").opts(color="red"))
    before = layer_data(plot)
    assert not refresh(plot, hv.Curve((xs, xs ** 2), "x", "y").opts(color="blue"))   # another colour
    assert not refresh(plot, hv.Curve((xs, xs ** 2), "x", "z").opts(color="red"))    # another dimension
    assert not refresh(plot, hv.Curve((xs, xs ** 2), "x", "y").opts(color="red", logy=True))  # another axis
    assert_same(layer_data(plot), before)
    image = drawn(hv.Image(np.eye(3) + 1).opts(logz=True))
    assert not refresh(image, hv.Image(2 * np.eye(3) + 1).opts(logz=True))  # a log colour scale: HoloViews


@pytest.mark.parametrize("projector", [False, True])
def test_the_app_redraws_a_new_seed_the_short_way_and_shows_the_new_data(projector):
    """PlotGrid: a second run on the same look goes through refresh, and the panels hold its data."""
    from bokeh.document import Document

    import explorer.app as app
    from scenes import SCENES

    scene = SCENES["langevin"](n_particles=300, n_steps=60, n_frames=10)
    grid = app.PlotGrid(scene.panels(), projector=projector)
    grid.show(scene.run())
    for title, _ in grid.panels:
        grid.pane(title).get_root(Document())
    scene.seed = 11
    result = scene.run()
    calls = []
    original = app.refresh
    app.refresh = lambda plot, element, look, changed=None: calls.append(original(plot, element, look, changed)) or calls[-1]
    try:
        grid.show(result)
    finally:
        app.refresh = original
    assert calls and all(calls)
    cloud = grid._first_plot("cloud")
    points = list(cloud.subplots.values())[1].handles["source"].data
    last = result.paths[-1]
    assert np.allclose(points["x"], last[:, 0]) and np.allclose(points["y"], last[:, 1])


def test_a_layer_with_the_drawn_plot_id_but_other_data_is_redrawn():
    """A plot id is an address when not inherited: a new element may carry the drawn one's. Its data count."""
    first = hv.Points(np.zeros((5, 2)), ["x", "y"])
    plot = drawn(first)
    second = hv.Points(np.ones((5, 2)), ["x", "y"], plot_id=plot_id(first))
    assert refresh(plot, second)
    assert np.array_equal(np.asarray(plot.handles["source"].data["x"]), np.ones(5))


def test_only_the_columns_that_changed_are_sent():
    """A curve redrawn with the same times and new values: its source's times stay the array it holds and the
    document's change names the values' column alone, so Bokeh sends only it; a curve with more points than
    before is sent whole."""
    from bokeh.document import Document

    times = np.linspace(0.0, 1.0, 40)
    plot = drawn(hv.Curve((times, times ** 2), "t", "v"))
    source = plot.handles["source"]
    assert refresh(plot, hv.Curve((times, 2 * times ** 2), "t", "v"))   # the first short redraw: float32 columns
    held = source.data["t"]
    document = Document()
    document.add_root(plot.state)
    events = []
    document.on_change(events.append)
    assert refresh(plot, hv.Curve((times, 3 * times ** 2), "t", "v"))
    assert source.data["t"] is held and np.allclose(source.data["v"], 3 * times ** 2)
    assert [(event.attr, event.cols) for event in events] == [("data", ["v"])]
    longer = np.linspace(0.0, 1.0, 50)
    assert refresh(plot, hv.Curve((longer, longer), "t", "v"))
    assert len(source.data["t"]) == 50 and events[-1].cols is None


def test_a_layer_whose_data_did_not_change_is_not_sent_again():
    """A new element with equal data leaves the source's columns as they were (nothing goes to the browser),
    while a layer beside it that did change is written; float64 columns go as float32. The unchanged layer is
    trajectories joined by NaN rows (scenes.layers.path_layer): Bokeh's own equality check, which skips a write
    of equal arrays, takes NaN for unequal, so without ``changed_columns`` they were sent with every result. The
    float64 columns HoloViews drew are compared at float32: the first short redraw does not send them again."""
    xs = np.linspace(0, 1, 50)
    walks = np.random.default_rng(0).normal(size=(20, 4, 2)).cumsum(axis=0)
    fixed, moving = (lambda: path_layer(walks)), (lambda k: hv.Path(np.c_[xs, k * xs], ["x", "y"]))
    plot = drawn(fixed() * moving(1.0))
    still, moved = (layer.handles["source"] for layer in plot.subplots.values())
    held = still.data["ys"][0]
    assert held.dtype == np.float64                       # as HoloViews drew it
    assert refresh(plot, fixed() * moving(2.0))          # the first short redraw
    assert still.data["ys"][0] is held                   # not written: the same values at float32
    assert moved.data["ys"][0].dtype == np.float32       # written, as float32
    assert refresh(plot, fixed() * moving(3.0))
    assert still.data["ys"][0] is held                   # not written: equal columns, NaN rows included
    assert np.allclose(moved.data["ys"][0], 3.0 * xs)    # written


def test_values_float32_cannot_hold_stay_float64():
    from explorer.fastdraw import narrow

    assert narrow(np.array([1.0, 2.5])).dtype == np.float32
    assert narrow(np.array([1e-40, 1.0])).dtype == np.float64    # a log axis would lose it
    assert narrow(np.array([1e35, np.nan])).dtype == np.float64
    assert [piece.dtype for piece in narrow([np.zeros(3), np.ones(2)])] == [np.float32, np.float32]
    assert narrow(["a", "b"]) == ["a", "b"]


@pytest.mark.parametrize("case", ["trajectories", "with gaps", "pieces", "coloured"])
def test_a_plain_paths_columns_are_the_ones_holoviews_computes(case):
    from explorer.fastdraw import plain_path_columns
    from explorer.library_internals import layer_data as holoviews_columns, layer_style, plot_models

    r = np.random.default_rng(5)
    element = {"trajectories": lambda: path_layer(r.normal(size=(30, 40, 2)).cumsum(axis=0)),
               "with gaps": lambda: path_layer(np.where(r.random((20, 6, 2)) > 0.8, np.nan, r.random((20, 6, 2)))),
               "pieces": lambda: hv.Path([r.random((5, 2)), r.random((9, 2))]),
               "coloured": lambda: path_layer(r.random((10, 4, 2))).opts(color="red")}[case]()
    plot = drawn(element)
    want = holoviews_columns(plot, element, layer_style(plot))
    got = plain_path_columns(element, layer_style(plot), plot_models(plot))
    assert sorted(got) == sorted(want) == ["xs", "ys"]
    for name in want:
        assert len(got[name]) == len(want[name])
        for a, b in zip(got[name], want[name]):
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def test_layers_of_a_shared_group_are_drawn_from_one_source_and_sent_once():
    """Two panels showing the same particles (group shared_group(name)) are drawn from the first one's source
    once share_sources has run; a layer of no shared group with equal data (the same cloud in both) keeps its
    own. After that a short redraw of both writes the particles once: the second panel finds them there."""
    bounds = (-3.0, -3.0, 3.0, 3.0)
    particles = lambda k: k * np.random.default_rng(0).normal(size=(300, 2))  # noqa: E731
    cloud = np.random.default_rng(1).normal(size=(300, 2))

    def panel(k):
        return cloud_layer(cloud, bounds) * cloud_layer(particles(k), bounds, shared="particles at t")

    plots = [drawn(panel(1.0)), drawn(panel(1.0))]
    assert share_sources(plots) == 1 and share_sources(plots) == 0     # once: then it is already shared
    (cloud_a, shared_a), (cloud_b, shared_b) = ([layer.handles for layer in plot.subplots.values()] for plot in plots)
    assert shared_b["source"] is shared_a["source"] and shared_b["glyph_renderer"].data_source is shared_a["source"]
    assert cloud_b["source"] is not cloud_a["source"]                   # equal data, but not declared shared
    assert plots[0].current_frame.values()[1].group == shared_group("particles at t")
    assert refresh(plots[0], panel(2.0))
    written = shared_a["source"].data["x"]
    assert np.allclose(written, particles(2.0)[:, 0])
    assert refresh(plots[1], panel(2.0))
    assert shared_a["source"].data["x"] is written                     # not written again


def test_layers_of_a_shared_group_with_other_data_keep_their_own_sources():
    """A shared layer whose data differ from the first one's (not the same arrays) is not moved."""
    bounds = (-3.0, -3.0, 3.0, 3.0)
    plots = [drawn(cloud_layer(np.full((10, 2), k), bounds, shared="particles at t")) for k in (1.0, 2.0)]
    assert share_sources(plots) == 0
    assert plots[0].handles["source"] is not plots[1].handles["source"]
