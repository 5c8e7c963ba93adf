"""A canvas to draw a scene's target on: Bokeh's freehand and point-draw tools, through HoloViews streams.

Each finished stroke or placed dot becomes mixture components (kernels.drawn.components), added after
the components the drawing already holds, and the whole is written into the scene's drawing knob; the
knob's change recomputes like any other. The canvas is then drawn afresh: the drawn density (the mixture
at the current width, what the kernels will sample) with the new stroke folded in, and empty stroke layers.
A drawing that cannot become a target (too many strokes, points outside) is reported through
``on_error``, and the knob keeps its last good value.
"""
from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
from holoviews import streams

from kernels.drawn import CANVAS, MAX_COMPONENTS, DrawingError, components, decode, drawn_target, encode

SIZE = 290          # px: fits the sidebar
STROKE_COLOR = "#d62728"


class DrawingCanvas:
    """The canvas of one drawing knob (``knob``) of ``scene``; ``panel`` is what the page shows."""

    def __init__(self, scene, knob: str, on_error, title: str = "Draw the target"):
        self.scene, self.knob, self.on_error = scene, knob, on_error
        self._written = None  # the drawing text this canvas wrote last (its own change is not a reload)
        self._base = self._components_of(getattr(scene, knob))
        self.pane = pn.pane.HoloViews(sizing_mode="fixed", width=SIZE, height=SIZE, margin=(0, 5),
                                      css_classes=[f"drawing-canvas-{knob}"])
        clear = pn.widgets.Button(name="Clear", button_type="light", width=70, css_classes=[f"drawing-clear-{knob}"])
        clear.on_click(lambda event: self.clear())
        hint = pn.pane.Markdown("Drag to draw strokes (pen tool), or pick the dot tool and click. Each stroke "
                                "becomes Gaussians of the width knob's spread, weighted by its length "
                                f"(at most {MAX_COMPONENTS} in all).", margin=(0, 10),
                                styles={"font-size": "0.85em", "color": "#555"})
        self.panel = pn.Card(self.pane, pn.Row(clear), hint, title=title, collapsed=False, margin=(5, 5),
                             sizing_mode="stretch_width", css_classes=[f"drawing-card-{knob}"])
        self._redraw()
        scene.param.watch(self._knob_changed, [knob, "draw_width"])

    # -- state ---------------------------------------------------------------------------------------
    @staticmethod
    def _components_of(text: str):
        try:
            return decode(text)
        except DrawingError:
            return np.zeros((0, 2)), np.zeros(0)

    def clear(self) -> None:
        """Empty the canvas and the drawing (the run then says the drawing is empty until a stroke is drawn)."""
        self._base = (np.zeros((0, 2)), np.zeros(0))
        self._write("")
        self._redraw()

    def _knob_changed(self, event) -> None:
        if event.name == self.knob and event.new == self._written:
            return
        if event.name == self.knob:  # a preset, the URL or a lecture step: load it as the new base
            self._base = self._components_of(event.new)
            self._written = None
        self._redraw()

    def _write(self, text: str) -> None:
        self._written = text
        setattr(self.scene, self.knob, text)

    def _strokes_drawn(self, data=None, **_) -> None:
        """A stroke ended or a dot was placed: every stroke and dot now on the canvas, after the base."""
        strokes = [np.column_stack([xs, ys]) for xs, ys in zip(self._freehand.data.get("xs", []),
                                                                 self._freehand.data.get("ys", []))]
        strokes += [[(x, y)] for x, y in zip(self._dots.data.get("x", []), self._dots.data.get("y", []))]
        strokes = [stroke for stroke in strokes if len(stroke)]
        if not strokes:
            return
        means, ink = self._base
        try:
            new_means, new_ink = components(strokes, self.scene.draw_width, budget=MAX_COMPONENTS - len(ink))
        except DrawingError as error:
            self.on_error(error)
            return
        self._base = (np.concatenate([means, new_means]), np.concatenate([ink, new_ink]))
        self._write(encode(*self._base))
        pn.state.execute(self._redraw, schedule=True)  # after this event: the strokes fold into the density

    # -- drawing -------------------------------------------------------------------------------------
    def _density(self) -> tuple:
        """(xs, ys, density) of the drawing as it stands, on the canvas (zeros while it is empty or refused)."""
        low, high = CANVAS
        try:
            xs, ys, density = drawn_target(getattr(self.scene, self.knob), float(self.scene.draw_width)).grid(100)
        except DrawingError:
            return np.linspace(low, high, 2), np.linspace(low, high, 2), np.zeros((2, 2))
        keep_x, keep_y = (xs >= low) & (xs <= high), (ys >= low) & (ys <= high)
        return xs[keep_x], ys[keep_y], density[np.ix_(keep_y, keep_x)]

    def _redraw(self) -> None:
        """A fresh canvas: the density of the drawing as it stands, and empty stroke and dot layers. Options
        name their backend: an export in another thread may have made matplotlib the current one."""
        density = hv.Image(self._density(), kdims=["x", "y"], vdims=["density"]).opts(
            cmap="Blues", alpha=0.8, colorbar=False, tools=[], backend="bokeh")
        strokes = hv.Path([]).opts(color=STROKE_COLOR, line_width=3, backend="bokeh")
        dots = hv.Points([]).opts(color=STROKE_COLOR, size=8, backend="bokeh")
        self._freehand = streams.FreehandDraw(source=strokes, num_objects=MAX_COMPONENTS)
        self._dots = streams.PointDraw(source=dots, num_objects=MAX_COMPONENTS, add=True)
        self._freehand.add_subscriber(self._strokes_drawn)
        self._dots.add_subscriber(self._strokes_drawn)
        self.pane.object = (density * strokes * dots).opts(
            hv.opts.Overlay(xlim=CANVAS, ylim=CANVAS, width=SIZE, height=SIZE, toolbar="above",
                            active_tools=["freehand_draw"], xaxis=None, yaxis=None, show_frame=True,
                            backend="bokeh"))
