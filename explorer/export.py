"""Export a scene's view and data: PNG/SVG/PDF through the matplotlib backend, NPZ data, YAML presets.

The same functions back the app's download buttons (:func:`export_bytes`) and the command line
(:func:`export_scene`). Files are written to a temporary name and renamed, so nothing is left half-way.
"""
from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np

from explorer.presets import scene_to_yaml

FORMATS = (".png", ".svg", ".pdf", ".npz", ".yaml")
FIGURE_FORMATS = (".png", ".svg", ".pdf")


class ExportError(ValueError):
    """An export that cannot be written as asked."""


def _check_format(fmt: str) -> str:
    fmt = fmt if fmt.startswith(".") else f".{fmt}"
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return fmt


def _figure_bytes(scene, result, fmt: str) -> bytes:
    import holoviews as hv
    import matplotlib

    matplotlib.use("Agg", force=False)
    previous = hv.Store.current_backend
    try:
        if "matplotlib" not in hv.Store.renderers:
            hv.extension("matplotlib", logo=False)  # loads the backend, and makes it current …
        renderer = hv.renderer("matplotlib").instance(dpi=110, fig=fmt.lstrip("."))
        plot = renderer.get_plot(scene.view(result))
        data, _ = renderer(plot, fmt=fmt.lstrip("."))
    finally:  # … so the app's backend (bokeh) is put back for every other session in the process
        hv.Store.set_current_backend(previous)
    return data if isinstance(data, bytes) else data.encode()


def _npz_bytes(scene, result) -> bytes:
    buffer = io.BytesIO()
    arrays = {"paths": result.paths, "times": result.times}
    for key, value in result.metrics.items():
        arrays[f"metric_{key}"] = np.asarray(value)
    arrays["parameters_yaml"] = np.array(scene_to_yaml(scene))
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def export_bytes(scene, fmt: str, result=None) -> bytes:
    """The export of ``scene`` in format ``fmt`` (".png", "svg", …) as bytes; runs the scene if needed."""
    fmt = _check_format(fmt)
    if fmt == ".yaml":
        return scene_to_yaml(scene).encode()
    result = scene.run() if result is None else result
    if fmt == ".npz":
        return _npz_bytes(scene, result)
    return _figure_bytes(scene, result, fmt)


def export_scene(scene, path, result=None) -> Path:
    """Write the export whose format is ``path``'s extension; atomic (temporary file, then rename)."""
    path = Path(path)
    data = export_bytes(scene, path.suffix, result)
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
