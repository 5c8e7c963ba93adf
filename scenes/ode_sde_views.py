"""HoloViews views of an ODE-vs-SDE run: paths side by side, the exact p_t with the particles, the
drift field, the final marginals and modes against the target, and quality against NFE.

Options are backend-neutral so the same view renders in the app (bokeh) and in export (matplotlib).
"""
from __future__ import annotations

from functools import lru_cache

import colorcet
import holoviews as hv
import numpy as np

from kernels.diffusion.processes import PROCESSES, path_coefficients
from kernels.diffusion.score import SCORES, model_fields, posterior_many
from kernels.targets import get_target
from scenes.drawing import target_of
from scenes.layers import cloud_layer, density_image, path_layer

if not hv.Store.renderers:  # options need a plotting extension; bokeh is the app's default
    import holoviews.plotting.bokeh

HEAT_CMAP = colorcet.CET_L18  # a perceptual heat map for p_t
SDE_COLOR = "#d62728"
ODE_COLOR = "#1f77b4"
N_TRAJECTORIES = 24
MAX_POINTS_DRAWN = 5000
HEAT_RESOLUTION = 120
FIELD_RESOLUTION = 17
SWEEP_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def _frame(result, frame) -> int:
    return int(np.clip(frame, 0, len(result.paths) - 1))


def trajectories(result, frame: int, target, color: str, label: str):
    """The first particles' paths up to ``frame`` on the target density, with the whole cloud at ``frame``."""
    frame = _frame(result, frame)
    paths = path_layer(result.paths[: frame + 1, :N_TRAJECTORIES])
    xmin, xmax, ymin, ymax = target.box
    e = result.extras
    title = f"{label}: {e['sampler']} (noise {e['noise']:g}), t = {result.times[frame]:.3g}"
    cloud = cloud_layer(_finite(result.paths[frame]), (xmin, ymin, xmax, ymax), color=color, alpha=0.3,
                        max_points=MAX_POINTS_DRAWN)
    return (density_image(target) * paths.opts(color="black", alpha=0.6) * cloud).opts(
        title=title, xlim=(xmin, xmax), ylim=(ymin, ymax))


def _finite(points: np.ndarray) -> np.ndarray:
    """The rows of ``points`` (n, 2) that are finite (a diverged particle reads NaN)."""
    return points if np.isfinite(points).all() else points[np.isfinite(points).all(axis=1)]


def _coefficients(result, frame: int):
    p = result.parameters
    t = max(float(result.times[_frame(result, frame)]), p["t_min"])  # the data frame (t = 0) drawn at t_min
    return t, path_coefficients.py_func(PROCESSES[p["process"]], t, p["interpolant_a"])


def _grid_points(target, resolution: int):
    xmin, xmax, ymin, ymax = target.box
    xs = np.linspace(xmin, xmax, resolution)
    ys = np.linspace(ymin, ymax, resolution)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, np.stack([gx.ravel(), gy.ravel()], axis=1)


@lru_cache(maxsize=64)
def _heat(target_name: str, a: float, s: float):
    target = get_target(target_name)
    xs, ys, points = _grid_points(target, HEAT_RESOLUTION)
    log_p = posterior_many(points, a, s, target.mix)[:, 0].reshape(len(ys), len(xs))
    return xs, ys, np.exp(log_p - log_p.max())


