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


def _frame(result, frame) -> int:
    return int(np.clip(frame, 0, len(result.paths) - 1))


def _time_color(result, t: float) -> str:
    times = result.extras["snapshot_times"]
    share = (t - times[0]) / (times[-1] - times[0])
    return TIME_COLORS[int(round(share * (len(TIME_COLORS) - 1)))]


def paths(result, frame):
    """Each snapshot cloud coloured by its time, a few chained paths whole, and every path's particle at the
    frame's time travelling through the snapshots."""
    frame = _frame(result, frame)
    t = float(result.times[frame])
    times = result.extras["snapshot_times"]
    clouds = [hv.Points(cloud[:MAX_POINTS_DRAWN], kdims=["x", "y"], label=f"snapshot t = {s:.3g}").opts(
                  color=_time_color(result, s), alpha=0.35)
              for cloud, s in zip(result.extras["snapshots"], times)]
    drawn = np.linspace(0, result.paths.shape[1] - 1, min(N_PATHS, result.paths.shape[1])).astype(np.int64)
    whole = path_layer(result.paths[:, drawn]).opts(color=PATH_COLOR, alpha=0.7)
    particles = hv.Points(result.paths[frame][:MAX_POINTS_DRAWN], kdims=["x", "y"], label=f"paths at t = {t:.2f}").opts(
        color=PARTICLE_COLOR, alpha=0.5, size=3)
    return hv.Overlay([*clouds, whole, particles]).opts(
        title=f"paths through {len(times)} snapshots, t = {t:.2f}", legend_position="right")


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
                  color="#cccccc", alpha=0.3),
              _field(points, learned, scale, "learned A x", LEARNED_COLOR)]
    if truth is not None:
        layers.append(_field(points, fields[1], scale, "true A x", TRUE_COLOR))
    a = np.round(result.extras["drift"], 2).tolist()
    return hv.Overlay(layers).opts(title=f"reference drift A x, A = {a}", legend_position="top", legend_cols=2)


def fit(result, frame):
    """The fit (mean negative log-likelihood per coupled pair of the drift's objective) after each round."""
    fits = result.metrics["fits"]
    rounds = np.arange(len(fits))
    return (hv.Curve((rounds, fits), "refinement", "fit (−log-likelihood per pair)").opts(color=LEARNED_COLOR)
            * hv.Scatter((rounds, fits), "refinement", "fit (−log-likelihood per pair)").opts(
                color=LEARNED_COLOR, size=6)).opts(title="fit against the refinement round (0: Brownian)")


def drift_error(result, frame):
    """‖A_k − A_true‖ / ‖A_true‖ after each round (OU population only: its A is known)."""
    if "drift_errors" not in result.metrics:
        return note("drift error: ou population only", ["Only the OU population has a true drift A",
                                                        "to measure the learned one against."])
    errors = result.metrics["drift_errors"]
    rounds = np.arange(len(errors))
    return (hv.Curve((rounds, errors), "refinement", "‖A − A_true‖ / ‖A_true‖").opts(color=TRUE_COLOR)
            * hv.Scatter((rounds, errors), "refinement", "‖A − A_true‖ / ‖A_true‖").opts(color=TRUE_COLOR, size=6)
            ).opts(logy=True, title=f"drift error against the refinement round ({errors[-1]:.3f} at the last)")


# (title, view, whether it needs the true drift: the OU population's)
VIEWS = [("snapshot paths", paths, False), ("learned drift", drift, False), ("refinement fit", fit, False),
         ("drift error", drift_error, True)]


def shown(result) -> set[str]:
    """The titles of the panels a snapshots result has something for."""
    known = result.extras.get("true_drift") is not None
    return {title for title, _, needs_truth in VIEWS if known or not needs_truth}
