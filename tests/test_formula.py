"""Typed potentials: allowed formulas compile with exact gradients; everything else is refused by name;
a fuzz of generated strings never crashes, hangs or executes anything."""
import builtins
import math
import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernels.formula import MAX_TEXT, FormulaError, compile_formula, parse
from kernels.formula_eval import formula_potential
from kernels.targets import custom_target
from scenes import LangevinScene, SceneError

evaluate = formula_potential.compile("cpu")


@pytest.mark.parametrize("text", [
    "(x**2 + y**2 - 1)**2 / 0.1",
    "x**2/2 + 3*y**2 - x*y",
    "exp(-x) + log(1 + y**2) + sqrt(x*x + 1) + tanh(x)*sin(y) + cos(x)**3",
    "abs(x - 0.3) + max(x, y)**2 + min(y, 2*x) + x**y + pi*e",
])
def test_gradient_matches_finite_differences(text):
    program = compile_formula(text)
    for x, y in [(0.7, 1.3), (1.1, 0.4), (0.45, 2.2)]:
        u, gx, gy = evaluate(x, y, program)
        h = 1e-6
        fx = (evaluate(x + h, y, program)[0] - evaluate(x - h, y, program)[0]) / (2 * h)
        fy = (evaluate(x, y + h, program)[0] - evaluate(x, y - h, program)[0]) / (2 * h)
        assert gx == pytest.approx(fx, rel=1e-5, abs=1e-6) and gy == pytest.approx(fy, rel=1e-5, abs=1e-6)


def test_value_matches_the_closed_form():
    u, gx, gy = evaluate(0.5, -2.0, compile_formula("(x**2 + y**2 - 1)**2 / 0.1"))
    assert u == pytest.approx((0.25 + 4 - 1) ** 2 / 0.1)
    assert (gx, gy) == pytest.approx((4 * 0.5 * 3.25 / 0.1, 4 * -2.0 * 3.25 / 0.1))


@pytest.mark.parametrize("text,named", [
    ("__import__('os').system('true')", "__import__"),
    ("x.__class__", "x.__class__"),
    ("x[0]", "x[0]"),
    ("open('/etc/passwd')", "open"),
    ("(lambda: 1)()", "lambda"),
    ("x if y else 1", "x if y else 1"),
    ("z + 1", "unknown name 'z'"),
    ("exp(x, y)", "exp takes 1"),
    ("max(x)", "max takes 2"),
    ("exp(x=1)", "exp takes 1"),
    ("'text'", "'text'"),
    ("x < y", "x < y"),
    ("x +", "not a formula"),
    ("", "empty"),
    ("x" * (MAX_TEXT + 1), "characters long"),
])
def test_disallowed_input_is_refused_naming_the_problem(text, named):
    with pytest.raises(FormulaError, match=None) as info:
        compile_formula(text)
    assert named in str(info.value)


def test_a_potential_that_does_not_confine_is_refused():
    with pytest.raises(FormulaError, match="not normalisable"):
        custom_target("x**2")  # nothing holds y
    with pytest.raises(FormulaError, match="undefined"):
        custom_target("log(x) + y**2")


def test_custom_target_in_the_scene_is_sampled_as_well_as_exact_draws():
    scene = LangevinScene(target="custom", sampler="mala", step_size=0.01, n_particles=2000, n_steps=300, seed=2)
    metrics = scene.run().metrics
    assert metrics["kl"] < 1.5 * metrics["kl_reference"] + 0.02
    assert metrics["sliced_w2"] < 2 * metrics["sliced_w2_reference"] + 0.02
    scene.formula = "import os"
    with pytest.raises(SceneError, match="custom formula: not a formula"):
        scene.run()


# -- fuzz ----------------------------------------------------------------------------------------------
ALPHABET = string.ascii_letters + string.digits + " +-*/().,_[]{}'\"<>=!@#%^&|~`:;\\\n"
TOKENS = ["x", "y", "pi", "e", "exp(", "log(", "sqrt(", "sin(", "cos(", "tanh(", "abs(", "min(", "max(", "(",
          ")", ",", "+", "-", "*", "/", "**", "0", "1", "2.5", "1e308", "1e-308", "9" * 30, " ", "__import__(",
          "open(", "boom()", ".real", "[0]", "lambda:", "if", "else", "'s'", "x.y", "**-", "--", "sentinel"]


@pytest.fixture
def sentinel(monkeypatch):
    """A builtin that records a call: if any formula text were executed, ``boom()`` would run it."""
    calls = []
    monkeypatch.setattr(builtins, "boom", lambda *a: calls.append(a), raising=False)
    return calls


def check_one(text: str) -> None:
    try:
        program = compile_formula(text)
    except FormulaError:
        return
    u, gx, gy = evaluate(0.3, -0.7, program)  # any float, NaN or Inf: never an exception
    assert isinstance(u, float) and isinstance(gx, float) and isinstance(gy, float)


@settings(max_examples=6000, deadline=2000, suppress_health_check=list(HealthCheck), database=None)
@given(st.text(alphabet=ALPHABET, max_size=60))
def test_fuzz_arbitrary_characters(sentinel, text):
    check_one(text)
    assert sentinel == []


@settings(max_examples=6000, deadline=2000, suppress_health_check=list(HealthCheck), database=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
def test_fuzz_formula_like_token_soup(sentinel, text):
    check_one(text)
    assert sentinel == []


def test_parse_is_pure_on_the_classic_escapes(sentinel):
    for text in ["boom()", "__import__('builtins').boom()", "().__class__.__bases__[0]", "[boom() for _ in x]"]:
        with pytest.raises(FormulaError):
            parse(text)
    assert sentinel == []
    assert math.isfinite(evaluate(1.0, 1.0, compile_formula("x*y"))[0])
    assert np.isnan(evaluate(-1.0, 1.0, compile_formula("sqrt(x)"))[0])
