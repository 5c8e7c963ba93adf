"""Layers several scenes draw, built so that a live update sends the browser as little as possible.

- ``static_layer(owner, build)``, ``density_image(target)``: a layer that does not change with the run (the
  target's density, an attractor's orbit), built once per owner and handed out as a clone. A clone keeps the element's plot id, and HoloViews skips the data of a layer whose plot id is
  unchanged (``static_source``), so the 160² density is sent once per page, not with every result.
- ``path_layer(paths)``: many trajectories as ONE path whose pieces are separated by NaN rows (Bokeh and
  matplotlib both break a line at NaN). A list of paths costs HoloViews a dataset per path: 40 ms per update
  for 12 paths of 201 points, against 11 ms as one NaN-separated path.
- ``note(title, lines)``: a panel of text where a plot does not apply to the run shown.
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


def note(title: str, lines: list[str]):
    """A panel of text lines (no axes): a message where a plot does not apply."""
    n = len(lines)
    return hv.Labels(([0.0] * n, [float(n - i) for i in range(n)], lines), ["u", "v"], "text").opts(
        title=title, xlim=(-1, 1), ylim=(0, n + 1), xaxis=None, yaxis=None)
