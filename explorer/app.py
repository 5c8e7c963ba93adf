"""The browser app: one page per scene in ``SCENES`` plus an index (DESIGN §5).

Each session builds its own scene. A knob change asks ``LiveRunner`` for a recompute (newest wins);
a result reaches each panel's ``hv.DynamicMap`` through an ``hv.streams.Pipe``, so plot models, zoom and
pan survive a recompute. A panel refits its axes only when its data leave them or shrink far inside them
(explorer.axes); an error shows as an alert above the last good plots.
"""
from __future__ import annotations

import logging
import math
import numbers
import os
import threading
import time
from functools import partial

import holoviews as hv
import panel as pn
import param

from explorer import recycling, slots
from explorer.axes import data_extent, drawn_axes, fit
from explorer.closed_tabs import quiet_closed_tab_writes
from explorer.design import OfflineFast
from explorer.export import ExportError
from explorer.fastdraw import Look, refresh, share_sources
from explorer.library_internals import keep_body_style, pane_plots, push_changes
from explorer.live import LATER, LiveRunner, take_turn
from explorer.memory import freeze_long_lived, release_soon
from explorer.render import RENDER_LOCK
from explorer.presets import PresetError, list_presets, load_preset
from explorer.sweep_panel import sweep_card
from explorer.drawing_canvas import DrawingCanvas
from explorer.widgets import download_buttons, preset_selector, scene_controls
from scenes import SCENES, SceneError
from scenes.base import compiling_for

log = logging.getLogger(__name__)
# EXPLORER_PROFILE=1: one line per drawn result on stderr, "profile SCENE run=…ms show=…ms" (the scene's run on
# the worker, then building the views and updating the Bokeh models on the session thread); read by
# benchmarks/browser_latency.py --profile
profile_log = logging.getLogger("explorer.profile")
if os.environ.get("EXPLORER_PROFILE") and not profile_log.handlers:
    profile_log.addHandler(logging.StreamHandler())
    profile_log.setLevel(logging.INFO)
    profile_log.propagate = False

pn.extension("katex", notifications=False)
hv.extension("bokeh", logo=False)
# Canvas, not WebGL: the clouds drawn as points stay under 20k (denser ones are binned into an image), and a WebGL
# plot is copied onto its canvas at every repaint, which cost the browser 530 ms per update of the Langevin page in
# headless Chromium (software GL); with canvas the floor page and ours paint the same way.
hv.renderer("bokeh").webgl = False

# Nothing asked of any host but the app (explorer.design). No header busy indicator: Panel switches its classes at
# every server callback (two messages and two restyles of the page per update) and the page has its own spinner.
TEMPLATE_STYLE = {"sidebar_width": 320, "accent": "#1f77b4", "header_background": "#1f3b57", "main_layout": None,
                  "design": OfflineFast, "busy_indicator": None}
BUSY_CSS = """
.busy-ring { width: 16px; height: 16px; border: 3px solid #d0d7de; border-top-color: #1f77b4; border-radius: 50%;
             opacity: var(--busy-opacity, 0); animation: busy-spin 0.9s linear infinite;
             animation-play-state: var(--busy-spin, paused); }
@keyframes busy-spin { to { transform: rotate(360deg); } }
"""
BUSY_STYLES = {True: {"--busy-opacity": "1", "--busy-spin": "running"},
               False: {"--busy-opacity": "0", "--busy-spin": "paused"}}
PLOT_SIZE = {"width": 370, "height": 320}
# Projector mode: larger plots and type, thick lines, big markers (bokeh options per element type).
PROJECTOR_SIZE = {"width": 560, "height": 470, "fontscale": 1.8}
PROJECTOR_STYLE = {hv.Curve: {"line_width": 4}, hv.Path: {"line_width": 3}, hv.Points: {"size": 6},
                   hv.Scatter: {"size": 12}, hv.HLine: {"line_width": 3}, hv.VLine: {"line_width": 3}}
HIDDEN_METRICS = ("run_seconds",)
COMPILE_CHECK_S = 0.5     # how often a busy page looks whether its run waits for a first compile
COMPILE_NOTICE_S = 2.0    # a compile this long is said on the status line (loading a cached kernel takes < 1 s)
Frame = hv.streams.Stream.define("Frame", frame=0)


