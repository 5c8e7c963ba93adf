"""The pages' look: Panel's Fast design, served whole by the app itself (a lecture hall may have no internet).

Panel's Fast design asks Google's font server for Open Sans on every page (the one resource of the design
Panel does not bundle): offline that is a failed request per page, and a page that waits for it.
:data:`OfflineFast` is the same design without it; its text falls back to the system's sans-serif. Leaving
the font out takes Panel's private API (explorer.library_internals.without_web_font, guarded by
tests/test_library_internals.py).
"""
from __future__ import annotations

from panel.theme.fast import Fast

from explorer.library_internals import without_web_font

OfflineFast = without_web_font(Fast, "OfflineFast", __module__=__name__,
                               __doc__="Panel's Fast design with no web font.")
