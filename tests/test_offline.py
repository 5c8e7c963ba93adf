"""Offline (issue 16): a lecture hall may have no internet, so every page asks its own server only. Chromium
records every request of the index, each scene page and a lecture; a request to any other host fails it.
That the design leaves out the one resource Panel does not bundle (its web font) is checked without a browser
in tests/test_library_internals.py."""
from urllib.parse import urlparse

import pytest

from scenes import SCENES
from tests.test_browser import FIRST_RUN_MS

pytestmark = pytest.mark.browser


def test_no_page_asks_any_host_but_the_server(page, served_app):
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    paths = ["/", *(f"/{name}" for name in SCENES), "/lecture?lecture=langevin"]
    for path in paths:
        page.goto(served_app + path)
        if path != "/":
            page.locator(".scene-plots canvas").first.wait_for(timeout=FIRST_RUN_MS)
        page.wait_for_load_state("networkidle")
    server = urlparse(served_app).netloc
    foreign = sorted({url for url in requests if urlparse(url).scheme in ("http", "https", "ws", "wss")
                      and urlparse(url).netloc != server})
    assert len(requests) > 10 * len(paths)  # the recording saw the pages' own scripts and styles
    assert not foreign, f"requests to other hosts: {foreign}"

