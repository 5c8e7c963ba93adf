"""The live-recompute loop: run a scene on a worker thread, newest request wins (DESIGN §5).

``LiveRunner.submit()`` asks for a fresh run. Runs happen one at a time on a single worker thread;
a request that is overtaken by a newer one before it starts is skipped, and a result that arrives
after a newer request was made is dropped. Results and errors are handed back through ``schedule``,
which by default puts them on the Bokeh document's event loop (``add_next_tick_callback``, with
Panel's current document set), the documented way for a thread to touch a session.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Callable

log = logging.getLogger(__name__)

Schedule = Callable[[Callable[[], None]], None]


def session_schedule() -> Schedule:
    """A scheduler that runs callbacks on the current Panel session's event loop.

    Outside a server session (a notebook, a plain script, a test) callbacks run at once on the
    calling thread.
    """
    import panel as pn
    from panel.io.state import set_curdoc

    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:
        return lambda callback: callback()

    def in_session(callback):
        with set_curdoc(doc):
            callback()

    def schedule(callback):
        try:
            doc.add_next_tick_callback(partial(in_session, callback))
        except Exception:  # the session has gone (browser tab closed): nothing to show it on
            log.debug("session closed; dropping a live update", exc_info=True)

    return schedule


class LiveRunner:
    """Runs ``job()`` off the session thread; delivers only the newest request's outcome.

    ``on_result(value, seconds)`` and ``on_error(exception, seconds)`` are called through
    ``schedule`` (on the session's thread in a server), never for a superseded request.
    With ``cancellable=True`` the job is called as ``job(cancel)`` with a ``threading.Event`` that is
    set when a newer request arrives or :meth:`cancel` is called, so long work (training) can stop early.
    """

    def __init__(self, job: Callable[..., Any], on_result: Callable[[Any, float], None],
                 on_error: Callable[[BaseException, float], None], schedule: Schedule | None = None,
                 cancellable: bool = False):
        self._job = job
        self._cancellable = cancellable
        self._cancel_events: dict[int, threading.Event] = {}
        self._on_result = on_result
        self._on_error = on_error
        self._schedule = schedule if schedule is not None else session_schedule()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="explorer-run")
        self._lock = threading.Lock()
        self._latest = 0
        self._closed = False

    @property
    def latest(self) -> int:
        """The number of the newest request (0 before the first)."""
        return self._latest

    def submit(self) -> int:
        """Request a run with the job's current inputs; returns the request's number."""
        with self._lock:
            if self._closed:
                raise RuntimeError("LiveRunner is closed")
            self._latest += 1
            ticket = self._latest
            for event in self._cancel_events.values():
                event.set()  # the run in flight, if any, is superseded
            self._cancel_events = {ticket: threading.Event()}
        self._executor.submit(self._work, ticket)
        return ticket

    def post(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the session's thread (for progress updates from the job)."""
        self._schedule(callback)

    def cancel(self) -> None:
        """Ask the run in flight to stop (the user pressed Cancel); its outcome is still delivered."""
        with self._lock:
            for event in self._cancel_events.values():
                event.set()

    def close(self) -> None:
        """Stop accepting requests and drop any outcome not yet delivered (session ended)."""
        with self._lock:
            self._closed = True
            self._latest += 1  # makes every request in flight stale
            for event in self._cancel_events.values():
                event.set()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _is_current(self, ticket: int) -> bool:
        with self._lock:
            return ticket == self._latest and not self._closed

    def _work(self, ticket: int) -> None:
        if not self._is_current(ticket):
            return  # overtaken while queued: do not spend time on it
        start = time.perf_counter()
        try:
            if self._cancellable:
                with self._lock:
                    event = self._cancel_events.get(ticket, threading.Event())
                value, error = self._job(event), None
            else:
                value, error = self._job(), None
        except Exception as exc:  # handed to on_error; the app shows it, the loop lives on
            value, error = None, exc
        seconds = time.perf_counter() - start
        if self._is_current(ticket):
            self._schedule(partial(self._deliver, ticket, value, error, seconds))

    def _deliver(self, ticket: int, value, error, seconds: float) -> None:
        if not self._is_current(ticket):
            return  # a newer request was made while this one was on its way
        if error is None:
            self._on_result(value, seconds)
        else:
            self._on_error(error, seconds)
