"""The knobs of a target drawn by hand (kernels.drawn), declared once for every scene that offers one.

A drawing knob holds the mixture's components as text (kernels.drawn.encode), so the URL, presets and
exported YAML carry the drawing itself; the width knob sets every component's spread. The app shows a
canvas for each knob named in a scene's ``drawing_knobs`` while that knob applies.
"""
from __future__ import annotations

import param

from kernels.drawn import DEFAULT_DRAWING, WAVE_DRAWING, WIDTH_BOUNDS, DrawingError, drawn_target
from kernels.targets import get_target
from scenes.base import SceneError

DRAWN = "drawn"  # the choice, in a scene's target or cloud selector, that reads a drawing knob


def drawing_knob(what: str = "target", default: str = DEFAULT_DRAWING) -> param.String:
    return param.String(default=default, doc=f"The drawn {what}: draw on the canvas (kept as the mixture's "
                                             "components, 'x,y,weight;…')")


def width_knob() -> param.Number:
    return param.Number(default=0.4, bounds=WIDTH_BOUNDS, softbounds=WIDTH_BOUNDS,
                        doc="Drawn target: the spread (standard deviation) of each component")


def resolve_drawing(text: str, width: float, what: str = "drawn target"):
    """The Target of a drawing, or a SceneError that says what is wrong with it."""
    try:
        return drawn_target(text, float(width))
    except DrawingError as error:
        raise SceneError(f"{what}: {error}") from None


def target_of(values: dict, selector: str = "target", drawing: str = "drawing"):
    """The Target a scene's values choose: the named one, or the drawing when the choice is 'drawn'."""
    if values[selector] == DRAWN:
        return resolve_drawing(values[drawing], values["draw_width"])
    return get_target(values[selector])
