"""One sweep for every scene (DESIGN §11): a grid over run knobs × seeds → a tidy pandas table, one row per
grid point and seed with the knob values, the seed and the scene's scalar metrics (or the error of a
point that failed).

    from scenes.sweep import sweep
    table = sweep("langevin", {"sampler": ["ula", "mala"], "step_size": "log:1e-3:0.5:8"}, seeds=4,
                  fixed={"target": "gauss"})

``start(spec, client)`` gives a :class:`SweepJob` to drive from an app or a terminal: iterating it yields
:class:`Progress` (counts and the partial table) as runs finish, and ``job.cancel()`` stops what is
queued. Without a client the runs go one after another in this process; with a ``distributed.Client``
they go to its cluster (:mod:`scenes.sweep_dask`). A run is a fresh scene built from its knob values, so a
row depends only on those values and the seed: the same on any cluster as serially.
"""
from __future__ import annotations

import itertools
import os
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from scenes.base import Cancelled, Scene, SceneError
from scenes.sweep_grid import Axis, GridError, axis, fixed_values, seed_list

PROVENANCE = ("run_seconds", "worker")  # where and how long: the only columns that differ between clusters
ERROR = "error"


@dataclass(frozen=True)
class SweepSpec:
    """What to sweep: the scene's registry name, the axes, the seeds, and the knobs held fixed."""

    scene: str
    axes: tuple
    seeds: tuple
    fixed: dict = field(default_factory=dict)

    @property
    def knobs(self) -> tuple:
        return tuple(a.knob for a in self.axes)

    def points(self) -> list[dict]:
        """Every grid point × seed, in grid order (the first axis slowest, seeds fastest)."""
        grids = itertools.product(*(a.values for a in self.axes))
        return [{**dict(zip(self.knobs, values)), "seed": seed} for values in grids for seed in self.seeds]

    def __len__(self) -> int:
        return int(np.prod([len(a.values) for a in self.axes], dtype=int)) * len(self.seeds)


def scene_class(scene):
    """The scene class for a registry name (or a class, given back)."""
    from scenes import SCENES

    if isinstance(scene, str):
        if scene not in SCENES:
            raise GridError(f"unknown scene {scene!r}; known: {', '.join(SCENES)}")
        return SCENES[scene]
    return scene


def scene_name(scene) -> str:
    from scenes import SCENES

    if isinstance(scene, str):
        scene_class(scene)
        return scene
    return next(name for name, cls in SCENES.items() if cls is scene)


def make_spec(scene, grid: dict, seeds=1, fixed: dict | None = None) -> SweepSpec:
    """A checked SweepSpec: ``grid`` maps knobs to values (a list, "v1,v2", "log:A:B:N", "lin:A:B:N" or an
    Axis); ``seeds`` is a count or a list; ``fixed`` sets other knobs. Every mistake is refused here,
    before anything runs, naming the knob (and the bound for a value out of range)."""
    if isinstance(scene, Scene):
        scene = type(scene)
    cls = scene_class(scene)
    if not grid:
        raise GridError("a sweep needs at least one knob in its grid")
    axes = tuple(spec if isinstance(spec, Axis) else axis(cls, knob, spec) for knob, spec in grid.items())
    held = fixed_values(cls, {k: v for k, v in (fixed or {}).items() if k != "seed"})
    both = sorted(set(held) & {a.knob for a in axes})
    if both:
        raise GridError(f"{', '.join(both)}: both in the grid and fixed; give each knob once")
    return SweepSpec(scene_name(scene), axes, seed_list(seeds), held)


def scalar_metrics(metrics: dict) -> dict:
    """The metrics that are single numbers (arrays and traces left out), as Python floats."""
    out = {}
    for name, value in metrics.items():
        if name in PROVENANCE:
            continue
        if isinstance(value, (bool, int, float, np.integer, np.floating, np.bool_)):
            out[name] = float(value)
        elif isinstance(value, np.ndarray) and value.ndim == 0:
            out[name] = float(value)
    return out


def _where() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"local:{os.getpid()}"


