"""In the browser: slider release → new pixels on screen, per scene, and server start → first plot.

The app is served (``python -m explorer serve --no-warm-up``) on a free loopback port and driven by
Playwright in Debian's headless Chromium (``/usr/bin/chromium``, the flags of DESIGN §7). For each
scene page at its default sizes a run knob's slider handle is dragged by a few pixels, ``n`` times.

How "new pixels" is measured. A script injected into every page (``PAGE_HOOKS`` below) runs on every
animation frame: it reads back every canvas of every plot panel (``getImageData``, walking Panel's
shadow roots) and hashes the pixels, one hash per panel. A pointer-up listener stamps the release.
A move's latency is the first animation frame after the release at which any panel's pixels differ
from the frame before, counted only once the run's status line (sent with the new plots) has changed:
Bokeh repaints a canvas when the layout around it shifts (the busy spinner appearing), which changes a
few anti-aliased pixels before any new data has arrived. "All panels" is the frame of the last
change before the page has been still for ``SETTLE_MS`` (every panel redrawn). Hashing the pixels,
rather than hooking BokehJS (data-source change events, paint calls), measures what reached the
screen and does not depend on BokehJS internals; the price is the read-back, which the script times
itself and which is reported (``hash ms/frame``) so it can be judged: it delays the page's own painting
by at most that much per frame. Screenshots from Playwright were rejected: one takes 50–150 ms, far
coarser than the quantity measured.

Where the time goes: the same script stamps every websocket message the page sends and receives, so a
move splits into release → the new value sent (client), value sent → the new status line on the page
(the server's run, queueing, the trip), status line → first new pixels (the server building views and
updating the Bokeh models, serialising, BokehJS decoding and drawing), and the kilobytes received per
move. With ``--profile`` the server runs with ``EXPLORER_PROFILE=1`` and its own split (the scene's run,
then building the views and updating the Bokeh models) is printed from its log (see ``explorer.app``).

Cold start: a server with ``NUMBA_CACHE_DIR`` pointing at an empty folder (every kernel compiles),
timed from launching the process to the first plot pixels of the scene's page (opened as soon as the
server answers). Warm start: the same with the cache that run filled. Both include the server's own
start (importing Panel, HoloViews, numba) and the browser loading BokehJS.

Timings on a shared machine are noisy; the load average is printed with the table.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TITLE = "In the browser: slider release → new pixels, start → first plot (goal: ours ≤ goal)"
FIELDS = ("measure", "unit", "ours", "goal", "ratio")
REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1600, "height": 1000}
GOALS = {"p50": 100.0, "p95": 250.0, "cold": 20.0, "warm": 5.0}
SERVER_START_S = 120
FIRST_PLOT_S = 300
MOVE_TIMEOUT_S = 60
SETTLE_MS = 600

# scene → (knob whose slider is dragged, pixels per move, direction): each move goes a little further
# the same way, so every move asks for a new value and the values stay where runs succeed.
MOVES = {"langevin": ("step_size", 4, -1), "ode_sde": ("noise", 4, +1), "bridges": ("epsilon", 4, +1),
         "lorenz": ("noise", 4, +1)}

PAGE_HOOKS = """
(() => {
  // websocket traffic: arrival time and size of every message, time of every message sent
  const Socket = window.WebSocket;
  const traffic = window.__ws = {received: [], sent: []};
  function Watched(...args) {
    const socket = new Socket(...args);
    socket.addEventListener('message', e => {
      const size = typeof e.data === 'string' ? e.data.length : (e.data.byteLength || e.data.size || 0);
      traffic.received.push([performance.now(), size]);
    });
    const send = socket.send.bind(socket);
    socket.send = data => { traffic.sent.push(performance.now()); return send(data); };
    return socket;
  }
  Watched.prototype = Socket.prototype;
  Object.assign(Watched, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
  window.WebSocket = Watched;

  // pixels: one hash per plot panel, on every animation frame
  const w = window.__pix = {panels: [], last: [], changed: [], release: null, hashMs: 0, frames: 0, scanned: 0,
                            status: null, statusText: null, statusAt: null};
  function deep(root, selector, out) {
    for (const el of root.querySelectorAll('*')) {
      if (el.matches(selector)) out.push(el);
      if (el.shadowRoot) deep(el.shadowRoot, selector, out);
    }
    return out;
  }
  function canvases(el) {
    return el.shadowRoot ? deep(el.shadowRoot, 'canvas', deep(el, 'canvas', [])) : deep(el, 'canvas', []);
  }
  function hash(list) {
    let h = 2166136261 | 0;
    for (const c of list) {
      if (!c.width || !c.height) continue;
      const d = new Uint32Array(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.buffer);
      for (let i = 0; i < d.length; i++) h = Math.imul(h ^ d[i], 16777619);
      h = Math.imul(h ^ c.width, 16777619);
    }
    return h;
  }
  function tick(now) {
    const stale = !w.panels.length || w.panels.some(p => !p.isConnected);
    if (stale && now - w.scanned > 200) {
      w.scanned = now;
      w.panels = deep(document, '[class*="panel-"]', []).filter(e => /(^| )panel-/.test(e.className));
      w.last = [];
      w.status = deep(document, '.run-status', [])[0] || null;
    }
    const text = w.status ? w.status.textContent + (w.status.shadowRoot ? w.status.shadowRoot.textContent : '') : null;
    if (text !== w.statusText) { w.statusText = text; w.statusAt = performance.now(); }
    if (w.panels.length) {
      const t0 = performance.now();
      const hashes = w.panels.map(p => hash(canvases(p)));
      const t1 = performance.now();
      w.hashMs += t1 - t0; w.frames += 1;
      hashes.forEach((h, i) => { if (w.last[i] !== undefined && w.last[i] !== h) w.changed.push([i, t1]); });
      w.last = hashes;
    }
    requestAnimationFrame(tick);
  }
  document.addEventListener('pointerup', () => { w.release = performance.now(); w.changed = []; }, true);
  requestAnimationFrame(tick);
})();
"""


@dataclass
class Server:
    process: subprocess.Popen
    base: str
    started: float
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(cache_dir: str | None, log: Path, profile: bool = False) -> Server:
    """``python -m explorer serve`` on a free port; returns once it answers ``/``."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    if profile:
        env["EXPLORER_PROFILE"] = "1"
    started = time.perf_counter()
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "explorer", "serve", "--port", str(port), "--no-warm-up"],
                                   cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, f"http://127.0.0.1:{port}", started, log)
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(server.base + "/", timeout=5) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"the server did not answer within {SERVER_START_S} s:\n{log.read_text()}")


