"""The scene contract (DESIGN §3): a param.Parameterized model whose ``run()`` gives numbers and whose
``view(result)`` gives HoloViews plots. No Panel here."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Iterator

import numpy as np
import param

from kernels.backend import resolve_backend
from kernels.chunks import work_per_second
from kernels.compile_clock import compile_seconds, compiling_for  # noqa: F401 (compiling_for: for the app)
from scenes.applicable import applicable, choice_knobs

MEMORY_BUDGET_MB = 512.0  # largest paths array one run may hold
# a run the estimate let through is stopped once it has computed for this many times its budget (the
# estimates are good to about a factor of two; Sinkhorn's iteration count is only known as it goes)
OVERRUN_FACTOR = 3.0


class SceneError(ValueError):
    """A run that cannot be done as asked: the message says what and why, in the user's terms."""


class BudgetError(SceneError):
    """A run whose arrays would exceed the memory budget."""


class DivergenceError(SceneError):
    """Particles left the finite numbers: says at which step and what fraction was lost.

    ``result`` holds what was computed (the surviving particles), for a caller that wants it anyway.
    """

    def __init__(self, message: str, result: "Result | None" = None):
        super().__init__(message)
        self.result = result


@dataclass
class Result:
    """What ``run()`` returns: frames of positions, their times, and metrics (floats or 1-D arrays)."""

    paths: np.ndarray          # (n_frames, n_particles, dim) float32
    times: np.ndarray          # (n_frames,)
    metrics: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    complete: bool = True      # False: a partial stage of ``Scene.stages()``, drawn on its stage's panels
    stage: int = 0             # a partial result's place in its scene's ``stage_panels``

    def completed(self, metrics: dict | None = None, **extras) -> "Result":
        """A new, complete Result with this one's numbers plus ``metrics`` and ``extras`` (the stage that
        follows a partial one; the partial one is left as it was, since it may be being drawn)."""
        return replace(self, metrics={**self.metrics, **(metrics or {})}, extras={**self.extras, **extras},
                       complete=True)

    def next_stage(self) -> "Result":
        """The same numbers as the next partial stage: drawn on the scene's next ``stage_panels`` once this
        stage is on screen (the app computes and draws stages one after another, explorer.live)."""
        return replace(self, complete=False, stage=self.stage + 1)


class Cancelled(SceneError):
    """A run stopped early because it was cancelled (a newer request, or the user's Cancel)."""


