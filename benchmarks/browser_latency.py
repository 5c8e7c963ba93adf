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
timed from launching the process (``--no-warm-up``: the first visit pays for everything) to the first
pixels of the scene's main panel and to the last panel drawn (the page opened as soon as the server
answers). Warm start: the same with the cache that run filled. Both include the server's own start
(importing Panel, HoloViews, numba) and the browser loading BokehJS. Beside them, the floor page started the
same way with FLOOR_START_PLOTS scatters: what any page of this stack pays before ours.

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

TITLE = "In the browser: slider release → new pixels, drag redraws, browser cost; beside the floor page"
FIELDS = ("measure", "unit", "ours", "floor", "ratio")
REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1600, "height": 1000}
SERVER_START_S = 120
FIRST_PLOT_S = 300
MOVE_TIMEOUT_S = 60
START_S = 5.0            # a move that changes the value shows a new status line within this (or it changed none)
SETTLE_MS = 600
DRAG_S = 2.0             # a continuous drag: this long, a few pixels every DRAG_STEP_MS
DRAG_STEP_MS = 30
DRAG_PX_PER_STEP = 1
FLOOR_KNOB = "value"     # the floor page's slider (benchmarks._floor_page)

# scene → (knob whose slider is dragged, pixels per move, direction): each move goes a little further
# the same way, so every move asks for a new value and the values stay where runs succeed.
MOVES = {"langevin": ("step_size", 4, -1), "ode_sde": ("noise", 4, +1), "bridges": ("epsilon", 4, +1),
         "lorenz": ("noise", 4, +1)}
# the panel a move changes first (the main panel), by its place on the page: ode_sde's first panel is the ODE's
# paths, which the noise knob leaves as they are
MAIN_PANEL = {"ode_sde": 1}

PAGE_HOOKS = """
(() => {
  // websocket traffic: arrival time and size of every message, time of every message sent
  const Socket = window.WebSocket;
  const traffic = window.__ws = {received: [], sent: [], origin: performance.timeOrigin};
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

  // canvases drawn on since they were last hashed: only those are hashed again. Hashing every canvas at every
  // animation frame cost a six-panel page 10 ms a frame (the Lorenz page), most of a core taken from the server
  // being measured on the same two cores, against 1 ms on the one-plot floor page.
  for (const name of ['clearRect', 'fillRect', 'strokeRect', 'fill', 'stroke', 'drawImage', 'putImageData',
                      'fillText', 'strokeText']) {
    const original = CanvasRenderingContext2D.prototype[name];
    CanvasRenderingContext2D.prototype[name] = function (...args) {
      this.canvas.__drawn = true;
      return original.apply(this, args);
    };
  }

  // pixels: one hash per plot panel, on every animation frame where one of its canvases was drawn on
  const w = window.__pix = {panels: [], last: [], changed: [], seen: [], release: null, hashMs: 0, frames: 0, scanned: 0,
                            status: null, statusText: null, statusAt: null, applied: [], enabled: true,
                            observed: null, down: null};
  function statusTextOf(el) { return el.textContent + (el.shadowRoot ? el.shadowRoot.textContent : ''); }
  function observe(el) {  // the moment a patch changes the status line's text (before any paint)
    if (!el || w.observed === el) return;
    w.observed = el;
    const seen = () => w.applied.push([performance.now(), statusTextOf(el)]);
    const observer = new MutationObserver(seen);
    observer.observe(el, {subtree: true, childList: true, characterData: true});
    if (el.shadowRoot) observer.observe(el.shadowRoot, {subtree: true, childList: true, characterData: true});
  }
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
      observe(w.status);
    }
    const text = w.status ? statusTextOf(w.status) : null;
    if (text !== w.statusText) { w.statusText = text; w.statusAt = performance.now(); }
    if (w.resultAt === undefined && text && text.includes(' ms')) w.resultAt = now;  // the first result shown
    if (w.panels.length && w.enabled) {
      const t0 = performance.now();
      const hashes = w.panels.map((p, i) => {
        const list = canvases(p);
        if (w.last[i] !== undefined && !list.some(c => c.__drawn || c.width !== c.__hashedWidth)) return w.last[i];
        for (const c of list) { c.__drawn = false; c.__hashedWidth = c.width; }
        return hash(list);
      });
      const t1 = performance.now();
      w.hashMs += t1 - t0; w.frames += 1;
      hashes.forEach((h, i) => {
        if (w.last[i] === undefined) w.seen.push([i, t1]);  // a panel's first frame on screen (page start)
        else if (w.last[i] !== h) w.changed.push([i, t1]);
      });
      w.last = hashes;
    }
    requestAnimationFrame(tick);
  }
  document.addEventListener('pointerup', () => { w.release = performance.now(); w.changed = []; }, true);
  document.addEventListener('pointerdown', () => { w.down = performance.now(); w.changed = []; }, true);
  requestAnimationFrame(tick);
})();
"""


