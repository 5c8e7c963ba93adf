"""The sidebar shows the knobs that apply to the current choices and hides the others, values kept (Panel
objects in process, no browser)."""
import pytest

from explorer.widgets import knob_widgets, scene_controls
from scenes import SCENES, LangevinScene, LorenzScene


def sidebar(scene) -> dict:
    """The knob widgets of a sidebar built for ``scene``, by knob name."""
    widgets = knob_widgets(scene_controls(scene, [p for p in scene.param if p != "name"]))
    assert set(widgets) == set(scene.param) - {"name"}
    return widgets


def visible(widgets) -> set:
    return {name for name, widget in widgets.items() if widget.visible}


@pytest.mark.parametrize("name", list(SCENES))
def test_the_sidebar_shows_what_applies(name):
    scene = SCENES[name]()
    widgets = sidebar(scene)
    assert visible(widgets) == set(scene.applicable_knobs()) != set(widgets)


def test_switching_the_sampler_flips_the_knobs():
    scene = LangevinScene(sampler="ula")
    widgets = sidebar(scene)
    assert not {"friction", "leapfrog_steps", "ladder"} & visible(widgets)
    assert "step_size" in visible(widgets)
    scene.sampler = "hmc"
    assert "leapfrog_steps" in visible(widgets) and "friction" not in visible(widgets)
    scene.compare_sampler = "baoab"
    assert {"leapfrog_steps", "friction"} <= visible(widgets)
    scene.param.update(sampler="ula", compare_sampler="none")
    assert not {"friction", "leapfrog_steps"} & visible(widgets)
    scene.target = "custom"
    assert {"formula", "box_half_width"} <= visible(widgets)


def test_a_hidden_knob_keeps_its_value_and_applies_when_shown():
    # the URL (pn.state.location) and presets set the scene's params, shown or not
    scene = LangevinScene(sampler="ula")
    widgets = sidebar(scene)
    scene.friction = 3.5
    assert not widgets["friction"].visible and widgets["friction"].value == 3.5
    scene.sampler = "baoab"
    assert widgets["friction"].visible and widgets["friction"].value == 3.5 == scene.friction
    assert scene.sampler_params()[2] == 3.5  # the run reads it now
    scene.sampler = "mala"
    assert not widgets["friction"].visible and scene.friction == 3.5


def test_switching_the_lorenz_system_flips_its_knobs():
    scene = LorenzScene(system="lorenz63")
    widgets = sidebar(scene)
    assert not {"l96_dimension", "forcing"} & visible(widgets) and {"sigma", "rho", "beta"} <= visible(widgets)
    scene.system = "lorenz96"
    assert {"l96_dimension", "forcing"} <= visible(widgets)
    assert not {"sigma", "rho", "beta", "forecaster", "sindy_threshold", "enkf_members"} & visible(widgets)
    scene.param.update(system="lorenz63", forecaster="ngrc")
    assert {"sigma", "ngrc_delays"} <= visible(widgets) and "sindy_threshold" not in visible(widgets)