def open_scene(page, base: str, scene: str) -> None:
    """Open a scene page and wait until its first run is on screen (status line and plot pixels)."""
    page.goto(f"{base}/{scene}")
    page.locator(".run-status p").filter(has_text=" ms").wait_for(timeout=FIRST_PLOT_S * 1000)
    page.locator(".scene-plots canvas").first.wait_for(timeout=FIRST_PLOT_S * 1000)
    wait_still(page, FIRST_PLOT_S)


def wait_still(page, timeout_s: float) -> float | None:
    """Wait until no panel changed for SETTLE_MS; returns the page time of the last change (None if none)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now, last, frames = page.evaluate("() => [performance.now(), window.__pix.changed.length ? "
                                          "window.__pix.changed[window.__pix.changed.length - 1][1] : null, "
                                          "window.__pix.frames]")
        if frames > 2 and now - (last if last is not None else 0) > SETTLE_MS:
            return last
        page.wait_for_timeout(100)
    raise TimeoutError(f"the page kept changing for {timeout_s} s")


def drag(page, knob: str, dx: float) -> None:
    handle = page.locator(f".knob-{knob} .noUi-handle").first
    handle.scroll_into_view_if_needed()  # the mouse acts in the viewport; a long sidebar puts knobs below it
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=4)
    page.mouse.up()


def measure_moves(page, scene: str, n: int) -> dict:
    """Slider release → first changed pixels and → all panels redrawn, in ms, for ``n`` moves."""
    knob, pixels, direction = MOVES[scene]
    status = page.locator(".run-status p")
    first, last, misses = [], [], 0
    client, server, browser, kilobytes = [], [], [], []
    for _ in range(n):
        before = status.inner_text()
        drag(page, knob, direction * pixels)
        deadline = time.monotonic() + MOVE_TIMEOUT_S
        while status.inner_text() == before and time.monotonic() < deadline:
            if page.locator(".run-error").is_visible():
                raise RuntimeError(f"{scene}: the run failed after a move of {knob}: "
                                   f"{page.locator('.run-error').inner_text()}")
            page.wait_for_timeout(20)
        wait_still(page, MOVE_TIMEOUT_S)
        release, shown, changes, sent, received = page.evaluate(
            "() => [window.__pix.release, window.__pix.statusAt, window.__pix.changed, window.__ws.sent, "
            "window.__ws.received]")
        # pixels that changed before the new status line (the result) reached the page are layout jitter
        after = [t for _, t in changes if t >= max(release, shown or release)]
        if not after:
            misses += 1  # the value did not change (handle at a bound) or nothing was redrawn
            continue
        first.append(after[0] - release)
        last.append(after[-1] - release)
        asked = min((t for t in sent if t >= release), default=release)
        client.append(asked - release)
        if shown is not None and shown >= asked:
            server.append(shown - asked)
            browser.append(after[0] - shown)
        kilobytes.append(sum(size for t, size in received if asked <= t <= after[-1]) / 1e3)
    hash_ms = page.evaluate("() => window.__pix.hashMs / Math.max(window.__pix.frames, 1)")
    return {"first": np.array(first), "last": np.array(last), "misses": misses, "hash_ms": hash_ms,
            "client": np.array(client), "server": np.array(server), "browser": np.array(browser),
            "kilobytes": np.array(kilobytes)}


def new_context(browser):
    """A browser context whose pages carry PAGE_HOOKS from their first script on."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(PAGE_HOOKS)
    return context


