"""The sweep panel of a scene page (DESIGN §5, §11): one or two knobs over a range or a set of values, a
number of seeds, Submit and Cancel, a progress bar while the runs stream in, and the plot of a metric's mean
with its 95 % band over the seeds (explorer.sweep_plot: a line for one knob, a heat map for two), with the
figure (PNG, SVG, PDF) and the table (CSV) as browser downloads.

The knobs not swept are the page's current values. The grid goes through the engine's own checks
(scenes.sweep.make_spec: a bad value is refused naming the knob and its bound) and its size through the
scenes' own work estimate (scenes.sweep_work) before anything runs. A sweep this small runs here, one run
after another, taking its turns on the cores with the live runs (explorer.live); a larger one goes to the
Dask cluster the CLI would use (explorer.sweep_client). The job is driven on a thread of its own; what it
reports reaches the session through the live loop's scheduler (explorer.live.session_schedule), newest first.
"""
from __future__ import annotations

import contextlib
import io
import logging
import threading
import time

import panel as pn
import param

from explorer import live
from explorer.live import session_schedule
from explorer.sweep_plot import default_metric, image, metric_columns
from scenes import SceneError
from scenes.sweep import ERROR, make_spec, start
from scenes.sweep_grid import GridError, knobs

log = logging.getLogger(__name__)

MAX_VALUES = 40        # values along one axis
MAX_SEEDS = 32
MAX_RUNS = 2000        # runs of one sweep from the app (the CLI has no limit)
MAX_SECONDS = 900.0    # estimated seconds of one core a sweep from the app may compute for
SERIAL_SECONDS = 3.0   # a sweep estimated under this runs in this process (no cluster to start)
PLOT_EVERY_S = 1.0     # the plot is redrawn at most this often while rows stream in
DEFAULT_COUNT = 5
DEFAULT_SEEDS = 3
CHOICES_SHOWN = 4      # a selector with at most this many choices starts with all of them chosen
NONE = "(none)"
FIGURES = ("png", "svg", "pdf")
EXECUTIONS = ("auto", "serial", "dask")


def _numeric(parameter) -> bool:
    return isinstance(parameter, param.Number) and not isinstance(parameter, param.Boolean)


def _choice(parameter) -> bool:
    return isinstance(parameter, param.Boolean) or (isinstance(parameter, param.Selector)
                                                    and not isinstance(parameter, param.ListSelector))


def sweepable(scene) -> list[str]:
    """The knobs offered: the scene's sweepable knobs (scenes.sweep_grid.knobs) that apply with the page's
    current choices and are numbers, booleans or choices."""
    cls, applying = type(scene), set(scene.applicable_knobs())
    return [k for k in knobs(cls) if k in applying and (_numeric(cls.param[k]) or _choice(cls.param[k]))]


def default_knob(scene, offered: list[str]) -> str:
    """The knob first shown: the first log-scale knob offered (a step size, ε, noise), else the first number."""
    numbers = [k for k in offered if _numeric(type(scene).param[k])]
    logs = [k for k in numbers if k in getattr(type(scene), "log_params", ())]
    return (logs or numbers or offered)[0]


def default_range(parameter, value: float, log_scale: bool) -> tuple[float, float]:
    """A numeric knob's first range: a decade either side of its value for a log knob, else its slider's span
    (the soft bounds, else the hard ones, else around the value), inside the soft bounds."""
    low, high = parameter.softbounds or parameter.bounds or (None, None)
    if log_scale and value > 0:
        start, end = value / 10, value * 10
        return (max(start, low) if low is not None else start), (min(end, high) if high is not None else end)
    return (value - 1 if low is None else low), (value + 1 if high is None else high)


