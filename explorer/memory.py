"""Hand memory back to the operating system once sessions end (a long-lived server, issue 8).

Every session's objects are freed when it closes (tests/test_load.py counts them), yet glibc keeps the freed
heap pages: each of the sessions' worker threads allocates in its own malloc arena (up to 8 per core), and a
Python process's heap stays fragmented after many documents came and went. Two standard glibc remedies,
no-ops elsewhere:

- ``limit_arenas(n)``: ``mallopt(M_ARENA_MAX, n)`` before the worker threads exist, so the sessions share a
  few arenas instead of leaving a dozen half-empty ones behind;
- ``release_soon()``: after a session has closed, a full garbage collection (its documents hold reference
  cycles) and ``malloc_trim(0)``, which returns every free page of every arena, not only the top of the heap.
  Sessions closing together share one release.

And one for the pauses: Python's full garbage collection walks every tracked object, and a served page holds
about 200 000 (the libraries another 250 000), so with 20 sessions open each full collection stopped every
session for a second or more. ``freeze_long_lived()`` moves the objects alive now (the imported libraries, a
page just built) to the permanent generation that collections skip (``gc.freeze``, made for servers);
``release_free_memory`` unfreezes, collects everything once, and freezes the survivors again.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import threading

log = logging.getLogger(__name__)

M_ARENA_MAX = -8         # glibc's mallopt parameter number (malloc.h)
RELEASE_DELAY_S = 2.0    # lets the server drop the closed session's document before the collection


def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None  # glibc only


_LIBC = _libc()
_pending = threading.Lock()


def limit_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas (call before threads start); False where not glibc."""
    return bool(_LIBC is not None and _LIBC.mallopt(M_ARENA_MAX, int(arenas)))


def freeze_long_lived() -> None:
    """Keep the objects alive now out of future collections (until the next ``release_free_memory``)."""
    gc.freeze()


def release_free_memory() -> None:
    """Collect reference cycles (frozen objects included), then give free heap pages back to the system."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def release_soon(delay: float = RELEASE_DELAY_S) -> None:
    """``release_free_memory()`` once, ``delay`` seconds from now, on a timer thread (coalesced)."""
    if not _pending.acquire(blocking=False):
        return  # a release is already scheduled: it will cover this session too

    def release():
        try:
            release_free_memory()
        except Exception:  # never let housekeeping disturb the server
            log.debug("memory release failed", exc_info=True)
        finally:
            _pending.release()

    timer = threading.Timer(delay, release)
    timer.daemon = True
    timer.start()
