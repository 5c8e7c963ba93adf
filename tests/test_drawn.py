"""A drawn target (kernels.drawn): strokes → mixture → exact samples whose moments are the strokes' ink
moments blurred by the width; the drawing's text round-trips through the URL form, YAML and presets; bad
drawings are refused with a message, and the three scenes run on a drawing."""
import numpy as np
import pytest

from explorer.presets import params_from_yaml, scene_to_yaml
from kernels.drawn import (MAX_COMPONENTS, DrawingError, components, decode, drawn_target, encode)
from kernels.targets import get_target
from scenes import SCENES
from scenes.base import SceneError

N = 200_000
WIDTH = 0.3


def target_of_strokes(strokes, width=WIDTH):
    return drawn_target(encode(*components(strokes, width)), width)


def test_a_straight_stroke_has_the_moments_of_its_ink_blurred_by_the_width():
    """From a to b: mean (a + b)/2; along it L²(1 − 1/n²)/12 + w² (n pieces), across it w² (module doc)."""
    a, b = np.array([-3.0, -1.0]), np.array([3.0, 2.0])
    stroke = a + np.linspace(0, 1, 50)[:, None] * (b - a)
    target = target_of_strokes([stroke])
    n_pieces, length = len(target.mix), np.linalg.norm(b - a)
    draws = target.sample(N, seed=3)
    unit = (b - a) / length
    along, across = (draws - (a + b) / 2) @ unit, (draws - (a + b) / 2) @ np.array([-unit[1], unit[0]])
    se = 5 / np.sqrt(N)  # five standard errors, in units of the spread
    assert np.allclose(draws.mean(0), (a + b) / 2, atol=se * length)
    expected_along = length ** 2 * (1 - 1 / n_pieces ** 2) / 12 + WIDTH ** 2
    assert along.var() == pytest.approx(expected_along, rel=5 * np.sqrt(2 / N))
    assert across.var() == pytest.approx(WIDTH ** 2, rel=5 * np.sqrt(2 / N))
    # and the ink's own moments (uniform along the stroke), to the discretisation's 1/n² and the width
    assert along.var() == pytest.approx(length ** 2 / 12 + WIDTH ** 2, rel=2 / n_pieces ** 2 + 0.01)


def test_ink_weights_the_strokes_and_a_dot_is_one_component():
    short, long_ = [(-4, 3), (-3, 3)], [(-4, -3), (-1, -3), (2, -3)]  # lengths 1 and 6
    target = target_of_strokes([short, long_, [(3.0, 3.0)]])
    draws = target.sample(N, seed=5)
    near_dot = np.hypot(*(draws - [3, 3]).T) < 4 * WIDTH
    upper = (draws[:, 1] > 0) & ~near_dot
    ink = np.array([1.0, 6.0, WIDTH])  # a dot's ink is one width
    assert near_dot.mean() == pytest.approx(ink[2] / ink.sum(), abs=0.005)
    assert upper.mean() == pytest.approx(ink[0] / ink.sum(), abs=0.005)


def test_a_long_drawing_is_cut_into_at_most_the_component_budget():
    spiral_t = np.linspace(0, 6 * np.pi, 2000)
    spiral = np.stack([0.7 * spiral_t / np.pi * np.cos(spiral_t), 0.7 * spiral_t / np.pi * np.sin(spiral_t)], 1)
    means, ink = components([spiral], 0.1)
    assert len(means) == MAX_COMPONENTS
    assert np.allclose(ink, ink[0])  # equal pieces of one stroke
    assert len(components([spiral, [(1, 1)]], 0.1, budget=10)[0]) <= 10


def test_the_text_loads_back_identical_and_is_compact():
    text = encode(*components([[(0.0, 0.0), (2.0, 1.0)], [(-3.3333, 4.4444)]], 0.4))
    assert encode(*decode(text)) == text
    assert drawn_target(text, 0.4).mix.tobytes() == drawn_target(encode(*decode(text)), 0.4).mix.tobytes()
    assert len(text) < 24 * len(decode(text)[0])  # components, not pixels
    assert get_target(drawn_target(text, 0.4).name) is drawn_target(text, 0.4)


