"""Lecture sequences: ordered (scene, preset, caption) steps in ``assets/lectures/<name>.yaml``.

A file holds ``title`` and ``steps``, each step a mapping with ``scene``, ``preset`` and ``caption``.
Files are read with ``yaml.safe_load``; an unknown scene or preset, or a malformed step, is refused with
the file and the step named.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from explorer.presets import ASSETS, list_presets

LECTURES_DIR = ASSETS / "lectures"
STEP_KEYS = {"scene", "preset", "caption"}


class LectureError(ValueError):
    """A lecture file that does not exist or does not fit the scenes and presets."""


@dataclass(frozen=True)
class LectureStep:
    scene: str
    preset: str
    caption: str


@dataclass(frozen=True)
class Lecture:
    name: str
    title: str
    steps: tuple


def read_lecture(path: Path, scenes) -> Lecture:
    """Parse and check one lecture file against the registered ``scenes`` and their presets."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise LectureError(f"{path.name}: not valid YAML ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list) or not data["steps"]:
        raise LectureError(f"{path.name}: a lecture is a mapping with a non-empty 'steps' list")
    steps = []
    for number, step in enumerate(data["steps"], start=1):
        if not isinstance(step, dict) or set(step) != STEP_KEYS:
            raise LectureError(f"{path.name}, step {number}: needs exactly the keys {', '.join(sorted(STEP_KEYS))}")
        if step["scene"] not in scenes:
            raise LectureError(f"{path.name}, step {number}: unknown scene {step['scene']!r}")
        if step["preset"] not in list_presets(step["scene"]):
            raise LectureError(f"{path.name}, step {number}: scene {step['scene']!r} has no preset {step['preset']!r}")
        steps.append(LectureStep(str(step["scene"]), str(step["preset"]), str(step["caption"])))
    return Lecture(Path(path).stem, str(data.get("title", Path(path).stem)), tuple(steps))


def list_lectures(scenes) -> dict:
    """name → Lecture for every lecture file, sorted by file name (each checked by :func:`read_lecture`)."""
    lectures = {}
    for path in sorted(LECTURES_DIR.glob("*.yaml")):
        lectures[path.stem] = read_lecture(path, scenes)
    return lectures
