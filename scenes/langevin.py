"""Langevin on 2D mixtures: particles sampling a target with ULA, MALA, kinetic Langevin, HMC, …

The model only: parameters, ``run()`` (numbers) and the diagnostics. Views live in
:mod:`scenes.langevin_views`.
"""
from __future__ import annotations

import time
from functools import lru_cache

import numpy as np
import param

from kernels.backend import BACKENDS, resolve_backend
from kernels.metrics import (autocorrelation, effective_sample_size, histogram_divergences, mode_occupancy,
                             reference_projections, sliced_w2, stuck_fraction)
from kernels.samplers import SAMPLERS, simulate
from kernels.samplers.registry import step_cost
from kernels.samplers.driver import INIT_BOX, INIT_GAUSSIAN, INIT_POINT
from kernels.samplers.layout import N_PARAMS
from kernels.samplers.tempering import MAX_REPLICAS
from kernels.formula import FormulaError
from kernels.targets import TARGETS, custom_target, get_target
from scenes.drawing import DRAWN, drawing_knob, resolve_drawing, width_knob
from scenes.applicable import when
from scenes.base import DivergenceError, Result, Scene, SceneError

SVGD_MAX_PARTICLES = 20_000  # SVGD costs n² kernel evaluations per step
INITS = {"point": INIT_POINT, "box": INIT_BOX, "gaussian": INIT_GAUSSIAN}
RUNS = ("sampler", "compare_sampler")  # the selectors of the samplers a run runs


