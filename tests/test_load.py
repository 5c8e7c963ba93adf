"""Many users at once (issue 8): ``stochastic-explorer serve`` on loopback, sessions moving knobs at once.

In the suite: two rounds of 4 sessions for 6 s (bounded: about a minute and a half on 2 cores). The figures of the
issue's setting, 20 sessions for 60 s, come from ``LOAD_SESSIONS=20 LOAD_SECONDS=60 python -m pytest
tests/test_load.py -s`` (several minutes: opening 20 sessions alone takes a while on 2 cores).

Each simulated user is a real Bokeh server session opened with ``bokeh.client`` (the websocket protocol
the browser speaks; 20 Chromium pages measured far too heavy for 2 cores: four minutes only to load them).
A user repeatedly sets a knob in its copy of the document (the seed), or drags one (a step size / ε / noise:
DRAG_VALUES values on the way, sent without waiting, then the last), the change travels to the server as the
browser's would, and the user waits for the run-status line to change: the
status is set in the same server callback that sends the new plot data. We record the latency of each
update, alerts shown, errors in the server's log, and the server's memory before, at peak and after every
session has closed and been cleaned up and the server has gone quiet. The server runs as a lecture hall's
should, one process per core (``--num-procs 2``; LOAD_PROCS overrides), warmed up, and its memory is the
proportional set size (PSS) summed over its processes: forked processes share their parent's pages, which
plain RSS would count once per process. In the suite it replaces every process left idle
(``--recycle-above 0``, explorer.recycling), so each round checks that replacements serve the next;
LOAD_RECYCLE_MB=24 is the served default.

Asserted: no server errors, every session got updates, no session ever sees another's values, the
memory after the second round's clean-up is within 50 MB of the first round's (a leak grows with every
round; the first round's own rise over the warm-up baseline is reported), and with --recycle-above 0 at
least one process replaced per round. Latency is reported, never
asserted.
LOAD_SESSIONS and LOAD_SECONDS override the 4 sessions and 6 s. The server's own copy of each session is
read through that session's own connection: the server writes its copy's knobs into the page's URL (Panel's
Location model, explorer.app syncs them), and the change travels back to the client like any server-made
change. So every URL the server sent a session must carry that session's own seed, and the last its last
seed, whichever process holds it. (A second connection to the same session id cannot do this with several
processes: it lands on whichever process accepts first, which builds a fresh copy of its own.)
"""
from __future__ import annotations

import importlib
import json
import os
import pkgutil
import re
import urllib.parse
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from explorer.library_internals import apply_patch, client_connection, connection_session, next_message
from tests.conftest import proc_stat, serving

pytestmark = pytest.mark.load

N_SESSIONS = int(os.environ.get("LOAD_SESSIONS", 4))
SECONDS = float(os.environ.get("LOAD_SECONDS", 6))
PROCESSES = int(os.environ.get("LOAD_PROCS", 2))
RECYCLE_MB = int(os.environ.get("LOAD_RECYCLE_MB", 0))  # serve --recycle-above; 0: every idle process replaced
THINK_SECONDS = 0.5        # a user looks at the new plot before moving the next knob
DRAG_VALUES = 8            # a knob is dragged: this many values on the way to the next, one every DRAG_STEP_S
DRAG_STEP_S = 0.04
UPDATE_WAIT = 180          # seconds; generous, only reached when something is broken
CLEANUP_MS = 1000          # --unused-session-lifetime and --check-unused-sessions of the test server
LEAK_LIMIT_MB = 50
SETTLE_LIMIT_S = 90        # longest wait for the server to go quiet after its sessions closed
# scene → (knob moved besides the seed, the values it takes in turn, sizes that keep a run light)
SCENE_KNOBS = {
    "langevin": ("step_size", (0.02, 0.03), {"n_particles": 1000, "n_steps": 200}),
    "bridges": ("epsilon", (0.2, 0.3), {"n_particles": 400}),
    "lorenz": ("noise", (0.5, 1.0), {"n_members": 500, "horizon": 5.0}),
}
SESSION_SCENES = ["langevin", "bridges", "langevin", "lorenz"] * 5   # 20 users, half on the Langevin page
SERVER_ERRORS = re.compile(r"Traceback|\bERROR\b|Exception|\b50\d (GET|POST)")


