"""ODE vs SDE paths: the probability-flow ODE and the reverse SDE of one diffusion (or stochastic
interpolant) on a 2D Gaussian mixture, from the same starts and the same noise, with the exact score,
a perturbed one, or one learned from exact target draws by denoising score matching
(:mod:`kernels.diffusion.learned`; trained once per target and training settings, then cached, so the
sampler, nfe and noise knobs reuse it).

The model only: parameters, ``run()`` and ``sweep()``. Views live in :mod:`scenes.ode_sde_views`.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import replace
from functools import lru_cache

import numpy as np
import param

from kernels.backend import BACKENDS, resolve_backend
from kernels.diffusion.driver import sample_paths, start_points, step_cost, takes_block_path
from kernels.diffusion.grids import AUTO, SCHEDULES, T, build_grid, t_max_of
from kernels.diffusion.learned import LearnedDenoiser, cached_denoiser
from kernels.diffusion.mlp_eval import MAX_WIDTH
from kernels.diffusion.processes import PROCESSES
from kernels.diffusion.samplers import N_PARAMS, SAMPLERS, SPECS, STOCHASTIC, steps_for
from kernels.diffusion.score import SCORES
from kernels.metrics import (
    REFERENCE_SAMPLES,
    histogram_divergences,
    mode_occupancy,
    sliced_w2,
    reference_projections,
)
from kernels.targets import TARGETS, get_target
from scenes.drawing import DRAWN, drawing_knob, target_of, width_knob
from scenes.applicable import when
from scenes.base import DivergenceError, Result, Scene, SceneError

MIXTURES = [name for name, target in TARGETS.items() if target.is_mixture]
SWEEP_NFES = (4, 8, 16, 32, 64)
SWEEP_PARTICLES = 600
SWEEP_COMPARE = "euler"  # the sweep points' compare run: the cheapest solver's (the chart does not read it)
SWEEP_METRICS = ("sliced_w2", "kl", "mode_error", "ode_error", "variance_error")
REFERENCE_NFE = 1000  # the converged PF-ODE solution: DPM-Solver++ 2M on 1000 log-SNR steps
TRAINING_STREAM = 2  # the training draws' seed is [seed, TRAINING_STREAM]: apart from the starts and the reference


class OdeSdeScene(Scene):
    """Noise → data with the PF-ODE (``compare_sampler``, noise 0) beside ``sampler`` at ``noise``."""

    title = "ODE vs SDE paths"
    # the two runs' paths alone first (6 panels at once took 160–320 ms to build before anything was sent)
    stage_panels = (("ODE paths", "SDE paths"), ("density", "drift", "marginal", "modes"))
    equation = r"dx = [v_t - \varepsilon_t \nabla\log p_t]\,dt + \sqrt{2\varepsilon_t}\,d\bar W"
    log_params = ("t_min",)

    target = param.Selector(default="ring8", objects=[*MIXTURES, DRAWN],
                            doc="Gaussian-mixture data distribution (exact score); 'drawn': the one drawn on the canvas")
    drawing = drawing_knob("data distribution")
    draw_width = width_knob()
    process = param.Selector(default="vp", objects=list(PROCESSES),
                             doc="Noising path x_t = a_t x₀ + s_t z: vp, ve, linear (rectified flow), trig, "
                                 "or the stochastic interpolant (γ² = a·t(1−t))")
    sampler = param.Selector(default="em", objects=list(SAMPLERS),
                             doc="The stochastic run (right panel), with the noise knob")
    compare_sampler = param.Selector(default="euler", objects=list(SAMPLERS),
                                     doc="The deterministic run (left panel), always with noise 0")
    nfe = param.Integer(default=100, bounds=(1, 5000), softbounds=(2, 500),
                        doc="Budget of score (denoiser) evaluations per particle")
    noise = param.Number(default=1.0, bounds=(0.0, 100.0), softbounds=(0.0, 3.0),
                         doc="ε: em/pc take ε_t = noise·½g² (1 = the reverse SDE; for the interpolant ε itself); "
                             "η for ddim and dpmpp2m_sde; S_churn for heun; 0 = the ODE")
    snr = param.Number(default=0.16, bounds=(0.0, 10.0), softbounds=(0.0, 1.0),
                       doc="Predictor–corrector: signal-to-noise ratio of the Langevin corrector")
    score = param.Selector(default="exact", objects=list(SCORES),
                           doc="exact; perturbed: exact plus a smooth bounded error of amplitude δ; learned: a "
                               "network trained on exact target draws (denoising score matching)")
    delta = param.Number(default=1.0, bounds=(0.0, 50.0), softbounds=(0.0, 5.0),
                         doc="δ: amplitude of the perturbed score's error")
    training_steps = param.Integer(default=2000, bounds=(10, 50_000), softbounds=(100, 10_000),
                                   doc="Learned score: Adam steps (the trained network is cached per target and "
                                       "training settings)")
    hidden_width = param.Integer(default=64, bounds=(4, MAX_WIDTH), softbounds=(8, MAX_WIDTH),
                                 doc="Learned score: units in each of the network's two hidden layers")
    training_samples = param.Integer(default=20_000, bounds=(100, 1_000_000), softbounds=(500, 100_000),
                                     doc="Learned score: exact target draws it is trained on")
    schedule = param.Selector(default=AUTO, objects=[AUTO, *SCHEDULES],
                              doc="Time grid: auto (the grid that suits each sampler), uniform in t, EDM ρ = 7 "
                                  "in σ, or uniform in log-SNR")
    denoise = param.Boolean(default=True, doc="End the grid with a step to σ = 0, the denoiser's output "
                                              "(as k-diffusion appends to every grid)")
    t_min = param.Number(default=1e-3, bounds=(1e-5, 0.5), softbounds=(1e-4, 0.1),
                         doc="Last time of the grid (t = 0 is the data)")
    interpolant_a = param.Number(default=1.0, bounds=(0.0, 10.0), softbounds=(0.0, 4.0),
                                 doc="a of the interpolant's γ(t) = √(a·t(1−t))")
    shared_path = param.Boolean(default=True, doc="Same Brownian path at any step count (sums of a fine grid)")
    n_particles = param.Integer(default=2000, bounds=(1, 20_000_000), softbounds=(100, 20_000),
                                doc="Number of particles")
    n_frames = param.Integer(default=40, bounds=(2, 2000), softbounds=(2, 200),
                             doc="Frames kept for the player (memory is n_frames × n_particles)")
    sweep_samplers = param.ListSelector(default=["euler", "heun", "dpmpp2m", "em"], objects=list(SAMPLERS),
                                        doc="Samplers drawn in the quality-against-NFE chart")
    sweep_metric = param.Selector(default="sliced_w2", objects=list(SWEEP_METRICS),
                                  doc="Quality measure of the NFE chart")
    backend = param.Selector(default="auto", objects=list(BACKENDS), doc="Compute target (auto: CUDA if present)")

    # the knobs only some choices read (scenes.applicable). The quality-against-NFE chart runs the sweep's
    # samplers at the noise knob, so the noise is read while one of them (or the SDE run's) is stochastic;
    # the compare run is at noise 0, but pc's Langevin corrector reads snr at any noise
    applies_when = {
        "noise": when(("sampler", "sweep_samplers"), *STOCHASTIC),
        "shared_path": when(("sampler", "sweep_samplers"), *STOCHASTIC),
        "snr": when(("sampler", "compare_sampler", "sweep_samplers"), "pc"),
        "delta": when("score", "perturbed"),
        "training_steps": when("score", "learned"),
        "hidden_width": when("score", "learned"),
        "training_samples": when("score", "learned"),
        "interpolant_a": when("process", "interpolant"),
        "drawing": when("target", DRAWN),
        "draw_width": when("target", DRAWN),
    }
    drawing_knobs = ("drawing",)

    @property
    def run_params(self) -> tuple:
        return tuple(p for p in self.param if p != "name")

    # -- running -------------------------------------------------------------------------------------
    def data_target(self):
        """The data distribution: the named mixture, or the drawn one."""
        return target_of(self.param.values())

    def kernel_params(self, sampler: str, n_steps: int, noise: float) -> np.ndarray:
        churn = min(noise / n_steps, math.sqrt(2.0) - 1.0) if sampler == "heun" else 0.0
        out = np.array([noise, self.snr, self.delta, SCORES[self.score], float(self.shared_path), churn])
        assert out.shape == (N_PARAMS,)
        return out

    def grid(self, sampler: str, noise: float) -> np.ndarray:
        process = PROCESSES[self.process]
        t_max = t_max_of(process, self.interpolant_a)
        if not self.t_min < t_max:
            raise SceneError(f"t_min = {self.t_min:g} must be below t_max = {t_max:.4g} for process {self.process!r}")
        schedule = SPECS[sampler].schedule if self.schedule == AUTO else self.schedule
        return build_grid(process, schedule, steps_for(sampler, self.nfe, self.denoise), self.t_min,
                          self.interpolant_a, noise_read(sampler, noise), denoise=self.denoise)

    def learned(self) -> LearnedDenoiser | None:
        """The learned denoiser for the current target and training settings (trained now with progress and
        cancel, or taken from the cache), or None when the score is not learned."""
        if self.score != "learned":
            return None
        samples = self.data_target().sample(self.training_samples, seed=[self.seed, TRAINING_STREAM])
        return cached_denoiser(samples, steps=self.training_steps, width=self.hidden_width, seed=self.seed,
                               progress=self.report_progress, should_stop=self._stop_training)

    def _stop_training(self) -> bool:
        self.check_cancelled("training the learned score")  # raises Cancelled, which passes through fit
        return False

    def frame_steps(self, n_steps: int) -> np.ndarray:
        return np.unique(np.round(np.linspace(0, n_steps, min(self.n_frames, n_steps + 1))).astype(np.int64))

    def simulate(self, sampler: str, noise: float, n_particles: int | None = None, frames: bool = True,
                 model: np.ndarray | None = None):
        """(paths, times, died_at, grid) of ``sampler`` at ``noise`` from the common start points; ``model``:
        the learned denoiser's weights (taken from :meth:`learned` when the score is learned and none given)."""
        n = self.n_particles if n_particles is None else n_particles
        target = self.data_target()
        grid = self.grid(sampler, noise)
        n_steps = len(grid) - 1
        frame_steps = self.frame_steps(n_steps) if frames else np.array([0, n_steps])
        try:
            backend = resolve_backend(self.backend)
        except ValueError as error:
            raise SceneError(str(error)) from None
        if model is None and self.score == "learned":
            model = self.learned().weights
        starts = start_points(target, n, grid, self.seed)
        paths, died_at = sample_paths(sampler, starts, grid, self.kernel_params(sampler, n_steps, noise),
                                      frame_steps, self.seed, target.mix, backend, model=model,
                                      between=self.between_slices)
        return paths, grid[frame_steps, T], died_at, grid

    def stages(self):
        """The two runs on their paths panels first; the same runs with their quality figures on the density,
        drift, marginal and modes panels next; then quality against NFE, whose 25 runs took longer than
        everything else together. The paths panels read no figure, so the first stage computes none (the
        figures' sorts and histograms hold the GIL the page's drawing needs): the first stage went 19 → 13.5 ms
        in one process, a median 40 → 34 ms on the served page."""
        result = self._paths()
        yield result
        result = self._measured(result)
        yield result
        yield result.completed(sweep=self.cached_sweep())

    def cached_sweep(self) -> dict:
        """:meth:`sweep` at the current knobs, one sampler's column at a time, each computed once per the knobs
        its runs read (:meth:`_sweep_column_key`): a move of the noise knob reruns the columns of the samplers
        that read noise, not the ODE solvers' (the sweep picks its own NFE and particles; the sampler choice
        and frames do not enter it). A knob moved on stops it between its runs and slices; nothing is cached
        then."""
        samplers = list(self.sweep_samplers)
        keys = {sampler: self._sweep_column_key(sampler) for sampler in samplers}
        with _CACHE_LOCK:
            columns = {sampler: _SWEEPS[keys[sampler]] for sampler in samplers if keys[sampler] in _SWEEPS}
        missing = [sampler for sampler in samplers if sampler not in columns]
        if missing:
            computed = self.sweep(samplers=missing)
            for sampler in missing:
                columns[sampler] = computed[sampler]
                _remember(_SWEEPS, keys[sampler], computed[sampler], SWEEPS_KEPT)
        return {"nfe": np.asarray(SWEEP_NFES), **{sampler: columns[sampler] for sampler in samplers}}

    def _sweep_column_key(self, sampler: str) -> tuple:
        """The knobs the NFE chart's column of ``sampler`` reads: those that apply when it is the only sampler
        run (scenes.applicable), but the ones the sweep sets itself."""
        read = set(self.applicable_knobs(sampler=sampler, compare_sampler=SWEEP_COMPARE, sweep_samplers=[sampler]))
        return (sampler,) + tuple(item for item in self._knobs_key(SWEEP_IGNORES + ("sweep_samplers",))
                                  if item[0] in read)

    def _paths(self) -> Result:
        start = time.perf_counter()
        self.check_budget(2 * self.n_frames, self.n_particles, 2, what="frames of the two runs")
        self.check_work(self.paths_work(), "n_particles or nfe")
        learned = self.learned()
        model = None if learned is None else learned.weights
        sde = self._result(self.sampler, self.noise, model)
        ode = self._ode_result(model)
        if learned is not None:
            sde.metrics.update(training_seconds=learned.seconds, training_loss=learned.final_loss)
        sde.extras["ode"] = ode
        sde.metrics["run_seconds"] = time.perf_counter() - start
        for result in (sde, ode):
            if result.extras["lost"] > 0:
                raise DivergenceError(self._divergence_message(result), self._measured(sde))
        sde.complete = False
        return sde

    def _measured(self, paths: Result) -> Result:
        """The next stage of :meth:`_paths`' result: the same runs with their figures, each final cloud's
        :func:`quality` (the compare run's kept with it, computed once) and the gap between the two clouds."""
        sde, ode = paths, paths.extras["ode"]
        target = self.data_target()
        if "sliced_w2" not in ode.metrics:  # the compare run is shared while its knobs stay (_ode_result)
            ode.metrics.update(quality(ode.paths[-1], target))
        metrics = {**sde.metrics, **quality(sde.paths[-1], target), **{f"ode_{k}": v for k, v in ode.metrics.items()}}
        # the gap between the two clouds reads their first REFERENCE_SAMPLES particles, as sliced W₂ against
        # the target does (kernels.metrics.sliced_w2: a million particles' 64 sorted projections took seconds)
        metrics["ode_sde_gap"] = sliced_w2(sde.paths[-1, :REFERENCE_SAMPLES].astype(np.float64),
                                           ode.paths[-1, :REFERENCE_SAMPLES].astype(np.float64))
        return replace(sde.next_stage(), metrics=metrics)

    def paths_work(self) -> float:
        """The two runs' work (kernels.chunks units), estimated from the sizes (the learned network at the
        width of its knob)."""
        learned = self.score == "learned"
        weights = 3 * self.hidden_width + self.hidden_width ** 2 + 2 * self.hidden_width
        components = len(self.data_target().mix)
        blocked = takes_block_path(self.n_particles, self.score == "exact", components, self._estimated_backend())
        return sum(self.n_particles * steps_for(sampler, self.nfe, self.denoise)
                   * step_cost(sampler, components, learned, weights, blocked)
                   for sampler in (self.sampler, self.compare_sampler))

    def _knobs_key(self, ignored) -> tuple:
        """The knob values but ``ignored``, as a hashable key ((name, value) pairs, lists as tuples)."""
        return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(self.values().items())
                     if k not in ignored)

    def _ode_result(self, model: np.ndarray | None) -> Result:
        """The compare sampler's run at noise 0, kept while the knobs it reads stay (every knob but the SDE's
        ``sampler`` and ``noise``), for every scene of this process: moving the noise knob then runs the SDE
        alone, and the ODE's panel, the same Result drawn again, sends the browser nothing
        (explorer.fastdraw); the NFE chart's runs at one NFE share it."""
        key = self._knobs_key(("sampler", "noise"))
        with _CACHE_LOCK:
            cached = _COMPARE_RUNS.get(key)
        if cached is None:
            cached = self._result(self.compare_sampler, 0.0, model)
            _remember(_COMPARE_RUNS, key, cached, COMPARE_RUNS_KEPT)
        return cached

    def _result(self, sampler: str, noise: float, model: np.ndarray | None) -> Result:
        paths, times, died_at, grid = self.simulate(sampler, noise, model=model)
        dead = died_at >= 0
        first = int(died_at[dead].min()) if dead.any() else -1
        extras = {"sampler": sampler, "noise": noise_read(sampler, noise), "lost": float(dead.mean()),
                  "first_divergence_step": first,
                  "first_divergence_time": float(grid[first, T]) if first >= 0 else math.nan,
                  "n_steps": len(grid) - 1, "model": model}
        return Result(paths=paths, times=times, metrics={}, extras=extras,
                      parameters={**self.values(), "sampler": sampler, "noise": noise})

    def _divergence_message(self, result: Result) -> str:
        e = result.extras
        return (f"{e['sampler']} diverged: {100 * e['lost']:.1f}% of particles left the finite numbers, the first at "
                f"step {e['first_divergence_step']} of {e['n_steps']} (t = {e['first_divergence_time']:.4g}). "
                f"noise {e['noise']:g} is too large for nfe {self.nfe}: lower the noise or raise nfe.")

    # -- sweeps ------------------------------------------------------------------------------------
    def measure(self) -> Result:
        """A sweep point (scenes.sweep): the paths stage (the sampler's and the compare sampler's runs and
        their gap), not the NFE chart, which is itself a sweep; with ``sweep_metric = ode_error`` also
        ``ode_error``: each particle's distance to the converged PF-ODE solution from the same starts, for
        a run that has that limit (a deterministic one; NaN for an SDE run)."""
        result = self._measured(self._paths())
        if self.sweep_metric == "ode_error":
            deterministic = SPECS[self.sampler].order > 0 and (self.noise == 0 or not SPECS[self.sampler].stochastic)
            error = (float(np.mean(np.linalg.norm(result.paths[-1] - self.converged(), axis=1)))
                     if deterministic else math.nan)
            result.metrics["ode_error"] = error
        return result

    def converged(self) -> np.ndarray:
        """The converged PF-ODE solution's end points from this scene's starts (a fine DPM-Solver++ 2M run on
        REFERENCE_NFE log-SNR steps, same score and final step), computed once per the knobs it reads."""
        key = self._knobs_key(REFERENCE_IGNORES)
        with _CACHE_LOCK:
            cached = _REFERENCES.get(key)
        if cached is None:
            fine = type(self)(**{**self.values(), "nfe": REFERENCE_NFE, "schedule": "logsnr"})
            fine.cancel, fine.take_turn = self.cancel, self.take_turn
            learned = self.learned()
            cached = fine.simulate("dpmpp2m", 0.0, frames=False,
                                   model=None if learned is None else learned.weights)[0][-1]
            _remember(_REFERENCES, key, cached, REFERENCES_KEPT)
        return cached

    def sweep(self, nfes=SWEEP_NFES, samplers=None, metric: str | None = None,
              n_particles: int = SWEEP_PARTICLES) -> dict:
        """Final quality against NFE for each sampler (same starts and noise; SDE samplers at ``noise``): a
        view of :func:`scenes.sweep.sweep` over ``sampler`` × ``nfe`` at ``n_particles``, each point
        :meth:`measure`'s. ``ode_error`` is each particle's distance to the converged PF-ODE solution;
        ``variance_error`` the largest per-mode variance error (:func:`quality`): sliced W₂ at a few thousand
        particles bottoms out near 0.05 and hides both. Returns {"nfe": array, sampler: array of ``metric``};
        a diverged run gives NaN. The runs take this scene's cancel flag and turns (a moved knob stops them)."""
        from scenes.sweep import sweep

        samplers = list(self.sweep_samplers if samplers is None else samplers)
        metric = metric or self.sweep_metric
        fixed = {k: v for k, v in self.values().items() if k not in ("seed", "sampler", "nfe")}
        # two frames (the ends); the compare run, which the chart does not read, is the cheapest solver's,
        # shared by the samplers at each NFE (_ode_result)
        fixed.update(n_particles=n_particles, n_frames=2, compare_sampler=SWEEP_COMPARE, sweep_metric=metric)
        rows = sweep(self, {"sampler": samplers, "nfe": [int(n) for n in nfes]}, seeds=[self.seed], fixed=fixed,
                     prepare=self._lend_turns)
        table = {"nfe": np.asarray(nfes)}
        for sampler in samplers:
            chosen = rows[rows["sampler"] == sampler]
            values = chosen[metric] if metric in chosen else np.full(len(chosen), np.nan)
            table[sampler] = np.where(chosen["error"].isna(), values, np.nan).astype(float)
        return table

    def _lend_turns(self, scene: "OdeSdeScene") -> None:
        scene.cancel, scene.take_turn = self.cancel, self.take_turn

    # -- views -------------------------------------------------------------------------------------
    def panels(self):
        from scenes.ode_sde_views import panels

        return panels(self)

    def view(self, result: Result):
        from scenes.ode_sde_views import layout

        return layout(self, result)



