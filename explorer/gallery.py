"""Thumbnails of each scene for the index page, drawn by the export code (never hand-drawn).

A thumbnail is the scene's main panel at its last frame, for the default parameters, as a small
matplotlib PNG. They are made once per process; ``warm_up`` makes them on a background thread when the
server starts, which also compiles (or loads from cache) each scene's default kernels.
"""
from __future__ import annotations

import logging
import threading
from functools import lru_cache

from explorer import render

log = logging.getLogger(__name__)


@lru_cache(maxsize=None)
def thumbnail(scene_name: str) -> bytes:
    """PNG bytes of the scene's first panel for its default run."""
    from scenes import SCENES

    scene = SCENES[scene_name]()
    result = scene.run()
    _, panel = scene.panels()[0]
    return render.figure_bytes(lambda: panel(result, len(result.times) - 1), "png", dpi=45)


def warm_up(scene_names) -> threading.Thread:
    """Make every thumbnail on a daemon thread; a scene that fails is logged and skipped."""
    def work():
        for name in scene_names:
            try:
                thumbnail(name)
            except Exception:  # the index then shows the scene without a picture
                log.exception("no thumbnail for scene %s", name)

    thread = threading.Thread(target=work, name="thumbnails", daemon=True)
    thread.start()
    return thread