def format_number(value: float) -> str:
    """Short, readable numbers for the status line."""
    if not math.isfinite(value):
        return str(value)
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def status_text(metrics: dict, seconds: float) -> str:
    """Run time and the scalar metrics (not traces, not reference floors) as one line."""
    parts = [f"{1000 * seconds:,.0f} ms"]
    for name, value in metrics.items():
        if isinstance(value, numbers.Real) and name not in HIDDEN_METRICS and not name.endswith("_reference"):
            parts.append(f"{name} {format_number(float(value))}")
    return " · ".join(parts)


def shape(element) -> tuple:
    """An element's plot structure: its type, or its layers' types for an overlay.

    A DynamicMap cannot change this between updates, so a panel whose shape changed is rebuilt.
    """
    if isinstance(element, hv.Overlay):
        return tuple(type(layer).__name__ for layer in element)
    return (type(element).__name__,)


class PlotGrid:
    """The scene's panels as DynamicMaps fed by one Pipe each, with a frame player shared by all.

    ``show(result)`` updates every panel in place (zoom and pan kept), refits the axes of a panel
    whose data left them (explorer.axes), and rebuilds a panel whose plot structure changed.
    """

    def __init__(self, panels, projector: bool = False, shown=None):
        self.panels = list(panels)
        self.shown = shown  # callable(result) -> the titles with something to show (Scene.panels_shown); None: all
        self.projector = projector
        self.frame = Frame()
        self.player = pn.widgets.Player(start=0, end=1, value=0, interval=300, loop_policy="once",
                                        show_loop_controls=False, show_value=False, width=360, height=70,
                                        sizing_mode="fixed", css_classes=["frame-player"])
        self.player.param.watch(self._frame_moved, "value")
        self.layout = pn.FlexBox(css_classes=["scene-plots"])
        self.result = None                      # the newest result drawn (on some panels)
        self.complete = None                    # the newest complete result drawn
        self._shown: dict[str, object] = {}     # title -> the result it shows
        self._pipes: dict[str, hv.streams.Pipe] = {}
        self._panes: dict[str, pn.pane.HoloViews] = {}
        # title -> the box around its pane, which is what is hidden: a served page's panes carry the template's
        # design, and a HoloViews pane passes a change of its own ``visible`` down to its Bokeh pane, which
        # then sets ``design`` on the Bokeh figure and fails (Panel 1.x); a box's visibility is its own
        self._boxes: dict[str, pn.Column] = {}
        self._seen: dict[str, tuple] = {}       # title -> (shape, the axes as last fitted)
        self._drawn: dict[str, tuple] = {}      # title -> (result, frame, element) drawn ahead
        self._unchanged: dict[str, bool] = {}   # title -> whether its last draw left its models as they were
        self._quiet_player = False

    def show(self, result, titles=None) -> None:
        """Draw a new result (on the session thread) on the panels called ``titles`` (all by default), as one
        batch of model changes; the other panels keep what they show.

        Held: the changes reach the browser as one message. A panel whose new data looks like its last
        (the usual case: another seed, another step size) gets the data written into its Bokeh models
        (explorer.fastdraw). The others go through HoloViews, frozen: Bokeh walks the whole document's
        model graph when a freeze ends (HoloViews freezes per plot), so the full updates share one walk,
        and a result drawn entirely the short way needs none. Langevin page (1000 particles, 200 steps), bare
        document, per result: 0.50 s unbatched, 0.26 s batched and frozen, 0.09 s the short way (views included).

        A panel hidden for this result (``shown``) that is already on the page is not drawn: its view is not
        computed and the browser is sent nothing for it (the bridges page hid eight note panels that were
        written at every move). It counts as showing the result (it has nothing to show for it, and every
        stage of a run shows the same panels), and is drawn again by the first result that shows it.
        """
        asked = [(title, view) for title, view in self.panels if titles is None or title in titles]
        shown = None if self.shown is None else self.shown(result)
        drawn = [(title, view) for title, view in asked if shown is None or title in shown or title not in self._boxes]
        with pn.io.hold():
            self._show(result, drawn)
            self._hide_empty(result, asked)
        self._shown.update((title, result) for title, _ in asked)

    def _show(self, result, panels) -> None:
        last = len(result.times) - 1
        self._quiet_player = True
        try:
            at_end = self.result is None or self.player.value >= self.player.end
            self.player.end = max(last, 1)
            self.player.value = last if at_end else min(self.player.value, last)
        finally:
            self._quiet_player = False
        self.result = result
        if getattr(result, "complete", True):
            self.complete = result
        self._shown.update((title, result) for title, _ in panels)
        frame = self.player.value
        self._label_frame()
        rebuild = []
        for title, view in panels:
            with RENDER_LOCK:  # bokeh is current while the view sets its options (see explorer.render)
                element = view(result, frame)
            if title not in self._seen or self._seen[title][0] != shape(element):
                rebuild.append(title)
            self._drawn[title] = (result, frame, element)  # decorated only if HoloViews draws it (_render)
            self._unchanged[title] = False  # until the short way finds it unchanged (_refresh)
        full = [(title, view) for title, view in panels if title in rebuild or not self._refresh(title)]
        for title, view in panels:
            if title in self._pipes:
                self._pipes[title].update(data=result)  # the DynamicMap's input, for a later frame or redraw
            if title not in rebuild and not self._fit_axes(title):
                rebuild.append(title)  # a categorical axis got other categories
                full.append((title, view))
        if full:
            with pn.io.hold(freeze=True):
                for title, view in full:
                    if title in rebuild:
                        self._build(title, view, result)
                    else:
                        self._pipes[title].event(data=result)
                if len(self.layout) != len(self._panes):  # the panels built first (or next) go on the page
                    self.layout[:] = [self._boxes[title] for title, _ in self.panels if title in self._boxes]
        for title in rebuild:  # the axes HoloViews fitted, remembered (the user may zoom them later)
            element = self._drawn[title][2]
            self._seen[title] = (shape(element), drawn_axes(self._first_plot(title), data_extent(element)))
        self._drawn.clear()
        # a layer several panels show from the same arrays: one source for all of them (explorer.fastdraw)
        share_sources([plot for title in self._panes for plot in self._hv_plots(title)])
        for title, _ in panels:  # in a notebook the models' changes (fastdraw's data, the axes) go to the front
            for plot in self._hv_plots(title):  # end now, as HoloViews' own updates do; a served page's
                push_changes(plot)           # document sends its changes itself (push does nothing there)

    def _hide_empty(self, result, panels) -> None:
        """Hide the panels with nothing to show for ``result`` (a compare panel without a compare sampler);
        set only when it changes: BokehJS lays the whole page out again at each change of ``visible``."""
        shown = None if self.shown is None else self.shown(result)
        for title, _ in panels:
            visible = shown is None or title in shown
            if title in self._boxes and self._boxes[title].visible != visible:
                self._boxes[title].visible = visible

    def not_showing(self, result) -> list[str]:
        """The panels that show no stage of ``result``'s run (stages of one run share its paths)."""
        return [title for title, _ in self.panels
                if title not in self._shown or self._shown[title].paths is not result.paths]

    def forget(self) -> None:
        """Drop the results the panels show or were about to show (the session has ended: nothing keeps them
        alive through this grid); the panels and their plots stay as they are."""
        self.result = self.complete = None
        self._shown.clear()
        self._drawn.clear()

    def pane(self, title: str) -> pn.pane.HoloViews:
        """The pane showing the panel called ``title``."""
        return self._panes[title]

    def changed(self, title: str) -> bool:
        """Whether the last draw of the panel called ``title`` changed what it shows (False: the new result looks
        the same there, e.g. the ODE's paths after a move of the SDE's noise)."""
        return not self._unchanged.get(title, False)

    def on_page(self, titles) -> bool:
        """Whether every panel called ``titles`` is on the page already (drawn at least once)."""
        return all(title in self._boxes for title in titles)

    def visible(self, title: str) -> bool:
        """Whether the panel called ``title`` is on show (not hidden by the scene's ``panels_shown``)."""
        return self._boxes[title].visible

    def redraw(self) -> None:
        """Draw the last result again (after a view-only knob changed)."""
        for pipe in self._pipes.values():
            pipe.event(data=pipe.data)  # each panel its own result (a partial stage leaves some panels behind)

    def _build(self, title: str, view, result) -> None:
        self._pipes[title] = pipe = hv.streams.Pipe(data=result)
        dmap = hv.DynamicMap(partial(self._render, title, view), streams=[pipe, self.frame])
        if title in self._panes:
            self._panes[title].object = dmap
        else:
            self._panes[title] = pn.pane.HoloViews(dmap, backend="bokeh", sizing_mode="fixed",
                                                   css_classes=[f"panel-{title.replace(' ', '-')}"])
            self._boxes[title] = pn.Column(self._panes[title], margin=0, sizing_mode="fixed")

    def _render(self, title, view, data, frame):
        drawn = self._drawn.get(title)
        if drawn is not None and drawn[0] is data and drawn[1] == frame:
            return self._decorate(drawn[2])
        with RENDER_LOCK:
            element = view(data, frame)
        return self._decorate(element)

    def look(self) -> Look:
        """What _decorate puts on every element: the app's plot size, in projector mode its line widths."""
        return Look(PROJECTOR_SIZE, PROJECTOR_STYLE) if self.projector else Look(PLOT_SIZE)

    def _decorate(self, element):
        """The app's plot size, and in projector mode its line widths and marker sizes (``look``); each .opts
        call costs about a millisecond, so the panels refreshed the short way go without."""
        look = self.look()
        for layer in (element.values() if isinstance(element, hv.Overlay) else [element]):
            if type(layer) in look.style:
                layer.opts(backend="bokeh", **look.style[type(layer)])
        return element.opts(backend="bokeh", **look.plot)

    def _fit_axes(self, title: str) -> bool:
        """Refit the panel's axes where the new data need it (explorer.axes); False where its categories
        changed and the panel must be drawn anew."""
        _, fitted = self._seen[title]
        element = self._drawn[title][2]
        plots = self._hv_plots(title)
        data = data_extent(element) if plots else None
        for plot in plots:
            axes = fit(plot, element, fitted, data)
            if axes is None:
                return False
            self._seen[title] = (shape(element), axes)
        return True

    def _hv_plots(self, title: str) -> list:
        """The HoloViews plots of a panel: one per page showing it (Panel's record; none before it is shown)."""
        return pane_plots(self._panes[title])

    def _first_plot(self, title: str):
        plots = self._hv_plots(title)
        return plots[0] if plots else None

    def _refresh(self, title: str) -> bool:
        """Redraw a panel by writing the new data into its Bokeh models (explorer.fastdraw); False where
        HoloViews must update it (another look, or the panel is not on a page yet)."""
        plots, element, look, changed = self._hv_plots(title), self._drawn[title][2], self.look(), []
        handled = bool(plots) and all(refresh(plot, element, look, changed) for plot in plots)
        self._unchanged[title] = handled and not any(changed)
        return handled

    def set_projector(self, on: bool) -> None:
        """Switch projector mode; plot sizes are fixed when a plot is made, so every panel is rebuilt."""
        self.projector = on
        self._seen.clear()
        by_result = {}  # each panel with the result it showed (Results are unhashable: grouped by id)
        for title, result in self._shown.items():
            by_result.setdefault(id(result), (result, []))[1].append(title)
        for result, titles in by_result.values():
            self.show(result, titles)

    def _frame_moved(self, event) -> None:
        if self._quiet_player:
            self.frame.update(frame=event.new)  # a new result is about to be drawn at this frame
        else:
            self._label_frame()
            self.frame.event(frame=event.new)

    def _label_frame(self) -> None:
        # the player's own value readout is not refreshed on server-side changes (Panel 1.9), so say it here
        times = self.result.times
        frame = min(self.player.value, len(times) - 1)
        self.player.label = f"frame {frame + 1} of {len(times)} (t = {times[frame]:g})"