class Scene(param.Parameterized):
    """Base of every scene. A subclass declares its knobs as params with bounds, softbounds and docs,
    and defines ``run() -> Result`` (pure in the parameters and seed), ``view(result)`` (a HoloViews
    layout) and ``panels()`` (``[(title, callable(result, frame))]``, the app's live plots)."""

    seed = param.Integer(default=0, bounds=(0, 2**31 - 1), doc="Random seed: same seed, same numbers")

    title = "scene"
    equation = ""  # LaTeX shown next to the knobs
    # The panels each partial stage of ``stages()`` draws, in order (``Result.stage`` indexes it; the particles'
    # panels first); the complete result is drawn on the panels that do not show its run yet
    stage_panels: tuple = ()
    # knob → the condition(s) (scenes.applicable.when; all must hold) under which the run or the views read it;
    # a knob not named here always applies
    applies_when: dict = {}

    def __init__(self, **params):
        super().__init__(**params)
        # set by the app around a run: progress(fraction in [0, 1]), an Event-like cancel flag, take_turn()
        # (between slices: let a waiting session's run go first, explorer.live) and the seconds a run may
        # compute (None: no limit, as in the CLI and Python use)
        self.progress = None
        self.cancel = None
        self.take_turn = None
        self.max_run_seconds: float | None = None
        # the run in progress: [its start, moved on by the time it waited for a turn; compile_seconds() then]
        self._computing_since = None

    def app(self):
        """This scene's live app (explorer.notebook.app): the served page's widgets, plots, live recompute and
        downloads as a Panel layout that displays inline in Jupyter, or in a browser tab with ``.show()``.
        Imported here, when called, so that importing scenes never imports Panel (DESIGN §2)."""
        from explorer.notebook import app

        return app(self)

    def panels_shown(self, result: Result) -> set[str]:
        """The titles of the panels that have something to show for ``result`` (all of them by default): the
        app hides the others (and does not draw them) and export leaves them out. The same for every stage of
        a run."""
        return {title for title, _ in self.panels()}

    def run(self) -> Result:
        """The complete result: the last of :meth:`stages`."""
        result = None
        for result in self.stages():
            pass
        return result

    def measure(self) -> Result:
        """The Result whose scalar metrics a sweep records (scenes.sweep): the complete run by default; a
        scene whose complete run adds work that no scalar metric needs overrides this."""
        return self.run()

    def stages(self) -> Iterator[Result]:
        """The run, progressively (DESIGN §5): first a partial Result (``complete=False``, ``stage`` 0) holding
        what the first of ``stage_panels`` draw, as soon as the particles are computed; then maybe more
        partial stages (``Result.next_stage``) for the next panels; then the complete one, with the
        diagnostics and sweeps. Every stage is pure in the parameters, like the run. A scene overrides
        this or :meth:`run` (then there is one stage)."""
        if type(self).run is Scene.run:
            raise NotImplementedError(f"{type(self).__name__} defines neither run() nor stages()")
        yield self.run()

    def start_clock(self) -> None:
        """A run starts: from here :meth:`between_slices` counts the seconds it computes (not those spent
        waiting for a turn on the cores, nor compiling kernels: kernels.compile_clock)."""
        self._computing_since = [time.perf_counter(), compile_seconds()]

    def between_slices(self) -> None:
        """Called by the kernels between two slices of a time loop (kernels.chunks) and between Sinkhorn
        sweeps: stop if asked (a newer request, a closed session, Cancel), stop a run that has computed for
        OVERRUN_FACTOR × ``max_run_seconds``, then let a waiting session's run take its turn."""
        self.check_cancelled()
        clock = self._computing_since
        if self.max_run_seconds is not None and clock is not None:
            computed = time.perf_counter() - clock[0] - (compile_seconds() - clock[1])
            if computed > OVERRUN_FACTOR * self.max_run_seconds:
                raise BudgetError(f"the run was stopped after {computed:.1f} s of computing, over {OVERRUN_FACTOR:g} × "
                                  f"the {self.max_run_seconds:g} s a live run may take: make it smaller")
        if self.take_turn is not None:
            waited = time.perf_counter()
            self.take_turn()
            if clock is not None:
                clock[0] += time.perf_counter() - waited

    def check_work(self, work: float, knobs: str) -> None:
        """Refuse a run estimated at ``work`` units (kernels.chunks: ULA particle-steps on ring8) when it would
        take over ``max_run_seconds``, giving the estimate and naming the ``knobs`` that lower it."""
        backend = self._estimated_backend()
        seconds = work / work_per_second(backend)
        if self.max_run_seconds is not None and seconds > self.max_run_seconds:
            on_gpu = work / work_per_second("cuda")
            gpu = (f" (a CUDA GPU would take about {_duration(on_gpu)})"
                   if backend == "cpu" and on_gpu <= self.max_run_seconds else "")
            raise BudgetError(f"this run would compute for about {_duration(seconds)} (the work of {work:.1e} ULA "
                              f"particle-steps), over the {self.max_run_seconds:g} s a live run may take: lower "
                              f"{knobs}{gpu}")

    def _estimated_backend(self) -> str:
        """The backend a run will take ("cpu" where the scene has no backend knob, or asks for a CUDA it
        cannot have: that run is refused with its own message)."""
        try:
            return resolve_backend(getattr(self, "backend", "cpu"))
        except ValueError:
            return "cpu"

    def report_progress(self, fraction: float) -> None:
        """Tell the app how far long work (training, a sweep) has got; a no-op outside the app."""
        if self.progress is not None:
            self.progress(float(fraction))

    def check_cancelled(self, what: str = "the run") -> None:
        """Raise Cancelled if the app asked this run to stop."""
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled(f"{what} was cancelled")

    def applicable_knobs(self, **choices) -> list[str]:
        """The knobs (params but ``name``) that the current choices read, with ``choices`` in place of the
        knobs they name, in the params' order: the app shows these and hides the others (their values kept,
        scenes.applicable)."""
        return applicable([p for p in self.param if p != "name"], self.applies_when,
                          {**self.param.values(), **choices})

    @classmethod
    def choice_knobs(cls) -> tuple:
        """The knobs whose values decide which knobs apply (the selectors ``applies_when`` reads)."""
        return choice_knobs(cls.applies_when)

    def values(self) -> dict:
        """The parameter values (without ``name``), as plain Python numbers and strings."""
        out = {}
        for name, value in self.param.values().items():
            if name == "name":
                continue
            out[name] = value.item() if isinstance(value, np.generic) else value
        return out

    def update(self, **values) -> None:
        """Set parameters by name, refusing unknown names and out-of-bounds values with a clear message."""
        unknown = sorted(set(values) - set(self.param) - {"name"})
        if unknown:
            raise SceneError(f"unknown parameter(s) for {self.title}: {', '.join(unknown)}; "
                             f"known: {', '.join(p for p in self.param if p != 'name')}")
        try:
            self.param.update(**values)
        except ValueError as error:  # param's own message names the parameter and its bound
            raise SceneError(str(error)) from None

    def check_budget(self, *shape: int, itemsize: int = 4, what: str = "paths") -> None:
        """Refuse a run whose array of ``shape`` would exceed the memory budget, saying its size."""
        size_mb = float(np.prod(shape, dtype=float)) * itemsize / 2**20
        if size_mb > MEMORY_BUDGET_MB:
            raise BudgetError(f"{what} would take {size_mb:,.0f} MB ({' × '.join(map(str, shape))}), over the "
                              f"{MEMORY_BUDGET_MB:.0f} MB budget: lower n_particles or n_frames")


def _duration(seconds: float) -> str:
    """Seconds in the unit a person reads best: "0.6 s", "40 s", "12 min", "35 h"."""
    if seconds < 10:
        return f"{seconds:.1g} s" if seconds < 1 else f"{seconds:.0f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:,.0f} h"