@dataclass
class Server:
    process: subprocess.Popen
    base: str
    started: float
    log: Path
    started_epoch: float = 0.0  # the launch on the epoch clock, to compare with a page's performance.timeOrigin

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


def start_server(cache_dir: str | None, log: Path, profile: bool = False, command: list | None = None) -> Server:
    """``python -m explorer serve`` (or ``command``, given the port) on a free port; returns once it answers."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    if profile:
        env["EXPLORER_PROFILE"] = "1"
    command = command or ["-m", "explorer", "serve", "--no-warm-up"]
    started, started_epoch = time.perf_counter(), time.time()
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, *command, "--port", str(port)],
                                   cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, f"http://127.0.0.1:{port}", started, log, started_epoch)
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
    """Open a scene page (or the floor) and wait until its first run is on screen, every panel drawn."""
    page.goto(f"{base}/{scene}")
    page.locator(".run-status p").filter(has_text=FLOOR_KNOB if scene == "floor" else " ms").wait_for(
        timeout=FIRST_PLOT_S * 1000)
    page.locator(".scene-plots canvas").first.wait_for(timeout=FIRST_PLOT_S * 1000)
    page.locator(".run-status p").filter(has_not_text="…").wait_for(timeout=FIRST_PLOT_S * 1000)
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


def wait_complete(page, before: str, timeout_s: float = MOVE_TIMEOUT_S, start_s: float = START_S) -> bool:
    """Wait until the status line differs from ``before`` and says no stage is still coming; False when it has
    not changed at all after ``start_s`` (the move left the value as it was: the handle stayed on its position)."""
    status = page.locator(".run-status p")
    started = time.monotonic()
    while time.monotonic() < started + timeout_s:
        text = status.inner_text()
        if text != before and "…" not in text:
            return True
        if text == before and time.monotonic() > started + start_s:
            return False
        if page.locator(".run-error").is_visible():
            raise RuntimeError(f"the run failed: {page.locator('.run-error').inner_text()}")
        page.wait_for_timeout(20)
    raise TimeoutError("no complete result arrived")


def handle_centre(page, knob: str) -> tuple[float, float]:
    handle = page.locator(f".knob-{knob} .noUi-handle").first
    handle.scroll_into_view_if_needed()  # the mouse acts in the viewport; a long sidebar puts knobs below it
    box = handle.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag(page, knob: str, dx: float) -> bool:
    """Drag the knob's handle by ``dx`` pixels; whether it moved (not at the end of its slider already)."""
    handle = page.locator(f".knob-{knob} .noUi-handle").first
    position = lambda: handle.evaluate("h => h.closest('.noUi-target').noUiSlider.get(true)")  # noqa: E731
    before = position()
    x, y = handle_centre(page, knob)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=4)
    page.mouse.up()
    return position() != before


def knob_value(page, knob: str) -> str:
    return page.locator(f".knob-{knob} input").first.input_value()


