"""The bridges page in headless Chromium: its panels draw, and dragging ε recomputes the coupling.

Timeouts are long because the first run of a session may compile numba kernels; nothing here measures speed.
"""
import re
import time

import pytest

pytestmark = pytest.mark.browser

FIRST_RUN_MS = 240_000
RECOMPUTE_MS = 120_000
N_PANELS = 7  # BridgeScene.panels()


def test_dragging_epsilon_changes_the_coupling(page, served_app, artifacts):
    from playwright.sync_api import expect

    page.goto(f"{served_app}/bridges")
    page.locator(".panel-coupling canvas").first.wait_for(timeout=FIRST_RUN_MS)
    status = page.locator(".run-status p")
    expect(status).to_contain_text("sinkhorn_iterations", timeout=FIRST_RUN_MS)
    assert page.locator(".scene-plots canvas").count() >= N_PANELS
    page.wait_for_timeout(1500)  # let the canvases paint
    page.screenshot(path=artifacts / "bridges_before.png", full_page=True)
    coupling = page.locator(".panel-coupling canvas").first
    before_text, before_pixels = status.inner_text(), coupling.screenshot()

    handle = page.locator(".knob-epsilon .noUi-handle")
    handle.scroll_into_view_if_needed()  # the mouse acts in the viewport
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    start = time.monotonic()
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 90, y, steps=8)  # a larger ε: the coupling spreads out
    page.mouse.up()
    expect(status).not_to_have_text(before_text, timeout=RECOMPUTE_MS)
    delay = time.monotonic() - start
    page.wait_for_timeout(1500)
    page.screenshot(path=artifacts / "bridges_after.png", full_page=True)

    new_epsilon = float(page.locator(".knob-epsilon input").first.input_value())
    assert new_epsilon > 0.1, f"dragging right should raise epsilon from 0.1, got {new_epsilon}"
    assert coupling.screenshot() != before_pixels
    assert re.search(r"epsilon=", page.url), f"the URL should carry the new epsilon: {page.url}"
    expect(page.locator(".run-error")).to_be_hidden()
    print(f"slider release to status update: {delay:.2f} s")
