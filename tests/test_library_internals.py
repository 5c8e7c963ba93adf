"""The libraries' private API the project uses still exists and still does what it is used for.

explorer.library_internals (HoloViews, Panel, Bokeh, Tornado) and kernels.numba_internals (Numba, LLVM) hold
every use of another library's private or undocumented API, each behind one name. Here each one is checked on
the installed library, on real objects (a HoloViews bokeh plot, a Panel pane, a Bokeh server that is never
started, compiled Numba functions): a test here that fails after an upgrade names the entry to adapt. No
browser, no served app.
"""
from __future__ import annotations

import inspect
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numba
import numpy as np
import pytest

from explorer import library_internals as internals
from kernels import numba_internals

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------------------
# HoloViews


@pytest.fixture(scope="module")
def hv():
    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401

    return hv


def points(hv, value: float = 0.0):
    return hv.Points(np.full((5, 2), value), ["x", "y"])


def drawn(hv, element):
    """A bokeh plot of ``element`` made as the app makes one (a DynamicMap over a Pipe), with its pipe."""
    pipe = hv.streams.Pipe(data=element)
    return hv.renderer("bokeh").get_plot(hv.DynamicMap(lambda data: data, streams=[pipe])), pipe


def test_plot_id_is_an_elements_own_id_and_a_clone_keeps_it(hv):
    element = points(hv)
    assert internals.plot_id(element) == id(element)
    assert internals.plot_id(element.clone()) == internals.plot_id(element)
    assert internals.plot_id(hv.Points([], ["x", "y"], plot_id=12345)) == 12345


def test_holoviews_updates_compare_plot_ids_and_mark_a_source_static(hv):
    """What compute_data_anew and mark_drawn rely on: HoloViews' update of a DynamicMap plot records the
    element's plot id in ``handles["previous_id"]``, and an update with the recorded id marks the source
    ``static_source``, after which ``get_data`` leaves the data columns out."""
    element = points(hv)
    plot, pipe = drawn(hv, element)
    assert plot.handles["previous_id"] == internals.plot_id(element)
    assert plot.static_source is False
    pipe.event(data=element)                      # the same element again
    assert plot.static_source is True
    style = dict(plot.style[plot.cyclic_index])
    data, _, _ = plot.get_data(element, plot.current_ranges, style)
    assert "x" not in data and "y" not in data
    internals.compute_data_anew(plot)
    data, _, _ = plot.get_data(element, plot.current_ranges, style)
    assert {"x", "y"} <= set(data)


def test_mark_drawn_is_the_record_holoviews_reads(hv):
    plot, pipe = drawn(hv, points(hv))
    pipe.event(data=points(hv, 1.0))              # new data: written
    assert plot.static_source is False
    written_the_short_way = points(hv, 2.0)
    internals.mark_drawn(plot, written_the_short_way)
    pipe.event(data=written_the_short_way)        # HoloViews then takes it as already drawn
    assert plot.static_source is True


def test_a_plot_exposes_its_models_layers_drawn_element_and_data(hv):
    """What fastdraw and axes read and write on a HoloViews bokeh plot: its models by role, an overlay's
    layer plots in order, the element it shows, a layer's data as its update computes it, and ``push``."""
    element = points(hv, 1.0) * hv.Curve([(0, 0), (1, 1)])
    plot, _ = drawn(hv, element)
    models = internals.plot_models(plot)
    assert {"plot", "xaxis", "x_range"} <= set(models)
    layers = internals.layer_subplots(plot)
    assert len(layers) == 2 and "source" in internals.plot_models(layers[0])
    assert internals.layer_subplots(layers[0]) == []
    assert internals.drawn_element(layers[0]) is not None
    moved = points(hv, 3.0)
    internals.compute_data_anew(layers[0])
    data = internals.layer_data(layers[0], moved, internals.layer_style(layers[0]))
    assert np.allclose(data["x"], 3.0) and np.allclose(data["y"], 3.0)
    internals.set_drawn_element(layers[0], moved)
    assert internals.drawn_element(layers[0]) is moved
    assert callable(plot.push) and list(inspect.signature(plot.push).parameters) == []


def test_a_layer_drawn_from_another_plots_source_reads_it_and_holoviews_writes_there(hv):
    """draw_from_source: the layer's glyph renderer reads the other plot's source, HoloViews' handles name it,
    and HoloViews' own (full) update of the moved plot writes its new data into that source."""
    first, _ = drawn(hv, points(hv, 1.0))
    second, pipe = drawn(hv, points(hv, 1.0))
    source = internals.plot_models(first)["source"]
    internals.draw_from_source(second, source)
    models = internals.plot_models(second)
    assert models["glyph_renderer"].data_source is source and models["source"] is models["cds"] is source
    assert models["selected"] is source.selected
    pipe.event(data=points(hv, 4.0))
    assert np.allclose(source.data["x"], 4.0) and models["glyph_renderer"].data_source is source