class AxisControls:
    """The widgets of one axis: the knob, then a range (from, to, count, lin or log) for a number or the
    values chosen for a selector or a switch; ``grid()`` is the axis in the engine's terms."""

    def __init__(self, scene, offered: list[str], knob: str, label: str, optional: bool, role: str):
        self.scene = scene
        self.knob = pn.widgets.Select(name=label, options=[NONE, *offered] if optional else offered, value=knob,
                                      width=160, css_classes=[f"sweep-{role}-knob"])
        self.start = pn.widgets.FloatInput(name="from", width=90, css_classes=[f"sweep-{role}-start"])
        self.end = pn.widgets.FloatInput(name="to", width=90, css_classes=[f"sweep-{role}-end"])
        self.count = pn.widgets.IntInput(name="values", value=DEFAULT_COUNT, start=1, end=MAX_VALUES, width=70,
                                         css_classes=[f"sweep-{role}-count"])
        self.scale = pn.widgets.RadioButtonGroup(options=["lin", "log"], value="lin", width=90, margin=(27, 5, 5, 5),
                                                 button_type="primary", button_style="outline",
                                                 css_classes=[f"sweep-{role}-scale"])
        self.values = pn.widgets.MultiChoice(name="values", width=300, css_classes=[f"sweep-{role}-values"])
        self.range = pn.Row(self.start, self.end, self.count, self.scale, margin=0)
        self.layout = pn.Column(self.knob, self.range, self.values, margin=0)
        self.knob.param.watch(lambda event: self.choose(event.new), "value")
        self.choose(knob)

    def choose(self, knob: str) -> None:
        """Show the controls for ``knob``, set to values around the page's current one."""
        self.range.visible = self.values.visible = False
        if knob == NONE:
            return
        parameter, value = type(self.scene).param[knob], getattr(self.scene, knob)
        if _numeric(parameter):
            log_scale = knob in getattr(type(self.scene), "log_params", ())
            self.start.value, self.end.value = default_range(parameter, float(value), log_scale)
            self.scale.value = "log" if log_scale else "lin"
            self.range.visible = True
        else:
            objects = [False, True] if isinstance(parameter, param.Boolean) else list(parameter.objects)
            self.values.options = {str(o): o for o in objects}
            self.values.value = objects if len(objects) <= CHOICES_SHOWN else [value]
            self.values.visible = True

    def grid(self) -> tuple[str, object] | None:
        """(knob, its values as scenes.sweep_grid takes them), or None for no knob."""
        knob = self.knob.value
        if knob == NONE:
            return None
        if not _numeric(type(self.scene).param[knob]):
            return knob, list(self.values.value)
        if self.start.value is None or self.end.value is None or not self.count.value:
            raise GridError(f"{knob}: give the range's start, end and number of values")
        return knob, f"{self.scale.value}:{self.start.value!r}:{self.end.value!r}:{int(self.count.value)}"