def noise_read(sampler: str, noise: float) -> float:
    """The noise ``sampler`` runs at: ``noise`` for a stochastic sampler, 0 for an ODE solver (which reads none)."""
    return noise if sampler in STOCHASTIC else 0.0


SWEEP_IGNORES = ("nfe", "n_frames", "n_particles", "sampler", "compare_sampler")
# what the converged reference does not read: it runs its own solver, NFE, grid and noise, with two frames
REFERENCE_IGNORES = ("sampler", "compare_sampler", "nfe", "noise", "n_frames", "schedule", "sweep_samplers",
                     "sweep_metric")
COMPARE_RUNS_KEPT, REFERENCES_KEPT, SWEEPS_KEPT = 16, 8, 128  # sweeps: columns, a few a chart
_SWEEPS: dict = {}        # (sampler, knobs) -> a column of the NFE chart (sessions sweep on their own threads)
_COMPARE_RUNS: dict = {}  # knobs -> the compare sampler's Result, shared by the scenes of this process
_REFERENCES: dict = {}    # knobs -> the converged PF-ODE end points
_CACHE_LOCK = threading.Lock()


def _remember(cache: dict, key, value, kept: int) -> None:
    """Put ``value`` in ``cache`` under ``key``, dropping the oldest entries past ``kept``."""
    with _CACHE_LOCK:
        cache[key] = value
        while len(cache) > kept:
            cache.pop(next(iter(cache)))




