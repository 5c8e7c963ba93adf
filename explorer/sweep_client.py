"""The Dask client the app's sweeps share (DESIGN §11): one per server process, opened by the first sweep that
needs it through :func:`scenes.sweep_dask.connect` (the scheduler at ``$EXPLORER_DASK_SCHEDULER``, else a
LocalCluster of worker processes) and closed when the process exits. The sessions' sweeps stay apart on it
by their task keys (``DaskSweepJob``); a client whose scheduler went away is dropped and the next sweep
opens a new one.
"""
from __future__ import annotations

import atexit
import threading
from contextlib import ExitStack

CONNECT_TIMEOUT_S = 10.0  # how long a named scheduler may take to answer
_lock = threading.Lock()
_open: dict = {}  # "client" -> the shared Client, "stack" -> the ExitStack that closes it


def shared_client():
    """The process's sweep client, opened on first use (SchedulerUnreachable where the named scheduler does
    not answer: said to the user, nothing kept)."""
    from scenes.sweep_dask import connect

    with _lock:
        client = _open.get("client")
        if client is not None and client.status == "running":
            return client
        _close_locked()
        stack = ExitStack()
        _open["client"] = stack.enter_context(connect(timeout=CONNECT_TIMEOUT_S))
        _open["stack"] = stack
        return _open["client"]


def drop() -> None:
    """Close the shared client (its scheduler was lost, or the process ends); the next sweep opens another."""
    with _lock:
        _close_locked()


def _close_locked() -> None:
    stack = _open.pop("stack", None)
    _open.pop("client", None)
    if stack is not None:
        try:
            stack.close()
        except Exception:  # a scheduler already gone: nothing left to close
            pass


atexit.register(drop)
