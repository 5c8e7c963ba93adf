"""Sidebar controls made from a scene's params: knob sliders (linear or log), presets, downloads.

Widgets come from the params themselves (``pn.Param``): the soft bounds give the slider range, the
hard bounds what may be typed, the ``doc`` the tooltip. Sliders report while they are dragged (``value``), so
the plots follow the hand: the live loop's newest-wins runner (explorer.live) keeps that to one run in flight
and one waiting, however fast the values come.

The knob slider is one of Panel's composite widgets, whose hooks are private to Panel; it gets them, with
the URL of Panel's own slider stylesheet, from explorer.library_internals.
"""
from __future__ import annotations

import io
import math
from typing import Callable

import panel as pn
import param
from bokeh.models import CustomJSTickFormatter
from panel.widgets.base import WidgetBase

from explorer.export import export_bytes
from explorer.library_internals import column_composite_widget, panel_stylesheet

SLIDER_POSITIONS = 200        # positions along a float or log slider
MAX_SLIDER_SPAN = 100_000     # integer knobs without soft bounds wider than this get a number box
KNOB_CLASS = "knob-"          # CSS class prefix of a knob's widget: knob-<name>
DOWNLOADS = ("png", "svg", "pdf", "html", "gif", "mp4", "npz", "csv", "yaml")


def _round(value: float, digits: int = 3) -> float:
    """``value`` to ``digits`` significant digits, so a slider's position reads as a plain number."""
    return float(f"{value:.{digits}g}")


def log_tick() -> CustomJSTickFormatter:
    """Readout of a log10 slider position as the real value (a new model per widget: one per document)."""
    return CustomJSTickFormatter(code="return Number(Math.pow(10, tick).toPrecision(3)).toString()")


class KnobSlider(column_composite_widget()):
    """A numeric knob: label, tooltip and a box for the exact value above a slider (linear or log10).

    ``start``/``end`` are the slider's ends (the param's soft bounds), ``fixed_start``/``fixed_end``
    the limits a typed value may reach (the hard bounds; the slider widens to show such a value).
    ``value`` follows the handle while it is dragged, and changes when a number is typed. With
    ``log=True`` the slider moves along log10 of the value; box and handle tooltip show the real value.
    """

    value = param.Number(default=1.0, doc="The knob's value (real units, also for a log slider)")
    start = param.Number(default=0.0, doc="Slider's left end")
    end = param.Number(default=1.0, doc="Slider's right end")
    fixed_start = param.Number(default=None, allow_None=True, doc="Smallest value that may be typed")
    fixed_end = param.Number(default=None, allow_None=True, doc="Largest value that may be typed")
    description = param.String(default=None, allow_None=True, doc="Tooltip text (the knob's doc)")
    log = param.Boolean(default=False, doc="Move along log10 of the value")
    integer = param.Boolean(default=False, doc="Whole numbers only")

    def __init__(self, **params):
        self._placing = False
        super().__init__(**params)
        self._label = pn.widgets.StaticText(margin=(0, 4, 0, 0), align="center")
        self._tip = pn.widgets.TooltipIcon(value=self.description or " ", margin=(0, 4, 0, 0), align="center",
                                           visible=bool(self.description))
        box_type = pn.widgets.IntInput if self.integer else pn.widgets.FloatInput
        self._box = box_type(margin=0, align="end", width=90, start=self.fixed_start,
                             end=self.fixed_end, css_classes=["slider-edit"],
                             stylesheets=[panel_stylesheet("editable_slider.css")])
        self._slider = pn.widgets.FloatSlider(show_value=False, tooltips=True, margin=(0, 0, 5, 0),
                                              sizing_mode="stretch_width", format=log_tick() if self.log else None)
        self._slider.param.watch(self._from_slider, "value")
        self._box.param.watch(self._from_box, "value")
        self.set_parts([pn.Row(self._label, self._tip, pn.layout.HSpacer(), self._box,
                               sizing_mode="stretch_width", margin=0), self._slider])
        self._show_label()
        self._show_value()

    def _to_slider(self, value: float) -> float:
        return math.log10(value) if self.log else value

    def _from_position(self, position: float) -> float:
        value = 10.0 ** position if self.log else position
        return round(value) if self.integer else _round(value, 3 if self.log else 4)

    @param.depends("label", watch=True)
    def _show_label(self):
        self._label.value = f"{self.label}:" if self.label else ""

    @param.depends("value", "start", "end", "disabled", watch=True)
    def _show_value(self):
        low = self._to_slider(min(self.start, self.value))
        high = self._to_slider(max(self.end, self.value))
        step = 1 if self.integer and not self.log else (high - low) / SLIDER_POSITIONS
        at = {} if self._from_position(self._slider.value) == self.value else {"value": self._to_slider(self.value)}
        # only what differs is set (this echo, at every move of every knob, was 2.7 % of the server's samples
        # under the load test when it set everything)
        changed = _differing(self._slider, start=low, end=high, step=step, disabled=self.disabled)
        self._placing = True  # the handle placed for a typed value: not a move of the user's
        try:  # a dragged handle is not sent back its own position (rounded): it would jump under the hand
            if changed or at:
                self._slider.param.update(**changed, **at)
        finally:
            self._placing = False
        self._box.param.update(**_differing(self._box, value=self.value, disabled=self.disabled))

    def _clip(self, value: float) -> float:
        low = self.fixed_start if self.fixed_start is not None else -math.inf
        high = self.fixed_end if self.fixed_end is not None else math.inf
        return min(max(value, low), high)

    def _from_slider(self, event):
        if event.new is None or self._placing:
            return
        if abs(event.new - self._to_slider(self.value)) < 0.5 * (self._slider.step or 0):
            return  # the slider put the value on its grid of positions (as a page opens): not a move of the hand
        self.value = self._clip(self._from_position(event.new))

    def _from_box(self, event):
        if event.new is None or (self.log and not event.new > 0):
            self._box.value = self.value  # refuse: empty, or not positive on a log scale
        else:
            self.value = self._clip(event.new)