def test_postprocess_data_converts_columns_as_holoviews_does(hv):
    from holoviews.plotting.bokeh.element import ElementPlot

    assert list(inspect.signature(ElementPlot._postprocess_data).parameters) == ["self", "data"]
    plot, _ = drawn(hv, points(hv))
    values = np.array([1.0, 2.0])
    out = internals.postprocess_data(plot, {"label": [b"a", b"b"], "y": values})
    assert out["label"] == ["a", "b"]             # bytes decoded, as for a ColumnDataSource
    assert out["y"] is values                     # numbers untouched


def test_ranges_combine_as_holoviews_combines_them():
    assert internals.combined_range([(0.0, 1.0), (-1.0, 0.5)]) == (-1.0, 1.0)
    assert internals.dimension_extent(0.0, 1.0, (None, None), (None, None)) == (0.0, 1.0)
    assert internals.dimension_extent(0.0, 1.0, (-2.0, None), (None, None)) == (-2.0, 1.0)   # hard range wins
    assert internals.dimension_extent(0.0, 1.0, (None, None), (-3.0, 3.0)) == (-3.0, 3.0)    # soft range widens


# ---------------------------------------------------------------------------------------------------------
# Panel


@pytest.fixture(scope="module")
def pn():
    import panel as pn

    return pn


def test_a_holoviews_pane_lists_its_plots_once_shown(pn, hv):
    from bokeh.document import Document
    from holoviews.plotting.bokeh.element import ElementPlot

    pane = pn.pane.HoloViews(hv.Curve([1.0, 2.0, 3.0]), backend="bokeh")
    assert internals.pane_plots(pane) == []
    pane.get_root(Document())
    (plot,) = internals.pane_plots(pane)
    assert isinstance(plot, ElementPlot) and "plot" in plot.handles


def test_session_document_sets_panels_current_document(pn):
    from bokeh.document import Document

    doc, before = Document(), pn.state.curdoc
    with internals.session_document(doc):
        assert pn.state.curdoc is doc
    assert pn.state.curdoc is before


def test_panel_stylesheet_names_a_file_panel_ships(pn):
    url = internals.panel_stylesheet("editable_slider.css")
    assert url.endswith("/css/editable_slider.css")
    assert (Path(pn.__file__).parent / "dist" / "css" / "editable_slider.css").is_file()


def test_the_offline_design_drops_the_one_resource_panel_does_not_bundle(pn):
    """explorer.design leaves the web font out of Panel's private ``Fast._resources``: this fails when an upgrade
    moves the font elsewhere (then tests/test_offline.py's browser walk says where it went)."""
    from panel.theme.fast import Fast

    from explorer.design import OfflineFast

    font = internals.DESIGN_FONT_RESOURCE
    assert font in Fast._resources and any("fonts.googleapis.com" in url for url in Fast._resources[font].values())
    assert OfflineFast._resources[font] == {}
    assert {k: v for k, v in OfflineFast._resources.items() if k != font} == \
        {k: v for k, v in Fast._resources.items() if k != font}
    assert issubclass(OfflineFast, Fast) and OfflineFast.__name__ == Fast.__name__   # Panel finds "fast/…" files
    online, offline = Fast().resolve_resources(), OfflineFast().resolve_resources()
    assert any("fonts.googleapis.com" in url for url in online["css"].values())
    assert not any("fonts.googleapis.com" in url for url in offline["css"].values())
    assert offline["js_modules"] == online["js_modules"] and offline["js"] == online["js"]


def test_a_column_composite_widget_shows_its_parts_in_a_column(pn):
    from bokeh.document import Document
    from bokeh.models import Column
    from panel.widgets.base import CompositeWidget

    assert "_composite_type" in vars(CompositeWidget)
    base = internals.column_composite_widget()
    assert issubclass(base, CompositeWidget) and internals.column_composite_widget() is base

    class Two(base):
        def __init__(self, **params):
            super().__init__(**params)
            self.set_parts([pn.pane.Markdown("a"), pn.pane.Markdown("b")])

    root = Two().get_root(Document())
    assert isinstance(root, Column) and len(root.children) == 2


# ---------------------------------------------------------------------------------------------------------
# Bokeh's server (the one Panel starts) and its Tornado HTTP server