class SweepPanel:
    """One session's sweep of its scene: the controls, the job on its thread, the progress and the plot.

    ``execution``: "auto" (a sweep estimated under SERIAL_SECONDS here, a larger one on Dask), "serial" or
    "dask". ``schedule`` puts a callback on the session's thread (default: the session the panel is built in;
    outside a server the callback runs at once)."""

    def __init__(self, scene_name: str, scene, execution: str = "auto", schedule=None):
        if execution not in EXECUTIONS:
            raise ValueError(f"execution must be one of {', '.join(EXECUTIONS)}, got {execution!r}")
        self.scene_name, self.scene, self.execution = scene_name, scene, execution
        offered = sweepable(scene)
        self.axes = [AxisControls(scene, offered, default_knob(scene, offered), "knob", False, "first"),
                     AxisControls(scene, offered, NONE, "second knob", True, "second")]
        self.seeds = pn.widgets.IntInput(name="seeds", value=DEFAULT_SEEDS, start=1, end=MAX_SEEDS, width=80,
                                         css_classes=["sweep-seeds"])
        self.metric = pn.widgets.Select(name="metric", options=[], width=170, disabled=True, css_classes=["sweep-metric"])
        self.submit_button = pn.widgets.Button(name="Run sweep", button_type="primary", width=110, margin=(24, 5, 5, 5),
                                               css_classes=["sweep-submit"])
        self.cancel_button = pn.widgets.Button(name="Cancel", button_type="warning", width=80, disabled=True,
                                               margin=(24, 5, 5, 5), css_classes=["sweep-cancel"])
        self.progress = pn.indicators.Progress(value=0, max=100, width=300, visible=False, css_classes=["sweep-progress"])
        self.status = pn.pane.Markdown("The other knobs stay at the page's values.", css_classes=["sweep-status"],
                                       sizing_mode="stretch_width")
        self.alert = pn.pane.Alert("", alert_type="danger", visible=False, css_classes=["sweep-error"])
        self.plot = pn.pane.PNG(None, width=620, visible=False, css_classes=["sweep-plot"])
        self.downloads = [pn.widgets.FileDownload(callback=self._download(fmt), filename=f"{scene_name}_sweep.{fmt}",
                                                  label=fmt.upper(), button_type="primary", button_style="outline",
                                                  width=58, margin=(5, 4), disabled=True,
                                                  css_classes=[f"sweep-download-{fmt}"])
                          for fmt in (*FIGURES, "csv")]
        self.spec = None       # the sweep running or last run
        self.table = None      # its rows so far (scenes.sweep.tidy)
        self.job = None
        self.thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._outbox: dict | None = None  # the newest undelivered update, merged (see _hand)
        self._schedule = schedule or session_schedule()
        self.submit_button.on_click(lambda event: self.submit())
        self.cancel_button.on_click(lambda event: self.cancel())
        self._quiet = False
        self.metric.param.watch(lambda event: self._quiet or self._redraw(), "value")
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            pn.state.on_session_destroyed(lambda context: self.cancel())
        self.layout = pn.Column(
            pn.Row(*(axis.layout for axis in self.axes), margin=0),
            pn.Row(self.seeds, self.metric, self.submit_button, self.cancel_button, margin=0),
            self.progress, self.status, self.alert, self.plot,
            pn.Row(pn.pane.Markdown("**Save the sweep**", margin=(0, 10), align="center"), *self.downloads, margin=0),
            sizing_mode="stretch_width", css_classes=["sweep-panel"])

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    # -- before anything runs ------------------------------------------------------------------
    def make_spec(self):
        """The checked sweep: the chosen axes and seeds, the page's other run knobs fixed (GridError naming
        the knob for a bad value, the same knob twice, or a sweep too large)."""
        chosen = [axis for axis in (a.grid() for a in self.axes) if axis is not None]
        grid = dict(chosen)
        if len(grid) < len(chosen):
            raise GridError(f"{chosen[0][0]}: chosen for both axes; choose two different knobs")
        sweepable_knobs = knobs(type(self.scene))
        fixed = {k: v for k, v in self.scene.values().items() if k in sweepable_knobs and k not in grid}
        spec = make_spec(self.scene_name, grid, int(self.seeds.value or 0), fixed)
        if len(spec) > MAX_RUNS:
            raise GridError(f"the sweep has {len(spec):,} runs, over the {MAX_RUNS:,} a sweep from the page may have: "
                            f"fewer values or seeds (or `stochastic-explorer sweep` on a cluster)")
        return spec

    def estimate(self, spec) -> float:
        """The sweep's estimated seconds of computing, or GridError saying its size where it is far too large."""
        from scenes.sweep_work import estimate_seconds

        seconds = estimate_seconds(spec)
        if seconds > MAX_SECONDS:
            raise GridError(f"the sweep would compute for about {seconds / 60:,.0f} min of one core ({len(spec):,} runs), "
                            f"over the {MAX_SECONDS / 60:.0f} min a sweep from the page may take: fewer values or "
                            f"seeds, or smaller runs (or `stochastic-explorer sweep` on a cluster)")
        return seconds

    # -- the controls' actions -----------------------------------------------------------------
    def submit(self) -> None:
        """Check the sweep and start it on its thread; a refused one is said in the alert, nothing run."""
        if self.running:
            return
        self.alert.visible = False
        try:
            spec = self.make_spec()
            seconds = self.estimate(spec)
        except SceneError as error:
            self._say(f"**Not run**: {error}", "danger")
            return
        self.spec, self.table, self.job = spec, None, None
        self._cancel = threading.Event()
        self.progress.value, self.progress.visible = 0, True
        self.status.object = f"0/{len(spec)} runs (about {seconds:.0f} s of computing)…"
        self.submit_button.disabled, self.cancel_button.disabled = True, False
        for button in self.downloads:
            button.disabled = True
        self.thread = threading.Thread(target=self._work, args=(spec, seconds, self._cancel), daemon=True,
                                       name="explorer-sweep")
        self.thread.start()

    def cancel(self) -> None:
        """Stop the sweep: what is queued is dropped, the rows that came back are kept."""
        self._cancel.set()
        job = self.job
        if job is not None:
            job.cancel()

    def wait(self, timeout: float | None = None) -> None:
        """Until the sweep's thread has ended (for tests and scripts)."""
        if self.thread is not None:
            self.thread.join(timeout)

    # -- on the sweep's thread -----------------------------------------------------------------
    def _work(self, spec, seconds: float, cancel: threading.Event) -> None:
        started, drawn_at, job = time.perf_counter(), 0.0, None
        serial = self.execution == "serial" or (self.execution == "auto" and seconds <= SERIAL_SECONDS)
        try:
            if serial:
                job = start(spec)
            else:
                from explorer.sweep_client import shared_client

                self._hand(status="starting the Dask cluster…")
                job = start(spec, shared_client())
            self.job = job
            if cancel.is_set():
                job.cancel()
            for progress in self._steps(job, serial):
                update = {"progress": progress}
                if time.perf_counter() - drawn_at >= PLOT_EVERY_S:
                    update["png"], drawn_at = self.figure(progress.table, "png"), time.perf_counter()
                self._hand(**update)
            final = job.progress()
            self._hand(progress=final, png=self.figure(final.table, "png"), finished=time.perf_counter() - started)
        except Exception as error:  # an unreachable scheduler, a lost one: said; the rows that came back kept
            if not isinstance(error, SceneError):
                log.warning("a sweep stopped", exc_info=error)
                from explorer.sweep_client import drop

                drop()  # the next sweep opens a fresh client
            final = job.progress() if job is not None else None
            self._hand(progress=final, error=error, finished=time.perf_counter() - started)

    @staticmethod
    def _steps(job, serial: bool):
        """The job's progress; a serial job's runs each hold a run slot, sharing the cores with live runs."""
        steps = iter(job)
        while True:
            with live.RUN_SLOTS if serial else contextlib.nullcontext():
                progress = next(steps, None)
            if progress is None:
                return
            yield progress

    def figure(self, table, fmt: str = "png") -> bytes | None:
        """The sweep's figure as ``fmt`` bytes (explorer.sweep_plot), or None while no run gave a metric."""
        spec = self.spec
        if table is None or spec is None or not metric_columns(table, spec.knobs):
            return None
        chosen = self.metric.value
        metric = chosen if chosen in metric_columns(table, spec.knobs) else default_metric(table, spec.knobs)
        if table[metric].notna().sum() == 0:
            return None
        logs = [a.knob for a in spec.axes if a.scale == "log"]
        return image(table, list(spec.knobs), metric, fmt, log_knobs=logs,
                     title=f"{self.scene.title}: {metric}, {len(spec.seeds)} seeds")

    def _hand(self, **update) -> None:
        """Leave ``update`` for the session's thread, merged into one not yet delivered (newest values win),
        and ask for a delivery only when none is pending: a fast sweep does not pile up callbacks."""
        with self._lock:
            pending = self._outbox is not None
            self._outbox = {**(self._outbox or {}), **{k: v for k, v in update.items() if v is not None}}
        if not pending:
            self._schedule(self._deliver)

    # -- on the session's thread ---------------------------------------------------------------
    def _deliver(self) -> None:
        with self._lock:
            update, self._outbox = self._outbox, None
        if not update:
            return
        with pn.io.hold():
            if "status" in update:
                self.status.object = update["status"]
            progress = update.get("progress")
            if progress is not None:
                self.table = progress.table
                self.progress.value = int(100 * progress.fraction)
                failed = f" · {progress.failed} failed" if progress.failed else ""
                self.status.object = f"{progress.done}/{progress.total} runs{failed}…"
                self._offer_metrics(progress.table)
            if "png" in update:
                self.plot.object, self.plot.visible = update["png"], True
            if "finished" in update:
                self._finish(progress, update.get("error"), update["finished"])

    def _offer_metrics(self, table) -> None:
        metrics = metric_columns(table, self.spec.knobs)
        if metrics and list(self.metric.options) != metrics:
            value = self.metric.value if self.metric.value in metrics else default_metric(table, self.spec.knobs)
            self._quiet = True  # the plot on its way already shows this metric
            try:
                self.metric.param.update(options=metrics, value=value, disabled=False)
            finally:
                self._quiet = False

    def _finish(self, progress, error, seconds: float) -> None:
        self.submit_button.disabled, self.cancel_button.disabled = False, True
        self.progress.visible = False
        done, total = (progress.done, progress.total) if progress is not None else (0, len(self.spec))
        stopped = "cancelled" if self._cancel.is_set() else "stopped" if error is not None else "done"
        self.status.object = f"{stopped}: {done}/{total} runs in {seconds:.1f} s"
        for button in self.downloads:
            button.disabled = self.table is None or not len(self.table)
        if error is not None:
            kind = "the Dask scheduler could not be reached" if type(error).__name__ == "SchedulerUnreachable" else \
                "the sweep stopped"
            message = str(error) if isinstance(error, SceneError) else f"{type(error).__name__}: {error}"
            self._say(f"**{kind}**: {message}  \n*({done} of {total} runs came back; the table keeps them)*", "danger")
        elif progress is not None and progress.failed:
            first = progress.table[ERROR].dropna().iloc[0]
            self._say(f"**{progress.failed} of {done} runs failed** (their rows hold the error); the first: {first}",
                      "warning")

    def _say(self, text: str, kind: str) -> None:
        self.alert.alert_type, self.alert.object, self.alert.visible = kind, text, True

    def _redraw(self) -> None:
        """Another metric chosen: the plot drawn again from the table (nothing is run)."""
        if self.table is not None and not self.running:
            png = self.figure(self.table, "png")
            if png is not None:
                self.plot.object, self.plot.visible = png, True

    def _download(self, fmt: str):
        def build():
            if fmt == "csv":
                return io.BytesIO(self.table.to_csv(index=False).encode())
            return io.BytesIO(self.figure(self.table, fmt))
        return build


def sweep_card(scene_name: str, scene) -> pn.Card:
    """The page's "Sweep" card, collapsed; its panel is built when it is first opened, so the page's first
    paint does not wait for it."""
    card = pn.Card(pn.pane.Markdown("…"), title="Sweep", collapsed=True, sizing_mode="stretch_width",
                   css_classes=["sweep-card"])

    def build(event) -> None:
        if not event.new and not built:
            built.append(SweepPanel(scene_name, scene))
            card.objects = [built[0].layout]

    built: list[SweepPanel] = []
    card.sweep_panels = built  # the panel, once built (for tests)

    card.param.watch(build, "collapsed")
    return card
