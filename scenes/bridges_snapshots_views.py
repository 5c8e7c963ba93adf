"""HoloViews views of a snapshots run of the bridges scene (scenes.bridges_snapshots): the chained paths
through every snapshot with the snapshot clouds drawn at their times, the learned drift field A x (beside
the true one for the OU population), and the fit and the drift's error against the refinement round.

Options are backend-neutral so the same view renders in the app (bokeh) and in vector export (matplotlib).
"""
from __future__ import annotations

import colorcet
import holoviews as hv
import numpy as np

from scenes.layers import note, path_layer

PATH_COLOR = "#7f7f7f"
PARTICLE_COLOR = "black"
LEARNED_COLOR = "black"
TRUE_COLOR = "#d62728"
TIME_COLORS = colorcet.bgy[:215]   # blue (first snapshot) to green-yellow (last), the light end left out
MAX_POINTS_DRAWN = 1500            # per snapshot
N_PATHS = 24                       # chained paths drawn whole
GRID = 13                          # arrows per side of the drift field
ERROR_TICKS = [10.0 ** e * m for e in range(-4, 1) for m in (1, 2, 5)]  # a log axis labelled 1, 2, 5 per decade


def _frame(result, frame) -> int:
    return int(np.clip(frame, 0, len(result.paths) - 1))


def paths(result, frame):
    """The snapshot clouds coloured by their time, a few chained paths whole, and every path's particle at the
    frame's time travelling through the snapshots."""
    frame = _frame(result, frame)
    t = float(result.times[frame])
    times = result.extras["snapshot_times"]
    drawn_clouds = [cloud[:MAX_POINTS_DRAWN] for cloud in result.extras["snapshots"]]
    stamped = np.concatenate([np.column_stack([cloud, np.full(len(cloud), s)]) for cloud, s in zip(drawn_clouds, times)])
    # coloured by a dim expression, not the dimension's name: the app's short redraw (explorer.fastdraw) sees it
    # is computed from the data and draws the panel in full (by name, the colour column was dropped)
    clouds = hv.Points(stamped, kdims=["x", "y"], vdims=["snapshot time"]).opts(
        color=hv.dim("snapshot time"), cmap=TIME_COLORS, clim=(float(times[0]), float(times[-1])), colorbar=True,
        alpha=0.4)
    drawn = np.linspace(0, result.paths.shape[1] - 1, min(N_PATHS, result.paths.shape[1])).astype(np.int64)
    whole = path_layer(result.paths[:, drawn]).opts(color=PATH_COLOR, alpha=0.7)
    particles = hv.Points(result.paths[frame][:MAX_POINTS_DRAWN], kdims=["x", "y"]).opts(
        color=PARTICLE_COLOR, alpha=0.6)
    return (clouds * whole * particles).opts(title=f"paths through {len(times)} snapshots (black: t = {t:.2f})",
                                             show_legend=False)


def _grid(result) -> np.ndarray:
    both = np.concatenate(result.extras["snapshots"])
    lo, hi = np.percentile(both, 1, axis=0), np.percentile(both, 99, axis=0)
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID))
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def _field(points, velocity, scale, label, color):
    magnitude = np.hypot(velocity[:, 0], velocity[:, 1])
    return hv.VectorField((points[:, 0], points[:, 1], np.arctan2(velocity[:, 1], velocity[:, 0]), magnitude / scale),
                          kdims=["x", "y"], vdims=["angle", "magnitude"], label=label).opts(color=color)


def drift(result, frame):
    """The refined reference's drift A x on a grid over the snapshots, and the population's true A x (OU)."""
    points = _grid(result)
    learned = points @ result.extras["drift"].T
    truth = result.extras["true_drift"]
    fields = [learned] if truth is None else [learned, points @ truth.T]
    scale = max(max(np.hypot(f[:, 0], f[:, 1]).max() for f in fields), 1e-12)  # one scale: lengths compare
    layers = [hv.Points(np.concatenate(result.extras["snapshots"])[::4][:MAX_POINTS_DRAWN], kdims=["x", "y"]).opts(
                  color="#aaaaaa", alpha=0.4)]
    if truth is not None:  # under the learned arrows: where they agree, a red edge shows round the black
        layers.append(_field(points, fields[1], scale, "true A x", TRUE_COLOR).opts(alpha=0.6))
    layers.append(_field(points, learned, scale, "learned A x", LEARNED_COLOR))
    kind = "learned (black), true (red)" if truth is not None else "learned"
    return hv.Overlay(layers).opts(title=f"drift A x: {kind}", show_legend=False)


def _per_round(values, label: str, color: str):
    """``values`` against the refinement round (0: the Brownian reference), as a line through dots."""
    rounds = np.arange(len(values))
    return (hv.Curve((rounds, values), "refinement", label).opts(color=color)
            * hv.Scatter((rounds, values), "refinement", label).opts(color=color)).opts(
        xticks=[int(r) for r in rounds], padding=0.1)


def fit(result, frame):
    """The fit (mean negative log-likelihood per coupled pair of the drift's objective) after each round."""
    return _per_round(result.metrics["fits"], "fit (−log-likelihood per pair)", LEARNED_COLOR).opts(
        title="fit per refinement (0: Brownian)")


def drift_error(result, frame):
    """‖A_k − A_true‖ / ‖A_true‖ after each round (OU population only: its A is known)."""
    if "drift_errors" not in result.metrics:
        return note("drift error: ou population only", ["Only the OU population has a true drift A",
                                                        "to measure the learned one against."])
    errors = result.metrics["drift_errors"]
    low = max(float(np.min(errors)), 1e-12)
    ticks = [tick for tick in ERROR_TICKS if low / 2 <= tick <= 2 * float(np.max(errors))]
    return _per_round(errors, "‖A − A_true‖ / ‖A_true‖", TRUE_COLOR).opts(
        logy=True, yticks=ticks, title=f"drift error per refinement (last {errors[-1]:.3f})")


# (title, view, whether it needs the true drift: the OU population's)
VIEWS = [("snapshot paths", paths, False), ("learned drift", drift, False), ("refinement fit", fit, False),
         ("drift error", drift_error, True)]


def shown(result) -> set[str]:
    """The titles of the panels a snapshots result has something for."""
    known = result.extras.get("true_drift") is not None
    return {title for title, _, needs_truth in VIEWS if known or not needs_truth}
