"""Thumbnails of each scene for the index page, drawn by the export code (never hand-drawn).

A thumbnail is the scene's main panel at its last frame, for the default parameters, as a small
matplotlib PNG. They are made once per process; ``warm_up`` makes them on a background thread when the
server starts, which also compiles (or loads from cache) each scene's default kernels. The index never
waits for one: :func:`ready` gives a thumbnail only once it exists.
"""
from __future__ import annotations

import logging
import threading

from explorer import render

log = logging.getLogger(__name__)


_made: dict = {}  # scene name -> PNG bytes, filled once per process


def ready(scene_name: str) -> bytes | None:
    """The scene's thumbnail if it has been made, else None (never computes)."""
    return _made.get(scene_name)


def thumbnail(scene_name: str) -> bytes:
    """PNG bytes of the scene's first panel for its default run (made on first call)."""
    if scene_name not in _made:
        from scenes import SCENES

        scene = SCENES[scene_name]()
        result = scene.run()
        _, panel = scene.panels()[0]
        _made[scene_name] = render.figure_bytes(lambda: panel(result, len(result.times) - 1), "png", dpi=45)
    return _made[scene_name]


def warm_up(scene_names, then=None) -> threading.Thread:
    """Make every thumbnail on a daemon thread, then call ``then()`` if given; a scene that fails is logged
    and skipped."""
    def work():
        for name in scene_names:
            try:
                thumbnail(name)
            except Exception:  # the index then shows the scene without a picture
                log.exception("no thumbnail for scene %s", name)
        if then is not None:
            then()

    thread = threading.Thread(target=work, name="thumbnails", daemon=True)
    thread.start()
    return thread
