"""Replace an idle server process whose memory has grown (``serve --num-procs N``, N ≥ 2; issue 8).

Why a fresh process: CPython's small-object allocator takes memory from the system in 1 MiB arenas and
gives an arena back only once every block in it is free. Measured on this app (one process, 20 sessions
for 15 s each, then closed, collected and ``malloc_trim``-ed; ``sys._debugmallocstats``): the allocated
blocks were back within 0.1 MB of the warm-up level, yet the process held 133 more arenas (+140 MB
resident), each kept by a few of the ~3 000 small objects that outlive a session (asyncio handles,
HoloViews' option-lookup cache, ABC caches). No collection or trim returns those pages; only a new process
does. This is the rule of long-lived Python servers (gunicorn's max_requests, uWSGI's reload-on-rss).

How: Tornado's ``fork_processes``, which runs Bokeh's server processes, forks a replacement for a child
that exits with a non-zero status; the replacement warms itself up again (:mod:`explorer.processes`).
``check_soon()`` runs after each session ends. A process with no session left that has grown by more than
``limit_mb`` since it was warmed up stops accepting connections (its siblings take them), lets its
requests in progress finish, and exits with RECYCLE_STATUS (stopping only the listening socket takes Bokeh's
and Panel's private API: explorer.library_internals). Tornado gives up on the whole server after
100 restarts, crashes included, so the processes recycle at most ``MAX_RECYCLES`` times together (a
counter shared between them); after that they keep their memory. One process (the default ``serve``) is
never recycled: nothing would replace it.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
from pathlib import Path

from explorer.library_internals import close_connections, http_server, started_servers, stop_accepting

log = logging.getLogger(__name__)

RECYCLE_STATUS = 75      # exit status of a recycled process (EX_TEMPFAIL): Tornado forks a replacement
MAX_RECYCLES = 50        # together, over the server's life; Tornado stops restarting after 100
LIMIT_MB = 24            # growth since warm-up that makes an idle process recycle
CHECK_DELAY_S = 4.0      # after a session ends: after explorer.memory's release (2 s) has trimmed the heap


class _Armed:
    """What the parent sets before forking: the limit and the recycle count all its processes share."""

    def __init__(self, limit_mb: float, max_recycles: int):
        self.limit_mb, self.max_recycles = limit_mb, max_recycles
        self.recycled = multiprocessing.Value("i", 0)  # shared memory: inherited by every fork
        self.warm_mb: float | None = None              # this process's memory once warmed up
        self.leaving = False                           # stopped accepting: exits once its sessions end


_armed: _Armed | None = None


def arm(limit_mb: float = LIMIT_MB, max_recycles: int = MAX_RECYCLES) -> None:
    """Let the processes forked from now on recycle themselves (call in the parent, before forking)."""
    global _armed
    _armed = _Armed(limit_mb, max_recycles)


def resident_mb() -> float:
    """This process's resident anonymous memory (heap, arenas, arrays; not the mapped libraries)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return 0.0


def mark_warm() -> None:
    """This process is warmed up: its memory now is the level it is judged against."""
    if _armed is not None:
        _armed.warm_mb = resident_mb()


def _server():
    """This process's Bokeh server (Panel records the servers it starts)."""
    servers = started_servers()
    return servers[0] if len(servers) == 1 else None


def should_recycle(sessions: int, grown_mb: float, limit_mb: float, recycled: int, max_recycles: int) -> bool:
    """The rule: no session left, grown past the limit, recycles left."""
    return sessions == 0 and grown_mb > limit_mb and recycled < max_recycles


async def _check() -> None:
    armed, server = _armed, _server()
    if armed is None or server is None or http_server(server) is None:
        return
    if armed.warm_mb is None:  # served without a warm-up: judge against the first idle moment
        armed.warm_mb = resident_mb()
        return
    if not armed.leaving:
        grown = resident_mb() - armed.warm_mb
        with armed.recycled.get_lock():
            if not should_recycle(len(server.get_sessions()), grown, armed.limit_mb, armed.recycled.value,
                                  armed.max_recycles):
                return
            armed.recycled.value += 1
        log.info("process %d idle and %.0f MB above its warmed-up size: replaced by a fresh one", os.getpid(), grown)
        armed.leaving = True
        stop_accepting(server)             # no new connections here; the sibling processes take them
        await close_connections(server)    # requests in progress finish first
    if server.get_sessions():                      # one arrived meanwhile: served, and the next check exits
        return
    logging.shutdown()
    os._exit(RECYCLE_STATUS)


def check_soon(delay: float = CHECK_DELAY_S) -> None:
    """After a session ended (on the server's event loop): recycle this process in ``delay`` s if the rule holds."""
    if _armed is None:
        return
    from tornado.ioloop import IOLoop

    IOLoop.current().call_later(delay, _check)
