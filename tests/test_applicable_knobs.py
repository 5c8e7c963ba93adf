"""The scenes' declarations of which knobs apply to which choices (scenes.applicable, issue 16 item 4)."""
import param
import pytest

from kernels.diffusion.samplers import STOCHASTIC
from kernels.samplers import SAMPLERS
from scenes import SCENES, BridgeScene, LangevinScene, LorenzScene, OdeSdeScene, SceneError
from scenes.applicable import conditions


def hidden(scene) -> set:
    return {name for name in scene.param if name != "name"} - set(scene.applicable_knobs())


@pytest.mark.parametrize("name", list(SCENES))
def test_declarations_name_real_knobs_and_values(name):
    # a typo ("lorenz_63", "bacab") would leave a knob hidden for ever, or shown for ever
    cls = SCENES[name]
    assert cls.applies_when, f"{name} declares no knob that only some choices read"
    for knob, declaration in cls.applies_when.items():
        assert knob in cls.param and knob != "name", knob
        for condition in conditions(declaration):
            for selector in condition.selectors:
                assert isinstance(cls.param[selector], param.Selector), (knob, selector)
                assert condition.values <= set(cls.param[selector].objects), (knob, selector, condition.values)


@pytest.mark.parametrize("name", list(SCENES))
def test_what_applies_is_in_the_param_order_and_the_choices_are_shown_by_default(name):
    scene = SCENES[name]()
    shown = scene.applicable_knobs()
    assert shown == [p for p in scene.param if p in shown]
    # a choice nested under another (the bridges' population, under mode snapshots) may be hidden by default,
    # but then it decides nothing: none of its values shows or hides a knob
    for knob in set(scene.choice_knobs()) - set(shown):
        parameter = scene.param[knob]
        for value in parameter.objects:
            value = [value] if isinstance(parameter, param.ListSelector) else value
            assert SCENES[name](**{knob: value}).applicable_knobs() == shown, (knob, value)


def test_langevin_sampler_knobs():
    ula = LangevinScene(sampler="ula")
    assert {"friction", "leapfrog_steps", "ladder", "replicas", "sigma_max", "sigma_min"} <= hidden(ula)
    hmc = LangevinScene(sampler="hmc")
    assert "leapfrog_steps" in hmc.applicable_knobs() and "friction" in hidden(hmc)
    assert "friction" in LangevinScene(sampler="baoab").applicable_knobs()
    # the compare sampler's knobs apply too: it runs beside the first
    assert "friction" in LangevinScene(sampler="ula", compare_sampler="baoab").applicable_knobs()
    tempering = LangevinScene(sampler="tempering")
    assert {"ladder", "replicas"} <= set(tempering.applicable_knobs()) and "leapfrog_steps" in hidden(tempering)
    assert {"sigma_max", "sigma_min"} <= set(LangevinScene(sampler="annealed").applicable_knobs())


@pytest.mark.parametrize("sampler", list(SAMPLERS))
def test_every_langevin_sampler_reads_step_size_and_temperature(sampler):
    assert {"step_size", "temperature"} <= set(LangevinScene(sampler=sampler).applicable_knobs())


def test_langevin_target_and_start_knobs():
    named = LangevinScene(target="ring8", init="point")
    assert {"formula", "box_half_width", "init_scale"} <= hidden(named)
    assert {"init_x", "init_y"} <= set(named.applicable_knobs())
    assert {"formula", "box_half_width"} <= set(LangevinScene(target="custom").applicable_knobs())
    assert {"init_x", "init_y", "init_scale"} <= hidden(LangevinScene(init="box"))
    assert {"init_x", "init_y", "init_scale"} <= set(LangevinScene(init="gaussian").applicable_knobs())


def test_a_hidden_annealing_range_stops_no_run():
    # sigma_min ≥ sigma_max is refused only where annealed Langevin reads them
    LangevinScene(sampler="ula", sigma_min=5.0, sigma_max=1.0).check("ula", LangevinScene().resolve_target())
    with pytest.raises(SceneError, match="sigma_min"):
        scene = LangevinScene(sampler="annealed", sigma_min=5.0, sigma_max=1.0)
        scene.check("annealed", scene.resolve_target())


