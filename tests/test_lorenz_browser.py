"""The Lorenz page in headless Chromium: its plots appear, and moving ρ redraws the attractor."""
import pytest

pytestmark = pytest.mark.browser

FIRST_RUN_MS = 180_000
RECOMPUTE_MS = 120_000


def test_moving_rho_changes_the_attractor(page, served_app, artifacts):
    from playwright.sync_api import expect

    page.goto(f"{served_app}/lorenz")
    page.locator(".scene-plots canvas").first.wait_for(timeout=FIRST_RUN_MS)
    status = page.locator(".run-status p")
    expect(status).to_contain_text("lyapunov_exponent", timeout=FIRST_RUN_MS)
    page.wait_for_timeout(500)
    attractor = page.locator(".panel-attractor canvas").first
    page.screenshot(path=artifacts / "lorenz_before.png", full_page=True)
    before_text, before_pixels = status.inner_text(), attractor.screenshot()

    handle = page.locator(".knob-rho .noUi-handle").first
    handle.scroll_into_view_if_needed()  # the mouse acts in the viewport
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 60, y, steps=8)
    page.mouse.up()
    expect(status).not_to_have_text(before_text, timeout=RECOMPUTE_MS)
    page.wait_for_timeout(800)
    page.screenshot(path=artifacts / "lorenz_after.png", full_page=True)

    rho = float(page.locator(".knob-rho input").first.input_value())
    assert rho > 28.0, f"dragging right should raise rho from 28, got {rho}"
    assert "rho=" in page.url
    assert attractor.screenshot() != before_pixels
    assert page.locator(".run-error").is_hidden()
