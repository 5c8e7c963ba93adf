"""Drawing a target with the mouse in headless Chromium: a stroke on the canvas changes the drawing knob (and
the URL), the canvas's density and the particles.

Timeouts are long because the first run of a session may compile numba kernels; nothing here measures speed.
"""
import math
import re
from urllib.parse import parse_qs, urlparse

import pytest

pytestmark = pytest.mark.browser

FIRST_RUN_MS = 240_000
RECOMPUTE_MS = 120_000


def test_a_stroke_drawn_with_the_mouse_changes_the_target_and_the_particles(page, served_app, artifacts):
    from playwright.sync_api import expect

    from kernels.drawn import DEFAULT_DRAWING, decode

    page.goto(f"{served_app}/langevin?target=drawn")
    status = page.locator(".run-status p")
    expect(status).to_contain_text("sliced_w2", timeout=FIRST_RUN_MS)
    canvas = page.locator(".drawing-canvas-drawing canvas").first
    canvas.wait_for(timeout=FIRST_RUN_MS)
    cloud = page.locator(".panel-cloud canvas").first
    page.wait_for_timeout(1500)  # let the canvases paint
    before_text, before_cloud, before_canvas = status.inner_text(), cloud.screenshot(), canvas.screenshot()

    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x0, y0 = box["x"] + 0.2 * box["width"], box["y"] + 0.3 * box["height"]
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 31):  # a wave across the upper half, where the default drawing has only two eyes
        page.mouse.move(x0 + i * 0.02 * box["width"], y0 - 0.08 * box["height"] * math.sin(i / 4), steps=2)
    page.mouse.up()

    expect(page).to_have_url(re.compile(r"drawing="), timeout=RECOMPUTE_MS)
    expect(status).not_to_have_text(before_text, timeout=RECOMPUTE_MS)
    page.wait_for_timeout(1500)
    page.screenshot(path=artifacts / "drawn_langevin.png", full_page=True)
    drawing = parse_qs(urlparse(page.url).query)["drawing"][0].strip('"')
    means, _ = decode(drawing)
    assert len(means) > len(decode(DEFAULT_DRAWING)[0]), "the stroke's components follow the default drawing's"
    assert (means[:, 1] > 2.5).sum() >= 5, "the new stroke lies in the canvas's upper part"
    assert cloud.screenshot() != before_cloud
    assert canvas.screenshot() != before_canvas
    expect(page.locator(".run-error")).to_be_hidden()