def _differing(widget, **values) -> dict:
    """The ``values`` that differ from what ``widget`` holds."""
    return {name: value for name, value in values.items() if getattr(widget, name) != value}


def widget_type(parameter: param.Parameter, log: bool) -> dict:
    """The widget class (and options) ``pn.Param`` should use for one knob; {} means its default."""
    if not isinstance(parameter, param.Number) or None in parameter.get_soft_bounds():
        return {}
    low, high = parameter.get_soft_bounds()
    integer = isinstance(parameter, param.Integer)
    if integer and not log and parameter.softbounds is None and high - low > MAX_SLIDER_SPAN:
        return {"type": pn.widgets.IntInput}       # a seed, say: no use sliding over two billion values
    return {"type": KnobSlider, "log": log, "integer": integer}


def scene_controls(scene, names) -> pn.Param:
    """Widgets for ``names`` (params of ``scene``), two-way linked to it; each has CSS class knob-<name>. Only
    the knobs that apply to the scene's current choices are shown (:func:`show_applicable`)."""
    log_params = set(getattr(scene, "log_params", ()))
    specs = {name: {**widget_type(scene.param[name], name in log_params), "css_classes": [f"{KNOB_CLASS}{name}"]}
             for name in names}
    controls = pn.Param(scene, parameters=list(names), widgets=specs, show_name=False, sizing_mode="stretch_width")
    show_applicable(scene, controls)
    return controls


def knob_widgets(controls: pn.Param) -> dict:
    """The knob widgets on ``controls`` by knob name (each found by its CSS class knob-<name>)."""
    found = {}
    for widget in controls.select(WidgetBase):
        for css in widget.css_classes or ():
            if css.startswith(KNOB_CLASS):
                found[css[len(KNOB_CLASS):]] = widget
    return found


def show_applicable(scene, controls: pn.Param) -> None:
    """Show the widgets of the knobs that apply to the scene's current choices (``Scene.applicable_knobs``)
    and hide the others, now and whenever a choice changes. Hidden, not lost: a hidden knob keeps its
    value and stays synced with the URL, so a link that sets it still sets it, and it applies once a
    choice makes it apply. The widgets are looked up on each change, so one Panel made anew is followed too."""
    def update(*events):
        shown = set(scene.applicable_knobs())
        for name, widget in knob_widgets(controls).items():
            widget.visible = name in shown

    update()
    if scene.choice_knobs():
        scene.param.watch(update, list(scene.choice_knobs()))


def preset_selector(presets: dict, pick: Callable[[str], None], chosen: str = "") -> pn.Column:
    """A menu of ``presets`` (name → {"title", "description", …}); choosing one calls ``pick(name)``.
    ``chosen``: the preset already applied (by a link's ``?preset=``), shown as the menu's choice."""
    options = {"(choose a preset)": ""} | {info.get("title") or name: name for name, info in presets.items()}
    chosen = chosen if chosen in presets else ""
    describe = lambda name: presets[name].get("description", "") if name else ""
    select = pn.widgets.Select(name="Preset", options=options, value=chosen, sizing_mode="stretch_width",
                               disabled=not presets, css_classes=["preset-select"])
    about = pn.pane.Markdown(describe(chosen), margin=(0, 10), styles={"font-size": "0.9em", "color": "#555"})

    def picked(event):
        about.object = describe(event.new)
        if event.new:
            pick(event.new)

    select.param.watch(picked, "value")
    return pn.Column(select, about, sizing_mode="stretch_width", margin=0)


def download_buttons(scene_name: str, scene, current_result: Callable[[], object],
                     on_error: Callable[[Exception], None]) -> pn.Column:
    """One button per format; each builds its file on click from the scene and its last result.

    Nothing is written on the server: the bytes go to the browser. A failed export calls ``on_error``.
    """
    def maker(fmt):
        def build():
            try:
                return io.BytesIO(export_bytes(scene, fmt, current_result()))
            except Exception as error:
                on_error(error)
                raise
        return build

    buttons = [pn.widgets.FileDownload(callback=maker(fmt), filename=f"{scene_name}.{fmt}", label=fmt.upper(),
                                       button_type="primary", button_style="outline", width=58, margin=(5, 4),
                                       description=f"Download the current view as {scene_name}.{fmt}",
                                       css_classes=[f"download-{fmt}"]) for fmt in DOWNLOADS]
    return pn.Column(pn.pane.Markdown("**Save this view**", margin=(0, 10)),
                     pn.FlexBox(*buttons, margin=(0, 6), sizing_mode="stretch_width"), margin=0)
