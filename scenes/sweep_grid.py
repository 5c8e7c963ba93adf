"""The grid of a sweep: which knobs vary, over which values, checked against the scene's param bounds
before anything runs (DESIGN §11).

An axis is given as a list of values, or as text: ``"0.1,0.2,0.5"``, ``"log:A:B:N"`` (N values from A to B,
evenly spaced in log) or ``"lin:A:B:N"`` (evenly spaced). Every mistake is refused with a
:class:`GridError` naming the knob and, for a value out of range, the bound.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import param

from scenes.base import Scene, SceneError

BOOL_WORDS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}
RANGE_KINDS = ("lin", "log")


class GridError(SceneError):
    """A grid, seed list or fixed value that cannot be swept: says which knob and why."""


@dataclass(frozen=True)
class Axis:
    """One knob of the grid and its values, in order; ``scale`` is "log" for a log range (the plot's x scale)."""

    knob: str
    values: tuple
    scale: str = "list"


def knobs(scene_cls) -> tuple:
    """The knobs a sweep may vary or fix: the scene's run parameters other than the seed."""
    return tuple(p for p in scene_cls().run_params if p != "seed")


def _coerce(scene_cls, knob: str, value):
    """``value`` (text or a Python value) typed for the knob's param, or GridError naming the knob."""
    parameter = scene_cls.param[knob]
    try:
        if isinstance(parameter, param.Boolean):
            if isinstance(value, str):
                return BOOL_WORDS[value.strip().lower()]
            return bool(value)
        if isinstance(parameter, param.Integer):
            number = float(value)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if isinstance(parameter, param.Number):
            return float(value)
    except (KeyError, ValueError, TypeError):
        kind = ("true or false" if isinstance(parameter, param.Boolean) else
                "a whole number" if isinstance(parameter, param.Integer) else "a number")
        raise GridError(f"{knob}: {value!r} is not {kind}") from None
    return value.strip() if isinstance(value, str) else value


def check_value(scene_cls, knob: str, value) -> None:
    """Refuse a value outside the knob's hard bounds or choices, naming both."""
    parameter = scene_cls.param[knob]
    if isinstance(parameter, param.Selector) and not isinstance(parameter, param.ListSelector):
        if value not in parameter.objects:
            raise GridError(f"{knob}: {value!r} is not one of {', '.join(map(str, parameter.objects))}")
        return
    if isinstance(parameter, param.Number) and not isinstance(parameter, param.Boolean) and parameter.bounds:
        low, high = parameter.bounds
        if not math.isfinite(value):
            raise GridError(f"{knob}: {value!r} is not a finite number")
        if low is not None and value < low:
            raise GridError(f"{knob}: {value:g} is below its lower bound {low:g} (bounds {low:g} to {high:g})")
        if high is not None and value > high:
            raise GridError(f"{knob}: {value:g} is above its upper bound {high:g} (bounds {low:g} to {high:g})")
        return
    try:  # strings, booleans, lists: param's own check, which names the parameter
        scene_cls().param.update(**{knob: value})
    except ValueError as error:
        raise GridError(f"{knob}: {error}") from None


def _range(scene_cls, knob: str, text: str) -> Axis:
    kind, *parts = text.split(":")
    if len(parts) != 3:
        raise GridError(f"{knob}: a range is {kind}:START:STOP:COUNT, got {text!r}")
    try:
        start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise GridError(f"{knob}: a range is {kind}:START:STOP:COUNT with numbers, got {text!r}") from None
    if count < 1:
        raise GridError(f"{knob}: a range needs COUNT ≥ 1, got {count}")
    parameter = scene_cls.param[knob]
    if not isinstance(parameter, param.Number) or isinstance(parameter, param.Boolean):
        raise GridError(f"{knob}: a {kind} range needs a numeric knob; give its values as a list")
    if kind == "log" and not (start > 0 and stop > 0):
        raise GridError(f"{knob}: a log range needs START and STOP above 0, got {text!r}")
    values = np.geomspace(start, stop, count) if kind == "log" else np.linspace(start, stop, count)
    if isinstance(parameter, param.Integer):
        values = np.round(values)
    typed = [_coerce(scene_cls, knob, v) for v in values.tolist()]
    return Axis(knob, tuple(dict.fromkeys(typed)), scale=kind)  # integer ranges may round to repeats


def axis(scene_cls, knob: str, spec) -> Axis:
    """The checked Axis for ``knob`` from a list of values or the text forms in the module doc."""
    allowed = knobs(scene_cls)
    if knob not in allowed:
        raise GridError(f"unknown knob {knob!r} for {scene_cls.title}; sweepable: {', '.join(allowed)}")
    if isinstance(spec, str) and spec.split(":")[0] in RANGE_KINDS and ":" in spec:
        result = _range(scene_cls, knob, spec)
    else:
        items = spec.split(",") if isinstance(spec, str) else list(np.atleast_1d(spec).tolist()
                                                                 if isinstance(spec, np.ndarray) else spec)
        if not items or any(isinstance(v, str) and not v.strip() for v in items):
            raise GridError(f"{knob}: empty value in the grid {spec!r}")
        result = Axis(knob, tuple(_coerce(scene_cls, knob, v) for v in items))
    for value in result.values:
        check_value(scene_cls, knob, value)
    return result


def seed_list(seeds) -> tuple:
    """``seeds``: a count N (seeds 0 … N−1) or the seeds themselves, each a valid scene seed."""
    values = tuple(range(seeds)) if isinstance(seeds, (int, np.integer)) else tuple(int(s) for s in seeds)
    if not values:
        raise GridError("seeds: at least one seed is needed")
    low, high = Scene.param["seed"].bounds
    for seed in values:
        if not low <= seed <= high:
            raise GridError(f"seeds: {seed} is outside the seed bounds {low} to {high}")
    if len(set(values)) != len(values):
        raise GridError("seeds: a seed is repeated")
    return values


def fixed_values(scene_cls, fixed: dict) -> dict:
    """The knobs held fixed, typed and checked (an unknown knob or a bad value refused, named)."""
    out = {}
    for knob, value in (fixed or {}).items():
        if knob not in scene_cls.param or knob == "name":
            raise GridError(f"unknown knob {knob!r} for {scene_cls.title}; "
                            f"known: {', '.join(p for p in scene_cls.param if p != 'name')}")
        out[knob] = _coerce(scene_cls, knob, value)
        check_value(scene_cls, knob, out[knob])
    return out
