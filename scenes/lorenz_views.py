"""HoloViews views of a Lorenz run: the attractor with the ensemble cloud, spread growth against e^{λ₁t},
a fan chart of x(t), a Hovmöller diagram (Lorenz-96), forecasts against the truth, error against lead
time, the VPT table, SINDy's equations, and the EnKF. Options are backend-neutral so the same views export
through matplotlib.

With Lorenz-96 the projections read sites x0, x1, x2 for the letters x, y, z, and the forecaster and
filter panels (Lorenz-63 models) show a note instead of a plot.
"""
from __future__ import annotations

import holoviews as hv
import numpy as np

from scenes.layers import cloud_layer, note, static_layer

if not hv.Store.renderers:
    import holoviews.plotting.bokeh

AXES = {"x": 0, "y": 1, "z": 2}
CLOUD_COLOR = "#d62728"
FAN_MAX_MEMBERS = 100_000  # the fan chart's quantiles of a million members took 0.57 s; of these, 0.06 s
MODEL_COLORS = {"ngrc": "#d62728", "esn": "#9467bd", "sindy": "#2ca02c", "mlp": "#ff7f0e", "analog": "#8c564b",
                "persistence": "#7f7f7f", "climatology": "#bcbd22"}


def _frame(result, frame):
    return int(np.clip(frame, 0, len(result.paths) - 1))


def _lorenz96(result) -> bool:
    return result.parameters.get("system") == "lorenz96"


def _axis(result, letter: str) -> str:
    """The name of coordinate ``letter`` (x, y, z): itself for Lorenz-63, site x0, x1, x2 for Lorenz-96."""
    return f"x{AXES[letter]}" if _lorenz96(result) else letter


def lorenz63_only(title: str):
    """Decorate a view: for a Lorenz-96 run it shows a note, titled ``title``, that the forecasters and the
    EnKF (models of the three Lorenz-63 variables) were skipped."""
    def decorate(view):
        def wrapped(scene, result, frame):
            if _lorenz96(result):
                return note(f"{title}: Lorenz-63 only", ["The forecasters and the EnKF model the three",
                                                         "Lorenz-63 variables: skipped for Lorenz-96.",
                                                         "Choose system lorenz63 to see them."])
            return view(scene, result, frame)

        wrapped.__name__, wrapped.__doc__ = view.__name__, view.__doc__
        return wrapped

    return decorate


def attractor(scene, result, frame):
    """The attractor (a long orbit) in the chosen plane, with the ensemble at ``frame`` on it."""
    i, j = AXES[scene.projection[0]], AXES[scene.projection[1]]
    a, b = _axis(result, scene.projection[0]), _axis(result, scene.projection[1])
    frame = _frame(result, frame)
    orbit = result.extras["background"]
    base = static_layer(orbit, lambda: hv.Path([orbit[:, [i, j]]], kdims=[a, b]).opts(color="grey", alpha=0.4),
                        i, j, a, b)
    points = result.paths[frame][:, [i, j]]
    points = points[np.isfinite(points).all(axis=1)]
    lo, hi = orbit[:, [i, j]].min(axis=0), orbit[:, [i, j]].max(axis=0)
    layer = cloud_layer(points, (lo[0], lo[1], hi[0], hi[1]), kdims=(a, b), color=CLOUD_COLOR)
    return (base * layer).opts(title=f"ensemble at t = {result.times[frame]:.2f} ({len(points):,} members)")


def spread(scene, result, frame):
    """Ensemble spread on a log axis, with the slope e^{λ₁t} drawn from the initial spread."""
    times, trace = result.times, result.metrics["spread_trace"]
    lam = result.metrics["lyapunov_exponent"]
    reference = trace[0] * np.exp(lam * times) if np.isfinite(trace[0]) and trace[0] > 0 else np.full_like(times, np.nan)
    reference = np.where(reference < 3 * np.nanmax(trace), reference, np.nan)
    return (hv.Curve((times, np.maximum(trace, 1e-300)), "t", "spread", label="ensemble spread").opts(color=CLOUD_COLOR)
            * hv.Curve((times, reference), "t", "spread", label=f"e^(λ₁t), λ₁ = {lam:.3f}").opts(color="black", alpha=0.6)
            * hv.VLine(float(times[_frame(result, frame)])).opts(color="grey")).opts(
        logy=True, legend_position="bottom_right", title=f"spread grows at {result.metrics['spread_growth_rate']:.3f} (λ₁ = {lam:.3f})")