class LangevinScene(Scene):
    """Particles sampling π ∝ exp(−U/T) on a 2D target, with live bias diagnostics."""

    title = "Langevin on 2D mixtures"
    stage_panels = (("cloud", "compare", "trajectories"),)
    equation = r"x_{k+1} = x_k - h\,\nabla U(x_k) + \sqrt{2hT}\,\xi_k,\qquad \pi \propto e^{-U/T}"
    log_params = ("step_size", "temperature", "friction")

    target = param.Selector(default="ring8", objects=[*TARGETS, "custom", DRAWN],
                            doc="Target density π ∝ exp(−U); 'custom' uses the formula below, 'drawn' the canvas")
    drawing = drawing_knob()
    draw_width = width_knob()
    formula = param.String(default="(x**2 + y**2 - 1)**2 / 0.1",
                           doc="Custom potential U(x, y): numbers, x, y, + - * / **, exp log sqrt sin cos tanh "
                               "abs min max (parsed, never run as Python)")
    box_half_width = param.Number(default=2.0, bounds=(0.5, 50.0), softbounds=(1.0, 10.0),
                                  doc="Custom target: the plotted box is [−w, w]²")
    sampler = param.Selector(default="ula", objects=list(SAMPLERS), doc="Sampling algorithm")
    compare_sampler = param.Selector(default="none", objects=["none", *SAMPLERS],
                                     doc="A second sampler run with the same seed (same noise), side by side")
    step_size = param.Number(default=0.05, bounds=(1e-5, 10.0), softbounds=(1e-3, 2.0),
                             doc="Step size h (time step for BAOAB and the HMC leapfrog)")
    temperature = param.Number(default=1.0, bounds=(0.01, 100.0), softbounds=(0.1, 10.0),
                               doc="Temperature T: the chain targets exp(−U/T)")
    friction = param.Number(default=1.0, bounds=(1e-3, 1000.0), softbounds=(0.01, 50.0),
                            doc="Friction γ of kinetic Langevin (BAOAB)")
    leapfrog_steps = param.Integer(default=10, bounds=(1, 500), softbounds=(1, 50),
                                   doc="Leapfrog steps L per HMC proposal")
    sigma_max = param.Number(default=5.0, bounds=(1e-3, 100.0), softbounds=(0.5, 20.0),
                             doc="Annealed Langevin: the first (widest) noise level")
    sigma_min = param.Number(default=0.01, bounds=(1e-4, 10.0), softbounds=(1e-3, 1.0),
                             doc="Annealed Langevin: the last (narrowest) noise level")
    replicas = param.Integer(default=4, bounds=(2, MAX_REPLICAS), doc="Parallel tempering: replicas per chain")
    ladder = param.Number(default=2.5, bounds=(1.01, 20.0), softbounds=(1.1, 6.0),
                          doc="Parallel tempering: ratio between neighbouring temperatures")
    n_particles = param.Integer(default=2000, bounds=(1, 50_000_000), softbounds=(100, 20_000),
                                doc="Number of particles (independent chains)")
    n_steps = param.Integer(default=500, bounds=(1, 10_000_000), softbounds=(10, 5000),
                            doc="Steps per particle")
    n_frames = param.Integer(default=60, bounds=(2, 5000), softbounds=(2, 200),
                             doc="Frames kept for the player (memory is n_frames × n_particles)")
    init = param.Selector(default="point", objects=list(INITS),
                          doc="Start: all at one point, uniform in the box, or a Gaussian blob")
    init_x = param.Number(default=0.0, bounds=(-100.0, 100.0), softbounds=(-8.0, 8.0), doc="Start point x")
    init_y = param.Number(default=0.0, bounds=(-100.0, 100.0), softbounds=(-8.0, 8.0), doc="Start point y")
    init_scale = param.Number(default=1.0, bounds=(1e-3, 100.0), softbounds=(0.05, 5.0),
                              doc="Standard deviation of the Gaussian start")
    backend = param.Selector(default="auto", objects=list(BACKENDS), doc="Compute target (auto: CUDA if present)")

    # the knobs only some choices read (scenes.applicable): each sampler's own knobs (kernels.samplers: the
    # parameter vector's entries its step reads), the custom target's, and the start's
    applies_when = {
        "formula": when("target", "custom"),
        "box_half_width": when("target", "custom"),
        "drawing": when("target", DRAWN),
        "draw_width": when("target", DRAWN),
        "friction": when(RUNS, "baoab"),
        "leapfrog_steps": when(RUNS, "hmc"),
        "sigma_max": when(RUNS, "annealed"),
        "sigma_min": when(RUNS, "annealed"),
        "replicas": when(RUNS, "tempering"),
        "ladder": when(RUNS, "tempering"),
        "init_x": when("init", "point", "gaussian"),
        "init_y": when("init", "point", "gaussian"),
        "init_scale": when("init", "gaussian"),
    }

    drawing_knobs = ("drawing",)

    @property
    def run_params(self) -> tuple:
        return tuple(p for p in self.param if p != "name")

    # -- running -------------------------------------------------------------------------------------
    def sampler_params(self) -> np.ndarray:
        """The kernel's parameter vector (order in kernels.samplers.layout)."""
        out = np.array([self.step_size, self.temperature, self.friction, self.leapfrog_steps,
                        self.sigma_max, self.sigma_min, self.replicas, self.ladder])
        assert out.shape == (N_PARAMS,)
        return out

    def frame_steps(self) -> np.ndarray:
        return np.unique(np.round(np.linspace(0, self.n_steps, min(self.n_frames, self.n_steps + 1))).astype(np.int64))

    def _init_spec(self, target) -> np.ndarray:
        if self.init == "box":
            return np.array(target.box, dtype=float)
        return np.array([self.init_x, self.init_y, self.init_scale, 0.0])

    def resolve_target(self):
        """The Target object: a named one, the drawn mixture, or the custom formula compiled (cached per text
        and box)."""
        if self.target == DRAWN:
            return resolve_drawing(self.drawing, self.draw_width)
        if self.target != "custom":
            return get_target(self.target)
        try:
            return _custom_target(self.formula, float(self.box_half_width))
        except FormulaError as error:
            raise SceneError(f"custom formula: {error}") from None

    def check(self, sampler: str, target) -> None:
        """Refuse combinations that cannot run, before any work is done."""
        if SAMPLERS[sampler].mixture_only and not target.is_mixture:
            raise SceneError(f"{sampler!r} needs the exact score of a Gaussian mixture; "
                             f"target {target.name!r} is not one (try ring8, grid25, asym2, gauss, correlated)")
        if sampler == "svgd" and self.n_particles > SVGD_MAX_PARTICLES:
            raise SceneError(f"SVGD costs n² per step: {self.n_particles:,} particles is over its limit of "
                             f"{SVGD_MAX_PARTICLES:,}")
        if "sigma_min" in self.applicable_knobs() and self.sigma_min >= self.sigma_max:  # a hidden knob stops no run
            raise SceneError(f"sigma_min ({self.sigma_min}) must be below sigma_max ({self.sigma_max})")
        frames = len(self.frame_steps())
        copies = 2 if self.compare_sampler != "none" else 1
        self.check_budget(copies * frames, self.n_particles, 2, itemsize=4 * 3, what="frames (paths + acceptance)")
        runs = [self.sampler] + ([self.compare_sampler] if self.compare_sampler != "none" else [])
        params = self.sampler_params()
        work = sum(step_cost(name, params, target, self.n_particles) for name in runs)
        self.check_work(work * self.n_particles * self.n_steps, "n_particles or n_steps" +
                        (", or choose a cheaper sampler" if work > len(runs) * 2 else ""))

    def simulate(self, sampler: str):
        """(paths, accepts, died_at) for ``sampler`` with the current parameters and seed."""
        target = self.resolve_target()
        self.check(sampler, target)
        try:
            backend = resolve_backend(self.backend)
        except ValueError as error:
            raise SceneError(str(error)) from None
        return simulate(sampler, target, self.n_particles, self.n_steps, self.frame_steps(), self.seed,
                        self.sampler_params(), INITS[self.init], self._init_spec(target), backend,
                        between=self.between_slices)

    def stages(self):
        """The particles first (the cloud, compare and trajectory panels draw them), then the diagnostics:
        the diagnostics of 60 frames took two thirds of a default run."""
        start = time.perf_counter()
        result = self._simulated(self.sampler)
        if self.compare_sampler != "none":
            result.extras["compare"] = self._simulated(self.compare_sampler)
        result.metrics["run_seconds"] = time.perf_counter() - start
        lost = [r for r in (result, result.extras.get("compare")) if r is not None and r.extras["lost"] > 0]
        if lost:
            raise DivergenceError(self._divergence_message(lost[0]), result)
        yield result
        compare = result.extras.get("compare")
        complete = result.completed(self._diagnostics(result),
                                    **({"compare": compare.completed(self._diagnostics(compare))} if compare else {}))
        complete.metrics["run_seconds"] = time.perf_counter() - start
        yield complete

    def _simulated(self, sampler: str) -> Result:
        """The sampler's frames, without diagnostics (a partial Result)."""
        paths, accepts, died_at = self.simulate(sampler)
        dead = died_at >= 0
        extras = {"sampler": sampler, "target": self.resolve_target(), "lost": float(dead.mean()),
                  "first_divergence_step": int(died_at[dead].min()) if dead.any() else -1, "accepts": accepts}
        return Result(paths=paths, times=self.frame_steps().astype(float), metrics={}, extras=extras,
                      parameters={**self.values(), "sampler": sampler}, complete=False)

    def _diagnostics(self, result: Result) -> dict:
        sampler = result.extras["sampler"]
        return diagnostics(result.paths, result.extras["accepts"], result.times.astype(np.int64),
                           result.extras["target"], SAMPLERS[sampler].has_acceptance, self.seed,
                           between_frames=lambda: self.check_cancelled("the diagnostics"))

    def _divergence_message(self, result: Result) -> str:
        e = result.extras
        return (f"{e['sampler']} diverged: {100 * e['lost']:.1f}% of particles became non-finite (NaN/Inf), "
                f"the first at step {e['first_divergence_step']} of {self.n_steps}. "
                f"step_size {self.step_size:g} is too large for target {self.target!r}: lower it.")

    # -- sweeps ------------------------------------------------------------------------------------
    def sweep(self, step_sizes=None, samplers=("ula", "mala"), metric: str = "sliced_w2") -> dict:
        """Final ``metric`` against step size on a log grid for each sampler (same seed for all): a view of
        :func:`scenes.sweep.sweep` at this scene's knobs, with NaN where a run failed (diverged).

        ULA's stationary bias grows like h; MALA's Metropolis correction removes it.
        """
        from scenes.sweep import sweep

        step_sizes = np.geomspace(1e-3, 0.5, 8) if step_sizes is None else np.asarray(step_sizes, float)
        fixed = {k: v for k, v in self.values().items() if k not in ("seed", "sampler", "step_size")}
        table = sweep(self, {"sampler": list(samplers), "step_size": step_sizes.tolist()}, seeds=[self.seed],
                      fixed={**fixed, "compare_sampler": "none"})
        out = {"step_size": step_sizes}
        for sampler in samplers:
            rows = table[table["sampler"] == sampler]
            out[sampler] = rows[metric].to_numpy(float) if metric in rows else np.full(len(step_sizes), np.nan)
        return out

    # -- views -------------------------------------------------------------------------------------
    def panels(self):
        from scenes.langevin_views import panels

        return panels(self)

    def panels_shown(self, result: Result) -> set[str]:
        """Every panel but "compare" when no compare sampler ran."""
        return super().panels_shown(result) - (set() if "compare" in result.extras else {"compare"})

    def view(self, result: Result):
        from scenes.langevin_views import layout

        return layout(self, result)


