"""The work of a sweep, estimated before it runs from each scene's own estimate (``Scene.check_work``), so that
the app can refuse a sweep far too large for it and say how large it is (DESIGN §5, §11).

A grid point's estimate is the work its scene hands to ``check_work`` before computing: the run is started
with ``check_work`` replaced by a probe that stops it there, and with its cancel flag already set, so a run
that would compute before estimating stops at its first slice. Seeds do not change the work: each grid point
is probed once and counted once per seed.
"""
from __future__ import annotations

import threading

from kernels.chunks import WORK_PER_SECOND
from scenes.sweep import SweepSpec, scene_class

MAX_PROBES = 400  # grid points probed; a larger grid is estimated from evenly spaced points among them


class _Estimated(Exception):
    """Raised by the probe: carries the work the run was about to do."""

    def __init__(self, work: float):
        super().__init__(work)
        self.work = work


def _probe(work: float, knobs: str) -> None:
    raise _Estimated(float(work))


def point_work(scene_cls, values: dict) -> float | None:
    """The work (kernels.chunks units) of one run with ``values``, or None where the run stops before
    estimating (a bad combination: that point fails at once in the sweep, costing nothing)."""
    try:
        scene = scene_cls(**values)
    except Exception:
        return None
    scene.check_work = _probe
    stopped = threading.Event()
    stopped.set()
    scene.cancel = stopped
    try:
        scene.measure()
    except _Estimated as estimate:
        return estimate.work
    except Exception:
        return None
    return None


def estimate_seconds(spec: SweepSpec) -> float:
    """Seconds of one core the whole sweep would compute for (first kernel compiles not counted)."""
    cls = scene_class(spec.scene)
    points = spec.points()[::len(spec.seeds)]  # one per grid point (seeds run fastest)
    step = max(1, -(-len(points) // MAX_PROBES))
    probed = points[::step]
    works = [point_work(cls, {**spec.fixed, **point}) for point in probed]
    per_point = sum(w for w in works if w is not None) / len(probed)
    return per_point * len(points) * len(spec.seeds) / WORK_PER_SECOND