class ViewOptions(param.Parameterized):
    """Per-session display options, kept in the URL beside the scene's parameters."""

    projector = param.Boolean(default=False, doc="Large type, thick lines, big plots: for a lecture hall")


class ScenePage:
    """One session's page for one scene: controls, plots, status line, error alert, live loop."""

    def __init__(self, scene_name: str, sync_url: bool = True, values: dict | None = None, scene=None):
        self.scene_name = scene_name
        self.scene = SCENES[scene_name]() if scene is None else scene  # a scene given: the page drives it
        self.scene.update(**(values or {}))
        self.run_params = tuple(self.scene.run_params)
        self.knobs = [p for p in self.scene.param if p != "name"]
        self.grid = PlotGrid(self.scene.panels(), shown=self.scene.panels_shown)
        # the line wraps in the width the page leaves it (sized to its text, it ran past the right edge)
        self.status = pn.pane.Markdown("computing the first run…", css_classes=["run-status"], margin=(5, 10),
                                       sizing_mode="stretch_width")
        self.busy = pn.pane.HTML('<div class="busy-ring"></div>', stylesheets=[BUSY_CSS], width=22, height=22,
                                 sizing_mode="fixed", margin=(12, 5), css_classes=["busy-indicator"])
        self.alert = pn.pane.Alert("", alert_type="danger", visible=False, css_classes=["run-error"])
        self.notice = pn.pane.Alert("", alert_type="warning", visible=False, css_classes=["url-error"])

        self.view_options = ViewOptions()
        self.progress = pn.indicators.Progress(value=0, max=100, width=200, visible=False, margin=(18, 5),
                                               css_classes=["run-progress"])
        self.cancel_button = pn.widgets.Button(name="Cancel", button_type="warning", visible=False, width=80,
                                               css_classes=["run-cancel"])
        self._location = None  # the session's Location, once the knobs are synced with the URL
        self._url_preset = ""  # the preset a link's ?preset= applied, shown as the preset menu's choice
        self._busy = False
        self._before_compile: str | None = None  # the status line a compile notice replaced
        self._compile_watch: threading.Thread | None = None
        self._asked_at = time.time()  # when the newest run was asked for (wall clock, for the profile log)
        self._timeline: dict[int, tuple] = {}  # id(result) -> (asked, run started, computed), wall clock
        self.runner = LiveRunner(self._run, self._show_result, self._show_error, cancellable=True, staged=True)
        self.cancel_button.on_click(lambda event: self.runner.cancel())
        self._served = pn.state.curdoc is not None and pn.state.curdoc.session_context is not None
        if self._served:
            pn.state.on_session_destroyed(lambda context: self.close())
            quiet_closed_tab_writes()
            if sync_url:
                self._apply_url_preset()  # before the URL's own knobs, which then override it
                self._location = pn.state.location
                pn.state.location.sync(self.scene, parameters=self.knobs, on_error=self._url_error)
                pn.state.location.sync(self.view_options, parameters=["projector"])
        self.set_projector(self.view_options.projector)
        self.view_options.param.watch(lambda event: self.set_projector(event.new), "projector")
        self.scene.param.watch(self._knobs_changed, self.knobs)
        self.recompute()

    def close(self) -> None:
        """The session has ended: stop the live loop and drop the references that would keep this page,
        its scene and its last result alive (Panel's Location holds every object it syncs)."""
        self.runner.close()
        location, self._location = self._location, None
        if location is not None:
            for synced in (self.scene, self.view_options):
                try:
                    location.unsync(synced)
                except Exception:  # the document is gone: its URL need not be updated
                    log.debug("unsync on session end", exc_info=True)
        self.grid.forget()
        release_soon()  # once the server has dropped the document: collect its cycles, return free pages
        recycling.check_soon()  # then, in a server process left idle and grown, a fresh process takes over

    @property
    def result(self):
        """The last good complete result (None before the first): what the downloads export."""
        return self.grid.complete

    def set_projector(self, on: bool) -> None:
        """Projector mode on or off: plots and type grow (see PROJECTOR_SIZE)."""
        self.grid.set_projector(on)
        self.status.styles = {"font-size": "22px" if on else "inherit"}
        # room for two lines whether the line holds one or two: a status line that grows when the complete
        # result's figures arrive moved every plot below it, and the browser repainted them all
        self.status.min_height = 70 if on else 46

    def _run(self, cancel):
        """On the worker thread: the scene's run in stages, with a cancel flag and a progress reporter; each
        stage's wall-clock times (asked, run started, stage computed) kept for the profile log."""
        self.scene.cancel = cancel
        self.scene.progress = self._report_progress
        # a live run's work budget, and its turns on the cores between slices (explorer.slots)
        self.scene.max_run_seconds, self.scene.take_turn = slots.RUN_BUDGET_S, take_turn
        self.scene.start_clock()
        asked, started = self._asked_at, time.time()
        for result in self.scene.stages():
            if len(self._timeline) > 8:  # stages superseded before they were drawn
                self._timeline.clear()
            self._timeline[id(result)] = (asked, started, time.time())
            yield result

    def _report_progress(self, fraction: float) -> None:
        def show():
            self.progress.value = int(100 * min(max(fraction, 0.0), 1.0))
            self.progress.visible = self.cancel_button.visible = True
        self.runner.post(show)

    # -- the loop ------------------------------------------------------------------------------
    def recompute(self) -> None:
        """Ask for a run with the scene's current values (a newer ask supersedes this one)."""
        self._asked_at = time.time()
        self.show_busy(True)
        self.runner.submit()

    def show_busy(self, on: bool) -> None:
        """The spinner shown or hidden by its CSS opacity: it keeps its place, so the page is not laid out
        again (BokehJS lays out the whole page when a model's ``visible`` changes: twice per update, 420 ms of
        the browser's time on the Langevin page). Not by ``visibility``: the spinner's own element sets it
        back to visible, so "hidden" on the pane left it spinning on screen (seen in screenshots). It spins
        only while shown: its animation, left running under opacity 0, restyled the page at every frame
        (an idle Lorenz page cost the browser 87 ms per second, the floor page 23)."""
        self._busy = on
        self.busy.styles = BUSY_STYLES[on]
        if on and self._served and (self._compile_watch is None or not self._compile_watch.is_alive()):
            self._compile_watch = threading.Thread(target=self._watch_compiles, daemon=True, name="compile-watch")
            self._compile_watch.start()

    def _watch_compiles(self) -> None:
        """While the page is busy, every COMPILE_CHECK_S: post ``say_if_compiling`` to the session when there is
        a compile to tell of or a notice to take back. A thread, not a Panel periodic callback: those mark the
        whole page busy at each tick, which spun the header's busy indicator twice a second."""
        while self._busy and not self.runner.closed:
            time.sleep(COMPILE_CHECK_S)
            if compiling_for() >= COMPILE_NOTICE_S or self._before_compile is not None:
                self.runner.post(self.say_if_compiling)

    def say_if_compiling(self) -> None:
        """While a run waits for kernels compiled for the first time on this server (5-40 s on 2 cores, once
        per kernel and server), the status line says so and counts the seconds, instead of leaving a bare
        "computing…" (a lecture step on a sampler not yet compiled waited with no reason given); once the
        compile is over, the line it replaced comes back until the result replaces it."""
        seconds = compiling_for() if self._busy else 0.0
        if seconds >= COMPILE_NOTICE_S:
            if self._before_compile is None:
                self._before_compile = self.status.object
            self.status.object = (f"compiling kernels for their first run on this server: {seconds:.0f} s so far "
                                  "(a first compile takes 5–40 s; later runs start at once)…")
        else:
            self._end_compile_notice()

    def _end_compile_notice(self) -> None:
        """The status line a compile notice replaced, back (nothing when no notice is shown)."""
        if self._before_compile is not None:
            self.status.object, self._before_compile = self._before_compile, None

    def _knobs_changed(self, *events) -> None:
        if any(event.name in self.run_params for event in events):
            self.recompute()
        elif self.result is not None:
            self.grid.redraw()

    def _show_result(self, result, seconds: float):
        start, shown_at = time.perf_counter(), time.time()
        first = self.result is None
        with pn.io.hold():  # the status line reaches the browser with the plots it describes
            drawing = self._draw(result, seconds)
        if first and self._served:  # the page's plots now exist: keep its objects out of the collector's full passes
            freeze_long_lived()
        asked, started, computed = self._timeline.pop(id(result), (math.nan,) * 3)
        if profile_log.isEnabledFor(logging.INFO):
            profile_log.info("profile %s stage=%s run=%.0fms show=%.0fms asked=%.4f started=%.4f computed=%.4f "
                             "shown=%.4f sent=%.4f", self.scene_name, "complete" if result.complete else "first",
                             1e3 * seconds, 1e3 * (time.perf_counter() - start), asked, started, computed,
                             shown_at, time.time())
        return drawing

    def _draw(self, result, seconds: float):
        """A partial stage on its panels (the scene's ``stage_panels``), its status line saying more is coming;
        the complete result on the panels that do not show its run yet (on all of them if none). Returns LATER
        where panels are still to be drawn (``_draw_in_turns``)."""
        self.show_busy(not result.complete)
        self._before_compile = None
        self.progress.visible = self.cancel_button.visible = False
        self.alert.visible = False
        # a partial stage's line says only that more is coming: the figures are read from the complete result
        self.status.object = status_text(result.metrics if result.complete else {}, seconds) + \
            ("" if result.complete else " · diagnostics…")
        if result.complete:
            titles = self.grid.not_showing(result)
        else:
            titles = self.scene.stage_panels[result.stage]
        titles = list(titles)
        if not self.grid.on_page(titles):  # the page is being built: every panel at once, one layout
            titles = [titles]
        return self._draw_in_turns(result, titles, seconds)

    def _draw_in_turns(self, result, titles: list, seconds: float):
        """Draw ``result`` on the panels ``titles`` (a list of titles is drawn at once), the first now and the
        others in the session loop's next turns, one panel on show per turn, in page order. Each panel's changes
        reach the browser as their own message: the first (the main panel, beside its status line) is painted
        while the server still builds the others, which the page paints as they arrive (Lorenz page: the attractor
        waited 45 ms for the fan chart's and the spread's views). A newer result drawn meanwhile takes the
        remaining panels' place. A panel the result leaves as it was (the ODE's paths when the SDE's noise moves)
        does not end a turn. Returns LATER while panels remain, and tells the runner once all are drawn."""
        try:
            while titles:
                title = titles.pop(0)
                batch = title if isinstance(title, list) else [title]
                self.grid.show(result, batch)
                if any(self.grid.visible(name) and self.grid.changed(name) for name in batch):
                    break  # one changed panel on show per turn; the hidden and unchanged ones cost the browser nothing
        except Exception as error:  # a view that cannot draw this result: say so, keep the session
            self._show_error(error, seconds)
            return None
        if not titles:
            return None
        self.runner.post(partial(self._draw_next, result, titles, seconds))
        return LATER

    def _draw_next(self, result, titles: list, seconds: float) -> None:
        """The next turn of ``_draw_in_turns``, unless a newer result has been drawn or asked for since: during a
        drag the main panel follows the hand and the others catch up once it stops (drawing them for a value
        already left behind took the cores from the run of the next one)."""
        if self.grid.result is not result or self.runner.superseded:
            return  # superseded: the newer result's own drawing tells the runner
        with pn.io.hold():
            drawing = self._draw_in_turns(result, titles, seconds)
        if drawing != LATER:
            self.runner.drawn()

    def _show_error(self, error: BaseException, seconds: float = 0.0) -> None:
        self.show_busy(False)
        self._end_compile_notice()
        self.progress.visible = self.cancel_button.visible = False
        if isinstance(error, (SceneError, PresetError, ExportError)):
            message = str(error)
        else:
            log.error("a run or its drawing failed", exc_info=error)
            message = f"internal error ({type(error).__name__}): {error}"
        kept = "the plots show the last good run" if self.result is not None else "no run has succeeded yet"
        if self.result is None:  # the line said "computing the first run…"
            self.status.object = "the first run failed: see the message above"
        self.alert.object = f"**{type(error).__name__}**: {message}  \n*({kept})*"
        self.alert.visible = True

    def _presets(self) -> dict:
        try:
            return list_presets(self.scene_name)
        except PresetError as error:
            self._show_error(error)
            return {}

    def _apply_preset(self, name: str) -> None:
        try:
            self.scene.update(**load_preset(self.scene_name, name))
        except (SceneError, PresetError) as error:
            self._show_error(error)

    def _apply_url_preset(self) -> None:
        """``?preset=NAME`` applies that preset, so a link can open one (a lecture's large run); an unknown
        name is said in the URL notice, with the names there are."""
        asked = pn.state.session_args.get("preset")
        if not asked:
            return
        name = asked[0].decode(errors="replace")
        presets = self._presets()
        if name in presets:
            self._apply_preset(name)
            self._url_preset = name
        else:
            self.notice.object = (f"**Not applied from the URL**  \n`preset={name}`: no such preset for this scene "
                                  f"(there are {', '.join(sorted(presets)) or 'none'})")
            self.notice.visible = True

    def _url_error(self, values: dict) -> None:
        """Apply URL values one by one; say which were refused and why."""
        problems = []
        for name, value in values.items():
            try:
                self.scene.update(**{name: value})
            except SceneError as error:
                problems.append(f"`{name}={value}`: {error}")
        if problems:
            self.notice.object = "**Not applied from the URL**  \n" + "  \n".join(problems)
            self.notice.visible = True

    # -- page ----------------------------------------------------------------------------------
    def sidebar(self) -> list:
        # one $…$ per \qquad-separated part, so a long equation wraps in the narrow sidebar
        parts = [part.strip() for part in self.scene.equation.split(r"\qquad") if part.strip()]
        equation = pn.pane.LaTeX("  ".join(f"${part}$" for part in parts), margin=(5, 10))
        copy_link = pn.widgets.Button(name="Copy link to this view", button_type="light", margin=(5, 10),
                                      css_classes=["copy-link"])
        copy_link.js_on_click(code="navigator.clipboard.writeText(window.location.href)")
        projector = pn.widgets.Checkbox.from_param(self.view_options.param.projector, name="Projector mode",
                                                   margin=(5, 10), css_classes=["projector-toggle"])
        return [
            equation,
            preset_selector(self._presets(), self._apply_preset, self._url_preset),
            pn.Row(copy_link, projector),
            download_buttons(self.scene_name, self.scene, lambda: self.result, self._show_error),
            *self._drawing_canvases(),
            scene_controls(self.scene, [knob for knob in self.knobs if knob not in self.drawing_knobs]),
        ]

    @property
    def drawing_knobs(self) -> tuple:
        return tuple(getattr(self.scene, "drawing_knobs", ()))

    def _drawing_canvases(self) -> list:
        """A canvas per drawing knob, shown while that knob applies (a drawn target or cloud is chosen)."""
        canvases = [DrawingCanvas(self.scene, knob, self._show_error,
                                  title=f"Draw the {knob.removesuffix('_drawing').replace('drawing', 'target')}")
                    for knob in self.drawing_knobs]

        def show(*events):
            applicable = set(self.scene.applicable_knobs())
            for canvas in canvases:
                canvas.panel.visible = canvas.knob in applicable

        show()
        if canvases:
            self.scene.param.watch(show, list(self.scene.choice_knobs()))
        return [canvas.panel for canvas in canvases]

    def main(self) -> list:
        return [pn.Column(self.notice, self.alert, pn.Row(self.grid.player, self.busy, self.progress,
                                                                     self.cancel_button, self.status,
                                                                     sizing_mode="stretch_width"),
                          self.grid.layout, sweep_card(self.scene_name, self.scene), sizing_mode="stretch_width")]


