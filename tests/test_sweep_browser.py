"""A sweep from the app in headless Chromium: open the Langevin page, open its Sweep card, submit a tiny
sweep (the step size over a decade either side of the page's value: three values, two seeds), see the progress bar move
while the runs stream in, then the plot of the mean with its band."""
import re

import pytest

from tests.test_browser import FIRST_RUN_MS, expect, open_scene

pytestmark = pytest.mark.browser

SWEEP_MS = 120_000  # a kernel compiled for its first run on this server, a busy machine


def test_a_sweep_from_the_page_shows_its_progress_then_its_plot(page, served_app, artifacts):
    open_scene(page, served_app, "?n_steps=1000&n_particles=500")  # runs long enough for the bar to be seen
    page.locator(".sweep-card .card-button").first.click()
    submit = page.locator(".sweep-submit button")
    submit.wait_for(timeout=FIRST_RUN_MS)
    for field, value in ((".sweep-first-count input", "3"), (".sweep-seeds input", "2")):  # 6 runs: a few seconds
        page.locator(field).fill(value)
        page.locator(field).press("Enter")
    page.wait_for_timeout(300)  # the values reach the server before the click
    submit.click()
    bar = page.locator(".sweep-progress progress")
    expect()(bar).to_be_visible(timeout=10_000)
    status = page.locator(".sweep-status p")  # the bar showed (above) while the runs came in; the values it passes
    # through are checked in process (tests/test_sweep_panel.py): polled from the page they are the machine's timing
    expect()(status).to_contain_text(re.compile(r"done: 6/6 runs"), timeout=SWEEP_MS)
    plot = page.locator(".sweep-plot img")
    expect()(plot).to_be_visible(timeout=10_000)
    assert plot.bounding_box()["width"] > 300
    expect()(bar).to_be_hidden()
    page.locator(".sweep-card").screenshot(path=artifacts / "sweep_panel.png")
