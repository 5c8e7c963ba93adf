"""Which knobs apply to a scene's current choices: the declarations a scene makes, and their reading.

A scene names, in ``applies_when``, each knob that only some choices read, with the conditions under which
they read it (all must hold); a knob not named always applies. A condition is "one of these selectors has
one of these values" (:func:`when`): friction applies when the sampler or the compare sampler is BAOAB,
the Lorenz-96 forcing when the system is Lorenz-96. The app hides the widgets of the knobs that do not
apply; their values stay, so a URL that sets one still sets it, and it takes effect once the choices make
it apply. No Panel here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class When:
    """One of ``selectors`` holds one of ``values``; a list-valued selector (the samplers a sweep draws, say)
    holds one when it contains it."""

    selectors: tuple
    values: frozenset

    def holds(self, choices: Mapping) -> bool:
        """Whether the condition holds for ``choices`` (knob name → value)."""
        for name in self.selectors:
            chosen = choices[name]
            if any(value in self.values for value in (chosen if isinstance(chosen, (list, tuple)) else [chosen])):
                return True
        return False


def when(selectors: str | tuple, *values) -> When:
    """The condition that ``selectors`` (one name, or a tuple of names: any of them) holds one of ``values``."""
    return When((selectors,) if isinstance(selectors, str) else tuple(selectors), frozenset(values))


def conditions(declaration) -> tuple:
    """A knob's declared conditions as a tuple of :class:`When` (one may be declared alone)."""
    return (declaration,) if isinstance(declaration, When) else tuple(declaration)


def applicable(knobs, declarations: Mapping, choices: Mapping) -> list:
    """The ``knobs`` that apply to ``choices``: those not declared, and those whose conditions all hold."""
    return [name for name in knobs if all(c.holds(choices) for c in conditions(declarations.get(name, ())))]


def choice_knobs(declarations: Mapping) -> tuple:
    """The knobs the declarations read (sorted): when one of them changes, what applies may change."""
    return tuple(sorted({name for declaration in declarations.values() for c in conditions(declaration)
                         for name in c.selectors}))
