"""Layers several scenes draw, built so that a live update sends the browser as little as possible.

- ``static_layer(owner, build)``, ``density_image(target)``: a layer that does not change with the run (the
  target's density, an attractor's orbit), built once per owner and handed out as a clone. A clone keeps the element's plot id, and HoloViews skips the data of a layer whose plot id is
  unchanged (``static_source``), so the 160² density is sent once per page, not with every result.
- ``path_layer(paths)``: many trajectories as ONE path whose pieces are separated by NaN rows (Bokeh and
  matplotlib both break a line at NaN). A list of paths costs HoloViews a dataset per path: 40 ms per update
  for 12 paths of 201 points, against 11 ms as one NaN-separated path.
- ``cloud_layer(points, bounds)``: a cloud as points up to ``max_points`` (MAX_POINTS_DRAWN), and beyond as
  datashader's count of points per pixel (issue 20: a million particles reach the browser as a 200² image of
  160 kB, not 8 MB of coordinates). An image colours log₁₀(1 + count) linearly, so the sparse tails stay
  visible beside the dense modes and explorer.fastdraw can redraw it by writing its data.
- ``note(title, lines)``: a panel of text where a plot does not apply to the run shown.
- ``cloud_layer(..., shared=name)``: a layer that panels drawn by the same stage show from the same arrays
  (bridges' particles at t, in the coupling and the marginal panel) is marked with the group
  ``shared_group(name)``; the app then draws all of them from one Bokeh data source, so the browser is sent
  their data once (explorer.app, PlotGrid).
"""
from __future__ import annotations

import threading
import weakref

import colorcet
import holoviews as hv
import numpy as np

if not hv.Store.renderers:  # options need a plotting extension; bokeh is the app's, and a notebook's default
    import holoviews.plotting.bokeh  # noqa: F401

DENSITY_CMAP = colorcet.CET_L1[::-1][:200]  # light greys, so the particles stand out
DENSITY_RESOLUTION = 160
MAX_POINTS_DRAWN = 20_000   # a larger cloud is drawn as an image of counts (cloud_layer)
CLOUD_RESOLUTION = 200      # pixels per side of that image
SHARED_GROUP = "Shared"     # the HoloViews group prefix of a layer shown from one source in several panels


def shared_group(name: str) -> str:
    """The HoloViews group of the layers that show the data called ``name`` in several panels."""
    return SHARED_GROUP + name.title().replace(" ", "")

# (id(owner), key, plotting backend) -> (the owner, its layer). Per backend: ``.opts`` sets the options of the
# backend current when it is called, so an image first built for matplotlib (the export, the server's warm-up)
# and handed to a bokeh session was drawn in HoloViews' default colormap there.
_layers: dict[tuple, tuple[weakref.ref, hv.Element]] = {}
_layers_lock = threading.Lock()


def static_layer(owner, build, *key) -> hv.Element:
    """The layer ``build()`` makes of ``owner`` (any weakly referable object: a target, an orbit's array), built
    once per ``key`` and plotting backend while ``owner`` lives and handed out as a clone: the browser is sent
    its data once per page, and its range is computed once (explorer.axes)."""
    full_key = (id(owner), key, hv.Store.current_backend)
    with _layers_lock:
        entry = _layers.get(full_key)
        if entry is None or entry[0]() is not owner:
            _layers[full_key] = entry = (weakref.ref(owner, lambda _: _layers.pop(full_key, None)), build())
        return entry[1].clone()


def density_image(target) -> hv.Image:
    """exp(−U) normalised on the target's box, on a DENSITY_RESOLUTION² grid (the same data every call), styled
    for the current plotting backend."""
    def build():
        xs, ys, density = target.grid(DENSITY_RESOLUTION)
        xmin, xmax, ymin, ymax = target.box
        return hv.Image((xs, ys, density), kdims=["x", "y"], vdims=["density"],
                        bounds=(xmin, ymin, xmax, ymax)).opts(cmap=DENSITY_CMAP)

    return static_layer(target, build)


