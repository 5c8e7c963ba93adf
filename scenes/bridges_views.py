"""HoloViews views of a bridges run: the clouds with the strongest coupling lines and the particles travelling
along their bridges at time t, the coupling as a sorted heat map, a fan of bridges from one source point, the
marginal at time t, the drift field, the Sinkhorn convergence curve, transport cost and entropy against ε, and
bridge matching's gap to Sinkhorn's plan against the iteration;
and the snapshots mode's panels (scenes.bridges_snapshots_views). Each panel draws a note for a result of the
other mode (the app hides it, export leaves it out: ``panels_shown``).

Options are backend-neutral so the same view renders in the app (bokeh) and in vector export (matplotlib).
"""
from __future__ import annotations

import holoviews as hv
import numpy as np

from scenes import bridges_snapshots_views as snapshots_views
from scenes.layers import cloud_layer, note, path_layer

SOURCE_COLOR = "#1f77b4"
TARGET_COLOR = "#d62728"
PATH_COLOR = "#2ca02c"
TRAIL_COLOR = "#0b4d0b"  # darker than the particles it is drawn over
MAX_POINTS_DRAWN = 3000  # per cloud: three clouds share a panel; a larger one is drawn as an image of counts
# The coupling and marginal panels (drawn by the same stage) show the same particles at t: sent once (scenes.layers)
PARTICLES_AT_T = "particles at t"
N_TRAILS = 12  # particles of the coupling view drawn with their bridge so far


def _frame(result, frame) -> int:
    return int(np.clip(frame, 0, len(result.paths) - 1))


def _bounds(result) -> tuple:
    """(xmin, ymin, xmax, ymax) of both clouds with a margin: the box a cloud drawn as an image covers (the
    same for every frame of a result, so the bridges' particles at time t lie in it)."""
    both = np.concatenate([result.extras["source"], result.extras["target"]])
    lo, hi = both.min(axis=0), both.max(axis=0)
    margin = 0.05 * (hi - lo)
    return (*(lo - margin), *(hi + margin))


def _cloud(result, points, color, alpha, label="", shared=""):
    return cloud_layer(points, _bounds(result), color=color, alpha=alpha, label=label, max_points=MAX_POINTS_DRAWN,
                       image_alpha=0.6, shared=shared)


def _clouds(result, alpha=0.35):
    return (_cloud(result, result.extras["source"], SOURCE_COLOR, alpha, "source")
            * _cloud(result, result.extras["target"], TARGET_COLOR, alpha, "target"))


def coupling_lines(result, frame):
    """Both clouds, for evenly spaced sources a segment to the target they are most strongly coupled to, and
    the particles at time t of ``frame`` travelling along their bridges (a few drawn with their path so far)."""
    frame = _frame(result, frame)
    segments = result.extras["strongest_segments"]
    lines = hv.Segments(segments, kdims=["x0", "y0", "x1", "y1"]).opts(color="black", alpha=0.3)
    trailed = np.linspace(0, result.paths.shape[1] - 1, min(N_TRAILS, result.paths.shape[1])).astype(np.int64)
    trails = path_layer(result.paths[: frame + 1, trailed]).opts(color=TRAIL_COLOR, alpha=0.9)
    particles = _cloud(result, result.paths[frame], PATH_COLOR, 0.5, "at t", shared=PARTICLES_AT_T)
    eps = result.parameters["epsilon"]
    share = float(np.mean(result.extras["strongest_share"]))
    return (_clouds(result) * lines * particles * trails).opts(
        title=f"t = {float(result.times[frame]):.2f}: strongest couplings, ε = {eps:.3g} (mean share {share:.2f})",
        legend_position="bottom_left")


def coupling_heatmap(result, frame):
    """log₁₀(n·m·π) with sources and targets sorted along the principal axis: 0 is independence."""
    heat = result.extras["heatmap"]
    size = heat.shape
    image = hv.Image((np.arange(size[1]), np.arange(size[0]), heat), kdims=["target (sorted)", "source (sorted)"],
                     vdims=["log10 n·m·π"]).opts(cmap="viridis", clim=(-3, max(1.0, float(np.max(heat)))))
    return image.opts(title="plan log₁₀(n·m·π), sorted")


def fan(scene):
    def view(result, frame):
        index = int(np.clip(scene.fan_source, 0, len(result.extras["source"]) - 1))
        paths = scene.fan(result, index)
        upto = _frame(result, frame)
        start = result.extras["source"][index:index + 1]
        return (_clouds(result, alpha=0.15) * path_layer(paths[: upto + 1]).opts(color=PATH_COLOR, alpha=0.6)
                * hv.Points(start, kdims=["x", "y"]).opts(color="black")).opts(
            title=f"bridges from source {index} (fan_source)", show_legend=False)
    return view


LEARNED_NAMES = {"lightsb": "learned (LightSB)", "imf": "learned (bridge matching)"}


def _ellipse(mean, cov, radius=2.0, n=80):
    values, vectors = np.linalg.eigh(cov)
    angle = np.linspace(0, 2 * np.pi, n)
    circle = np.stack([np.cos(angle), np.sin(angle)], axis=1) * radius * np.sqrt(np.maximum(values, 0))
    return mean + circle @ vectors.T


def marginal(result, frame):
    """The particles at time t, with the 2σ ellipse of the Gaussian closed form at t (exact for Gaussians)."""
    frame = _frame(result, frame)
    t = float(result.times[frame])
    mean, cov = result.extras["gaussian"].marginal(t)
    return (_cloud(result, result.extras["target"], TARGET_COLOR, 0.1)
            * _cloud(result, result.paths[frame], PATH_COLOR, 0.5, shared=PARTICLES_AT_T)
            * hv.Curve(_ellipse(mean, cov), "x", "y").opts(color="black")).opts(
        title=f"marginal at t = {t:.2f} (Gaussian 2σ)")


