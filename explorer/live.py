"""The live-recompute loop: run a scene on a worker thread, newest request wins (DESIGN §5).

``LiveRunner.submit()`` asks for a fresh run. Runs happen one at a time on a single worker thread;
at most one request waits behind the run in flight (a newer one replaces it and cancels the run), and a
result that arrives after a newer request was made is dropped. Results and errors are handed back through ``schedule``,
which by default puts them on the Bokeh document's event loop (``add_next_tick_callback``, with
Panel's current document set), the documented way for a thread to touch a session; in a notebook, where the
document is a comm-based one with no server session, on the kernel's own event loop instead.
"""
from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Callable

from explorer.slots import run_slots

log = logging.getLogger(__name__)

Schedule = Callable[[Callable[[], None]], None]
RUN_SLOTS = run_slots()  # the sessions' runs share the cores in turns (explorer.slots)
# How long a staged run waits for a stage to be drawn before computing the next (a session that does
# not draw, e.g. a closed tab, must not hold the worker)
DRAW_WAIT_S = 1.0


LATER = "later"  # what ``on_result`` returns when it draws the outcome over several turns (LiveRunner.drawn)
# A superseded run's first stage is drawn (a preview) once the page has waited this long for an answer to its
# oldest unanswered request
PREVIEW_AFTER_S = 0.1


def take_turn() -> None:
    """Between two slices of a run (Scene.take_turn): let the run that waits longest have this run's slot."""
    RUN_SLOTS.take_turn()


def share_cores(processes: int) -> None:
    """Give this process's runs its share of the cores when ``processes`` server processes share them. Call
    before any session starts (``serve``, before forking)."""
    global RUN_SLOTS
    RUN_SLOTS = run_slots(processes)


def session_schedule() -> Schedule:
    """A scheduler that runs callbacks on the current Panel session's event loop.

    Outside a server session, see :func:`loop_schedule` (a notebook's kernel loop, or at once).
    """
    import panel as pn

    from explorer.library_internals import session_document

    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:
        return loop_schedule()

    def in_session(callback):
        with session_document(doc):
            callback()

    def schedule(callback):
        try:
            doc.add_next_tick_callback(partial(in_session, callback))
        except Exception:  # the session has gone (browser tab closed): nothing to show it on
            log.debug("session closed; dropping a live update", exc_info=True)

    return schedule


def kernel_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio loop running on this thread when it is a Jupyter kernel's (IPython's shell has a kernel);
    None elsewhere."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if getattr(shell, "kernel", None) is None:
        return None
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def loop_schedule() -> Schedule:
    """A scheduler for a page built outside a server session.

    In a Jupyter kernel the calling thread runs an asyncio loop (the kernel's: it executes the cells and
    receives the comm messages of the widgets); callbacks go onto it with ``call_soon_threadsafe``, so the
    comm-based document is changed on that thread, between the kernel's own messages, and never from a
    worker thread. Without a running loop (a plain script, a test) callbacks run at once on the calling
    thread, as Panel itself does outside a server. Another library's loop running on the thread (a test's
    browser driver, Playwright's) is not the kernel's: nothing would run the callbacks while it waits.
    """
    loop = kernel_loop()
    if loop is None:
        return lambda callback: callback()

    def schedule(callback):
        try:
            loop.call_soon_threadsafe(callback)
        except RuntimeError:  # the kernel has shut down: nothing to show it on
            log.debug("event loop closed; dropping a live update", exc_info=True)

    return schedule