def start_to_first_plot(browser, scene: str, cache_dir: str, log: Path) -> float:
    """Seconds from launching a server to the first plot of ``scene`` on screen."""
    server = start_server(cache_dir, log)
    try:
        context = new_context(browser)
        try:
            open_scene(context.new_page(), server.base, scene)
            return time.perf_counter() - server.started
        finally:
            context.close()
    finally:
        server.stop()


def server_profile(log: Path, scene: str, n: int) -> dict:
    """Medians (ms) of run, views, model updates and per-panel view/update times over the last ``n``
    "profile" lines the server wrote for ``scene`` (EXPLORER_PROFILE=1)."""
    import re

    lines = [line for line in log.read_text().splitlines() if line.startswith(f"profile {scene} ")][-n:]
    fields: dict[str, list] = {}
    for line in lines:
        for key, value in re.findall(r"(\w+)=(\d+)ms", line):
            fields.setdefault(key, []).append(float(value))
        for key, view, update in re.findall(r"(\S+)=(\d+)/(\d+)", line):
            fields.setdefault(f"{key} view", []).append(float(view))
            fields.setdefault(f"{key} update", []).append(float(update))
    return {key: float(np.median(values)) for key, values in fields.items()}


def skip_reason() -> str | None:
    """Why this benchmark cannot run here (None: it can)."""
    if not CHROMIUM.exists():
        return f"needs the system Chromium at {CHROMIUM} (Debian package 'chromium')"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs the Python package playwright"
    return None


def _goal_row(measure: str, unit: str, ours: float, goal_key: str):
    goal = GOALS[goal_key]
    return (measure, unit, ours, goal, ours / goal)


