"""Fixtures for the browser tests: the app served on a free loopback port, and headless system Chromium."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SERVER_START_SECONDS = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_served(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    pytest.fail(f"the server did not answer {url} within {SERVER_START_SECONDS} s:\n{log.read_text()}")


def proc_stat(pid) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (state, ppid, ...: fields 3 on of proc(5));
    None once the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


@contextmanager
def serving(log: Path, *options: str, warm_up: bool = False):
    """``python -m explorer serve [--no-warm-up] [options]`` on a free loopback port, its output in ``log``:
    yields (base URL, process) once it answers, and stops it afterwards."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "explorer", "serve", "--port", str(port),
                                    *([] if warm_up else ["--no-warm-up"]), *options],
                                   cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_served(base + "/", process, log)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def threads():
    """numba.set_num_threads(n) for the test, the process's count restored after it; skipped where numba
    was started with a single thread (a comparison of 1 thread with 1 thread could not fail)."""
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba was started with fewer than 2 threads (NUMBA_NUM_THREADS)")
    before = numba.get_num_threads()
    yield numba.set_num_threads
    numba.set_num_threads(before)


@pytest.fixture(scope="session")
def served_app(tmp_path_factory):
    """Base URL of ``python -m explorer serve`` running on a free loopback port."""
    with serving(tmp_path_factory.mktemp("server") / "serve.log") as (base, _):
        yield base


@pytest.fixture(scope="session")
def browser():
    """Headless system Chromium driven by Playwright (skipped where /usr/bin/chromium is absent)."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need the system Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh tab, wide enough for three plots per row."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Under ``pytest -n N --dist loadgroup`` (the README's test command) the tests that drive the served app
    share one worker, one server and one Chromium: spread over workers, each would start its own server,
    and a redraw's timing would compete with the other worker's compiles. Every other file stays on one
    worker, so its module fixtures are built once; files that set the same ``XDIST_GROUP`` share one, so a
    kernel they both compile is compiled once and then loaded from numba's cache (test_samplers and
    test_slices both compile every sampler's block kernel on ring8: about 100 s of CPU on two workers at once).

    ``tryfirst``: xdist turns the ``xdist_group`` marks into node ids in its own hook of this name, which
    pluggy calls before a conftest's (it registers later); marks added after it are never seen, and every
    module fixture was built on both workers."""
    for item in items:
        uses_browser = {"served_app", "browser", "page"} & set(item.fixturenames)
        own = getattr(item.module, "XDIST_GROUP", item.module.__name__)
        group = "browser" if uses_browser or item.get_closest_marker("browser") else own
        item.add_marker(pytest.mark.xdist_group(group))
