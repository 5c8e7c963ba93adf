"""Render HoloViews views to bytes: matplotlib for print (PNG/SVG/PDF and animation frames), bokeh for
standalone HTML, and headless Chromium for a PNG with the exact on-screen look.

The matplotlib backend is loaded on first use without taking over the process: the app's sessions
keep drawing with bokeh. HoloViews applies an ``.opts(...)`` without ``backend=`` to its *current*
backend, which is process-wide, so switching it and building views both happen under RENDER_LOCK.
Every matplotlib drawing of the process (these figures, animation frames, explorer.sweep_plot) holds
MATPLOTLIB_LOCK: matplotlib's mathtext parser (log axes' tick labels) is not thread-safe, and two
sessions' sweep plots drawn at once failed with "ParseException: Expected end of text". It is taken
inside RENDER_LOCK where both are held, never the other way round.
"""
from __future__ import annotations

import contextlib
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

RENDER_LOCK = threading.RLock()
MATPLOTLIB_LOCK = threading.RLock()
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextlib.contextmanager
def backend(name: str):
    """Load HoloViews' ``name`` backend if needed and make it current for the block only."""
    import holoviews as hv

    with RENDER_LOCK:
        previous = hv.Store.current_backend
        try:
            yield _switch_to(name)
        finally:
            hv.Store.set_current_backend(previous)


def _switch_to(name: str):
    import holoviews as hv

    if name not in hv.Store.renderers:
        if name == "matplotlib":
            import matplotlib

            matplotlib.use("Agg", force=False)
        hv.extension(name, logo=False)
    hv.Store.set_current_backend(name)
    return hv.renderer(name)


def figure_bytes(build, fmt: str, dpi: int = 110) -> bytes:
    """The view made by ``build()`` drawn by matplotlib as "png", "svg" or "pdf".

    Every function here takes a builder rather than a view, so the view's options are set while the
    backend that draws it is current.
    """
    with backend("matplotlib") as renderer, MATPLOTLIB_LOCK:
        renderer = renderer.instance(dpi=dpi, fig=fmt)
        data, _ = renderer(renderer.get_plot(build()), fmt=fmt)
    return data if isinstance(data, bytes) else data.encode()


def frame_images(element_for_frame, frames, dpi: int = 80) -> list[np.ndarray]:
    """RGB images of ``element_for_frame(f)`` for each f, padded with white to one size."""
    import imageio.v3 as iio

    images = [iio.imread(figure_bytes(lambda: element_for_frame(f), "png", dpi))[..., :3] for f in frames]
    height = max(image.shape[0] for image in images)
    width = max(image.shape[1] for image in images)
    # the tight bounding box moves by a few pixels as titles change; video needs even sizes
    height += height % 2
    width += width % 2
    return [np.pad(image, ((0, height - image.shape[0]), (0, width - image.shape[1]), (0, 0)),
                   constant_values=255) for image in images]


def html_bytes(build, title: str) -> bytes:
    """A standalone HTML page of the bokeh view made by ``build()``, BokehJS inlined (opens offline)."""
    import holoviews as hv
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    with backend("bokeh"):
        model = hv.render(build(), backend="bokeh")
    return file_html(model, INLINE, title).encode()


def screen_png_bytes(build, title: str, width: int = 1400, height: int = 1000) -> bytes:
    """The bokeh view made by ``build()`` as the browser draws it: its standalone HTML screenshotted by
    headless Chromium."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"a screen PNG needs Chromium at {CHROMIUM} (Debian package 'chromium')")
    html = html_bytes(build, title)
    # Playwright's sync API refuses to run on a thread with an asyncio loop (the app's server, a test's
    # browser), so the browser is driven from a thread of its own.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="screen-png") as pool:
        return pool.submit(_screenshot, html, width, height).result()


def _screenshot(html: bytes, width: int, height: int) -> bytes:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        page_path = Path(folder) / "view.html"
        page_path.write_bytes(html)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(page_path.as_uri())
                page.wait_for_selector("canvas", timeout=60_000)
                page.wait_for_timeout(500)  # let the canvases paint
                return page.screenshot(full_page=True)
            finally:
                browser.close()