def rows(quick: bool = False, scenes=None, profile: bool = False, starts: bool = True, n_moves: int | None = None):
    """(measure, unit, ours, goal, ours ÷ goal) rows: per scene p50/p95 of release → first new pixels (and
    the p50 until every panel is redrawn, no goal), then cold and warm start to the first plot."""
    from playwright.sync_api import sync_playwright

    from scenes import SCENES

    scenes = list(scenes or SCENES)
    n_moves = n_moves or (5 if quick else 20)
    out = []
    with tempfile.TemporaryDirectory(prefix="browser-bench-") as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            server = start_server(None, Path(folder) / "serve.log", profile=profile)
            try:
                for scene in scenes:
                    context = new_context(browser)
                    try:
                        page = context.new_page()
                        open_scene(page, server.base, scene)
                        moves = measure_moves(page, scene, n_moves)
                    finally:
                        context.close()
                    first, last = moves["first"], moves["last"]
                    label = f"{scene} ({len(first)} moves)"
                    if not len(first):
                        raise RuntimeError(f"{scene}: none of {n_moves} moves of {MOVES[scene][0]} changed the plots")
                    out.append(_goal_row(f"{label} p50", "ms", float(np.percentile(first, 50)), "p50"))
                    out.append(_goal_row(f"{label} p95", "ms", float(np.percentile(first, 95)), "p95"))
                    out.append((f"{scene} all panels p50", "ms", float(np.percentile(last, 50)), None, None))
                    for key, what, unit in (("client", "release → value sent", "ms"),
                                            ("server", "value sent → status line", "ms"),
                                            ("browser", "status line → first pixels", "ms"),
                                            ("kilobytes", "received per move", "kB")):
                        if len(moves[key]):
                            out.append((f"  {what} p50", unit, float(np.median(moves[key])), None, None))
                    out.append(("  pixel hashing (overhead)", "ms/frame", moves["hash_ms"], None, None))
                    if profile:
                        for key, value in server_profile(server.log, scene, n_moves).items():
                            out.append((f"  server {key} p50", "ms", value, None, None))
            finally:
                server.stop()
            for scene in (scenes[:1] if quick else scenes) if starts else []:
                cache = tempfile.mkdtemp(prefix="numba-cold-", dir=folder)
                cold = start_to_first_plot(browser, scene, cache, Path(folder) / f"cold-{scene}.log")
                warm = start_to_first_plot(browser, scene, cache, Path(folder) / f"warm-{scene}.log")
                out.append(_goal_row(f"{scene} cold start", "s", cold, "cold"))
                out.append(_goal_row(f"{scene} warm start", "s", warm, "warm"))
        finally:
            browser.close()
    return out


def table(title: str, rows_) -> list[str]:
    """The harness table for these rows: our figure, the goal, and ours ÷ goal (≤ 1 meets the goal)."""
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    lines = [f"{title}; load average {load}",
             f"{'measure':<34}{'ours':>12}{'goal':>10}{'ours ÷ goal':>13}"]
    for measure, unit, ours, goal, ratio in rows_:
        goal_text = "" if goal is None else f"{goal:g} {unit}"
        ratio_text = "" if ratio is None else f"{ratio:.2f}{' ✓' if ratio <= 1 else ' ✗'}"
        lines.append(f"{measure:<34}{ours:>9.{0 if unit == 'ms' else 1}f} {unit:<3}{goal_text:>10}{ratio_text:>13}")
    return lines


if __name__ == "__main__":  # python -m benchmarks.browser_latency [--quick] [--profile] [scene ...]
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenes", nargs="*")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", action="store_true", help="serve with EXPLORER_PROFILE=1 and print its log")
    parser.add_argument("--no-starts", action="store_true", help="skip the cold and warm starts")
    parser.add_argument("--moves", type=int, help="slider moves per scene")
    args = parser.parse_args()
    print("\n".join(table(TITLE, rows(args.quick, args.scenes or None, args.profile, not args.no_starts,
                                      args.moves))))
