"""Schrödinger bridges between two 2D clouds, with a live ε: entropic transport, its coupled pairs, the
Brownian bridges between them, the exact Gaussian answer, a learned (LightSB) bridge and bridge matching by
iterative Markovian fitting (IMF) with its gap to Sinkhorn's plan; and, in the
snapshots mode, multi-marginal bridges through K snapshots of a population under a refined OU reference
(:mod:`scenes.bridges_snapshots`).

The model only: parameters, ``run()`` (numbers) and a sweep over ε. Views live in
:mod:`scenes.bridges_views` (and :mod:`scenes.bridges_snapshots_views`).
"""
from __future__ import annotations

import math
import time
from functools import lru_cache

import numpy as np
import param

from kernels.backend import BACKENDS, resolve_backend
from kernels.bridges.brownian_bridge import bridge_paths
from kernels.bridges.clouds import CLOUDS, sample_cloud
from kernels.drawn import DrawingError, WAVE_DRAWING
from scenes.drawing import DRAWN, drawing_knob, width_knob
from kernels.formula import FormulaError
from kernels.bridges.coupling import sample_partners
from kernels.bridges.gaussian import GaussianBridge
from kernels.bridges.learned import TrainingCancelled, cached_lightsb, simulate
from kernels.bridges.matching import cached_bridge_matching, cross_covariance, plan_cross_covariance
from kernels.torch_training import TrainingCancelled as FitCancelled
from kernels.bridges.sinkhorn import dense_plan, iteration_cost, sinkhorn, transport_cost_and_entropy, warm_start
from kernels.metrics import sliced_w2, sorted_projections
from scenes import bridges_snapshots
from scenes.applicable import when
from scenes.base import Cancelled, DivergenceError, Result, Scene, SceneError

METHODS = ("sinkhorn", "gaussian", "lightsb", "imf")
LEARNED = ("lightsb", "imf")  # the methods that train a torch model (progress, Cancel, a cache)
MODES = ("clouds", "snapshots")
REFERENCE_SAMPLES = 5000
VIEW_ROWS = 200          # source rows of the plan materialised for the coupling lines and the heat map
HEATMAP_SIZE = 64        # the heat map shows this many sorted sources × targets (64² float32: 16 kB a move)
SWEEP_POINTS = 150       # points per side in the ε sweep (a subsample, so the sweep stays quick)
SWEEP_EPSILONS = np.geomspace(0.02, 10.0, 9)
SWEEP_TOLERANCE = 1e-4    # column error ‖πᵀ1 − b‖₂ per sweep solve (b_j = 1/150): enough for the curves
SWEEP_MAX_ITERATIONS = 1000
EM_STEPS = 200           # Euler–Maruyama steps of the learned bridge on [0, 1]
WARM_HISTORY = 3         # earlier solves kept per pair of clouds for the warm start
TYPICAL_ITERATIONS = 60    # Sinkhorn iterations of a cold solve at the default ε, ε-scaling included (48–64 seen)
CPU_MAX_PARTICLES = 20_000  # n² work per Sinkhorn iteration: beyond this a CPU takes minutes per run


