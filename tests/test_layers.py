"""Shared layers (scenes.layers): every session draws the density in the same greys, whatever drew it before."""
import holoviews as hv
from bokeh.models import ColorMapper

from explorer import render
from kernels.targets import custom_target
from scenes.layers import DENSITY_CMAP, density_image


def test_the_density_is_grey_in_the_app_after_the_export_drew_it_first():
    """The server's warm-up draws with matplotlib before the first bokeh session (issue 16: the density was then
    drawn in HoloViews' default cyan-to-blue in the app)."""
    target = custom_target("x**2 + y**2", 3.0)  # a target no other test has drawn
    with render.backend("matplotlib"):
        hv.render(density_image(target), backend="matplotlib")
    with render.backend("bokeh"):
        figure = hv.render(density_image(target), backend="bokeh")
    palettes = [[c.lower() for c in mapper.palette] for mapper in figure.select(type=ColorMapper)]
    assert palettes and all(p[0] == DENSITY_CMAP[0].lower() and p[-1] == DENSITY_CMAP[-1].lower() for p in palettes)


# -- a dense cloud reaches the browser as an image of counts (issue 20) -----------------------------

import numpy as np  # noqa: E402

from scenes.layers import CLOUD_RESOLUTION, cloud_layer, count_image, tint_ramp  # noqa: E402


def scattered(n: int, seed: int = 0) -> np.ndarray:
    """A cloud with a dense blob, a sparse tail, points outside the box and NaN rows."""
    rng = np.random.default_rng(seed)
    points = np.concatenate([rng.normal([-1.0, 1.5], 0.3, (n // 2, 2)), rng.uniform(-4.0, 4.0, (n - n // 2, 2))])
    points[::97] = np.nan
    return points.astype(np.float32)


def test_count_image_has_numpys_histogram_counts():
    points = scattered(200_000)
    bounds = (-3.0, -2.0, 3.0, 3.5)
    counts = count_image(points, bounds)
    finite = points[np.isfinite(points).all(axis=1)]
    expected, _, _ = np.histogram2d(finite[:, 1], finite[:, 0], bins=CLOUD_RESOLUTION,
                                    range=[[bounds[1], bounds[3]], [bounds[0], bounds[2]]])
    assert counts.shape == (CLOUD_RESOLUTION, CLOUD_RESOLUTION)
    # a point on an upper edge may fall either side: at most a handful of the 200,000 differ
    assert np.abs(counts - expected).sum() <= 4 and counts.sum() > 100_000


def test_a_small_cloud_stays_points_and_a_large_one_is_an_image_where_its_points_are():
    assert isinstance(cloud_layer(scattered(1000), (-4, -4, 4, 4), max_points=1000), hv.Points)
    points = scattered(50_000)
    layer = cloud_layer(points, (-4, -4, 4, 4), max_points=1000, color="#d62728")
    assert isinstance(layer, hv.Image)
    assert layer.dimension_values(2, flat=False).shape == (CLOUD_RESOLUTION, CLOUD_RESOLUTION)
    blob, corner = layer[-1.0, 1.5], layer[3.9, -3.9]   # HoloViews' own lookup by coordinate
    assert blob > np.log10(1 + 50)           # the dense blob, upper left, where it was put
    assert np.isnan(corner) or corner < 1.0  # a sparse corner: empty (transparent) or a few points
    total = np.nansum(10 ** layer.dimension_values(2) - 1)
    assert abs(total - np.isfinite(points).all(axis=1).sum()) < 1.0  # every finite point in the box, once
    ramp = layer.opts.get("style").kwargs["cmap"]
    assert ramp == tint_ramp("#d62728") and ramp[-1] == "#d62728"


def test_a_large_cloud_is_drawn_as_a_bokeh_image():
    figure = hv.render(cloud_layer(scattered(30_000), (-4, -4, 4, 4)), backend="bokeh")
    glyphs = [type(r.glyph).__name__ for r in figure.renderers]
    assert glyphs == ["Image"], glyphs