def quality(points: np.ndarray, target) -> dict:
    """Sliced W₂ (against exact draws), histogram KL and TV, mode weights and their largest error."""
    points = np.asarray(points, dtype=np.float64)
    kl, tv = histogram_divergences(points, target)
    weights = mode_occupancy(points, target)
    return {"sliced_w2": sliced_w2(points, reference_projections(target), presorted=True),
            "kl": kl, "tv": tv, "mode_error": float(np.max(np.abs(weights - target.mode_weights))),
            "variance_error": variance_error(points, target),
            "mode_weights": weights, "mode_weights_true": target.mode_weights}


VARIANCE_REFERENCE = 40_000  # exact draws the per-mode variances are measured against


@lru_cache(maxsize=32)
def _mode_variances(target_name: str) -> np.ndarray:
    target = get_target(target_name)
    return mode_variances(target.sample(VARIANCE_REFERENCE, seed=12345), target)


def mode_variances(points: np.ndarray, target) -> np.ndarray:
    """Per mode, the trace of the covariance of the points assigned to it (NaN where fewer than 3)."""
    labels = target.mode_of(points)
    out = np.full(target.n_modes, np.nan)
    for k in range(target.n_modes):
        cluster = points[labels == k]
        if len(cluster) >= 3:
            out[k] = np.trace(np.cov(cluster.T))
    return out


def variance_error(points: np.ndarray, target) -> float:
    """max_k |tr Cov_k(points) / tr Cov_k(exact draws) − 1| over the modes, each point assigned to its most
    responsible mode (exact draws assigned the same way, so the cut between overlapping modes cancels)."""
    ratio = mode_variances(points, target) / _mode_variances(target.name)
    return float(np.nanmax(np.abs(ratio - 1.0))) if np.isfinite(ratio).any() else math.nan