def test_lorenz_system_and_forecaster_knobs():
    l63 = LorenzScene(system="lorenz63", forecaster="sindy")
    assert {"l96_dimension", "forcing", "ngrc_delays", "esn_size", "mlp_epochs"} <= hidden(l63)
    assert {"sigma", "rho", "beta", "sindy_threshold", "enkf_members", "dt", "noise"} <= set(l63.applicable_knobs())
    l96 = LorenzScene(system="lorenz96", forecaster="ngrc")
    assert {"l96_dimension", "forcing", "dt", "noise", "projection"} <= set(l96.applicable_knobs())
    assert {"sigma", "rho", "beta", "forecaster", "ngrc_delays", "enkf_members", "train_length"} <= hidden(l96)
    ngrc = LorenzScene(system="lorenz63", forecaster="ngrc")
    assert {"ngrc_delays", "ngrc_stride", "ngrc_ridge", "ngrc_input_noise"} <= set(ngrc.applicable_knobs())
    assert "sindy_threshold" in hidden(ngrc)
    assert not {"ngrc_delays", "sindy_threshold"} & set(LorenzScene(forecaster="persistence").applicable_knobs())


def test_ode_sde_knobs():
    default = OdeSdeScene()
    assert {"delta", "training_steps", "hidden_width", "training_samples", "interpolant_a", "snr"} <= hidden(default)
    assert "noise" in default.applicable_knobs()
    assert "delta" in OdeSdeScene(score="perturbed").applicable_knobs()
    assert {"training_steps", "hidden_width", "training_samples"} <= set(OdeSdeScene(score="learned").applicable_knobs())
    assert "interpolant_a" in OdeSdeScene(process="interpolant").applicable_knobs()
    assert "snr" in OdeSdeScene(sampler="pc").applicable_knobs()
    # noise 0 for an ODE run and an ODE-only chart: nothing reads the noise knob
    ode_only = OdeSdeScene(sampler="dpmpp2m", sweep_samplers=["euler", "dpmpp2m"])
    assert {"noise", "shared_path"} <= hidden(ode_only)
    assert "noise" in OdeSdeScene(sampler="dpmpp2m", sweep_samplers=["euler", STOCHASTIC[0]]).applicable_knobs()


def test_bridges_knobs():
    default = BridgeScene(source="gauss", target="moons", method="sinkhorn")
    assert {"source_formula", "target_formula", "formula_box", "n_components", "training_steps"} <= hidden(default)
    assert {"epsilon", "tolerance", "max_iterations"} <= set(default.applicable_knobs())
    custom = BridgeScene(source="custom", method="lightsb")
    assert {"source_formula", "formula_box", "n_components", "training_steps"} <= set(custom.applicable_knobs())
    assert "target_formula" in hidden(custom) and "imf_iterations" in hidden(custom)
    matching = BridgeScene(method="imf")
    assert {"training_steps", "imf_iterations"} <= set(matching.applicable_knobs())
    assert "n_components" in hidden(matching) and "imf_iterations" in hidden(default)
    snapshots = {"population", "n_snapshots", "time_step", "snapshot_times", "sigma", "refinements", "rotation",
                 "contraction"}
    assert snapshots <= hidden(default)
    ou = BridgeScene(mode="snapshots", population="ou")
    assert snapshots | {"n_particles", "n_frames", "tolerance", "max_iterations"} <= set(ou.applicable_knobs())
    assert {"epsilon", "method", "source", "target", "target_shift", "fan_source", "source_formula"} <= hidden(ou)
    split = BridgeScene(mode="snapshots", population="split")
    assert {"rotation", "contraction"} <= hidden(split) and "n_snapshots" in split.applicable_knobs()
    clouds = BridgeScene(mode="snapshots", population="clouds", source="custom")
    assert {"source", "target", "target_shift", "target_scale", "source_formula"} <= set(clouds.applicable_knobs())
    assert {"n_snapshots", "rotation", "epsilon", "method"} <= hidden(clouds)