def test_a_bokeh_server_stops_accepting_and_closes_its_connections(pn):
    """On a Panel server that is made (bound to a free loopback port) but never started."""
    from tornado.httpserver import HTTPServer
    from tornado.ioloop import IOLoop

    assert inspect.iscoroutinefunction(HTTPServer.close_all_connections)
    loop = IOLoop(make_current=False)
    server = pn.serve(pn.pane.Markdown("x"), port=0, address="127.0.0.1", start=False, show=False, verbose=False,
                      loop=loop)
    try:
        assert server in internals.started_servers()
        assert isinstance(internals.http_server(server), HTTPServer)
        with socket.create_connection(("127.0.0.1", server.port), timeout=5):
            pass                                  # listening
        internals.stop_accepting(server)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
        failures: list = []

        def close():  # on a thread of its own: a test that ran before in this worker may have left a loop here
            try:
                loop.run_sync(lambda: internals.close_connections(server), timeout=5)
            except BaseException as error:  # noqa: BLE001 — reported below, in the test's thread
                failures.append(error)

        closer = threading.Thread(target=close)
        closer.start()
        closer.join(10)
        assert not closer.is_alive() and not failures, failures
    finally:
        server.stop()
        for key, entry in list(pn.state._servers.items()):
            if entry[0] is server:
                del pn.state._servers[key]
        loop.close(all_fds=True)
    assert server not in internals.started_servers()


def test_http_server_of_something_else_is_none():
    assert internals.http_server(object()) is None


# ---------------------------------------------------------------------------------------------------------
# Bokeh's client (tests/test_load.py)


def test_a_client_session_has_its_connection_and_the_readers_the_load_test_uses():
    """On a ClientSession that is made but never connected."""
    from bokeh.client.connection import ClientConnection
    from bokeh.client.session import ClientSession
    from tornado.ioloop import IOLoop

    loop = IOLoop(make_current=False)
    try:
        session = ClientSession(session_id="guard", websocket_url="ws://127.0.0.1:9/ws", io_loop=loop)
        connection = internals.client_connection(session)
        assert isinstance(connection, ClientConnection)
        assert internals.connection_session(connection) is session
    finally:
        loop.close()
    assert inspect.iscoroutinefunction(ClientConnection._pop_message)
    assert list(inspect.signature(ClientConnection._pop_message).parameters) == ["self"]
    assert list(inspect.signature(ClientSession._handle_patch).parameters) == ["self", "message"]


# ---------------------------------------------------------------------------------------------------------
# Numba and LLVM (kernels.numba_internals)


def fresh_function():
    """A Numba function no call has compiled yet."""
    def add_one(x):
        return x + 1.0
    return numba.njit(cache=False)(add_one)


def test_the_compiler_lock_is_numbas_and_reentrant():
    lock = numba_internals.compiler_lock()
    done = threading.Event()
    compiled = fresh_function()
    with lock:
        with lock:                                # re-entrant: a compile under it takes it again
            assert lock.is_locked()
        compiler = threading.Thread(target=lambda: (compiled(1.0), done.set()))
        compiler.start()
        assert not done.wait(0.3)                 # another thread's compile waits for the lock
    assert done.wait(30)
    compiler.join()
    assert not lock.is_locked()


UNROLL_PROBE = textwrap.dedent("""
    import numba
    from kernels.numba_internals import compiler_lock, llvm_unroll_threshold
    from kernels.blocked import DEFAULT_UNROLL_THRESHOLD, UNROLL_THRESHOLD

    def divisions(threshold=None):
        def f(x):
            s = 0.0
            for i in range(60):
                s += (x + i) / (x * x + i + 1.0)
            return s
        compiled = numba.njit(cache=False)(f)
        if threshold is None:
            compiled.compile((numba.float64,))
        else:
            with llvm_unroll_threshold(threshold, DEFAULT_UNROLL_THRESHOLD):
                assert compiler_lock().is_locked()
                compiled.compile((numba.float64,))
        return next(iter(compiled.inspect_llvm().values())).count("fdiv")

    print(divisions(), divisions(UNROLL_THRESHOLD), divisions(), compiler_lock().is_locked())
""")