def density_at_time(result, frame: int, target):
    """The exact p_t = Σ w_k N(a_t μ_k, a_t² Σ_k + s_t² I) at the frame's time, both clouds on it."""
    frame = _frame(result, frame)
    t, (a, s, _, _) = _coefficients(result, frame)
    xs, ys, density = _heat(target.name, a, s)
    xmin, xmax, ymin, ymax = target.box
    image = hv.Image((xs, ys, density), kdims=["x", "y"], vdims=["p_t"]).opts(cmap=HEAT_CMAP)
    layers = [image]
    for run, color in ((result.extras["ode"], ODE_COLOR), (result, SDE_COLOR)):
        cloud = _finite(run.paths[min(frame, len(run.paths) - 1)])
        layers.append(cloud_layer(cloud, (xmin, ymin, xmax, ymax), color=color, alpha=0.4,
                                  max_points=MAX_POINTS_DRAWN // 2, image_alpha=0.6))
    return hv.Overlay(layers).opts(title=f"exact p_t at t = {t:.3g} (blue ODE, red SDE)", xlim=(xmin, xmax),
                                   ylim=(ymin, ymax))


def drift_field(result, frame: int, target):
    """The probability-flow velocity v_t(x) = a'E[x₀|x] + s'E[z|x] of the score in use (the learned network's
    weights included) at the frame's time."""
    frame = _frame(result, frame)
    t, (a, s, da, ds) = _coefficients(result, frame)
    _xs, _ys, points = _grid_points(target, FIELD_RESOLUTION)
    p = result.parameters
    score, den = model_fields(points, a, s, target.mix, SCORES[p["score"]], p["delta"], result.extras.get("model"))
    noise_prediction = -s * score
    # reverse time runs t downward, so the particles move along −v
    vx, vy = (-(da * den + ds * noise_prediction)).T
    magnitude = np.hypot(vx, vy)
    field = hv.VectorField((points[:, 0], points[:, 1], np.arctan2(vy, vx), magnitude / max(magnitude.max(), 1e-300)),
                           kdims=["x", "y"], vdims=["angle", "magnitude"]).opts(color="black")
    return (density_image(target) * field).opts(title=f"ODE drift −v_t(x) at t = {t:.3g} (reverse time)")


def marginals(result, frame: int, target):
    """Histograms of x at the last frame for both runs against the exact marginal of the target."""
    xs, ys, density = target.grid(200)
    exact = density.sum(axis=0) * (ys[1] - ys[0])
    edges = np.linspace(xs[0], xs[-1], 61)
    layers = []
    for run, color, name in ((result.extras["ode"], ODE_COLOR, "ODE"), (result, SDE_COLOR, "SDE")):
        values = run.paths[-1, :, 0]
        counts, _ = np.histogram(values[np.isfinite(values)], bins=edges)
        width = edges[1] - edges[0]
        layers.append(hv.Histogram((edges, counts / max(len(values), 1) / width), kdims=["x"], vdims=["density"],
                                   label=name).opts(color=color, alpha=0.4))
    layers.append(hv.Curve((xs, exact), "x", "density", label="target").opts(color="black"))
    return hv.Overlay(layers).opts(title="final x-marginal against the target", legend_position="top", legend_cols=3)


def modes(result, frame: int, target):
    """Mode occupancy at the last frame: SDE (bars), ODE (blue dots), target weights (black dots)."""
    labels = [str(k) for k in range(target.n_modes)]
    bars = hv.Bars((labels, result.metrics["mode_weights"]), "mode", "weight").opts(color=SDE_COLOR, alpha=0.5)
    ode = hv.Scatter((labels, result.extras["ode"].metrics["mode_weights"]), "mode", "weight").opts(color=ODE_COLOR)
    truth = hv.Scatter((labels, target.mode_weights), "mode", "weight").opts(color="black")
    return (bars * ode * truth).opts(title="mode weights: SDE bars, ODE blue, target black")


def sweep_chart(table: dict, metric: str):
    """Final ``metric`` against NFE, log–log, one curve per sampler."""
    curves = []
    for i, name in enumerate(n for n in table if n != "nfe"):
        values = np.maximum(np.asarray(table[name], dtype=float), 1e-4)
        curves.append(hv.Curve((table["nfe"], values), "NFE", metric, label=name).opts(
            color=SWEEP_COLORS[i % len(SWEEP_COLORS)]))
    if not curves:  # the same structure when nothing is ticked
        curves.append(hv.Curve(([], []), "NFE", metric, label="(tick samplers)"))
    return hv.Overlay(curves).opts(logx=True, logy=True, title=f"{metric} against NFE")


def quality_against_nfe(scene, result):
    """The sweep for the result's parameters: the complete result's, else computed now (cached per knobs)."""
    table = result.extras.get("sweep")
    if table is None:
        table = type(scene)(**{k: v for k, v in result.parameters.items() if k in scene.param}).cached_sweep()
    return sweep_chart(table, result.parameters["sweep_metric"])


def panels(scene):
    """(title, callable(result, frame)) for the app's DynamicMaps."""
    def with_target(view, **kw):
        return lambda result, frame: view(result, frame, target_of(result.parameters), **kw)

    return [("ODE paths", lambda r, f: trajectories(r.extras["ode"], f, target_of(r.parameters), ODE_COLOR,
                                                    "ODE")),
            ("SDE paths", with_target(trajectories, color=SDE_COLOR, label="SDE")),
            ("density", with_target(density_at_time)), ("drift", with_target(drift_field)),
            ("marginal", with_target(marginals)), ("modes", with_target(modes)),
            ("quality vs NFE", lambda r, f: quality_against_nfe(scene, r))]


def layout(scene, result, frame: int | None = None):
    """Every panel at ``frame`` (default: the last), as one layout for export."""
    frame = len(result.paths) - 1 if frame is None else frame
    return hv.Layout([fn(result, frame) for _, fn in panels(scene)]).cols(3)