@pytest.mark.parametrize("strokes, message", [
    ([], "empty"),
    ([[(0.0, 0.0)]] * 1000, "1000 strokes"),
    ([[(0.0, 0.0), (9.0, 0.0)]], "outside the canvas"),
    ([[(0.0, float("nan"))]], "finite"),
])
def test_a_bad_drawing_is_refused_with_a_message(strokes, message):
    with pytest.raises(DrawingError, match=message):
        components(strokes, WIDTH)


@pytest.mark.parametrize("text, message", [
    ("", "empty"), ("1,2", "not 'x,y,weight'"), ("import os", "not 'x,y,weight'"), ("0,0,-1", "positive"),
    ("9,0,1", "outside"), (";".join(["0,0,1"] * 65), "at most 64"), ("0,0,1" * 1000, "characters"),
])
def test_bad_drawing_text_is_refused_with_a_message(text, message):
    with pytest.raises(DrawingError, match=message):
        decode(text)


def test_a_scene_with_a_bad_drawing_says_so_and_a_bad_width_is_out_of_bounds():
    scene = SCENES["langevin"](target="drawn", drawing="0,0", n_particles=100, n_steps=10)
    with pytest.raises(SceneError, match="drawn target: component 1"):
        scene.run()
    with pytest.raises(ValueError):
        scene.draw_width = 5.0


def test_a_drawing_round_trips_through_yaml():
    drawing = encode(*components([[(0.0, 0.0), (2.0, 1.0), (3.0, -1.0)]], 0.4))
    scene = SCENES["ode_sde"](target="drawn", drawing=drawing, draw_width=0.6)
    loaded = params_from_yaml(scene_to_yaml(scene), SCENES["ode_sde"])
    assert loaded["drawing"] == drawing and loaded["draw_width"] == 0.6 and loaded["target"] == "drawn"


def test_mala_on_a_drawn_target_reaches_its_exact_samples():
    """MALA is exact in the limit: on one connected stroke (so the chains mix along it in a short run) its
    particles' sliced W₂ to the drawing comes within 2× the floor of as many exact draws."""
    arc = np.stack([3 * np.cos(np.linspace(0, 2.5, 40)), 3 * np.sin(np.linspace(0, 2.5, 40))], axis=1)
    scene = SCENES["langevin"](target="drawn", drawing=encode(*components([arc], 0.5)), draw_width=0.5,
                               sampler="mala", step_size=0.1, n_particles=2000, n_steps=1500, init="box", n_frames=3)
    metrics = scene.run().metrics
    assert metrics["sliced_w2"] < 2 * metrics["sliced_w2_reference"], metrics


def test_the_ode_and_bridges_scenes_run_on_drawings():
    ode = SCENES["ode_sde"](target="drawn", n_particles=500, nfe=30, n_frames=3).run()
    assert ode.metrics["kl"] < 0.2 and np.isfinite(ode.metrics["sliced_w2"])
    bridges = SCENES["bridges"](source="drawn", target="drawn", n_particles=400, n_frames=3, backend="cpu").run()
    assert bridges.metrics["marginal_error"] < 1e-3
    drawn_source = drawn_target(SCENES["bridges"]().source_drawing, 0.4).sample(400, seed=0)
    assert np.allclose(bridges.extras["source"], drawn_source)


def test_a_shipped_preset_and_a_lecture_step_carry_a_drawing():
    from explorer.lectures import list_lectures
    from explorer.presets import load_preset
    from scenes.drawing import target_of

    params = load_preset("langevin", "drawn_heart")
    assert params["target"] == "drawn"
    means, ink = decode(params["drawing"])
    assert len(means) == MAX_COMPONENTS and ink[0] > 0 and np.allclose(ink, ink[0])  # one stroke, equal pieces
    scene = SCENES["langevin"]()
    scene.update(**params)
    assert target_of(scene.values()).label.startswith(f"drawn: {MAX_COMPONENTS} components of width 0.35")
    steps = [step for lecture in list_lectures(SCENES).values() for step in lecture.steps]
    assert any(step.preset == "drawn_heart" for step in steps)
