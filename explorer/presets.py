"""Presets: named parameter sets in ``assets/presets/<scene>/<name>.yaml``, read with ``yaml.safe_load``.

A preset file holds ``title``, ``description`` and ``params`` (a mapping of parameter names to values).
Unknown keys and out-of-range values are refused with the file and the key named.
"""
from __future__ import annotations

from pathlib import Path

import yaml

ASSETS = Path(__file__).resolve().parent.parent / "assets"
PRESETS_DIR = ASSETS / "presets"
PRESET_KEYS = {"title", "description", "params"}


class PresetError(ValueError):
    """A preset that does not exist or does not fit its scene."""


def read_preset_file(path: Path) -> dict:
    """Parse one preset file, checking its top-level shape (not yet the parameter values)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise PresetError(f"{path.name}: not valid YAML ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("params", {}), dict):
        raise PresetError(f"{path.name}: a preset is a mapping with a 'params' mapping")
    unknown = sorted(set(data) - PRESET_KEYS)
    if unknown:
        raise PresetError(f"{path.name}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(PRESET_KEYS))}")
    return {"title": str(data.get("title", path.stem)), "description": str(data.get("description", "")),
            "params": dict(data.get("params") or {})}


def list_presets(scene_name: str) -> dict:
    """name → {"title", "description", "params"} for every preset of the scene, sorted by file name."""
    folder = PRESETS_DIR / scene_name
    return {path.stem: read_preset_file(path) for path in sorted(folder.glob("*.yaml"))}


def load_preset(scene_name: str, preset_name: str) -> dict:
    """The parameter values of a named preset."""
    presets = list_presets(scene_name)
    if preset_name not in presets:
        raise PresetError(f"no preset {preset_name!r} for scene {scene_name!r}; "
                          f"known: {', '.join(presets) or 'none'}")
    return presets[preset_name]["params"]


def scene_to_yaml(scene, title: str = "", description: str = "") -> str:
    """The scene's current parameters as a preset file that loads back to the same numbers."""
    return yaml.safe_dump({"title": title or f"{scene.title} (saved)", "description": description,
                           "params": scene.values()}, sort_keys=False, allow_unicode=True)


def params_from_yaml(text: str, scene_cls) -> dict:
    """Parameter values from preset YAML text, checked against the scene class (names and bounds)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PresetError(f"not valid YAML ({error})") from None
    if not isinstance(data, dict):
        raise PresetError("a preset is a mapping with a 'params' mapping")
    unknown = sorted(set(data) - PRESET_KEYS)
    if unknown:
        raise PresetError(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(PRESET_KEYS))}")
    params = dict(data.get("params") or {})
    scene_cls().update(**params)  # raises SceneError naming any unknown or out-of-range value
    return params
