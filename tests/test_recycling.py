"""explorer.recycling: an idle server process that has grown is replaced, within a shared recycle budget.

The whole path (Tornado forking the replacement, which then serves the next sessions) runs in
tests/test_load.py, whose server replaces every idle process (--recycle-above 0).
"""
from __future__ import annotations

import asyncio
import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest

from explorer import recycling


@pytest.mark.parametrize("sessions, grown, recycled, expected", [
    (0, 30.0, 0, True),     # idle, grown past the limit, budget left
    (1, 300.0, 0, False),   # a session is still open
    (0, 10.0, 0, False),    # not grown enough
    (0, 30.0, 5, False),    # the recycle budget is spent
])
def test_rule(sessions, grown, recycled, expected):
    assert recycling.should_recycle(sessions, grown, limit_mb=24, recycled=recycled, max_recycles=5) is expected


def check() -> None:
    """recycling's check, run to its end on a fresh thread (the suite's main thread may hold a running event
    loop, Playwright's)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, recycling._check()).result()


class FakeHTTPServer:
    def __init__(self):
        self.stopped = self.closed = False

    def stop(self):
        self.stopped = True

    async def close_all_connections(self):
        self.closed = True


class FakeServer:
    def __init__(self, sessions):
        self.sessions, self._http = sessions, FakeHTTPServer()

    def get_sessions(self):
        return list(self.sessions)


@pytest.fixture
def armed(monkeypatch):
    """recycling armed in this process, with a server, memory readings and exit we control."""
    memory = {"mb": 100.0}
    exits = []
    monkeypatch.setattr(recycling, "_armed", None)
    recycling.arm(limit_mb=24, max_recycles=2)
    monkeypatch.setattr(recycling, "resident_mb", lambda: memory["mb"])
    monkeypatch.setattr(recycling.os, "_exit", exits.append)
    server = FakeServer([])
    monkeypatch.setattr(recycling, "_server", lambda: server)
    return memory, exits, server


def test_idle_grown_process_stops_listening_then_exits(armed):
    memory, exits, server = armed
    recycling.mark_warm()                  # warmed up at 100 MB
    memory["mb"] = 120.0
    check()        # grown 20 MB: kept
    assert exits == [] and not server._http.stopped
    memory["mb"] = 130.0
    check()        # grown 30 MB and idle: replaced
    assert server._http.stopped and server._http.closed
    assert exits == [recycling.RECYCLE_STATUS]
    assert recycling._armed.recycled.value == 1


def test_a_session_arriving_while_leaving_is_served_first(armed, monkeypatch):
    memory, exits, server = armed
    recycling.mark_warm()
    memory["mb"] = 200.0

    async def arrives():
        server.sessions.append("late")     # a connection accepted just before the listening stopped
    monkeypatch.setattr(server._http, "close_all_connections", arrives)
    check()
    assert server._http.stopped and exits == []
    server.sessions.clear()                # its session ends: the next check exits, without a second count
    check()
    assert exits == [recycling.RECYCLE_STATUS] and recycling._armed.recycled.value == 1


def test_budget_is_shared_and_bounded(armed):
    memory, exits, server = armed
    recycling.mark_warm()
    memory["mb"] = 500.0
    recycling._armed.recycled.value = 2    # other processes spent the budget
    check()
    assert exits == [] and not server._http.stopped


def test_without_warm_up_the_first_idle_moment_is_the_reference(armed):
    memory, exits, server = armed
    check()        # no warm-up: 100 MB becomes the reference
    assert recycling._armed.warm_mb == 100.0 and exits == []


def test_unarmed_process_never_recycles(monkeypatch):
    """The default single process (never armed), idle and growing far past any limit: nothing is scheduled,
    the server keeps listening and the process does not exit."""
    import tornado.ioloop

    monkeypatch.setattr(recycling, "_armed", None)
    readings = itertools.count(100.0, 1000.0)      # growing by 1 GB between any two readings
    monkeypatch.setattr(recycling, "resident_mb", lambda: next(readings))
    exits, scheduled = [], []
    monkeypatch.setattr(recycling.os, "_exit", exits.append)
    server = FakeServer([])
    monkeypatch.setattr(recycling, "_server", lambda: server)

    class FakeLoop:
        def call_later(self, delay, callback, *args):
            scheduled.append(callback)
    monkeypatch.setattr(tornado.ioloop.IOLoop, "current", staticmethod(lambda *args, **kwargs: FakeLoop()))
    recycling.check_soon()
    check()
    check()        # twice: an armed process takes its reference at the first idle moment, judges at the second
    assert scheduled == [] and exits == []
    assert not server._http.stopped and not server._http.closed
