"""The floor of this stack, served for ``benchmarks.browser_latency``: a bare Panel page with ``--plots`` Bokeh
scatters of ``--points`` points each, redrawn by the app's own slider (``explorer.widgets.KnobSlider``).

Each move of the slider draws new points (seeded by the slider's value) into every scatter's data source and
writes the value into a status line, exactly what the benchmark watches on a scene page (``.run-status``,
plot panels of class ``panel-…``, a knob of class ``knob-value``); nothing else is computed. Whatever a scene
page costs beyond this page is ours.

    python -m benchmarks._floor_page --port 5007 --points 2000 --plots 1
"""
from __future__ import annotations

import argparse

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

from explorer.widgets import KnobSlider

PLOT_SIZE = {"width": 370, "height": 320}


def points(value: float, n: int) -> dict:
    """n points of a standard normal cloud drawn with the value as seed (another value, other points)."""
    rng = np.random.default_rng(int(abs(value) * 1e6) % 2**32)
    xy = rng.standard_normal((2, n))
    return {"x": xy[0], "y": xy[1]}


def floor_page(n_points: int, n_plots: int):
    """The page: the slider in the sidebar, a status line and ``n_plots`` scatters in the main area."""
    knob = KnobSlider(name="value", label="value", value=0.05, start=1e-3, end=2.0, fixed_start=1e-5,
                      fixed_end=10.0, log=True, css_classes=["knob-value"])
    status = pn.pane.Markdown("value 0.05", css_classes=["run-status"], margin=(5, 10))
    sources, panes = [], []
    for index in range(n_plots):
        source = ColumnDataSource(points(knob.value + index, n_points))
        plot = figure(title=f"floor {index}", x_range=(-4, 4), y_range=(-4, 4), **PLOT_SIZE)
        plot.scatter("x", "y", source=source, color="#d62728", alpha=0.5)
        sources.append(source)
        panes.append(pn.Column(pn.pane.Bokeh(plot), css_classes=[f"panel-floor-{index}"], margin=0))

    def moved(event):
        with pn.io.hold():
            for index, source in enumerate(sources):
                source.data = points(event.new + index, n_points)
            status.object = f"value {event.new:g}"

    knob.param.watch(moved, "value")
    return pn.template.FastListTemplate(title="floor", sidebar=[knob], main=[
        pn.Column(status, pn.FlexBox(*panes, css_classes=["scene-plots"]))], main_layout=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--plots", type=int, default=1)
    args = parser.parse_args()
    pn.serve({"/floor": lambda: floor_page(args.points, args.plots), "/": lambda: pn.pane.Markdown("floor")},
             port=args.port, address="127.0.0.1", show=False, allow_websocket_origin=[f"127.0.0.1:{args.port}"])


if __name__ == "__main__":
    main()
