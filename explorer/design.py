"""The pages' look: Panel's Fast design, served whole by the app itself (a lecture hall may have no internet).

Panel's Fast design asks Google's font server for Open Sans on every page (``Fast._resources["font"]``, the
one resource of the design Panel does not bundle): offline that is a failed request per page, and a page
that waits for it. :class:`OfflineFast` is the same design without it; its text falls back to the system's
sans-serif. ``_resources`` is Panel's private API: tests/test_offline.py fails when an upgrade moves it.
"""
from __future__ import annotations

from panel.theme.fast import Fast


class OfflineFast(Fast):
    """Panel's Fast design with no web font."""

    _resources = {**Fast._resources, "font": {}}


# Panel finds a design's bundled files under the lowercased class name ("fast/js/fast_design.js"): the
# subclass answers to the name of the design whose files it uses.
OfflineFast.__name__ = Fast.__name__
