"""Several server processes on one port (``serve --num-procs``): what each forked process does first.

Bokeh forks the server processes (``tornado.process.fork_processes``) after the app is set up, and a fork
copies only the thread that called it. So the warm-up thread, which compiles the scenes' kernels and draws
the index's thumbnails, must start in each process after the fork, never before: started before, it would
not exist in the children, and a compiled parallel kernel's thread pool left behind in the parent does not
survive a fork either. ``after_fork(setup)`` arranges that, and makes every forked process end with the
parent (Linux ``PR_SET_PDEATHSIG``): otherwise stopping the server's parent process leaves its children
serving, unowned, with the port still open.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
from typing import Callable

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h)


def _end_with_parent(parent: int) -> None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the parent's own exit handling applies
        log.debug("no PR_SET_PDEATHSIG here", exc_info=True)
    if os.getppid() != parent:  # the parent ended before the signal was armed
        os._exit(0)


def after_fork(setup: Callable[[], None] | None = None) -> None:
    """In every process forked from this one from now on: end with this process, then call ``setup()``."""
    parent = os.getpid()

    def in_child():
        _end_with_parent(parent)
        if setup is not None:
            setup()

    os.register_at_fork(after_in_child=in_child)