def path_layer(paths: np.ndarray, kdims=("x", "y")) -> hv.Path:
    """Trajectories ``paths`` of shape (time, n, 2) as one Path, the n pieces separated by NaN rows."""
    paths = np.asarray(paths, dtype=float)
    steps, n, _ = paths.shape
    joined = np.full((n, steps + 1, 2), np.nan)
    joined[:, :steps] = paths.transpose(1, 0, 2)
    return hv.Path(joined.reshape(-1, 2)[:-1], kdims=list(kdims))


def tint_ramp(color: str, n: int = 64, lightest: float = 0.6) -> list[str]:
    """``n`` colours from ``color`` mixed with ``lightest`` of white to ``color`` itself: the colormap of a
    cloud drawn as an image, so that an image reads as the cloud of that colour."""
    rgb = np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)
    mix = np.linspace(lightest, 0.0, n)[:, None]
    ramp = np.round(rgb * (1 - mix) + 255.0 * mix).astype(int)
    return ["#%02x%02x%02x" % tuple(c) for c in ramp]


def count_image(points: np.ndarray, bounds, resolution: int = CLOUD_RESOLUTION) -> np.ndarray:
    """Points per pixel of a ``resolution``² grid over ``bounds`` = (xmin, ymin, xmax, ymax), rows going up in y
    (datashader's ``Canvas.points``: numba-compiled, 40× numpy's histogram2d on a million points here, with
    the same counts). Points outside the bounds, or not finite, are not counted."""
    import datashader  # imported here: 1.7 s, paid only by a page that draws a cloud this large
    import pandas as pd

    xmin, ymin, xmax, ymax = (float(b) for b in bounds)
    frame = pd.DataFrame({"x": points[:, 0], "y": points[:, 1]}, copy=False)
    canvas = datashader.Canvas(plot_width=resolution, plot_height=resolution, x_range=(xmin, xmax),
                               y_range=(ymin, ymax))
    return np.asarray(canvas.points(frame, "x", "y").values)


def cloud_layer(points: np.ndarray, bounds, kdims=("x", "y"), color: str = "#d62728", alpha: float = 0.5,
                label: str = "", max_points: int = MAX_POINTS_DRAWN, image_alpha: float = 0.8, shared: str = ""):
    """The cloud ``points`` (n, 2): an ``hv.Points`` in ``color`` up to ``max_points``; beyond, an ``hv.Image``
    of log₁₀(1 + points per pixel) (:func:`count_image` over ``bounds`` = (xmin, ymin, xmax, ymax)), empty
    pixels transparent, coloured from a tint of ``color`` to ``color`` (:func:`tint_ramp`), with ``image_alpha``.
    ``shared``: the name of the data, where other panels drawn with this one show the same arrays."""
    group = {"group": shared_group(shared)} if shared else {}
    if len(points) <= max_points:
        return hv.Points(points, kdims=list(kdims), label=label, **group).opts(color=color, alpha=alpha)
    counts = count_image(points, bounds)
    xmin, ymin, xmax, ymax = (float(b) for b in bounds)
    values = np.where(counts > 0, np.log10(1.0 + counts), np.nan)
    return hv.Image(values[::-1], bounds=(xmin, ymin, xmax, ymax), kdims=list(kdims), vdims=["log10(1 + count)"],
                    label=label, **group).opts(cmap=tint_ramp(color), alpha=image_alpha)


def note(title: str, lines: list[str]):
    """A panel of text lines (no axes): a message where a plot does not apply."""
    n = len(lines)
    return hv.Labels(([0.0] * n, [float(n - i) for i in range(n)], lines), ["u", "v"], "text").opts(
        title=title, xlim=(-1, 1), ylim=(0, n + 1), xaxis=None, yaxis=None)