def build_page(scene_name: str, values: dict | None = None):
    """The page of one scene, built fresh for each browser session (starting from ``values``, the URL's
    values over them)."""
    page = ScenePage(scene_name, values=values)
    scene = page.scene
    keep_body_style()  # a slider's drag restyled the whole page twice
    return pn.template.FastListTemplate(title=f"Stochastic Explorer — {scene.title}", sidebar=page.sidebar(),
                                        main=page.main(), **TEMPLATE_STYLE)


def build_index():
    """The landing page: a gallery of the scenes (thumbnails drawn by the export code) and the lectures."""
    from explorer.gallery import ready
    from explorer.lectures import LectureError, list_lectures

    cards = []
    for name, cls in SCENES.items():
        about = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        items = [pn.pane.Markdown(f"### [{cls.title}](./{name})\n{about}", css_classes=["scene-index"])]
        picture = ready(name)  # drawn by the warm-up thread at server start; never waited for here
        items.insert(0, pn.pane.PNG(picture, width=260, link_url=f"./{name}") if picture else
                     pn.pane.Markdown("*(preview being drawn — reload in a moment)*", width=260, height=120))
        cards.append(pn.Column(*items, width=300, margin=10, css_classes=["scene-card"]))
    try:
        lectures = list_lectures(SCENES)
    except LectureError as error:
        lectures, cards = {}, [pn.pane.Alert(str(error), alert_type="warning"), *cards]
    lines = ["## Lectures", ""] + [f"- [{lecture.title}](./lecture?lecture={name}) ({len(lecture.steps)} steps; "
                                   f"arrow keys step through)" for name, lecture in lectures.items()]
    return pn.template.FastListTemplate(
        title="Stochastic Explorer",
        main=[pn.Column(pn.pane.Markdown("## Scenes"), pn.FlexBox(*cards), pn.pane.Markdown("\n".join(lines)))],
        accent="#1f77b4", header_background="#1f3b57", main_layout=None, design=OfflineFast)


def page_factory(scene_name: str):
    """A plain function building the scene's page (Panel serves functions, not ``partial`` objects)."""
    def page():
        return build_page(scene_name)

    page.__name__ = f"{scene_name}_page"
    return page


def routes(warm_up: bool = True) -> dict:
    """URL path → page factory, for ``pn.serve``: ``/`` the index, ``/<scene>`` each scene."""
    from explorer.gallery import warm_up as start_warm_up
    from explorer.lecture_page import build_lecture

    table = {"/": build_index, "/lecture": build_lecture}
    table.update({f"/{name}": page_factory(name) for name in SCENES})
    if warm_up:  # thumbnails, and each scene's default kernels compiled, before the first visit
        start_warm_up(list(SCENES))
    return table