def test_the_llvm_unroll_budget_reaches_numbas_compiles_and_is_put_back():
    """In a fresh process (the option is process-wide): a 60-step loop is partly unrolled by LLVM's default
    budget, fully under UNROLL_THRESHOLD, and as before once the block has put DEFAULT_UNROLL_THRESHOLD
    back (so that is LLVM's default for Numba's compiles). An LLVM without the option ignores it: then
    nothing unrolls fully."""
    out = subprocess.run([sys.executable, "-c", UNROLL_PROBE], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    before, budget, after, locked = out.stdout.split()
    assert int(before) < 60 and int(budget) == 60 and int(after) == int(before) and locked == "False"


VECTOR_WIDTH_PROBE = textwrap.dedent("""
    import llvmlite.binding as llvm
    import numba
    import kernels.compile  # noqa: F401  (sets the features before anything compiles)
    from numba.core.registry import cpu_target

    def scaled_sum(a, b, out):
        for i in range(a.shape[0]):
            out[i] = 2.5 * a[i] + b[i]

    compiled = numba.njit(cache=False, fastmath=True)(scaled_sum)
    array = numba.float64[::1]
    compiled.compile((array, array, array))
    assembly = next(iter(compiled.inspect_asm().values()))
    features = cpu_target.target_context.codegen().magic_tuple()[2].split(",")
    print(bool(llvm.get_host_cpu_features().get("avx512f")), "-prefer-256-bit" in features, "zmm" in assembly)
""")


def _vector_width_probe(environment: dict) -> list[str]:
    out = subprocess.run([sys.executable, "-c", VECTOR_WIDTH_PROBE], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env={**os.environ, **environment})
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_full_vector_width_reaches_numbas_code_generator_and_a_users_setting_wins():
    """In fresh processes (Numba reads the features once): after kernels.compile, Numba's code generator
    compiles without LLVM's preference for 256-bit vectors where the CPU has AVX-512, and a simple loop
    uses 512-bit registers; a user's own NUMBA_CPU_FEATURES (here: the host's, the preference left on)
    is kept as it is. Without AVX-512 the features are the host's."""
    avx512, cleared, wide = _vector_width_probe({})
    assert cleared == avx512 and wide == avx512
    host_features = "import llvmlite.binding as llvm; print(llvm.get_host_cpu_features().flatten())"
    host = subprocess.run([sys.executable, "-c", host_features], capture_output=True, text=True,
                          timeout=60).stdout.strip()
    _, cleared, wide = _vector_width_probe({"NUMBA_CPU_FEATURES": host})
    assert cleared == "False" and wide == "False"


def test_without_refcounting_is_a_numba_option_and_drops_the_reference_counts():
    def first_plus_sum(a):
        b = a
        return b[0] + a.sum()

    values = np.ones(3)
    counted = numba.njit(cache=False)(first_plus_sum)
    uncounted = numba.njit(cache=False, **numba_internals.WITHOUT_REFCOUNTING)(first_plus_sum)
    assert counted(values) == uncounted(values) == 4.0
    assert "NRT_incref" in next(iter(counted.inspect_llvm().values()))
    assert "NRT_incref" not in next(iter(uncounted.inspect_llvm().values()))
    with pytest.raises(KeyError, match="Unrecognized options"):  # how a removed option would show
        numba.njit(cache=False, _no_such_option=False)(first_plus_sum)(values)


def test_compile_listeners_hear_each_compile_start_and_end():
    heard = []
    listener = numba_internals.listen_to_compiles(lambda: heard.append("start"), lambda: heard.append("end"))
    try:
        fresh_function()(1.0)
    finally:
        numba_internals.stop_listening(listener)
    assert heard and heard.count("start") == heard.count("end") and heard[0] == "start" and heard[-1] == "end"
    heard.clear()
    fresh_function()(1.0)
    assert heard == []


def test_nothing_else_reaches_into_numba():
    """The kernels, scenes and benchmarks import Numba's internals only through kernels.numba_internals."""
    offenders = [str(path.relative_to(ROOT)) for folder in ("kernels", "scenes", "benchmarks")
                 for path in (ROOT / folder).rglob("*.py")
                 if path.name != "numba_internals.py"
                 and any(token in path.read_text() for token in ("numba.core", "llvmlite.binding", "_nrt="))]
    assert offenders == []


def test_nothing_else_in_the_app_reaches_into_its_libraries():
    """The explorer's modules reach HoloViews', Panel's and Bokeh's private API only through
    explorer.library_internals (the names it wraps, searched as text)."""
    private = ("._plot_id", "._postprocess_data", '"previous_id"', "static_source", '"_plots"', "._plots.",
               '"_servers"', "._servers", '"_http"', "._http", "set_curdoc", "CDN_DIST", "._resources",
               "._composite", "_composite_type", "holoviews.core", "._connection", "._pop_message",
               "._handle_patch", ".handles", "current_frame", "cyclic_index", "current_ranges", ".push()",
               ".subplots")
    offenders = [f"{path.relative_to(ROOT)}: {token}" for path in sorted((ROOT / "explorer").glob("*.py"))
                 if path.name != "library_internals.py" for token in private if token in path.read_text()]
    assert offenders == []


def test_the_slider_still_writes_the_bodys_style_and_the_guard_is_installed_on_ready(pn):
    """BokehJS's slider (noUiSlider and its own view, in the widget bundle) writes the body's inline style at each
    drag: the guard that keeps it still is needed as long as these texts are there (when an upgrade drops them,
    drop the guard), and it is a document_ready callback of the page."""
    from bokeh.document import Document

    from explorer.library_internals import BODY_STYLE_GUARD, SLIDER_BODY_STYLE, keep_body_style, slider_script

    from explorer.library_internals import session_document

    script = slider_script()
    assert all(text in script for text in SLIDER_BODY_STYLE)
    document = Document()
    with session_document(document):
        keep_body_style()
    callbacks = document.callbacks.js_event_callbacks["document_ready"]
    assert [callback.code for callback in callbacks] == [BODY_STYLE_GUARD]


def test_the_inliner_and_the_copy_propagation_still_copy_as_the_compile_fixes_assume():
    """kernels.numba_internals.speed_up_compiles stands in for ``copy`` in two Numba modules and replaces
    ``InlineWorker.inline_function`` with its own copy: each fails here when Numba's code changes shape."""
    from numba.core import inline_closurecall, ir_utils, untyped_passes

    assert "copy.deepcopy(the_ir.blocks[block_label])" in inspect.getsource(inline_closurecall.InlineWorker.inline_ir)
    original = inspect.getsource(numba_internals.NUMBA_INLINE_FUNCTION)
    assert "callee_ir = self.run_untyped_passes(function)" in original
    assert "return self.inline_ir(caller_ir, block, i, callee_ir, freevars," in original
    # its one caller drops the unmutated copy inline_ir returns first
    source = inspect.getsource(untyped_passes)
    assert source.count(".inline_function(") == 1
    assert re.search(r"_, _, _, new_blocks = \\\s*inline_worker\.inline_function\(", source)
    assert "copy.deepcopy(out_copies)" in inspect.getsource(ir_utils.copy_propagate)
    import kernels.compile  # noqa: F401  installs them, before any kernel compiles

    assert inline_closurecall.copy is numba_internals._InlinerCopy and ir_utils.copy is numba_internals._DataflowCopy


SAME_CODE_PROBE = textwrap.dedent("""
    import copy, time
    import numba
    from numba.core import ir

    def build():
        @numba.njit(inline="always", cache=False)
        def bump(x, k):
            if x > k:
                return x - k
            for j in range(3):
                x = x * 0.5 + j
            return x

        @numba.njit(parallel=True, cache=False)
        def kernel(values):
            out = values.copy()
            for i in numba.prange(values.shape[0]):
                out[i] = bump(bump(values[i], 1.0), 2.0)
            return out
        return kernel

    def assembly():
        kernel = build()
        start = time.perf_counter()
        kernel.compile((numba.float64[:],))
        seconds = time.perf_counter() - start
        code = next(iter(kernel.inspect_asm().values()))
        return [line for line in code.splitlines() if "_ZN" not in line and "gufunc" not in line], seconds

    blocks_copied = 0
    deepcopy = copy.deepcopy
    def counting(value, memo=None):
        global blocks_copied
        blocks_copied += type(value) is ir.Block
        return deepcopy(value, memo)
    copy.deepcopy = counting

    plain, plain_s = assembly()
    plain_blocks, blocks_copied = blocks_copied, 0
    from kernels.numba_internals import speed_up_compiles
    speed_up_compiles()
    fixed, fixed_s = assembly()
    print(plain == fixed, len(plain), plain_blocks, blocks_copied, f"{plain_s:.2f} {fixed_s:.2f}")
""")


def test_the_compile_fixes_give_the_same_machine_code_without_copying_the_inlined_ir():
    """In a fresh process (the fixes are process-wide): a parallel kernel that inlines a branching function
    twice compiles to the same assembly (symbol names aside) with speed_up_compiles as without it, and with
    it no block of the inlined IR is deep-copied (without: several per call site)."""
    out = subprocess.run([sys.executable, "-c", SAME_CODE_PROBE], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    same, lines, plain_blocks, fixed_blocks, *seconds = out.stdout.split()
    print("compile seconds without and with the fixes:", *seconds)
    assert same == "True" and int(lines) > 100
    assert int(plain_blocks) >= 4 and int(fixed_blocks) == 0
