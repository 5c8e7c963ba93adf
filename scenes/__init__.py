"""Scenes: one param.Parameterized model per scene, with HoloViews views. ``SCENES`` is the registry."""
from scenes.base import BudgetError, DivergenceError, Result, Scene, SceneError
from scenes.bridges import BridgeScene
from scenes.langevin import LangevinScene

SCENES = {"langevin": LangevinScene}
# Each further scene module adds its import above and its one entry below.
SCENES["bridges"] = BridgeScene

__all__ = ["SCENES", "Scene", "Result", "SceneError", "BudgetError", "DivergenceError", "LangevinScene"]
