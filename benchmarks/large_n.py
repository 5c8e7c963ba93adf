"""The large-n mode (issue 20): rasterising a million points, and each scene's "large" preset on this machine.

1. A cloud of a million points binned into the 200² image the browser is sent (scenes.layers.count_image:
   datashader's ``Canvas.points``) against numpy's ``histogram2d`` on the same points and grid; units: points
   per second.
2. Each "large" preset run as the app runs it (its first stage, then the complete result), on the backend
   ``auto`` picks here, with its budget of ``explorer.slots.RUN_BUDGET_S``: a run the budget refuses is listed
   with the app's message. Then its cloud panel built, and the bytes that panel's cloud costs as an image
   against as float32 points.
"""
from __future__ import annotations

import time

import numpy as np

TITLE = "Large-n mode: a million points rasterised (points/s), and the large presets here"
FIELDS = ("implementation", "size", "steps", "rate_per_s", "first_stage_s", "complete_s", "cloud_view_s",
          "image_bytes", "points_bytes")
CLOUD_PANELS = {"langevin": "cloud", "lorenz": "attractor", "bridges": "coupling", "ode_sde": "SDE paths"}
N_POINTS = 1_000_000


def _best_rate(fn, points, repeats=3) -> float:
    fn(points)  # compile, or load datashader's cache
    seconds = min(_timed(fn, points) for _ in range(repeats))
    return len(points) / seconds


def _timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def rasterise_rows() -> list:
    from scenes.layers import CLOUD_RESOLUTION, count_image

    points = np.random.default_rng(0).standard_normal((N_POINTS, 2)).astype(np.float32)
    bounds = (-4.0, -4.0, 4.0, 4.0)
    numpy = lambda p: np.histogram2d(p[:, 1], p[:, 0], bins=CLOUD_RESOLUTION, range=[[-4, 4], [-4, 4]])  # noqa: E731
    return [("datashader (ours)", N_POINTS, 1, _best_rate(lambda p: count_image(p, bounds), points)) + (None,) * 5,
            ("numpy histogram2d", N_POINTS, 1, _best_rate(numpy, points)) + (None,) * 5]


def preset_row(name: str) -> tuple:
    from explorer import slots
    from explorer.presets import load_preset
    from kernels.backend import resolve_backend
    from scenes import SCENES, BudgetError

    scene = SCENES[name]()
    scene.update(**load_preset(name, "large"))
    scene.max_run_seconds = slots.RUN_BUDGET_S
    size = scene.n_members if name == "lorenz" else scene.n_particles
    label = f"{name} large ({resolve_backend(scene.backend)})"
    start = time.perf_counter()
    try:
        stages = scene.stages()
        first = next(stages)
        first_s = time.perf_counter() - start
        *_, result = stages
    except BudgetError as refusal:
        return (f"{label}: refused", size, 0, None, None, None, None, None, str(refusal))
    complete_s = time.perf_counter() - start
    view = dict(scene.panels())[CLOUD_PANELS[name]]
    view(first, 0)  # datashader's first call compiles
    frame = len(result.paths) - 1
    view_s = _timed(view, result, frame)
    element = view(result, frame)
    image_bytes = sum(layer.dimension_values(2).size * 4 for layer in element if type(layer).__name__ == "Image"
                      and layer.vdims[0].name == "log10(1 + count)")
    clouds = 3 if name == "bridges" else 1
    return (label, size, len(result.paths), None, first_s, complete_s, view_s, image_bytes, clouds * size * 2 * 4)


def rows(quick: bool = False) -> list:
    return rasterise_rows() + [preset_row(name) for name in CLOUD_PANELS]


def table(title: str, rows) -> list[str]:
    raster, presets = rows[:2], rows[2:]
    lines = [title, f"{'implementation':<34}{'points':>11}{'M points/s':>12}{'ours ÷ it':>11}"]
    for name, size, _, rate, *_ in raster:
        lines.append(f"{name:<34}{size:>11,}{rate / 1e6:>12.1f}{raster[0][3] / rate:>10.1f}×")
    lines.append(f"{'preset (backend)':<34}{'size':>11}{'frames':>8}{'1st stage s':>12}{'complete s':>11}"
                 f"{'view s':>8}{'image kB':>10}{'points kB':>11}")
    for name, size, frames, _, first, complete, view, image, points in presets:
        if first is None:
            lines.append(f"{name:<34}{size:>11,}  {points}")
            continue
        lines.append(f"{name:<34}{size:>11,}{frames:>8}{first:>12.2f}{complete:>11.2f}{view:>8.3f}"
                     f"{image / 1e3:>10.0f}{points / 1e3:>11,.0f}")
    return lines
