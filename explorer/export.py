"""Export a scene: figures (PNG, SVG, PDF by matplotlib; PNG of the screen look; standalone HTML),
animations over the frames of a run (GIF, MP4), data (NPZ, CSV) and the parameters (a YAML preset).

The same functions back the app's download buttons (:func:`export_bytes`) and the command line
(:func:`export_scene`, :func:`export_all_presets`). Files are written to a temporary name and renamed,
so nothing is left half-way; an unknown format is refused before any work.
"""
from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer import render
from explorer.presets import list_presets, scene_to_yaml

FORMATS = (".png", ".svg", ".pdf", ".html", ".gif", ".mp4", ".npz", ".csv", ".yaml")


class ExportError(ValueError):
    """An export that cannot be written as asked."""


@dataclass(frozen=True)
class ExportOptions:
    """How to export: ``screen`` takes a PNG of the bokeh view in Chromium instead of matplotlib's;
    ``fps``, ``first`` and ``last`` (frame indices, inclusive; None = the last) and ``dpi`` shape
    animations and figures."""

    screen: bool = False
    fps: float = 8.0
    first: int = 0
    last: int | None = None
    dpi: int = 110

    def __post_init__(self):
        if not 0.1 <= self.fps <= 60:
            raise ExportError(f"fps must be between 0.1 and 60, got {self.fps}")
        if not 20 <= self.dpi <= 600:
            raise ExportError(f"dpi must be between 20 and 600, got {self.dpi}")


def check_format(fmt: str) -> str:
    """The normalised extension (".png"), or ExportError naming the known ones."""
    fmt = (fmt if fmt.startswith(".") else f".{fmt}").lower()
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return fmt


def animation_frames(result, options: ExportOptions) -> range:
    n_frames = len(result.times)
    last = n_frames - 1 if options.last is None else options.last
    if not (0 <= options.first <= last < n_frames):
        raise ExportError(f"frame range {options.first}..{last} is outside the run's frames 0..{n_frames - 1}")
    return range(options.first, last + 1)


def _animation(scene, result, fmt: str, options: ExportOptions) -> bytes:
    import imageio.v2 as imageio

    shown = scene.panels_shown(result)  # the scene's main panel for this run, e.g. the particle cloud
    title, element_at = next((title, view) for title, view in scene.panels() if title in shown)
    images = render.frame_images(lambda f: element_at(result, f), animation_frames(result, options),
                                 dpi=min(options.dpi, 100))
    buffer = io.BytesIO()
    if fmt == ".gif":
        imageio.mimwrite(buffer, images, format="GIF", duration=1000.0 / options.fps, loop=0)
    else:
        with tempfile.TemporaryDirectory() as folder:  # ffmpeg writes to a file
            path = Path(folder) / "movie.mp4"
            imageio.mimwrite(path, images, fps=options.fps, macro_block_size=1)
            buffer.write(path.read_bytes())
    return buffer.getvalue()


def _csv(result) -> bytes:
    """Long format: one row per (frame, particle) with the time and the coordinates."""
    n_frames, n_particles, dim = result.paths.shape
    names = ["x", "y", "z"][:dim] if dim <= 3 else [f"x{i}" for i in range(dim)]
    frame = np.repeat(np.arange(n_frames), n_particles)
    columns = [frame, result.times[frame], np.tile(np.arange(n_particles), n_frames)]
    columns += [result.paths[..., d].reshape(-1) for d in range(dim)]
    buffer = io.StringIO()
    buffer.write(",".join(["frame", "time", "particle", *names]) + "\n")
    np.savetxt(buffer, np.column_stack(columns), delimiter=",", fmt=["%d", "%.9g", "%d"] + ["%.9g"] * dim)
    return buffer.getvalue().encode()


def _npz(scene, result) -> bytes:
    buffer = io.BytesIO()
    arrays = {"paths": result.paths, "times": result.times}
    for key, value in result.metrics.items():
        arrays[f"metric_{key}"] = np.asarray(value)
    arrays["parameters_yaml"] = np.array(scene_to_yaml(scene))
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def export_bytes(scene, fmt: str, result=None, options: ExportOptions | None = None) -> bytes:
    """The export of ``scene`` in format ``fmt`` (".png", "svg", …) as bytes; runs the scene if needed."""
    fmt = check_format(fmt)
    options = options or ExportOptions()
    if fmt == ".yaml":
        return scene_to_yaml(scene).encode()
    result = scene.run() if result is None else result
    if fmt == ".npz":
        return _npz(scene, result)
    if fmt == ".csv":
        return _csv(result)
    if fmt in (".gif", ".mp4"):
        return _animation(scene, result, fmt, options)
    view = lambda: scene.view(result)  # noqa: E731 (built under the backend that draws it)
    if fmt == ".html":
        return render.html_bytes(view, scene.title)
    if fmt == ".png" and options.screen:
        return render.screen_png_bytes(view, scene.title)
    return render.figure_bytes(view, fmt.lstrip("."), dpi=options.dpi)


def write_atomically(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def export_scene(scene, path, result=None, options: ExportOptions | None = None) -> Path:
    """Write the export whose format is ``path``'s extension."""
    path = Path(path)
    return write_atomically(path, export_bytes(scene, path.suffix, result, options))


def export_all_presets(scenes: dict, folder, fmt: str = ".png", options: ExportOptions | None = None) -> list[Path]:
    """One file per preset of every scene, ``<folder>/<scene>/<preset><fmt>``, for building slides.

    Every preset is checked before anything is written, so a bad preset leaves the folder untouched.
    """
    fmt = check_format(fmt)
    jobs = []
    for scene_name, scene_cls in scenes.items():
        for preset_name, preset in list_presets(scene_name).items():
            scene = scene_cls()
            scene.update(**preset["params"])
            jobs.append((scene, Path(folder) / scene_name / f"{preset_name}{fmt}"))
    return [export_scene(scene, path, options=options) for scene, path in jobs]
