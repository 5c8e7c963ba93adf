"""Every knob a run reads is declared applicable (scenes.applicable): for a few choices per scene, at tiny sizes,
moving every knob the declarations call not applicable leaves the complete run's numbers as they were."""
import numpy as np
import param
import pytest

from scenes import SCENES, Result

FORMULA = "x**2 + y**2"  # any text will do for a formula nothing reads; one that parses, for a fair fail

LANGEVIN = dict(n_particles=40, n_steps=20, n_frames=4)
ODE_SDE = dict(n_particles=40, nfe=8, n_frames=3)
BRIDGES = dict(n_particles=60, n_frames=3)
LORENZ = dict(n_members=20, horizon=1.0, n_frames=4, enkf_cycles=5)
CHOICES = [
    ("langevin", dict(sampler="ula", **LANGEVIN)),
    # each sampler with knobs of its own runs without the others': a knob declared for the wrong one is moved
    ("langevin", dict(sampler="hmc", init="gaussian", **LANGEVIN)),
    ("langevin", dict(sampler="ula", compare_sampler="baoab", init="box", **LANGEVIN)),
    ("langevin", dict(sampler="tempering", **LANGEVIN)),
    ("langevin", dict(sampler="ula", compare_sampler="annealed", **LANGEVIN)),
    # (a typed formula under rwmh was here too: 24 s of cold compiles on a clean clone, for a sampler with no
    # knobs of its own; tests/test_applicable_knobs.py checks the formula's declaration)
    ("ode_sde", dict(**ODE_SDE)),
    ("ode_sde", dict(sampler="dpm2", **ODE_SDE)),  # an ODE run, but the NFE chart's em and heun read the noise
    ("ode_sde", dict(sampler="dpmpp2m", compare_sampler="pc", process="interpolant", score="perturbed",
                     sweep_samplers=["euler", "dpm2"], **ODE_SDE)),
    ("ode_sde", dict(score="learned", training_steps=20, training_samples=200, hidden_width=8, **ODE_SDE)),
    ("bridges", dict(**BRIDGES)),
    ("bridges", dict(target="custom", method="gaussian", **BRIDGES)),
    ("bridges", dict(method="lightsb", training_steps=20, n_components=2, **BRIDGES)),
    ("bridges", dict(method="imf", training_steps=20, imf_iterations=1, **BRIDGES)),
    ("bridges", dict(mode="snapshots", n_snapshots=3, refinements=1, **BRIDGES)),
    ("bridges", dict(mode="snapshots", population="clouds", target="custom", refinements=1, **BRIDGES)),
    ("lorenz", dict(system="lorenz63", forecaster="sindy", **LORENZ)),
    ("lorenz", dict(system="lorenz63", forecaster="ngrc", **LORENZ)),
    ("lorenz", dict(system="lorenz96", l96_dimension=8, **LORENZ)),
]


def moved(parameter: param.Parameter, value):
    """Another valid value of ``parameter`` near ``value``."""
    if isinstance(parameter, param.ListSelector):
        return [o for o in parameter.objects if o not in value][:1] + list(value)
    if isinstance(parameter, param.Selector):
        return next(o for o in parameter.objects if o != value)
    if isinstance(parameter, param.Boolean):
        return not value
    if isinstance(parameter, param.String):
        return FORMULA if value != FORMULA else FORMULA + " + 1"
    low, high = parameter.bounds
    if isinstance(parameter, param.Integer):
        return value + 1 if high is None or value + 1 <= high else value - 1
    soft_low, soft_high = parameter.get_soft_bounds()
    new = value * 1.25 if value else soft_low + 0.25 * (soft_high - soft_low)
    return new if high is None or new <= high else value * 0.8


def numbers(result: Result, prefix: str = "") -> dict:
    """Every number of a Result (paths, times, metrics, numeric extras, nested Results and tables) by a dotted
    name, timings left out."""
    out = {f"{prefix}paths": result.paths, f"{prefix}times": result.times}

    def add(name, value):
        if isinstance(value, Result):
            out.update(numbers(value, f"{name}."))
        elif isinstance(value, dict):
            for key, item in value.items():
                add(f"{name}.{key}", item)
        elif isinstance(value, (np.ndarray, float, int, np.number)) and "seconds" not in name:
            out[name] = np.asarray(value)

    for group in ("metrics", "extras"):
        for key, value in getattr(result, group).items():
            add(f"{prefix}{group}.{key}", value)
    return out


@pytest.mark.parametrize("name, choice", CHOICES, ids=[f"{n}-{'-'.join(map(str, c.values()))[:60]}" for n, c in CHOICES])
def test_a_knob_that_does_not_apply_does_not_change_the_run(name, choice):
    scene = SCENES[name](seed=3, **choice)
    shown = scene.applicable_knobs()
    others = {knob: moved(scene.param[knob], getattr(scene, knob)) for knob in scene.param
              if knob != "name" and knob not in shown}
    assert others, f"every knob applies to {choice}: nothing to check"
    before = numbers(scene.run())
    other = SCENES[name](seed=3, **{**choice, **others})
    assert other.applicable_knobs() == shown  # moving hidden knobs chose nothing else
    after = numbers(other.run())
    assert before.keys() == after.keys()
    changed = [key for key in before if not np.array_equal(before[key], after[key], equal_nan=True)]
    assert not changed, f"moving {sorted(others)} changed {changed[:6]}: a knob the run reads is declared not to apply"
