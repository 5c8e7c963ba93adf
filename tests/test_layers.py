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