def fan_chart(scene, result, frame):
    """Quantiles of x(t) (site x0 for Lorenz-96) over the members: 5–95 % and 25–75 % bands and the median,
    from the first FAN_MAX_MEMBERS members (the members start independently, so these are a uniform
    subsample; at 100,000 a 5 % quantile's standard error is under a pixel)."""
    x = result.paths[:, :FAN_MAX_MEMBERS, 0]
    with np.errstate(all="ignore"):  # nanpercentile only where members diverged: it is twice as slow
        quantiles = np.percentile if np.isfinite(x).all() else np.nanpercentile
        q = quantiles(x.astype(np.float64), [5, 25, 50, 75, 95], axis=1)
    t, name = result.times, _axis(result, "x")
    return (hv.Area((t, q[0], q[4]), "t", [name, f"{name}_high"]).opts(color=CLOUD_COLOR, alpha=0.2)
            * hv.Area((t, q[1], q[3]), "t", [name, f"{name}_high"]).opts(color=CLOUD_COLOR, alpha=0.4)
            * hv.Curve((t, q[2]), "t", name).opts(color="black")
            * hv.VLine(float(t[_frame(result, frame)])).opts(color="grey")).opts(
        title=f"fan chart of {name}(t): 5–95 %, 25–75 %, median")


def hovmoller(scene, result, frame):
    """Hovmöller diagram of member 0 (Lorenz-96): xᵢ(t) as colour, site i across and time up, with the
    frame's time marked; waves show as slanted stripes around the ring."""
    if not _lorenz96(result):
        return note("Hovmöller diagram: Lorenz-96 only", ["A time × site map of one member", "needs a ring of sites:",
                                                           "choose system lorenz96."])
    x, t = result.paths[:, 0, :].astype(np.float64), result.times
    n_sites = x.shape[1]
    half = 0.5 * (t[-1] - t[0]) / max(len(t) - 1, 1)   # frames are (nearly) evenly spaced: one row each
    image = hv.Image(x[::-1], bounds=(-0.5, t[0] - half, n_sites - 0.5, t[-1] + half), kdims=["site i", "t"],
                     vdims=["x_i"]).opts(cmap="viridis", colorbar=True)
    return (image * hv.HLine(float(t[_frame(result, frame)])).opts(color="white")).opts(
        title=f"Hovmöller diagram of member 0 ({n_sites} sites)")


@lorenz63_only("forecast")
def forecast(scene, result, frame):
    """The chosen forecaster's x against the truth, from the first test start, over lead (Lyapunov times)."""
    name = result.parameters["forecaster"]
    scored = result.extras["scores"][name]
    lead = scored["lead_lyapunov"]
    prediction = np.clip(scored["forecast"][0, :, 0], -1e3, 1e3)
    vpt = float(scored["vpt"][0])
    return (hv.Curve((lead, scored["truth"][:, 0]), "lead (Lyapunov times)", "x", label="truth").opts(color="black")
            * hv.Curve((lead, prediction), "lead (Lyapunov times)", "x", label=name).opts(color=MODEL_COLORS[name])
            * hv.VLine(vpt).opts(color="grey")).opts(title=f"{name} forecast against the truth (VPT {vpt:.2f})",
                                                     ylim=(-30, 30), legend_position="top", legend_cols=2)


@lorenz63_only("error against lead time")
def error_vs_lead(scene, result, frame):
    """Mean NRMSE against lead time for every model trained on this data, with the VPT threshold."""
    curves = [hv.Curve((s["lead_lyapunov"], np.minimum(s["nrmse"], 10.0)), "lead (Lyapunov times)", "NRMSE",
                       label=name).opts(color=MODEL_COLORS[name])
              for name, s in sorted(result.extras["scores"].items())]
    return hv.Overlay(curves + [hv.HLine(0.5).opts(color="grey")]).opts(
        title="error against lead time (line: NRMSE 0.5)", ylim=(0, 1.6), legend_position="top", legend_cols=3)