@lru_cache(maxsize=32)
def _custom_target(formula: str, half_width: float):
    return custom_target(formula, half_width)


def diagnostics(paths, accepts, frame_steps, target, has_acceptance: bool, seed: int,
                between_frames=lambda: None) -> dict:
    """Final values and traces over frames of KL, TV, sliced W₂, mode weights, acceptance, the fraction of
    particles stuck (no accepted move in the last quarter of the steps: :func:`kernels.metrics.stuck_fraction`),
    and ESS and
    autocorrelation of x over the second half of the frames (lags in frames).

    ``*_reference`` gives each metric for as many exact draws from the target as there are particles:
    the value a perfect sampler would show at this particle count (the histogram's own noise floor).
    ``between_frames()`` is called before each frame (the app's cancel check: a knob dragged on makes these
    diagnostics stale, and they cost several times the particles' run).
    """
    n = paths.shape[1]
    reference = reference_projections(target)
    exact = target.sample(n, seed=seed + 2)
    kl_trace, tv_trace, w2_trace = [], [], []
    for frame in paths:
        between_frames()
        kl, tv = histogram_divergences(frame.astype(np.float64), target)
        kl_trace.append(kl)
        tv_trace.append(tv)
        w2_trace.append(sliced_w2(frame, reference, presorted=True))  # the float32 frame, sorted as such
    kl_ref, tv_ref = histogram_divergences(exact, target)
    metrics = {
        "kl": kl_trace[-1], "tv": tv_trace[-1], "sliced_w2": w2_trace[-1],
        "kl_trace": np.array(kl_trace), "tv_trace": np.array(tv_trace), "sliced_w2_trace": np.array(w2_trace),
        "kl_reference": kl_ref, "tv_reference": tv_ref, "sliced_w2_reference": sliced_w2(exact, reference, presorted=True),
    }
    if target.n_modes:
        metrics["mode_weights"] = mode_occupancy(paths[-1].astype(np.float64), target)
        metrics["mode_weights_true"] = target.mode_weights
    if has_acceptance and frame_steps[-1] > 0:
        steps = np.diff(frame_steps).astype(float)
        rates = np.diff(np.nanmean(accepts, axis=1)) / np.maximum(steps, 1)
        metrics["acceptance_trace"] = np.concatenate([[np.nan], rates])
        metrics["acceptance_rate"] = float(np.nanmean(accepts[-1]) / frame_steps[-1])
        # chains that accept nothing late in the run (started in a steep tail, say) are not sampling
        metrics["stuck_fraction"] = stuck_fraction(accepts, frame_steps)
    second_half = paths[len(paths) // 2:, :, 0].astype(np.float64)
    alive = np.isfinite(second_half).all(axis=0)
    if len(second_half) >= 4 and alive.any():
        metrics["ess"] = effective_sample_size(second_half[:, alive])
        metrics["autocorrelation"] = autocorrelation(second_half[:, alive], min(20, len(second_half) - 1))
    return metrics