def server_pids(pid: int) -> list[int]:
    """The server process and the processes it forked (``--num-procs``)."""
    children = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()
                and (fields := proc_stat(entry.name)) is not None and int(fields[1]) == pid]
    return [pid, *children]


def memory_mb(pid: int) -> float:
    """The server's memory: proportional set size (shared pages split between the processes sharing them),
    summed over its processes, so that forked processes are not counted twice."""
    total = 0
    for each in server_pids(pid):
        try:
            text = Path(f"/proc/{each}/smaps_rollup").read_text()
        except OSError:
            continue
        total += sum(int(line.split()[1]) for line in text.splitlines() if line.startswith("Pss:"))
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by the server's processes."""
    ticks = 0
    for each in server_pids(pid):
        fields = proc_stat(each)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return ticks / os.sysconf("SC_CLK_TCK")


def load_panel_models() -> None:
    """Import every Panel Bokeh model, so the client can decode the documents the server sends."""
    import panel.models

    for module in pkgutil.iter_modules(panel.models.__path__):
        try:
            importlib.import_module(f"panel.models.{module.name}")
        except Exception:  # optional extras (e.g. a model needing a missing package) are never sent
            pass


def by_class(document, css_class: str) -> list:
    return [m for m in document.models if css_class in (getattr(m, "css_classes", None) or [])]


def value_model(document, knob: str):
    """The Bokeh model holding a knob's number: the IntInput itself, or the box of a KnobSlider."""
    for model in by_class(document, f"knob-{knob}"):
        if "value" in model.properties():
            return model
        for inner in model.references():
            if "slider-edit" in (getattr(inner, "css_classes", None) or []):
                return inner
    raise LookupError(f"no widget for knob {knob!r}")


