"""A tab that closes while its page is being updated is not a server error.

Panel sends a session's changes as asyncio tasks that write to the tab's websocket
(``panel.io.document.dispatch_tornado``) and never read their outcome. When the tab has closed meanwhile, those
writes fail with Tornado's ``WebSocketClosedError`` (or ``StreamClosedError``), and asyncio prints each as
"Task exception was never retrieved" with two tracebacks. Bokeh's own sends catch that error and log a
line; these would fill a lecture hall's server log with tracebacks as the students close their tabs (the load
test, closing 20 sessions mid-update, saw ten). :func:`quiet_closed_tab_writes` gives the serving loop an
exception handler that logs them at debug level and hands every other exception to the handler before it.
"""
from __future__ import annotations

import asyncio
import logging
import weakref

from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError

log = logging.getLogger(__name__)

CLOSED_TAB_ERRORS = (WebSocketClosedError, StreamClosedError)
_QUIETED: "weakref.WeakSet[asyncio.AbstractEventLoop]" = weakref.WeakSet()


def quiet_closed_tab_writes(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """On ``loop`` (default: this thread's running loop), log a failed write to a closed tab at debug level
    instead of as an error. Once per loop; other exceptions go to the loop's previous handler, or its default.
    Without a loop given or running (a page built outside a server), nothing is done."""
    if loop is None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
    if loop in _QUIETED:
        return
    previous = loop.get_exception_handler()

    def handle(loop, context):
        if isinstance(context.get("exception"), CLOSED_TAB_ERRORS):
            log.debug("a write to a closed tab was dropped: %s", context.get("message"))
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handle)
    _QUIETED.add(loop)