class BridgeScene(Scene):
    """Entropic OT / Schrödinger bridges between two 2D clouds: drag ε from straight OT lines to blur."""

    title = "Schrödinger bridges"
    stage_panels = (("coupling", "marginal"),)
    equation = (r"\min_\pi \textstyle\sum_{ij} \pi_{ij}\,\tfrac12\|x_i-y_j\|^2 + \varepsilon\,"
                r"\mathrm{KL}(\pi\,\|\,a\otimes b)\qquad X_t=(1-t)x_0+t\,x_1+\sigma(W_t-tW_1),\ \sigma^2=\varepsilon")
    log_params = ("epsilon", "tolerance", "sigma")

    mode = param.Selector(default="clouds", objects=list(MODES),
                          doc="clouds: the bridge between a source and a target cloud at ε; snapshots: the "
                              "multi-marginal bridge through K snapshots of a population, its OU reference refined")
    source = param.Selector(default="gauss", objects=list(CLOUDS), doc="The cloud the bridges start from (t = 0)")
    target = param.Selector(default="moons", objects=list(CLOUDS), doc="The cloud the bridges end on (t = 1)")
    target_shift = param.Number(default=0.0, bounds=(-50.0, 50.0), softbounds=(-6.0, 6.0),
                                doc="Shift of the target cloud along x")
    target_scale = param.Number(default=1.0, bounds=(0.01, 100.0), softbounds=(0.2, 4.0),
                                doc="Scale of the target cloud about its centre (a Gaussian target gets variance scale²)")
    epsilon = param.Number(default=0.1, bounds=(1e-4, 1000.0), softbounds=(1e-3, 10.0),
                           doc="Regularisation ε = σ² (the bridge's noise): small is optimal transport, large is independence")
    method = param.Selector(default="sinkhorn", objects=list(METHODS),
                            doc="How the endpoints are coupled: pairs from the Sinkhorn plan, the Gaussian closed form "
                                "(exact for Gaussian clouds), a learned LightSB bridge, or bridge matching by iterative "
                                "Markovian fitting (imf, DSBM), the learned ones simulated by Euler–Maruyama")
    n_particles = param.Integer(default=1000, bounds=(2, 100_000), softbounds=(100, 4000),
                                doc="Points per cloud (Sinkhorn costs n² per iteration: keep to a few thousand on a CPU)")
    n_frames = param.Integer(default=30, bounds=(2, 1000), softbounds=(2, 100),
                             doc="Frames of the bridge paths from t = 0 to t = 1")
    tolerance = param.Number(default=1e-5, bounds=(1e-12, 0.1), softbounds=(1e-9, 1e-3),
                             doc="Sinkhorn stops when the column marginal error ‖πᵀ1 − b‖₂ is below this")
    max_iterations = param.Integer(default=3000, bounds=(1, 1_000_000), softbounds=(10, 20_000),
                                   doc="Sinkhorn gives up (and says so) after this many iterations")
    n_components = param.Integer(default=16, bounds=(1, 256), softbounds=(1, 64),
                                 doc="LightSB: Gaussian components of the learned potential")
    training_steps = param.Integer(default=600, bounds=(10, 100_000), softbounds=(100, 5000),
                                   doc="LightSB: Adam steps; imf: Adam steps per fit (a trained model is cached "
                                       "per settings)")
    imf_iterations = param.Integer(default=3, bounds=(1, 50), softbounds=(1, 10),
                                   doc="imf: iterations of Markovian fitting, each a backward and a forward drift fit")
    fan_source = param.Integer(default=0, bounds=(0, 99_999), softbounds=(0, 999),
                               doc="The source point whose fan of bridges is drawn (an index into the source cloud)")
    source_formula = param.String(default="(x**2 + y**2 - 1)**2 / 0.1",
                                  doc="Source cloud 'custom': a potential U(x, y), density ∝ exp(−U) on the formula box "
                                      "(numbers, x, y, + - * / **, exp log sqrt sin cos tanh abs min max)")
    target_formula = param.String(default="(x**2 + y**2 - 4)**2 / 0.5",
                                  doc="Target cloud 'custom': a potential U(x, y), density ∝ exp(−U) on the formula box")
    formula_box = param.Number(default=3.0, bounds=(0.5, 50.0), softbounds=(1.0, 10.0),
                               doc="Half width w of the box [−w, w]² a custom cloud is drawn on (exp(−U) must vanish at its edge)")
    source_drawing = drawing_knob("source cloud")
    target_drawing = drawing_knob("target cloud", WAVE_DRAWING)
    draw_width = width_knob()
    population = param.Selector(default="ou", objects=list(bridges_snapshots.POPULATIONS),
                                doc="Snapshots: ou (dX = A X dt + σ dW, rotation plus contraction), split (a "
                                    "population taking two branches), or clouds (the source and target clouds)")
    n_snapshots = param.Integer(default=4, bounds=(1, 8), softbounds=(2, 5),
                                doc="Snapshots: how many (at t_k = k·time_step unless snapshot_times lists them)")
    time_step = param.Number(default=0.5, bounds=(1e-3, 100.0), softbounds=(0.1, 2.0),
                             doc="Snapshots: time between consecutive snapshots (when snapshot_times is empty)")
    snapshot_times = param.String(default="",
                                  doc="Snapshots: the times, comma separated and strictly increasing, one per "
                                      "snapshot (empty: evenly spaced by time_step)")
    sigma = param.Number(default=0.5, bounds=(1e-3, 10.0), softbounds=(0.05, 2.0),
                         doc="Snapshots: the noise σ of the reference dX = A X dt + σ dW (and of the population)")
    refinements = param.Integer(default=3, bounds=(0, 30), softbounds=(0, 10),
                                doc="Snapshots: rounds of refitting the reference drift A (from A = 0, Brownian) "
                                    "and solving the bridges again")
    rotation = param.Number(default=2.0, bounds=(-20.0, 20.0), softbounds=(-4.0, 4.0),
                            doc="Snapshots, ou population: the rotation rate ω of A = [[−c, −ω], [ω, −c]]")
    contraction = param.Number(default=0.5, bounds=(-5.0, 10.0), softbounds=(-1.0, 2.0),
                               doc="Snapshots, ou population: the contraction rate c of A (negative: it expands)")
    backend = param.Selector(default="auto", objects=list(BACKENDS), doc="Compute target (auto: CUDA if present)")

    # the knobs only some choices read (scenes.applicable): each mode's, a custom cloud's, and the learned
    # bridge's (every method solves Sinkhorn, whose plan the coupling panels and the metrics show). The clouds
    # are read by the two-cloud bridge and by the snapshots of the clouds population
    applies_when = {
        **{knob: when(("mode", "population"), "clouds") for knob in ("source", "target", "target_shift", "target_scale")},
        **{knob: when("mode", "clouds") for knob in ("epsilon", "method", "fan_source")},
        "source_formula": (when(("mode", "population"), "clouds"), when("source", "custom")),
        "target_formula": (when(("mode", "population"), "clouds"), when("target", "custom")),
        "formula_box": (when(("mode", "population"), "clouds"), when(("source", "target"), "custom")),
        "source_drawing": (when(("mode", "population"), "clouds"), when("source", DRAWN)),
        "target_drawing": (when(("mode", "population"), "clouds"), when("target", DRAWN)),
        "draw_width": (when(("mode", "population"), "clouds"), when(("source", "target"), DRAWN)),
        "n_components": (when("mode", "clouds"), when("method", "lightsb")),
        "training_steps": (when("mode", "clouds"), when("method", *LEARNED)),
        "imf_iterations": (when("mode", "clouds"), when("method", "imf")),
        **{knob: when("mode", "snapshots") for knob in ("population", "time_step", "snapshot_times", "sigma",
                                                         "refinements")},
        "n_snapshots": (when("mode", "snapshots"), when("population", "ou", "split")),
        **{knob: (when("mode", "snapshots"), when("population", "ou")) for knob in ("rotation", "contraction")},
    }

    drawing_knobs = ("source_drawing", "target_drawing")

    def __init__(self, **params):
        super().__init__(**params)
        self._warm: dict = {}     # clouds' settings → [(ε, f, g), …]: potentials for a warm start
        self._sweeps: dict = {}   # clouds' settings → the ε sweep table

    @property
    def run_params(self) -> tuple:
        return tuple(p for p in self.param if p not in ("name", "fan_source"))

    # -- inputs ------------------------------------------------------------------------------------
    def clouds_key(self) -> tuple:
        return (self.source, self.target, self.target_shift, self.target_scale, self.n_particles, self.seed,
                *self._formulas())

    def _formulas(self) -> tuple:
        """What the custom and drawn clouds depend on (nothing when neither side is custom or drawn)."""
        return (self.source_formula if self.source == "custom" else None,
                self.target_formula if self.target == "custom" else None,
                self.formula_box if "custom" in (self.source, self.target) else None,
                self.source_drawing if self.source == DRAWN else None,
                self.target_drawing if self.target == DRAWN else None,
                self.draw_width if DRAWN in (self.source, self.target) else None)

    def _cloud(self, side: str, n: int, seed: int) -> np.ndarray:
        name = getattr(self, side)
        try:
            return sample_cloud(name, n, seed, formula=getattr(self, f"{side}_formula"), half_width=self.formula_box,
                                drawing=getattr(self, f"{side}_drawing"), width=self.draw_width)
        except FormulaError as error:
            raise SceneError(f"{side} formula: {error}") from None
        except DrawingError as error:
            raise SceneError(f"{side} drawing: {error}") from None

    def clouds(self, n: int | None = None, seed_offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(source, target) clouds, (n, 2) each, deterministic in the parameters and seed."""
        n = self.n_particles if n is None else n
        x = self._cloud("source", n, self.seed + seed_offset)
        return x, self._placed(self._cloud("target", n, self.seed + seed_offset + 1))

    def _placed(self, y: np.ndarray) -> np.ndarray:
        centre = y.mean(0)
        return centre + self.target_scale * (y - centre) + np.array([self.target_shift, 0.0])

    def reference(self) -> np.ndarray:
        """Sorted projections of fresh target draws, for sliced W₂ to the target."""
        formula = self.target_formula if self.target == "custom" else None
        drawing = self.target_drawing if self.target == DRAWN else None
        return _reference(self.target, self.target_shift, self.target_scale, self.seed, formula, self.formula_box,
                          drawing, self.draw_width)

    def times(self) -> np.ndarray:
        return np.linspace(0.0, 1.0, self.n_frames)

    def _backend(self) -> str:
        try:
            return resolve_backend(self.backend)
        except ValueError as error:
            raise SceneError(str(error)) from None

    def _cpu_checked_backend(self) -> str:
        """The backend, refusing on the CPU more points than Sinkhorn can take there."""
        backend = self._backend()
        if backend == "cpu" and self.n_particles > CPU_MAX_PARTICLES:
            raise SceneError(f"{self.n_particles:,} points per side cost {self.n_particles ** 2:.1e} kernel "
                             f"evaluations per Sinkhorn iteration: over the CPU limit of {CPU_MAX_PARTICLES:,} "
                             f"(use a CUDA backend, or fewer points)")
        return backend

    # -- running -------------------------------------------------------------------------------------
    def solve(self, x, y, backend: str):
        """Sinkhorn at the current ε, warm-started from this scene's earlier solves on the same clouds.

        A warm start lands on the same plan as a cold one within the tolerance, not bit for bit, so a pair
        drawn on the edge of two partners' cumulative shares may differ between a dragged and a fresh run."""
        history = self._warm.setdefault(self.clouds_key(), [])
        if len(self._warm) > 1:  # keep only the current clouds' history
            self._warm = {self.clouds_key(): history}
        start = warm_start(history, self.epsilon)
        init, init_eps = (None, None) if start is None else (start[:2], start[2])
        solution = sinkhorn(x, y, self.epsilon, tol=self.tolerance, max_iterations=self.max_iterations,
                            init=init, init_epsilon=init_eps, backend=backend, between=self.between_slices)
        if solution.converged:
            history[:] = [item for item in history if item[0] != self.epsilon][-(WARM_HISTORY - 1):]
            history.append((self.epsilon, solution.f, solution.g))
        return solution, start is not None

    def stages(self):
        """The coupled pairs and the particles first (their panels are the ones a moved ε changes most), then the
        complete result for the other panels, which build fans and drift fields from it, with the ε sweep (computed
        here, on the run's thread: drawn from the scene's own ``sweep()``, it took the event loop 5 % of its time
        under the load test, a seed move being a new sweep)."""
        if self.mode == "snapshots":  # one stage: its panels are all drawn from the refined bridge
            yield bridges_snapshots.run(self, self._cpu_checked_backend())
            return
        result = self._solved()
        yield result
        yield result.completed(sweep=self.sweep())

    def measure(self) -> Result:
        """A sweep point (scenes.sweep): the complete run but its ε sweep, itself a sweep of such points."""
        return self.run() if self.mode == "snapshots" else self._solved().completed()

    def _solved(self) -> Result:
        start_time = time.perf_counter()
        self.check_budget(self.n_frames, self.n_particles, 2, what="bridge paths")
        backend = self._cpu_checked_backend()
        # Sinkhorn's iterations are known only as it goes: the estimate takes a typical count (a run that goes
        # on much longer is stopped between its iterations, Scene.between_slices)
        iterations = min(self.max_iterations, TYPICAL_ITERATIONS)
        self.check_work(iteration_cost(self.n_particles, self.n_particles) * iterations, "n_particles")
        x, y = self.clouds()
        solution, warm = self.solve(x, y, backend)
        times = self.times()
        sigma = math.sqrt(self.epsilon)
        gaussian = GaussianBridge.fit(x, y, self.epsilon)
        model = None
        if self.method == "sinkhorn":
            partners = sample_partners(x, y, solution.g, self.epsilon, self.seed, backend=backend)
            paths = bridge_paths(x, y[partners], times, sigma, self.seed, backend=backend)
        elif self.method == "gaussian":
            paths = bridge_paths(x, gaussian.sample_endpoints(x, self.seed), times, sigma, self.seed, backend=backend)
        else:
            model = self._learned(x, y)
            paths = simulate(model.drift, x, self.epsilon, self._em_steps(), times, self.seed)
        cost, entropy = transport_cost_and_entropy(x, y, solution.f, solution.g, self.epsilon)
        endpoints = paths[-1].astype(np.float64)
        pairs = cross_covariance(x, endpoints)  # Cov(X₀, X₁) of the bridges drawn
        metrics = {
            "marginal_error": solution.marginal_error,
            "transport_cost": cost,
            "entropy": entropy,
            "sliced_w2": sliced_w2(endpoints, self.reference(), presorted=True),
            "sinkhorn_iterations": float(solution.iterations),
            "sinkhorn_errors": solution.errors,
            "epsilon_scaling_levels": float(len(solution.levels)),  # 1: solved at ε directly
            "pair_cross_covariance": float(np.trace(pairs) / 2),  # the mean of its diagonal
            "gaussian_cross_covariance": float(np.trace(gaussian.coupling) / 2),
        }
        if self.method == "imf":
            metrics.update(self._matching_metrics(model, x, y, solution, pairs))
        extras = {"source": x, "target": y, "f": solution.f, "g": solution.g, "gaussian": gaussian,
                  "model": model, "warm_start": warm, "levels": solution.levels, "backend": backend,
                  **coupling_views(x, y, solution.f, solution.g, self.epsilon)}
        result = Result(paths=paths, times=times, metrics=metrics, extras=extras, parameters=self.values(),
                        complete=False)
        result.metrics["run_seconds"] = time.perf_counter() - start_time
        if not solution.converged:
            raise DivergenceError(
                f"Sinkhorn did not converge: after {solution.iterations} iterations the marginal error is "
                f"{solution.marginal_error:.3g} (tolerance {self.tolerance:g}) at ε = {self.epsilon:g}. Raise "
                f"max_iterations or ε, or loosen the tolerance; the plan shown would be wrong.", result)
        if not np.isfinite(paths).all():
            raise DivergenceError(f"the {self.method} bridge left the finite numbers (NaN/Inf) at ε = "
                                  f"{self.epsilon:g}", result)
        return result

    def _learned(self, x, y):
        """The LightSB or bridge-matching model for these clouds at ε: trained with progress and Cancel, or
        taken from its cache."""
        try:
            if self.method == "lightsb":
                return cached_lightsb(x, y, self.epsilon, n_components=self.n_components,
                                      steps=self.training_steps, seed=self.seed,
                                      progress=self.report_progress, cancel=self.cancel)
            should_stop = None if self.cancel is None else self.cancel.is_set
            return cached_bridge_matching(x, y, self.epsilon, iterations=self.imf_iterations,
                                          steps=self.training_steps, em_steps=self._em_steps(), seed=self.seed,
                                          progress=self.report_progress, should_stop=should_stop)
        except (TrainingCancelled, FitCancelled) as stop:
            raise Cancelled(str(stop)) from None
        except FloatingPointError as error:
            raise SceneError(f"{error}: the learned drift diverged (try a larger ε, more training_steps or "
                             f"fewer imf_iterations)") from None

    def _matching_metrics(self, model, x, y, solution, pairs) -> dict:
        """IMF against Sinkhorn's static bridge at the same ε: the cross-covariance C = Cov(X₀, X₁) of every
        projection's pairs, C_π of the plan, and the gaps ‖C_k − C_π‖_F (:mod:`kernels.bridges.matching`)."""
        plan = plan_cross_covariance(x, y, solution.f, solution.g, self.epsilon)
        gaps = model.gaps(plan)
        return {"matching_gap": float(np.linalg.norm(pairs - plan)),
                "matching_gaps": gaps,
                "matching_cross_covariances": np.trace(model.cross_covariances, axis1=1, axis2=2) / 2,
                "plan_cross_covariance": float(np.trace(plan) / 2),
                "training_seconds": model.seconds}

    def _em_steps(self) -> int:
        return em_steps(self.n_frames)

    # -- more from one result ----------------------------------------------------------------------
    def plan(self, result: Result) -> np.ndarray:
        """The whole n×m plan, materialised (refused past the memory budget, with its size)."""
        x, y = result.extras["source"], result.extras["target"]
        self.check_budget(len(x), len(y), itemsize=8, what="the n×m coupling plan")
        return dense_plan(x, y, result.extras["f"], result.extras["g"], result.parameters["epsilon"])

    def fan(self, result: Result, index: int, count: int = 32) -> np.ndarray:
        """``count`` bridges (n_frames, count, 2) from source point ``index``, by the result's method."""
        x, y = result.extras["source"], result.extras["target"]
        index = int(np.clip(index, 0, len(x) - 1))
        p = result.parameters
        eps, seed, times = p["epsilon"], p["seed"], result.times
        starts = np.repeat(x[index:index + 1], count, axis=0)
        if p["method"] == "sinkhorn":
            partners = sample_partners(x, y, result.extras["g"], eps, seed, rows=np.full(count, index),
                                       keys=np.arange(1, count + 1))
            return bridge_paths(starts, y[partners], times, math.sqrt(eps), seed + 1)
        if p["method"] == "gaussian":
            ends = result.extras["gaussian"].sample_endpoints(starts, seed + 1)
            return bridge_paths(starts, ends, times, math.sqrt(eps), seed + 1)
        return simulate(result.extras["model"].drift, starts, eps, em_steps(len(times)), times, seed + 1)

    def drift_field(self, result: Result, t: float, resolution: int = 15):
        """(xs, ys, u, v) of the drift at time t on a grid over both clouds: learned for LightSB, the
        Gaussian closed form otherwise."""
        x, y = result.extras["source"], result.extras["target"]
        both = np.concatenate([x, y])
        lo, hi = np.percentile(both, 1, axis=0), np.percentile(both, 99, axis=0)
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
        points = np.stack([gx.ravel(), gy.ravel()], axis=1)
        t = min(float(t), 0.95)
        model = result.extras.get("model")
        if model is not None:
            import torch

            with torch.no_grad():
                velocity = model.drift(t, torch.tensor(points)).numpy()
        else:
            velocity = result.extras["gaussian"].drift(t, points)
        return points[:, 0], points[:, 1], velocity[:, 0], velocity[:, 1]

    # -- sweeps ------------------------------------------------------------------------------------
    def sweep(self, epsilons=None, n: int = SWEEP_POINTS) -> dict:
        """Transport cost ⟨π, C⟩, entropy of π and Sinkhorn iterations against ε, on ``n`` points per side: a
        view of :func:`scenes.sweep.sweep` (each ε solved cold, to SWEEP_TOLERANCE), NaN where a solve did not
        converge; cached per clouds for the default grid."""
        from scenes.sweep import sweep

        default = epsilons is None
        epsilons = np.sort(SWEEP_EPSILONS if default else np.asarray(epsilons, dtype=float))[::-1]
        key = (*self.clouds_key()[:4], n, self.seed, *self._formulas())
        if default and key in self._sweeps:
            return self._sweeps[key]
        fixed = {k: v for k, v in self.values().items() if k not in ("seed", "epsilon", "fan_source")}
        fixed.update(n_particles=n, tolerance=SWEEP_TOLERANCE, max_iterations=SWEEP_MAX_ITERATIONS,
                     method="sinkhorn", n_frames=2, mode="clouds")
        rows = sweep(self, {"epsilon": epsilons.tolist()}, seeds=[self.seed], fixed=fixed)
        table = {"epsilon": epsilons}
        for column, metric in (("transport_cost", "transport_cost"), ("entropy", "entropy"),
                               ("iterations", "sinkhorn_iterations")):
            table[column] = (rows[metric].to_numpy(float) if metric in rows else np.full(len(epsilons), np.nan))
        if default:
            self._sweeps = {key: table}
        return table

    # -- views -------------------------------------------------------------------------------------
    def panels(self):
        from scenes.bridges_views import panels

        return panels(self)

    def panels_shown(self, result: Result) -> set[str]:
        from scenes.bridges_views import panels_shown

        return panels_shown(result)

    def view(self, result: Result):
        from scenes.bridges_views import layout

        return layout(self, result)


def em_steps(n_frames: int) -> int:
    """Euler–Maruyama steps of a learned bridge over ``n_frames`` frames: at least EM_STEPS, a whole number per
    interval between frames."""
    intervals = n_frames - 1
    return intervals * max(1, math.ceil(EM_STEPS / intervals))


def coupling_views(x, y, f, g, epsilon: float) -> dict:
    """What the coupling views draw, computed once per run from a block of the plan: for evenly spaced
    sources, the segment to their most strongly coupled target (with that partner's share of the row), and
    a heat map of the plan with both clouds sorted along their first principal axis (so optimal transport
    shows as a monotone band, independence as a flat field)."""
    rows = np.linspace(0, len(x) - 1, min(VIEW_ROWS, len(x))).astype(np.int64)
    block = dense_plan(x[rows], y, f[rows], g, epsilon)
    strongest = np.argmax(block, axis=1)
    segments = np.concatenate([x[rows], y[strongest]], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # a plan that under/overflowed (not converged)
        share = block[np.arange(len(rows)), strongest] / block.sum(axis=1)
    both = np.concatenate([x, y])
    axis = np.linalg.eigh(np.cov(both.T))[1][:, -1]
    order_rows = np.argsort(x[rows] @ axis)
    order_cols = np.argsort(y @ axis)
    pick_rows = order_rows[np.linspace(0, len(order_rows) - 1, min(HEATMAP_SIZE, len(order_rows))).astype(np.int64)]
    pick_cols = order_cols[np.linspace(0, len(order_cols) - 1, min(HEATMAP_SIZE, len(order_cols))).astype(np.int64)]
    heat = block[np.ix_(pick_rows, pick_cols)] * len(x) * len(y)  # 1 everywhere for the independent coupling
    return {"strongest_segments": segments, "strongest_share": share, "heatmap": np.log10(np.maximum(heat, 1e-3))}


@lru_cache(maxsize=8)
def _reference(target: str, shift: float, scale: float, seed: int, formula: str | None = None,
               half_width: float = 3.0, drawing: str | None = None, width: float = 0.4) -> np.ndarray:
    y = sample_cloud(target, REFERENCE_SAMPLES, seed + 1_000_003, formula=formula, half_width=half_width,
                     drawing=drawing, width=width)
    centre = y.mean(0)
    return sorted_projections(centre + scale * (y - centre) + np.array([shift, 0.0]))