def server_lines(log: Path | None, scene: str) -> list[dict]:
    """The server's "profile" lines for ``scene`` (EXPLORER_PROFILE=1), as dicts of numbers (times in s)."""
    import re

    if log is None:
        return []
    out = []
    for line in log.read_text().splitlines():
        if line.startswith(f"profile {scene} ") and "asked=" in line:
            fields = {key: float(value) for key, value in re.findall(r"(\w+)=([-\d.]+|nan)(?:ms)?", line)}
            out.append(fields)
    return out


def split(release: float, sent: list, received: list, applied: list, painted: float, origin: float,
          lines: list[dict]) -> list[float] | None:
    """One move's path in ms after the release, page and server clocks joined by the wall clock: browser send,
    server receive, run start, run end, views built (session thread), patch sent, browser receive, patch
    applied, painted (a run asked for during the drag, before the release, gives negative times). None where the
    server logged no stage drawn before the pixels changed."""
    epoch = lambda t: (origin + t) / 1e3  # page time (ms) to wall clock (s)
    drawn = [line for line in lines if line["sent"] <= epoch(painted)]  # the newest patch before the pixels
    if not drawn:
        return None
    line = drawn[-1]
    to_page = lambda seconds: seconds * 1e3 - origin
    asked_page = to_page(line["asked"])
    value_sent = max((t for t in sent if t <= asked_page + 5), default=release)
    patch_sent = to_page(line["sent"])
    arrived = min((t for t, _ in received if t >= patch_sent - 5), default=float("nan"))
    shown = min((t for t, _ in applied if t >= arrived - 1), default=float("nan"))
    points = [value_sent, asked_page, to_page(line["started"]), to_page(line["computed"]), to_page(line["shown"]),
              patch_sent, arrived, shown, painted]
    return [point - release for point in points]


SPLIT = ("browser send", "server receive", "run start", "run end", "drawing starts", "patch sent",
         "browser receive", "patch applied", "painted")


def measure_moves(page, scene: str, knob: str, pixels: float, direction: int, n: int, log: Path | None,
                  main_panel: int = 0) -> dict:
    """Slider release → first changed pixels of the main panel, and → every panel redrawn, in ms, for ``n``
    moves; with the server's log, each move's split (SPLIT)."""
    status = page.locator(".run-status p")
    first, last, splits, misses = [], [], [], 0
    for _ in range(n):
        before = status.inner_text()
        if not drag(page, knob, direction * pixels):  # at the slider's end: a miss, and back the other way
            misses, direction = misses + 1, -direction
            continue
        if not wait_complete(page, before):  # the value stayed on its position: nothing to time
            misses += 1
            continue
        wait_still(page, MOVE_TIMEOUT_S)
        release, shown, changes, sent, received, applied, origin = page.evaluate(
            "() => [window.__pix.release, window.__pix.statusAt, window.__pix.changed, window.__ws.sent, "
            "window.__ws.received, window.__pix.applied, window.__ws.origin]")
        # pixels that changed before the new status line (the result) reached the page are layout jitter
        after = [(panel, t) for panel, t in changes if t >= release and any(t >= a > release for a, _ in applied)]
        main = [t for panel, t in after if panel == main_panel]
        if not main:
            misses += 1  # the value did not change (handle at a bound) or nothing was redrawn
            continue
        first.append(main[0] - release)
        last.append(after[-1][1] - release)
        path = split(release, sent, received, applied, main[0], origin, server_lines(log, scene))
        if path is not None:
            splits.append(path)
    hash_ms = page.evaluate("() => window.__pix.hashMs / Math.max(window.__pix.frames, 1)")
    return {"first": np.array(first), "last": np.array(last), "misses": misses, "hash_ms": hash_ms,
            "split": np.array(splits)}