@lorenz63_only("valid prediction time")
def vpt_table(scene, result, frame):
    """VPT of every model trained on this data (mean over the test starts; the numbers in the axis label).

    Drawn as bars with labels rather than an ``hv.Table``: bokeh's DataTable needs a stylesheet that the
    offline app does not serve, and a failing table stops the whole page from rendering.
    """
    ranked = sorted(result.extras["scores"].items(), key=lambda item: -item[1]["vpt_mean"])
    names = [name for name, _ in ranked]  # the categories stay put from run to run (a live plot keeps its
    values = [s["vpt_mean"] for _, s in ranked]  # first categories), so the numbers go in the axis label
    return hv.Bars((names, values), "model", "VPT (Lyapunov times)").opts(
        color="#1f77b4", alpha=0.6, title="valid prediction time (mean over starts)",
        xlabel=" · ".join(f"{name} {value:.2f}" for name, value in zip(names, values)),
        ylim=(0, 1.1 * max(values + [1.0])))


def table_rows(result) -> list[tuple]:
    """(model, VPT mean, VPT median, one-step NRMSE) rows, best first: the VPT table as numbers."""
    return [(name, round(s["vpt_mean"], 3), round(float(np.median(s["vpt"])), 3), round(float(s["nrmse"][0]), 5))
            for name, s in sorted(result.extras["scores"].items(), key=lambda item: -item[1]["vpt_mean"])]


@lorenz63_only("SINDy")
def sindy_table(scene, result, frame):
    """SINDy's recovered equations as text lines."""
    scored = result.extras["scores"].get("sindy")
    return note("SINDy: recovered equations",
                scored["equations"] if scored is not None else ["choose forecaster 'sindy' to fit it"])


@lorenz63_only("EnKF")
def filter_view(scene, result, frame):
    enkf = result.extras["enkf"]
    return (hv.Curve((enkf["times"], enkf["truth"][:, 0]), "t", "x", label="truth").opts(color="black")
            * hv.Curve((enkf["times"], enkf["mean"][:, 0]), "t", "x", label="EnKF mean").opts(color="#1f77b4")
            * hv.Scatter((enkf["obs_times"], enkf["observations"][:, 0]), "t", "x", label="observations").opts(
                color="#d62728")).opts(title=f"EnKF ({result.parameters['enkf_method']}): x", legend_position="top_left")


@lorenz63_only("EnKF RMSE")
def filter_rmse(scene, result, frame):
    enkf = result.extras["enkf"]
    clim = enkf["climatology_rmse"]
    return (hv.Curve((enkf["obs_times"], enkf["rmse"]), "t", "RMSE", label="analysis RMSE").opts(color="#1f77b4")
            * hv.HLine(clim).opts(color="grey")).opts(
        logy=True, title=f"EnKF RMSE {result.metrics['enkf_rmse']:.2f} (line: climatology {clim:.2f})")


VIEWS = [("attractor", attractor), ("spread", spread), ("fan chart", fan_chart), ("Hovmöller", hovmoller),
         ("forecast", forecast), ("error vs lead", error_vs_lead), ("VPT", vpt_table), ("SINDy", sindy_table),
         ("filter", filter_view), ("filter RMSE", filter_rmse)]


LORENZ96_ONLY = {"Hovmöller"}
LORENZ63_ONLY = {"forecast", "error vs lead", "VPT", "SINDy", "filter", "filter RMSE"}  # the @lorenz63_only views


def panels_shown(result) -> set[str]:
    """The panels that apply to the run's system: Lorenz-96's Hovmöller diagram, or Lorenz-63's forecasters
    and filter (the others' views draw a note that says why, for a result shown before the page hides them)."""
    return {title for title, _ in VIEWS} - (LORENZ63_ONLY if _lorenz96(result) else LORENZ96_ONLY)


def _bound(scene, view):
    """``view`` as the app's callable(result, frame), reading view-only knobs (projection) from ``scene``."""
    return lambda result, frame: view(scene, result, frame)


def panels(scene):
    return [(title, _bound(scene, view)) for title, view in VIEWS]


def layout(scene, result, frame: int | None = None):
    frame = len(result.paths) - 1 if frame is None else frame
    shown = panels_shown(result)
    return hv.Layout([view(scene, result, frame) for title, view in VIEWS if title in shown]).cols(3)