class LiveRunner:
    """Runs ``job()`` off the session thread; delivers only the newest request's outcome.

    At most one run is in flight and at most one request waits behind it: a request made while a run
    is going replaces the waiting one (which never runs), and sets the running job's cancel flag, so
    rapid knob changes cannot pile up work. ``on_result(value, seconds)`` and
    ``on_error(exception, seconds)`` are called through ``schedule`` (on the session's thread in a
    server), never for a superseded request (but for previews, below). With ``cancellable=True`` the job is called as
    ``job(cancel)`` with a ``threading.Event`` that is set when a newer request arrives or
    :meth:`cancel` is called, so long work (training) can stop early. With ``staged=True`` the job returns
    an iterable of outcomes (``Scene.stages()``): each is delivered as soon as it is computed, and the later
    ones are not computed once a newer request has arrived, nor before the stage before them has been
    delivered (at most ``DRAW_WAIT_S``), so that drawing a stage has the cores to itself. The first stage of a run superseded while it was
    computed is still delivered, as a preview, unless something newer is already on screen or the page has
    waited less than PREVIEW_AFTER_S for an answer to its oldest unanswered request: during a drag every run
    is superseded before it ends, and without previews nothing would move until the hand stopped; after a
    quick flick, the preview of a value the hand went through at once took the cores from the run of the
    value where it stopped. The newest request's stages always come last. An ``on_result`` that draws an outcome over several
    turns of the session's loop returns ``LATER`` and calls :meth:`drawn` once it is all on screen.
    """

    def __init__(self, job: Callable[..., Any], on_result: Callable[[Any, float], None],
                 on_error: Callable[[BaseException, float], None], schedule: Schedule | None = None,
                 cancellable: bool = False, staged: bool = False):
        self._job = job
        self._cancellable = cancellable
        self._staged = staged
        self._on_result = on_result
        self._on_error = on_error
        self._schedule = schedule if schedule is not None else session_schedule()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="explorer-run")
        self._lock = threading.Lock()
        self._latest = 0
        self._pending: int | None = None      # the request waiting for the worker, if any
        self._in_flight: int | None = None    # the request being run, if any
        self._cancel = threading.Event()      # the cancel flag of the run in flight
        self._asked: deque = deque(maxlen=64)  # (request, time.monotonic() when made) of the recent requests
        self._draining = False                # whether a worker task is scheduled or running
        self._outbox: tuple | None = None     # (ticket, value, error, seconds, preview): newest undelivered
        self._delivered = 0                   # the request whose outcome was delivered last
        self._drawn = threading.Event()       # set when a handed-back outcome has been delivered (or a newer ask)
        self._closed = False

    @property
    def latest(self) -> int:
        """The number of the newest request (0 before the first)."""
        return self._latest

    @property
    def superseded(self) -> bool:
        """Whether a request newer than the outcome delivered last has been made (the user has moved on)."""
        with self._lock:
            return self._latest > self._delivered

    @property
    def backlog(self) -> tuple[int, int]:
        """(runs in flight, requests waiting): never more than (1, 1)."""
        with self._lock:
            return int(self._in_flight is not None), int(self._pending is not None)

    def submit(self) -> int:
        """Request a run with the job's current inputs; returns the request's number."""
        with self._lock:
            if self._closed:
                raise RuntimeError("LiveRunner is closed")
            self._latest += 1
            self._asked.append((self._latest, time.monotonic()))
            self._pending = self._latest          # replaces a request still waiting
            self._cancel.set()                    # the run in flight, if any, is superseded
            self._drawn.set()                     # and waits no longer for its stage to be drawn
            start, self._draining = not self._draining, True
            ticket = self._latest
        if start:
            self._executor.submit(self._drain)
        return ticket

    @property
    def closed(self) -> bool:
        """Whether the session has ended (``close``)."""
        return self._closed

    def post(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the session's thread (for progress updates from the job)."""
        self._schedule(callback)

    def drawn(self) -> None:
        """The outcome whose ``on_result`` returned ``LATER`` is on screen: the next stage may be computed."""
        self._drawn.set()

    def cancel(self) -> None:
        """Ask the run in flight to stop (the user pressed Cancel); its outcome is still delivered."""
        self._cancel.set()

    def close(self) -> None:
        """Stop accepting requests and drop any outcome not yet delivered (session ended)."""
        with self._lock:
            self._closed = True
            self._latest += 1  # makes every request in flight stale
            self._pending = None
            self._cancel.set()
            self._drawn.set()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _is_current(self, ticket: int) -> bool:
        with self._lock:
            return ticket == self._latest and not self._closed

    def _drain(self) -> None:
        """The worker: run the waiting request, then the one that arrived meanwhile, until none waits."""
        while True:
            with self._lock:
                ticket, self._pending = self._pending, None
                if ticket is None or self._closed:
                    self._draining = False
                    return
                self._in_flight = ticket
                self._cancel = event = threading.Event()
            try:
                self._work(ticket, event)
            finally:
                with self._lock:
                    self._in_flight = None

    def _unanswered_s(self) -> float:
        """How long the oldest request newer than the outcome on screen has waited (0 if none)."""
        with self._lock:
            waiting = [at for ticket, at in self._asked if ticket > self._delivered]
        return time.monotonic() - waiting[0] if waiting else 0.0

    def _work(self, ticket: int, event: threading.Event) -> None:
        with RUN_SLOTS:
            if not self._is_current(ticket):
                return  # superseded while it waited for a core: the newer request follows
            start = time.perf_counter()
            try:
                outcome = self._job(event) if self._cancellable else self._job()
                for index, value in enumerate(outcome if self._staged else (outcome,)):
                    current = self._is_current(ticket)
                    if current or (self._staged and index == 0 and self._unanswered_s() >= PREVIEW_AFTER_S):
                        self._drawn.clear()
                        self._hand_back(ticket, value, None, time.perf_counter() - start, preview=not current)
                    if not current:
                        return  # superseded: its later stages are not worth computing
                    if self._staged:
                        # the next stage is computed once this one is drawn: computed meanwhile, it took the
                        # cores the session thread and the browser needed to draw it (ODE/SDE: the NFE sweep)
                        self._drawn.wait(DRAW_WAIT_S)
            except Exception as exc:  # handed to on_error; the app shows it, the loop lives on
                self._hand_back(ticket, None, exc, time.perf_counter() - start)

    def _hand_back(self, ticket: int, value, error, seconds: float, preview: bool = False) -> None:
        """Put the outcome in the outbox (replacing an older one not yet delivered) and ask the session's
        thread to deliver what the outbox holds then. The outbox, not the callback, carries the outcome: a
        session's callbacks do not always run in the order they were scheduled (seen: a first stage drawn
        after its run's complete stage, which left the first stage on screen), and a stage that a later one
        overtook is not worth drawing. A ``preview`` is a superseded run's first stage: during a drag every
        run is superseded before it ends, and its particles are the newest a value the knob passed through
        has to show."""
        with self._lock:
            if self._closed or (ticket != self._latest and not preview):
                return
            if self._outbox is not None and self._outbox[0] > ticket:
                return  # a newer run's outcome is already on its way
            self._outbox = (ticket, value, error, seconds, preview)
        self._schedule(self._deliver)

    def _deliver(self) -> None:
        later = False
        try:
            with self._lock:
                outcome, self._outbox = self._outbox, None
                if outcome is None or self._closed:
                    return  # delivered already by an earlier callback
                ticket, value, error, seconds, preview = outcome
                if ticket < self._delivered or not (preview or ticket == self._latest):
                    return  # older than what is on screen, or superseded on its way (and not a preview)
                self._delivered = ticket
            if error is None:
                later = self._on_result(value, seconds) == LATER
            else:
                self._on_error(error, seconds)
        finally:
            if not later:
                self._drawn.set()  # the worker may compute the next stage