def measure_drag(page, knob: str, direction: int, seconds: float = DRAG_S, main_panel: int = 0) -> dict:
    """Drag the knob's handle steadily for ``seconds``: distinct redraws of the main panel per second during
    the drag, and whether, once still, the page shows the value where the hand stopped (the knob's box, the
    URL and the result drawn last, which the status line of a complete result follows)."""
    x, y = handle_centre(page, knob)
    page.mouse.move(x, y)
    page.mouse.down()
    start = time.monotonic()
    moved = 0.0
    while time.monotonic() - start < seconds:
        moved += direction * DRAG_PX_PER_STEP
        page.mouse.move(x + moved, y)
        page.wait_for_timeout(DRAG_STEP_MS)
    changes, down = page.evaluate("() => [window.__pix.changed, window.__pix.down]")
    page.mouse.up()
    now = page.evaluate("() => performance.now()")
    redraws = len([t for panel, t in changes if panel == main_panel and t >= down])
    before = page.locator(".run-status p").inner_text()
    page.wait_for_timeout(SETTLE_MS)
    wait_still(page, MOVE_TIMEOUT_S)
    value = knob_value(page, knob)
    text = page.locator(".run-status p").inner_text()
    return {"rate": redraws / ((now - down) / 1e3), "redraws": redraws, "value": value,
            "complete": "…" not in text, "status_changed": text != before or redraws > 0}


def measure_cost(page, knob: str, pixels: float, direction: int, n: int) -> dict:
    """Browser main-thread ms (Chrome DevTools Protocol Performance.getMetrics: TaskDuration, ScriptDuration)
    and kB received per update, over ``n`` moves (per move that changed the value), with the pixel hashing
    switched off (it is main-thread work of the benchmark's own)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    metrics = lambda: {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    page.evaluate("() => { window.__pix.enabled = false; }")
    received_before = page.evaluate("() => window.__ws.received.length")
    start, updates = metrics(), 0
    for _ in range(n):
        seen = page.evaluate("() => window.__pix.applied.length")
        if not drag(page, knob, direction * pixels):  # at the slider's end: back the other way
            direction = -direction
            continue
        # waited for inside the page, checked every 100 ms: Playwright's own queries of a large page would count
        try:
            page.wait_for_function(f"() => window.__pix.applied.length > {seen}", timeout=START_S * 1000,
                                   polling=100)
        except PlaywrightTimeout:  # the value stayed on its position: no update to count
            continue
        page.wait_for_function("() => !window.__pix.applied[window.__pix.applied.length - 1][1].includes('…')",
                               timeout=MOVE_TIMEOUT_S * 1000, polling=100)
        updates += 1
        page.wait_for_timeout(SETTLE_MS)
    end = metrics()
    updates = max(updates, 1)
    received = page.evaluate(f"() => window.__ws.received.slice({received_before})")
    page.evaluate("() => { window.__pix.enabled = true; }")
    cdp.detach()
    return {"task_ms": 1e3 * (end["TaskDuration"] - start["TaskDuration"]) / updates,
            "script_ms": 1e3 * (end["ScriptDuration"] - start["ScriptDuration"]) / updates,
            "kilobytes": sum(size for _, size in received) / 1e3 / updates}


def new_context(browser):
    """A browser context whose pages carry PAGE_HOOKS from their first script on."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(PAGE_HOOKS)
    return context


def start_to_first_plot(browser, scene: str, cache_dir: str | None, log: Path,
                        server_factory=None) -> tuple[float, float]:
    """Seconds from launching a server to the first result on ``scene``'s main panel (its first frame on
    screen once the first run's status patch has come), and to the last panel drawn; both read off the page's
    clock, so the wait that shows the page has gone still is not counted. ``server_factory(log)`` starts another
    server (the floor page) in place of the app's."""
    server = server_factory(log) if server_factory else start_server(cache_dir, log)
    try:
        context = new_context(browser)
        try:
            page = context.new_page()
            open_scene(page, server.base, scene)
            origin, drawn, results, shown = page.evaluate(
                "() => [performance.timeOrigin, window.__pix.seen.concat(window.__pix.changed), window.__pix.applied,"
                " window.__pix.resultAt]")
            main = MAIN_PANEL.get(scene, 0)
            first_result = min([at for at, text in results if " ms" in text] + [shown if shown is not None else 0])
            first = min((at for panel, at in drawn if panel == main and at >= first_result), default=first_result)
            to_start = lambda at: (origin + at) / 1e3 - server.started_epoch  # noqa: E731
            return to_start(first), to_start(max(at for _, at in drawn))
        finally:
            context.close()
    finally:
        server.stop()


