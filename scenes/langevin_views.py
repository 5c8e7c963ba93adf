"""HoloViews views of a Langevin run: the cloud on the density, trajectories, marginals, diagnostics.

Options are backend-neutral where possible so the same view renders in the app (bokeh) and in vector
export (matplotlib).
"""
from __future__ import annotations

import holoviews as hv
import numpy as np

from scenes.layers import cloud_layer, density_image, path_layer

CLOUD_COLOR = "#d62728"
COMPARE_COLOR = "#1f77b4"
N_TRAJECTORIES = 12


def cloud(result, frame: int, target, color=CLOUD_COLOR):
    """Density with the particles of ``frame`` on it (an image of counts past scenes.layers.MAX_POINTS_DRAWN)."""
    frame = int(np.clip(frame, 0, len(result.paths) - 1))
    points = result.paths[frame]
    points = points[np.isfinite(points).all(axis=1)]
    title = f"{result.extras.get('sampler', '')} — step {int(result.times[frame])}"
    xmin, xmax, ymin, ymax = target.box
    layer = cloud_layer(points, (xmin, ymin, xmax, ymax), color=color)
    return (density_image(target) * layer).opts(title=title)


def trajectories(result, frame: int, target):
    """The first few particles' paths up to ``frame``."""
    frame = int(np.clip(frame, 0, len(result.paths) - 1))
    paths = path_layer(result.paths[: frame + 1, :N_TRAJECTORIES])
    return (density_image(target) * paths.opts(color="black", alpha=0.7)).opts(
        title=f"{N_TRAJECTORIES} trajectories")


def marginal(result, frame: int, target, axis: int):
    """Histogram of one coordinate at ``frame`` against the exact marginal of the target."""
    frame = int(np.clip(frame, 0, len(result.paths) - 1))
    name = "xy"[axis]
    values = result.paths[frame, :, axis]
    values = values[np.isfinite(values)]
    xs, ys, density = target.grid(200)
    grid, cell_other = (xs, ys[1] - ys[0]) if axis == 0 else (ys, xs[1] - xs[0])
    exact = density.sum(axis=0 if axis == 0 else 1) * cell_other
    lo, hi = grid[0], grid[-1]
    counts, edges = np.histogram(values, bins=50, range=(lo, hi), density=False)
    width = edges[1] - edges[0]
    hist = hv.Histogram((edges, counts / max(len(result.paths[frame]), 1) / width), kdims=[name],
                        vdims=["density"]).opts(alpha=0.5, color=CLOUD_COLOR)
    return (hist * hv.Curve((grid, exact), kdims=[name], vdims=["density"]).opts(
        color="black")).opts(title=f"marginal of {name} (line: exact)")


def diagnostics(result, frame: int, target):
    """KL, TV and sliced W₂ over steps, with the exact-sample floor dashed; acceptance if any."""
    m = result.metrics
    steps = result.times
    curves = []
    for key, color in (("kl", "#d62728"), ("tv", "#2ca02c"), ("sliced_w2", "#1f77b4")):
        trace = np.maximum(m[f"{key}_trace"], 1e-4)
        curves.append(hv.Curve((steps, trace), "step", "value", label=key).opts(color=color))
        curves.append(hv.HLine(max(m[f"{key}_reference"], 1e-4)).opts(color=color, alpha=0.5))
    # always drawn (NaN where the sampler has no accept step) so the panel keeps its shape for the app
    acceptance = m.get("acceptance_trace", np.full(len(steps), np.nan))
    curves.append(hv.Curve((steps, acceptance), "step", "value", label="acceptance").opts(color="#9467bd"))
    curves.append(hv.VLine(float(steps[min(int(frame), len(steps) - 1)])).opts(color="grey"))
    return hv.Overlay(curves).opts(title="diagnostics (faint lines: exact samples)", logy=True)


def modes(result, frame: int, target):
    """Occupancy of each mode at the last frame (bars) against the true weights (dots)."""
    m = result.metrics
    if "mode_weights" not in m:
        return (hv.Bars([], "mode", "weight") * hv.Scatter([], "mode", "weight")).opts(
            title="modes (none for this target)")
    labels = [str(k) for k in range(len(m["mode_weights"]))]
    bars = hv.Bars((labels, m["mode_weights"]), "mode", "weight").opts(color=CLOUD_COLOR, alpha=0.6)
    truth = hv.Scatter((labels, m["mode_weights_true"]), "mode", "weight").opts(color="black")
    return (bars.opts(ylim=(0, None)) * truth).opts(title="mode occupancy (bars) vs target weights (dots)")


def panels(scene):
    """(title, callable(result, frame)) for the app's DynamicMaps; targets resolved per result."""
    def with_target(view, **kw):
        return lambda result, frame: view(result, frame, result.extras["target"], **kw)

    def compare(result, frame):
        other = result.extras.get("compare")
        target = result.extras["target"]
        if other is None:  # hidden (panels_shown); the same shape as a cloud, so the plot keeps its zoom
            return (density_image(target) * hv.Points([], kdims=["x", "y"])).opts(
                title="compare: pick a sampler")
        return cloud(other, frame, target, color=COMPARE_COLOR)

    return [("cloud", with_target(cloud)), ("compare", compare), ("trajectories", with_target(trajectories)),
            ("marginal x", with_target(marginal, axis=0)), ("marginal y", with_target(marginal, axis=1)),
            ("diagnostics", with_target(diagnostics)), ("modes", with_target(modes))]


def layout(scene, result, frame: int | None = None):
    """Every panel at ``frame`` (default: the last), as one layout for export."""
    frame = len(result.paths) - 1 if frame is None else frame
    shown = scene.panels_shown(result)
    items = [fn(result, frame) for title, fn in panels(scene) if title in shown]
    return hv.Layout(items).cols(3)


def sweep_view(table: dict, metric: str = "sliced_w2"):
    """Final metric against step size, log–log, one curve per sampler."""
    curves = [hv.Curve((table["step_size"], table[name]), "step size h", metric, label=name)
              for name in table if name != "step_size"]
    return hv.Overlay(curves).opts(logx=True, logy=True, title=f"{metric} against step size")
