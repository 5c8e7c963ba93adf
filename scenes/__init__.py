"""Scenes: one param.Parameterized model per scene, with HoloViews views. ``SCENES`` is the registry."""
from scenes.base import BudgetError, Cancelled, DivergenceError, Result, Scene, SceneError
from scenes.bridges import BridgeScene
from scenes.langevin import LangevinScene
from scenes.lorenz import LorenzScene
from scenes.ode_sde import OdeSdeScene

SCENES = {"langevin": LangevinScene}
# Each further scene module adds its import above and its one entry below.
SCENES["bridges"] = BridgeScene
SCENES["ode_sde"] = OdeSdeScene
SCENES["lorenz"] = LorenzScene

__all__ = ["SCENES", "Scene", "Result", "SceneError", "BudgetError", "Cancelled", "DivergenceError", "LangevinScene"]