FLOOR_START_PLOTS = 7  # the floor page started beside the scenes' starts: about as many plots as a scene page


def floor_start(browser, n_plots: int, log: Path) -> tuple[float, float]:
    """:func:`start_to_first_plot` for the floor page with ``n_plots`` scatters of 1,000 points: the start of
    a bare Panel page, what every page of this stack pays before any of ours (imports, BokehJS, the session)."""
    command = ["-m", "benchmarks._floor_page", "--points", "1000", "--plots", str(n_plots)]
    return start_to_first_plot(browser, "floor", None, log,
                               server_factory=lambda log_: start_server(None, log_, command=command))


def skip_reason() -> str | None:
    """Why this benchmark cannot run here (None: it can)."""
    if not CHROMIUM.exists():
        return f"needs the system Chromium at {CHROMIUM} (Debian package 'chromium')"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs the Python package playwright"
    return None


def measure_page(browser, base: str, route: str, knob: str, pixels: float, direction: int, n_moves: int,
                 log: Path | None) -> dict:
    """Every figure of one page: moves (latency and split), a drag, the main-thread cost."""
    context = new_context(browser)
    try:
        page = context.new_page()
        open_scene(page, base, route)
        main = MAIN_PANEL.get(route, 0)
        out = measure_moves(page, route, knob, pixels, direction, n_moves, log, main)
        if not len(out["first"]):
            raise RuntimeError(f"{route}: none of {n_moves} moves of {knob} changed the main panel")
        out["drag"] = measure_drag(page, knob, direction, main_panel=main)
        out["drag_back"] = measure_drag(page, knob, -direction, main_panel=main)
        out.update(measure_cost(page, knob, pixels, direction, max(3, n_moves // 2)))
        return out
    finally:
        context.close()


def floor_server(folder: str, n_points: int) -> Server:
    return start_server(None, Path(folder) / f"floor-{n_points}.log",
                        command=["-m", "benchmarks._floor_page", "--points", str(n_points)])


def page_rows(label: str, ours: dict, floor: dict | None) -> list:
    """(measure, unit, ours, floor, ours ÷ floor) rows of one page."""
    def row(measure, unit, key, value=lambda m, k: float(np.percentile(m[k], 50))):
        theirs = None if floor is None else value(floor, key)
        mine = value(ours, key)
        return (f"{label} {measure}", unit, mine, theirs, None if theirs in (None, 0) else mine / theirs)

    p95 = lambda m, k: float(np.percentile(m[k], 95))
    out = [row("first pixels p50", "ms", "first"), row("first pixels p95", "ms", "first", p95),
           row("all panels p50", "ms", "last"),
           row("drag redraws", "/s", "drag", lambda m, k: 0.5 * (m[k]["rate"] + m["drag_back"]["rate"])),
           row("main thread", "ms", "task_ms", lambda m, k: m[k]), row("  of which script", "ms", "script_ms",
                                                                        lambda m, k: m[k]),
           row("received", "kB", "kilobytes", lambda m, k: m[k])]
    if len(ours["split"]):
        medians = np.nanmedian(ours["split"], axis=0)
        previous, start = "release", 0.0
        for name, at in zip(SPLIT, medians):
            out.append((f"  {previous} → {name}", "ms", float(at - start), None, None))
            previous, start = name, at
    drag = ours["drag"]
    out.append((f"  after the drag: {'complete' if drag['complete'] else 'NOT complete'}, knob at {drag['value']}",
                "", float(drag["redraws"]), None, None))
    return out


def rows(quick: bool = False, scenes=None, profile: bool = True, starts: bool = True, n_moves: int | None = None,
         pages: bool = True):
    """(measure, unit, ours, floor, ours ÷ floor) rows: per scene, and beside it the floor page with as many
    points: release → first new pixels of the main panel (p50, p95), every panel redrawn, redraws per second
    during a drag, browser main-thread ms and kB per update, the split of a move; then cold and warm start."""
    from playwright.sync_api import sync_playwright

    from scenes import SCENES

    scenes = list(scenes or SCENES)
    n_moves = n_moves or (5 if quick else 20)
    out = []
    with tempfile.TemporaryDirectory(prefix="browser-bench-") as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            floors = {}
            server = start_server(None, Path(folder) / "serve.log", profile=profile) if pages else None
            try:
                for scene in scenes if pages else []:
                    knob, pixels, direction = MOVES[scene]
                    n_points = SCENES[scene]().param.values().get("n_particles") or \
                        SCENES[scene]().param.values().get("n_members", 1000)
                    if n_points not in floors:
                        floor = floor_server(folder, n_points)
                        try:
                            floors[n_points] = measure_page(browser, floor.base, "floor", FLOOR_KNOB, pixels, 1,
                                                            n_moves, None)
                        finally:
                            floor.stop()
                    try:
                        ours = measure_page(browser, server.base, scene, knob, pixels, direction, n_moves,
                                            server.log if profile else None)
                    except (TimeoutError, RuntimeError) as error:  # say which page, and keep its server's log
                        raise type(error)(f"{scene}: {error} (server log {server.log})") from error
                    out += page_rows(f"{scene}", ours, floors[n_points])
                    out += page_rows(f"  floor ({n_points:,} points)", floors[n_points], None)[:7]
            finally:
                if server is not None:
                    server.stop()
            floor = floor_start(browser, FLOOR_START_PLOTS, Path(folder) / "floor-start.log") if starts else None
            for scene in (scenes[:1] if quick else scenes) if starts else []:
                cache = tempfile.mkdtemp(prefix="numba-cold-", dir=folder)
                for start in ("cold", "warm"):  # the cold start fills the cache the warm one reads
                    first, every = start_to_first_plot(browser, scene, cache, Path(folder) / f"{start}-{scene}.log")
                    out.append((f"{scene} {start} start: first plot", "s", first, floor[0], first / floor[0]))
                    out.append((f"{scene} {start} start: every panel", "s", every, floor[1], every / floor[1]))
            if floor is not None:
                out.append((f"  floor: a Panel page of {FLOOR_START_PLOTS} scatters, started the same way", "", 0.0,
                            None, None))
        finally:
            browser.close()
    return out


def table(title: str, rows_) -> list[str]:
    """The harness table for these rows: our figure, the floor's, and ours ÷ floor."""
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    lines = [f"{title}; load average {load}",
             f"{'measure':<46}{'ours':>12}{'floor':>12}{'ours ÷ floor':>14}"]
    for measure, unit, ours, floor, ratio in rows_:
        if not unit:
            lines.append(measure)
            continue
        digits = 0 if unit == "ms" else 1
        floor_text = "" if floor is None else f"{floor:.{digits}f} {unit}"
        ratio_text = "" if ratio is None else f"{ratio:.2f}"
        lines.append(f"{measure:<46}{ours:>9.{digits}f} {unit:<3}{floor_text:>12}{ratio_text:>14}")
    return lines


if __name__ == "__main__":  # python -m benchmarks.browser_latency [--quick] [--no-profile] [scene ...]
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenes", nargs="*")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-profile", action="store_true", help="serve without EXPLORER_PROFILE (no split)")
    parser.add_argument("--no-starts", action="store_true", help="skip the cold and warm starts")
    parser.add_argument("--moves", type=int, help="slider moves per scene")
    parser.add_argument("--starts-only", action="store_true", help="only the cold and warm starts")
    args = parser.parse_args()
    print("\n".join(table(TITLE, rows(args.quick, args.scenes or None, not args.no_profile, not args.no_starts,
                                      args.moves, pages=not args.starts_only))))