def off_the_main_thread(call):
    """``call()`` on a fresh thread. bokeh.client runs its own event loop while it connects, which asyncio
    refuses on a thread where a loop is already running (Playwright's, left by the browser tests)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


class User:
    """One Bokeh session on one scene page, driven from the client's event loop."""

    def __init__(self, index: int, scene: str, session, loop):
        self.index, self.scene, self.session, self.loop = index, scene, session, loop
        document = session.document
        self.status = by_class(document, "run-status")[0]
        self.alert = by_class(document, "run-error")[0]
        self.seed_box = value_model(document, "seed")
        self.knob, self.knob_values, self.sizes = SCENE_KNOBS[scene]
        self.knob_box = value_model(document, self.knob)
        self.size_boxes = {name: value_model(document, name) for name in self.sizes}
        self.my_seeds: set[int] = set()
        self.seen_seeds: list[int] = []
        self.location = next(m for m in document.models if type(m).__name__ == "Location")
        self.server_seeds: list[int] = []  # the seed in each URL the server's copy of this session sent
        self.alerts: list[str] = []
        self.latencies: list[float] = []
        self.updated = threading.Event()
        self.sent_at = None
        self.awaited = None  # (knob, value) of the change whose update is waited for, until the server's URL has it
        session.watched_ids = {model.id for model in (self.status, self.alert, self.seed_box, self.location)}
        self.status.on_change("text", self._status_changed)
        self.alert.on_change("visible", self._alert_changed)
        self.seed_box.on_change("value", lambda attr, old, new: self.seen_seeds.append(new))
        self.location.on_change("search", self._url_changed)
        self.loop.call_soon_threadsafe(self._announce_ready)

    def _announce_ready(self):
        """Send the 'document_ready' event BokehJS sends once a page has loaded. Until it arrives Panel
        treats the session as not connected, and HoloViews defers every plot refresh to the next tick,
        again and again: without it the server's event loop fills with refreshes (a client artefact)."""
        from bokeh.events import DocumentReady

        self.session.document.callbacks.send_event(DocumentReady())

    def _status_changed(self, attr, old, new):
        # an update counts once the server has taken the change (its URL says so): a status line drawn before,
        # for a run asked earlier, is not the change's (seen: the URL's last seed one behind the user's)
        if self.sent_at is not None and self.awaited is None and " ms" in new:
            self.latencies.append(time.monotonic() - self.sent_at)
            self.sent_at = None
            self.updated.set()

    def _url_changed(self, attr, old, new):
        query = urllib.parse.parse_qs(new.lstrip("?"))
        if query.get("seed"):
            self.server_seeds.append(int(query["seed"][0]))
        if self.awaited is not None and query.get(self.awaited[0]):
            if float(query[self.awaited[0]][0]) == pytest.approx(self.awaited[1]):
                self.awaited = None

    def _alert_changed(self, attr, old, new):
        if new:
            self.alerts.append(str(self.alert.text))

    def change(self, model, knob: str, value) -> bool:
        """Set ``model.value`` (the box of ``knob``) as a browser would and wait for the first status line after
        the server's URL shows the value; False on time-out."""
        self.updated.clear()

        def apply():
            self.sent_at, self.awaited = time.monotonic(), (knob, value)
            model.value = value
        self.loop.call_soon_threadsafe(apply)
        return self.updated.wait(UPDATE_WAIT)

    def drag(self, model, knob: str, value) -> bool:
        """Drag ``model`` from its value to ``value`` as a slider's handle would: DRAG_VALUES values on the way,
        each sent without waiting (the live loop keeps one run in flight and one waiting), then ``value``
        itself, whose status line is waited for (``change``)."""
        start = model.value
        for step in range(1, DRAG_VALUES + 1):
            between = start + (value - start) * step / (DRAG_VALUES + 1)
            self.loop.call_soon_threadsafe(lambda between=between: setattr(model, "value", between))
            time.sleep(DRAG_STEP_S)
        return self.change(model, knob, value)

    def seed(self, k: int) -> int:
        seed = 1_000 * (self.index + 1) + k       # disjoint per user: a marker of whose values these are
        self.my_seeds.add(seed)
        return seed

    def drive(self, until: float) -> None:
        for name, value in self.sizes.items():
            assert self.change(self.size_boxes[name], name, value), f"user {self.index}: no update after {name}"
        self.latencies.clear()
        k = 0
        while k < 2 or time.monotonic() < until:  # at least two timed updates, however slow the machine
            k += 1
            if k % 2:
                updated = self.change(self.seed_box, "seed", self.seed(k))
            else:  # the run knob is dragged
                updated = self.drag(self.knob_box, self.knob, self.knob_values[(k // 2) % len(self.knob_values)])
            assert updated, f"user {self.index} ({self.scene}): no update in {UPDATE_WAIT} s"
            time.sleep(THINK_SECONDS)


async def read_messages(connection, errors: list, finished: threading.Semaphore) -> None:
    """Apply the server's patches to the client document as they arrive.

    bokeh.client reads only inside its blocking ``loop_until`` helpers (and re-enters a coroutine per
    message); this reads the socket of every session on one shared loop instead. Once a User has named the
    models it reads (``watched_ids``: status, alert, seed), only their changes are applied. A browser decodes
    the plots' new data on the student's own machine; this one client decoding every session's plots took
    CPU from the 2 cores the server is measured on. Reading a session's socket takes bokeh.client's private
    API (explorer.library_internals).
    """
    while True:
        message = await next_message(connection)
        if message is None:
            finished.release()  # the server has closed its end too
            return
        if message.msgtype == "PATCH-DOC":
            session = connection_session(connection)
            watched = getattr(session, "watched_ids", None)
            if watched is not None:  # a user's page is built: keep only the changes it reads
                message.content["events"] = [event for event in message.content["events"]
                                             if event.get("kind") == "ModelChanged"
                                             and event["model"]["id"] in watched]
            if message.content["events"]:
                apply_patch(session, message)
        elif message.msgtype == "ERROR":
            errors.append(str(message.content))


class Client:
    """Bokeh client sessions sharing one asyncio loop on a background thread."""

    def __init__(self, base: str):
        from tornado.ioloop import IOLoop

        load_panel_models()
        self.base = base
        self.ioloop = IOLoop()
        self.protocol_errors: list[str] = []
        self.sessions = []

    def open(self, scene: str):
        """A new session on the page of ``scene`` (the loop must not be running)."""
        from bokeh.client import pull_session

        session = off_the_main_thread(lambda: pull_session(url=f"{self.base}/{scene}", io_loop=self.ioloop))
        self.sessions.append(session)
        return session

    def start(self) -> None:
        self.finished = threading.Semaphore(0)
        for session in self.sessions:
            self.ioloop.add_callback(read_messages, client_connection(session), self.protocol_errors, self.finished)
        self.thread = threading.Thread(target=self.ioloop.start, daemon=True)
        self.thread.start()
        self.loop = self.ioloop.asyncio_loop

    def close(self) -> None:
        done = threading.Event()

        def close_all():
            for session in self.sessions:
                session.close()
            done.set()
        self.ioloop.add_callback(close_all)
        assert done.wait(60)
        for _ in self.sessions:  # keep the loop running until every websocket is closed at both ends
            assert self.finished.acquire(timeout=60), "a websocket did not close"
        self.ioloop.add_callback(self.ioloop.stop)
        self.thread.join(60)


@pytest.fixture(scope="module")
def load_server(tmp_path_factory):
    """(base URL, process, log path) of a server that cleans up a closed session within about a second."""
    log = tmp_path_factory.mktemp("load") / "serve.log"
    with serving(log, "--unused-session-lifetime", str(CLEANUP_MS), "--check-unused-sessions", str(CLEANUP_MS),
                 "--num-procs", str(PROCESSES), "--recycle-above", str(RECYCLE_MB), warm_up=True) \
            as (base, process):
        yield base, process, log


def settled_memory(pid: int, seconds: float = 4 * CLEANUP_MS / 1000 + 4, quiet_cores: float = 0.05) -> float:
    """Memory after the server has cleaned up closed sessions and gone quiet: at least ``seconds``, then
    until its processes used under ``quiet_cores`` of CPU for two seconds running (a replaced process warms
    up first, explorer.recycling); at most SETTLE_LIMIT_S. The lowest of the last few readings."""
    readings, quiet = [], 0
    started = time.monotonic()
    cpu = cpu_seconds(pid)
    while time.monotonic() - started < SETTLE_LIMIT_S:
        time.sleep(0.5)
        readings.append(memory_mb(pid))
        now = cpu_seconds(pid)
        quiet = quiet + 1 if now - cpu < 0.5 * quiet_cores else 0
        cpu = now
        if time.monotonic() - started >= seconds and quiet >= 4:
            break
    return min(readings[-4:])


def warm_up(base: str) -> None:
    """Sessions on every scene until their first results (kernels compiled, modules imported), then closed:
    as many per scene as there are server processes (each process takes whichever connection it accepts
    first, so this warms most processes, not surely all)."""
    client = Client(base)
    scenes = list(SCENE_KNOBS) * PROCESSES
    for scene in scenes:
        client.open(scene)
    users = []
    client.start()
    for index, (scene, session) in enumerate(zip(scenes, client.sessions)):
        users.append(User(index, scene, session, client.loop))
    for user in users:
        for name, value in user.sizes.items():
            assert user.change(user.size_boxes[name], name, value), f"warm-up {user.scene}: no update after {name}"
    client.close()


def load_round(base: str, process, log, scenes: list[str]) -> dict:
    """One round: a session per entry of ``scenes``, all moving knobs for SECONDS, then closed and cleaned
    up. Returns the round's figures and everything the test asserts on."""
    log_offset = log.stat().st_size
    processes_before = set(server_pids(process.pid))
    client = Client(base)
    opened = time.monotonic()
    for scene in scenes:
        client.open(scene)
    open_seconds = time.monotonic() - opened
    client.start()
    users = [User(i, scene, session, client.loop) for i, (scene, session) in enumerate(zip(scenes, client.sessions))]

    peak = [memory_mb(process.pid)]
    running = threading.Event()
    running.set()

    def watch_memory():
        while running.is_set():
            peak[0] = max(peak[0], memory_mb(process.pid))
            time.sleep(0.25)
    watcher = threading.Thread(target=watch_memory, daemon=True)
    watcher.start()
    failures = []

    def drive(user):
        try:
            user.drive(time.monotonic() + SECONDS)
        except BaseException as error:  # reported below, with every other user's figures
            failures.append(f"{type(error).__name__}: {error}")
    drivers = [threading.Thread(target=drive, args=(user,)) for user in users]
    server_cpu, client_cpu, wall = cpu_seconds(process.pid), sum(os.times()[:2]), time.monotonic()
    for thread in drivers:
        thread.start()
    for thread in drivers:
        thread.join()
    wall = time.monotonic() - wall
    server_cpu, client_cpu = cpu_seconds(process.pid) - server_cpu, sum(os.times()[:2]) - client_cpu
    client.close()
    after = settled_memory(process.pid)
    running.clear()
    watcher.join()

    server_log = log.read_text()[log_offset:]
    latencies = np.array([x for u in users for x in u.latencies])
    return {
        "figures": {
            "updates": int(latencies.size), "updates_per_session": [len(u.latencies) for u in users],
            "latency_p50_s": float(np.percentile(latencies, 50)) if latencies.size else None,
            "latency_p95_s": float(np.percentile(latencies, 95)) if latencies.size else None,
            "latency_max_s": float(latencies.max()) if latencies.size else None,
            "server_cores_busy": server_cpu / wall, "client_cores_busy": client_cpu / wall,
            "memory_peak_mb": peak[0], "memory_after_mb": after,
            "processes_replaced": len(processes_before - set(server_pids(process.pid))), "open_sessions_s": open_seconds,
            "server_seeds": [u.server_seeds[-1] if u.server_seeds else None for u in users],
        },
        "failures": failures,
        "server_errors": [line for line in server_log.splitlines() if SERVER_ERRORS.search(line)]
                         + client.protocol_errors,
        "alerts": [f"user {u.index} ({u.scene}): {text}" for u in users for text in u.alerts],
        "leaked": [f"user {u.index} saw seed {s}" for u in users for s in u.seen_seeds
                   if s not in u.my_seeds and s != 0],
        "server_leaked": [f"user {u.index}'s server copy held seed {s}" for u in users for s in u.server_seeds
                          if s not in u.my_seeds and s != 0],
        "server_seeds": [u.server_seeds[-1] if u.server_seeds else None for u in users],
        "last_seeds": [max(u.my_seeds) for u in users],
    }


def test_concurrent_sessions_stay_apart_and_are_cleaned_up(load_server, tmp_path):
    """Two rounds of the same sessions. Memory is judged between the rounds: after the first, the server
    keeps what any Python process keeps once it has served that many documents (allocator arenas, Bokeh
    and HoloViews caches); a leak shows as the second round ending higher again."""
    base, process, log = load_server
    started = time.monotonic()
    warm_up(base)
    before = settled_memory(process.pid)
    scenes = (SESSION_SCENES * (N_SESSIONS // len(SESSION_SCENES) + 1))[:N_SESSIONS]
    rounds = [load_round(base, process, log, scenes) for _ in range(2)]
    figures = {"sessions": N_SESSIONS, "seconds_each": SECONDS, "processes": PROCESSES, "recycle_above_mb": RECYCLE_MB, "scenes": {s: scenes.count(s) for s in set(scenes)},
               "memory_before_mb": before, "rounds": [r["figures"] for r in rounds],
               "server_errors": sum(len(r["server_errors"]) for r in rounds),
               "alerts": sum(len(r["alerts"]) for r in rounds), "test_wall_s": time.monotonic() - started}
    (tmp_path / "load_figures.json").write_text(json.dumps(figures, indent=2))
    print("\nload test:", json.dumps(figures), f"\n(figures also in {tmp_path / 'load_figures.json'})")

    for r in rounds:
        assert not r["failures"], r["failures"]
        assert not r["server_errors"], r["server_errors"][:20]
        assert not r["alerts"], r["alerts"][:20]
        assert all(r["figures"]["updates_per_session"]), r["figures"]["updates_per_session"]
        assert not r["leaked"], r["leaked"][:20]          # nothing one session set appeared in another
        assert not r["server_leaked"], r["server_leaked"][:20]  # the server's copy held only its own seeds
        assert r["server_seeds"] == r["last_seeds"], r["server_seeds"]  # and, at the end, its last
        if PROCESSES > 1 and RECYCLE_MB == 0:  # idle processes were replaced, and the next round was served
            assert r["figures"]["processes_replaced"] >= 1, r["figures"]
    first, second = (r["figures"]["memory_after_mb"] for r in rounds)
    assert second - first < LEAK_LIMIT_MB, f"{first:.0f} MB after the first round, {second:.0f} MB after the second"