def run_point(scene: str, fixed: dict, point: dict, prepare=None) -> dict:
    """One row: ``point``'s knob values and seed, then the scalar metrics of a fresh scene's measured run
    with ``fixed`` and ``point``, or the error that stopped it (as its message; metrics then absent).
    ``prepare(scene)``, if given, is called on the fresh scene first (a serial sweep inside an app run hands
    it the run's cancel flag and turn-taking); a cancel stops the sweep rather than giving a row."""
    start = time.perf_counter()
    row = dict(point)
    try:
        fresh = scene_class(scene)(**fixed, **point)
        if prepare is not None:
            prepare(fresh)
        result = fresh.measure()
        row.update(scalar_metrics(result.metrics))
        row[ERROR] = None
    except Cancelled:
        raise
    except SceneError as error:  # divergence, budget, a bad combination: said in the user's terms
        row[ERROR] = str(error)
    except Exception as error:  # anything else stops this point only, not the sweep
        row[ERROR] = f"{type(error).__name__}: {error}"
    row["run_seconds"] = time.perf_counter() - start
    row["worker"] = _where()
    return row


def run_points(scene: str, fixed: dict, points: list) -> list[dict]:
    """The rows of several points, in order: one task's work (a task amortises its start over its runs)."""
    return [run_point(scene, fixed, point) for point in points]


def tidy(spec: SweepSpec, rows: list[dict]) -> pd.DataFrame:
    """The rows as a table in grid order: knobs, seed, metrics (in order of first appearance), error, and
    the provenance columns last."""
    order = {tuple(p[k] for k in (*spec.knobs, "seed")): i for i, p in enumerate(spec.points())}
    rows = sorted(rows, key=lambda r: order[tuple(r[k] for k in (*spec.knobs, "seed"))])
    head = [*spec.knobs, "seed"]
    metrics = list(dict.fromkeys(k for r in rows for k in r if k not in (*head, ERROR, *PROVENANCE)))
    table = pd.DataFrame(rows, columns=[*head, *metrics, ERROR, *PROVENANCE])
    table[ERROR] = table[ERROR].astype(object).where(table[ERROR].notna(), None)
    return table.reset_index(drop=True)


@dataclass
class Progress:
    """How far a sweep has got: runs done (failed ones included) of the total, and the table so far, built
    from the rows when first read (a sweep inside a live run reports after every point and nobody reads most
    of its tables: building each took a fifth of the ODE/SDE convergence sweep's time)."""

    done: int
    total: int
    failed: int
    spec: SweepSpec = field(repr=False)
    rows: list = field(repr=False)
    cancelled: bool = False

    @cached_property
    def table(self) -> pd.DataFrame:
        return tidy(self.spec, self.rows)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


class SweepJob:
    """A running sweep: iterate it for :class:`Progress` as runs finish; ``cancel()`` (from any thread) stops
    what is queued; ``table()`` is what has come back. This base runs the points one after another here,
    each fresh scene given to ``prepare`` first (:func:`run_point`)."""

    def __init__(self, spec: SweepSpec, prepare=None):
        self.spec = spec
        self.prepare = prepare
        self.rows: list[dict] = []
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def table(self) -> pd.DataFrame:
        return tidy(self.spec, self.rows)

    def progress(self) -> Progress:
        failed = sum(r[ERROR] is not None for r in self.rows)
        return Progress(len(self.rows), len(self.spec), failed, self.spec, list(self.rows), self.cancelled)

    def __iter__(self):
        for point in self.spec.points():
            if self.cancelled:
                break
            self.rows.append(run_point(self.spec.scene, self.spec.fixed, point, self.prepare))
            yield self.progress()

    def run(self) -> pd.DataFrame:
        """Run to the end (or the cancel) and give the table."""
        for _ in self:
            pass
        return self.table()


def start(spec: SweepSpec, client=None, runs_per_task: int | None = None, prepare=None) -> SweepJob:
    """A job for ``spec``: serial in this process without a client (each fresh scene given to ``prepare``),
    else on the client's cluster."""
    if client is None:
        return SweepJob(spec, prepare)
    from scenes.sweep_dask import DaskSweepJob

    return DaskSweepJob(spec, client, runs_per_task)


def sweep(scene, grid: dict, seeds=1, fixed: dict | None = None, client=None, prepare=None) -> pd.DataFrame:
    """The whole table of a sweep (see :func:`make_spec` for the arguments), serial (``prepare``: see
    :func:`run_point`) or on ``client``."""
    return start(make_spec(scene, grid, seeds, fixed), client, prepare=prepare).run()