def drift(scene):
    def view(result, frame):
        t = float(result.times[_frame(result, frame)])
        xs, ys, u, v = scene.drift_field(result, t)
        magnitude = np.hypot(u, v)
        field = hv.VectorField((xs, ys, np.arctan2(v, u), magnitude / max(magnitude.max(), 1e-12)),
                               kdims=["x", "y"], vdims=["angle", "magnitude"]).opts(color="black")
        method = result.parameters["method"]
        kind = LEARNED_NAMES.get(method, "Gaussian closed form") if result.extras.get("model") is not None \
            else "Gaussian closed form"
        return (_clouds(result, alpha=0.1) * field).opts(title=f"drift, t = {min(t, 0.95):.2f}: {kind}",
                                                          show_legend=False)
    return view


def convergence(result, frame):
    """The Sinkhorn column marginal error after each iteration (ε-scaling levels included)."""
    errors = np.maximum(result.metrics["sinkhorn_errors"], 1e-300)
    steps = np.arange(1, len(errors) + 1)
    tolerance = result.parameters["tolerance"]
    warm = "warm start" if result.extras.get("warm_start") else "cold start"
    return (hv.Curve((steps, errors), "iteration", "marginal error").opts(color=SOURCE_COLOR)
            * hv.HLine(tolerance).opts(color="grey")).opts(
        logy=True, title=f"Sinkhorn: {len(errors)} iterations ({warm})")


def sweep(scene):
    def view(result, frame):
        table = result.extras.get("sweep") or scene.sweep()  # a complete result carries its own (BridgeScene.stages)
        eps = result.parameters["epsilon"]
        return (hv.Curve((table["epsilon"], table["transport_cost"]), "ε", "value", label="transport cost").opts(
                    color=SOURCE_COLOR)
                * hv.Curve((table["epsilon"], table["entropy"]), "ε", "value", label="entropy").opts(
                    color=TARGET_COLOR)
                * hv.VLine(eps).opts(color="grey")).opts(
            logx=True, logy=True, legend_position="top", legend_cols=2, title="cost and entropy vs ε (150 per side)")
    return view


def matching(result, frame):
    """Bridge matching (IMF) against Sinkhorn's static bridge at the same ε, after every Markovian projection
    (0: the independent coupling): the gap ‖C_k − C_π‖_F of the pairs' cross-covariance to the plan's, and the
    mean diagonal of C_k beside the plan's (a horizontal line)."""
    if "matching_gaps" not in result.metrics:
        return note("matching: method imf only", ["This panel follows bridge matching's iterations:",
                                                   "choose method imf to see it."])
    gaps = result.metrics["matching_gaps"]
    steps = np.arange(len(gaps))
    plan = result.metrics["plan_cross_covariance"]
    return (hv.Curve((steps, gaps), "projection", "value", label="gap ‖C − C_π‖").opts(color=TARGET_COLOR)
            * hv.Scatter((steps, gaps), "projection", "value").opts(color=TARGET_COLOR)
            * hv.Curve((steps, result.metrics["matching_cross_covariances"]), "projection", "value",
                       label="cross-cov (IMF)").opts(color=PATH_COLOR)
            * hv.HLine(plan).opts(color=SOURCE_COLOR, line_dash="dashed")).opts(
        legend_position="top_right", ylim=(0, None),
        title=f"IMF vs Sinkhorn: gap {gaps[-1]:.3f}, {len(gaps) - 1} fits")


def _snapshots(result) -> bool:
    return result.extras.get("mode") == "snapshots"


def in_mode(title: str, snapshots: bool, view):
    """``view`` for results of its mode; for the other mode's a note, titled ``title``, naming the mode."""
    def wrapped(result, frame):
        if _snapshots(result) != snapshots:
            return note(f"{title}: {'snapshots' if snapshots else 'clouds'} mode only",
                        [f"This panel shows the {'multi-marginal' if snapshots else 'two-cloud'} bridge:",
                         f"choose mode {'snapshots' if snapshots else 'clouds'} to see it."])
        return view(result, frame)

    wrapped.__name__, wrapped.__doc__ = getattr(view, "__name__", title), view.__doc__
    return wrapped


CLOUD_TITLES = ("coupling", "heat map", "fan", "marginal", "drift", "convergence", "cost vs epsilon", "matching")


def panels(scene):
    """(title, callable(result, frame)) for the app's DynamicMaps: the two-cloud bridge's, then the snapshots'."""
    clouds = (coupling_lines, coupling_heatmap, fan(scene), marginal, drift(scene), convergence, sweep(scene),
              matching)
    return ([(title, in_mode(title, False, view)) for title, view in zip(CLOUD_TITLES, clouds)]
            + [(title, in_mode(title, True, view)) for title, view, _ in snapshots_views.VIEWS])


def panels_shown(result) -> set[str]:
    """The panels of the result's mode (the drift error only where the true drift is known, the matching
    panel only for bridge matching)."""
    if _snapshots(result):
        return snapshots_views.shown(result)
    return set(CLOUD_TITLES) - (set() if "matching_gaps" in result.metrics else {"matching"})


def layout(scene, result, frame: int | None = None):
    """Every panel shown for the result at ``frame`` (default: the middle of the bridge), as one layout for export."""
    frame = len(result.paths) // 2 if frame is None else frame
    shown = panels_shown(result)
    return hv.Layout([fn(result, frame) for title, fn in panels(scene) if title in shown]).cols(3)
