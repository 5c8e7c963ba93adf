"""The large-n mode (issue 20): each scene's "large" preset, and its clouds drawn as images of counts, checked on
the CPU at reduced sizes (a GPU runs the presets' sizes; here they would take seconds each)."""
import holoviews as hv
import numpy as np
import pytest

from explorer.presets import load_preset
from scenes import SCENES
from scenes.layers import CLOUD_RESOLUTION, MAX_POINTS_DRAWN
from scenes.bridges_views import MAX_POINTS_DRAWN as BRIDGES_MAX_POINTS

LARGE_SIZES = {"langevin": ("n_particles", 1_000_000), "lorenz": ("n_members", 1_000_000),
               "bridges": ("n_particles", 16_384), "ode_sde": ("n_particles", 1_000_000)}


def images(element) -> list:
    return [layer for layer in (element if isinstance(element, hv.Overlay) else [element])
            if isinstance(layer, hv.Image) and layer.vdims[0].name == "log10(1 + count)"]


def counted(image) -> float:
    return float(np.nansum(10 ** image.dimension_values(2) - 1))


@pytest.mark.parametrize("name", sorted(LARGE_SIZES))
def test_each_scene_has_a_large_preset_of_the_issues_size(name):
    knob, size = LARGE_SIZES[name]
    params = load_preset(name, "large")
    assert params[knob] == size
    SCENES[name]().update(**params)  # within bounds (benchmarks/large_n.py runs them)


def run_panel(name: str, title: str, **values):
    scene = SCENES[name](**values)
    result = scene.run()
    return result, dict(scene.panels())[title](result, len(result.paths) - 1)


def test_a_langevin_cloud_past_the_limit_is_an_image_of_every_particle():
    n = MAX_POINTS_DRAWN + 5_000
    result, cloud = run_panel("langevin", "cloud", n_particles=n, n_steps=40, n_frames=3, init="gaussian")
    (image,) = images(cloud)
    assert image.dimension_values(2, flat=False).shape == (CLOUD_RESOLUTION, CLOUD_RESOLUTION)
    xmin, xmax, ymin, ymax = result.extras["target"].box
    points = result.paths[-1]
    inside = ((points[:, 0] >= xmin) & (points[:, 0] <= xmax) & (points[:, 1] >= ymin) & (points[:, 1] <= ymax)).sum()
    assert abs(counted(image) - inside) < 1.0
    _, small = run_panel("langevin", "cloud", n_particles=500, n_steps=40, n_frames=3)
    assert not images(small) and any(isinstance(layer, hv.Points) for layer in small)


def test_a_lorenz_ensemble_past_the_limit_is_an_image_on_the_attractor():
    result, attractor = run_panel("lorenz", "attractor", n_members=MAX_POINTS_DRAWN + 5_000, horizon=0.5,
                                  n_frames=3, perturbation=0.3)
    (image,) = images(attractor)
    assert 0.95 * result.paths.shape[1] < counted(image) <= result.paths.shape[1]  # the orbit's box holds most


def test_ode_sde_clouds_past_the_limit_are_images_of_every_particle():
    from scenes.ode_sde_views import MAX_POINTS_DRAWN as ODE_SDE_MAX_POINTS

    n = ODE_SDE_MAX_POINTS + 1_000
    scene = SCENES["ode_sde"](n_particles=n, nfe=8, n_frames=3)
    result = scene.run()
    views = dict(scene.panels())
    xmin, xmax, ymin, ymax = scene.data_target().box

    def inside(points):
        return ((points[:, 0] >= xmin) & (points[:, 0] <= xmax) & (points[:, 1] >= ymin)
                & (points[:, 1] <= ymax)).sum()

    for title, run in (("ODE paths", result.extras["ode"]), ("SDE paths", result)):
        (image,) = images(views[title](result, 2))
        assert abs(counted(image) - inside(run.paths[-1])) < 1.0
    ode_image, sde_image = images(views["density"](result, 2))  # both clouds, each past half the limit
    assert abs(counted(ode_image) - inside(result.extras["ode"].paths[-1])) < 1.0
    assert abs(counted(sde_image) - inside(result.paths[-1])) < 1.0
    small = SCENES["ode_sde"](n_particles=500, nfe=8, n_frames=3)
    assert not images(dict(small.panels())["SDE paths"](small.run(), 2))


def test_bridges_clouds_past_the_limit_are_images_of_both_clouds_and_the_particles():
    n = BRIDGES_MAX_POINTS + 500
    result, coupling = run_panel("bridges", "coupling", n_particles=n, n_frames=3)
    drawn = images(coupling)
    assert len(drawn) == 3 and all(abs(counted(image) - n) < 1.0 for image in drawn)  # the bounds hold them all
