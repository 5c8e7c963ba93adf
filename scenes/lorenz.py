"""Lorenz forecasting: ensembles on the Lorenz-63 attractor (or on Lorenz-96, a ring of n sites) with
stochastic forcing, Lyapunov growth, data-driven forecasters trained live and scored in Lyapunov times,
and an ensemble Kalman filter. The forecasters and the filter are Lorenz-63 only: with Lorenz-96 the run
skips them and their panels say so.

The model only; views live in :mod:`scenes.lorenz_views`. Forecasters and the filter are cached per
setting (they do not depend on the ensemble's knobs), so moving an ensemble slider only re-integrates
the ensemble.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from functools import lru_cache

import numpy as np
import param

from kernels.backend import BACKENDS, resolve_backend
from kernels.lorenz.enkf import METHODS as ENKF_METHODS
from kernels.lorenz.enkf import twin_experiment
from kernels.lorenz.features import TrainingTooShort
from kernels.lorenz.forecasters import FORECASTERS, train_and_score, twin_data
from kernels.lorenz.integrate import INTEGRATORS, MAX_DIM, integrate_ensemble, step_cost, trajectory
from kernels.lorenz.lyapunov import largest_lyapunov_exponent
from kernels.metrics import ensemble_spread
from kernels.lorenz.ngrc import INPUT_NOISE
from kernels.lorenz.systems import SYSTEMS
from kernels.torch_training import TrainingCancelled
from scenes.applicable import when
from scenes.base import Cancelled, DivergenceError, Result, Scene, SceneError

BASELINES = ("persistence", "climatology")
N_FORECAST_STARTS = 8
FORECAST_LYAPUNOV_TIMES = 12.0
MAX_FORECAST_STEPS = 2000
CACHE_SIZE = 32
LORENZ63 = when("system", "lorenz63")  # the forecasters and the EnKF are Lorenz-63 models
FORECASTER_KNOBS = {"ngrc": ("ngrc_delays", "ngrc_stride", "ngrc_ridge", "ngrc_input_noise"),
                    "esn": ("esn_size", "esn_spectral_radius", "esn_leak", "esn_ridge"),
                    "sindy": ("sindy_threshold",), "analog": ("analog_neighbours",), "mlp": ("mlp_epochs",)}


@lru_cache(maxsize=64)
def lyapunov_exponent(sigma: float, rho: float, beta: float) -> float:
    """λ₁ by the tangent-linear method (RK4, dt 0.01, 8 starts × 200 time units)."""
    return largest_lyapunov_exponent(sigma, rho, beta, dt=0.01, duration=200.0, n_starts=8)


@lru_cache(maxsize=64)
def attractor_point_and_background(sigma: float, rho: float, beta: float, seed: int):
    """A point on the attractor (after 30 time units from near (1, 1, 1)) and 20 time units of orbit after it."""
    start = np.array([1.0, 1.0, 1.0]) + np.random.default_rng(seed).normal(size=3)
    spin = trajectory(start, 2, 6000, 0.005, sigma, rho, beta)[-1]
    return spin, trajectory(spin, 2000, 2, 0.005, sigma, rho, beta)


@lru_cache(maxsize=64)
def lorenz96_lyapunov_exponent(dimension: int, forcing: float) -> float:
    """Lorenz-96 λ₁ by the same tangent-linear method (RK4, dt 0.01, 8 starts × 200 time units)."""
    return largest_lyapunov_exponent(dt=0.01, duration=200.0, n_starts=8, system="lorenz96", dimension=dimension,
                                     forcing=forcing)


@lru_cache(maxsize=64)
def lorenz96_point_and_background(dimension: int, forcing: float, seed: int):
    """As :func:`attractor_point_and_background` for Lorenz-96: the usual start xᵢ = F + 0.01 N(0, 1)
    (the uniform state F is a fixed point; the noise breaks it), 30 time units of spin-up, 20 of orbit."""
    start = forcing + 0.01 * np.random.default_rng(seed).normal(size=dimension)
    spin = trajectory(start, 2, 6000, 0.005, method="rk4", system="lorenz96", forcing=forcing)[-1]
    return spin, trajectory(spin, 2000, 2, 0.005, method="rk4", system="lorenz96", forcing=forcing)


class LorenzScene(Scene):
    """An ensemble on the Lorenz-63 attractor (or Lorenz-96), forecasters scored in Lyapunov times, and an EnKF."""

    title = "Lorenz forecasting"
    equation = (r"\dot x = \sigma(y - x)\qquad \dot y = x(\rho - z) - y\qquad \dot z = xy - \beta z \;(+\, s\,\dot W)"
                r"\qquad \text{L96: } \dot x_i = (x_{i+1} - x_{i-2})\,x_{i-1} - x_i + F"
                r"\qquad \text{VPT} = \lambda_1 \min\{t: \text{NRMSE}(t) > 0.5\}")
    log_params = ("dt", "perturbation", "ngrc_ridge", "ngrc_input_noise", "esn_ridge", "sample_dt")
    stage_panels = (("attractor", "spread", "fan chart", "Hovmöller"),)  # the ensemble's panels

    system = param.Selector(default="lorenz63", objects=list(SYSTEMS),
                            doc="Lorenz-63 (σ, ρ, β) or Lorenz-96 (a ring of l96_dimension sites forced by F); "
                                "the forecasters and the EnKF are Lorenz-63 only")
    l96_dimension = param.Integer(default=40, bounds=(4, MAX_DIM), doc="Lorenz-96: number of sites n on the ring")
    forcing = param.Number(default=8.0, bounds=(0.0, 50.0), softbounds=(0.0, 20.0),
                           doc="Lorenz-96: forcing F (F = 8 is the usual chaotic case)")
    sigma = param.Number(default=10.0, bounds=(0.1, 100.0), softbounds=(1.0, 30.0), doc="Prandtl number σ")
    rho = param.Number(default=28.0, bounds=(0.0, 300.0), softbounds=(0.5, 100.0),
                       doc="Rayleigh number ρ (chaos from about 24.74)")
    beta = param.Number(default=8.0 / 3.0, bounds=(0.01, 20.0), softbounds=(0.5, 6.0), doc="Geometric factor β")
    dt = param.Number(default=0.01, bounds=(1e-5, 1.0), softbounds=(1e-3, 0.1),
                      doc="Integrator step of the ensemble (Euler blows up from about 0.03)")
    integrator = param.Selector(default="rk4", objects=list(INTEGRATORS),
                                doc="Euler(–Maruyama), stochastic Heun or RK4 (noise added after the drift)")
    noise = param.Number(default=0.0, bounds=(0.0, 100.0), softbounds=(0.0, 10.0),
                         doc="Additive noise amplitude s: dX = f(X) dt + s dW")
    n_members = param.Integer(default=2000, bounds=(1, 20_000_000), softbounds=(10, 200_000),
                              doc="Ensemble members (beyond 20,000 the cloud is drawn as a histogram)")
    perturbation = param.Number(default=1e-3, bounds=(1e-12, 10.0), softbounds=(1e-9, 1.0),
                                doc="Standard deviation of the members' initial offsets from one attractor point")
    horizon = param.Number(default=15.0, bounds=(0.01, 1000.0), softbounds=(1.0, 50.0),
                           doc="Time the ensemble is integrated for")
    n_frames = param.Integer(default=100, bounds=(2, 5000), softbounds=(2, 300),
                             doc="Frames kept for the player (memory is n_frames × n_members)")
    projection = param.Selector(default="xz", objects=["xz", "xy", "yz"], doc="Plane of the attractor view")
    forecaster = param.Selector(default="sindy", objects=list(FORECASTERS),
                                doc="The forecaster trained on one trajectory and shown against the truth")
    train_length = param.Integer(default=400, bounds=(1, 200_000), softbounds=(20, 20_000),
                                 doc="Training samples (one trajectory)")
    sample_dt = param.Number(default=0.025, bounds=(1e-4, 1.0), softbounds=(1e-3, 0.1),
                             doc="Sampling step of the training trajectory (the forecasters' step)")
    observation_noise = param.Number(default=0.0, bounds=(0.0, 20.0), softbounds=(0.0, 2.0),
                                     doc="Noise (standard deviation) on the training data and forecast inputs")
    ngrc_delays = param.Integer(default=2, bounds=(1, 8), doc="NG-RC: delays k")
    ngrc_stride = param.Integer(default=1, bounds=(1, 20), softbounds=(1, 10), doc="NG-RC: stride s between delays")
    ngrc_ridge = param.Number(default=2.5e-6, bounds=(0.0, 1e3), softbounds=(1e-10, 1.0), doc="NG-RC: ridge α")
    ngrc_input_noise = param.Number(default=INPUT_NOISE, bounds=(0.0, 1e-2), softbounds=(1e-8, 1e-2),
                                    doc="NG-RC: input-noise (Tikhonov) term ε, relative to each variable's spread; "
                                        "0 is Gauthier et al.'s model exactly")
    esn_size = param.Integer(default=300, bounds=(10, 3000), softbounds=(20, 1000), doc="ESN: reservoir nodes")
    esn_spectral_radius = param.Number(default=0.9, bounds=(0.0, 3.0), softbounds=(0.1, 1.5),
                                       doc="ESN: spectral radius of the reservoir matrix")
    esn_leak = param.Number(default=1.0, bounds=(0.01, 1.0), doc="ESN: leak rate a")
    esn_ridge = param.Number(default=1e-6, bounds=(0.0, 1e3), softbounds=(1e-10, 1.0), doc="ESN: ridge α")
    sindy_threshold = param.Number(default=0.1, bounds=(0.0, 100.0), softbounds=(0.0, 2.0),
                                   doc="SINDy: STLSQ threshold λ")
    analog_neighbours = param.Integer(default=4, bounds=(1, 100), softbounds=(1, 20), doc="Analog: neighbours k")
    mlp_epochs = param.Integer(default=200, bounds=(1, 20_000), softbounds=(50, 3000), doc="MLP: training epochs")
    enkf_method = param.Selector(default="perturbed", objects=list(ENKF_METHODS),
                                 doc="EnKF: perturbed observations or square root (ETKF)")
    enkf_members = param.Integer(default=20, bounds=(2, 2000), softbounds=(3, 200), doc="EnKF: ensemble size")
    enkf_obs_interval = param.Integer(default=25, bounds=(1, 1000), softbounds=(1, 100),
                                      doc="EnKF: model steps (of dt) between observations")
    enkf_obs_variance = param.Number(default=2.0, bounds=(1e-6, 1e3), softbounds=(0.01, 20.0),
                                     doc="EnKF: observation error variance r (R = r I)")
    enkf_inflation = param.Number(default=1.02, bounds=(1.0, 3.0), softbounds=(1.0, 1.5),
                                  doc="EnKF: multiplicative inflation of the forecast anomalies")
    enkf_cycles = param.Integer(default=80, bounds=(2, 10_000), softbounds=(10, 500),
                                doc="EnKF: assimilation cycles")
    backend = param.Selector(default="auto", objects=list(BACKENDS), doc="Compute target (auto: CUDA if present)")

    # the knobs only some choices read (scenes.applicable): each system's own, and with Lorenz-63 the chosen
    # forecaster's settings (the baselines take none), the training data's and the EnKF's
    applies_when = {
        **{name: when("system", "lorenz96") for name in ("l96_dimension", "forcing")},
        **{name: LORENZ63 for name in ("sigma", "rho", "beta", "forecaster", "train_length", "sample_dt",
                                       "observation_noise", "enkf_method", "enkf_members", "enkf_obs_interval",
                                       "enkf_obs_variance", "enkf_inflation", "enkf_cycles")},
        **{name: (LORENZ63, when("forecaster", forecaster)) for forecaster, names in FORECASTER_KNOBS.items()
           for name in names},
    }

    def __init__(self, **params):
        super().__init__(**params)
        self._scored: OrderedDict = OrderedDict()   # (data key, model key) → score
        self._filtered: OrderedDict = OrderedDict()

    @property
    def run_params(self) -> tuple:
        return tuple(p for p in self.param if p not in ("name", "projection"))

    # -- the ensemble ------------------------------------------------------------------------------
    @property
    def lorenz96(self) -> bool:
        return self.system == "lorenz96"

    @property
    def dimension(self) -> int:
        return self.l96_dimension if self.lorenz96 else 3

    def n_steps(self) -> int:
        return max(1, int(round(self.horizon / self.dt)))

    def frame_steps(self) -> np.ndarray:
        n = self.n_steps()
        return np.unique(np.round(np.linspace(0, n, min(self.n_frames, n + 1))).astype(np.int64))

    def ensemble(self):
        """(paths, times, centre, background): the members' frames and the attractor behind them."""
        frames = self.frame_steps()
        self.check_budget(len(frames), self.n_members, self.dimension)
        self.check_work(self.n_members * self.n_steps() * step_cost(self.integrator, self.dimension, self.noise > 0),
                        "n_members or horizon, or raise dt")
        try:
            backend = resolve_backend(self.backend)
        except ValueError as error:
            raise SceneError(str(error)) from None
        try:
            if self.lorenz96:
                centre, background = lorenz96_point_and_background(self.l96_dimension, self.forcing, self.seed)
            else:
                centre, background = attractor_point_and_background(self.sigma, self.rho, self.beta, self.seed)
        except FloatingPointError as error:
            where = (f"n={self.l96_dimension}, F={self.forcing:g}" if self.lorenz96
                     else f"σ={self.sigma:g}, ρ={self.rho:g}, β={self.beta:g}")
            raise SceneError(f"the reference orbit for {where} blew up: {error}") from None
        offsets = np.random.default_rng(self.seed).standard_normal((self.n_members, self.dimension))
        initial = centre + self.perturbation * offsets
        paths, _, died = integrate_ensemble(initial, self.n_steps(), frames, self.dt, self.sigma, self.rho,
                                            self.beta, self.noise, self.integrator, self.seed, backend,
                                            system=self.system, forcing=self.forcing, between=self.between_slices)
        return paths, frames * self.dt, died, background

    # -- forecasters and filter (cached per setting) -----------------------------------------------
    def _data_key(self):
        return (self.sigma, self.rho, self.beta, self.sample_dt, self.train_length, self.observation_noise,
                self.seed)

    def _model(self, name: str):
        settings = {"ngrc": dict(delays=self.ngrc_delays, stride=self.ngrc_stride, ridge=self.ngrc_ridge,
                                 input_noise=self.ngrc_input_noise),
                    "esn": dict(size=self.esn_size, spectral_radius=self.esn_spectral_radius, leak=self.esn_leak,
                                ridge=self.esn_ridge, seed=self.seed),
                    "sindy": dict(threshold=self.sindy_threshold),
                    "analog": dict(neighbours=self.analog_neighbours),
                    "mlp": dict(epochs=self.mlp_epochs, seed=self.seed)}.get(name, {})
        return (name, tuple(sorted(settings.items()))), FORECASTERS[name], settings

    def forecast_scores(self, lyapunov: float) -> dict:
        """Scores of the chosen forecaster and the baselines (trained now if not cached), plus every other
        model already trained on the same data."""
        data_key = self._data_key()
        steps = int(min(MAX_FORECAST_STEPS, np.ceil(FORECAST_LYAPUNOV_TIMES / max(lyapunov, 0.05) / self.sample_dt)))
        data = None
        for name in (self.forecaster, *BASELINES):
            model_key, cls, settings = self._model(name)
            key = (data_key, model_key, steps)
            if key in self._scored:
                self._scored.move_to_end(key)
                continue
            if data is None:
                try:
                    data = twin_data(self.sigma, self.rho, self.beta, self.sample_dt, self.train_length,
                                     N_FORECAST_STARTS, steps, self.seed)
                except FloatingPointError as error:
                    raise SceneError(f"the training trajectory blew up: {error}") from None
            model = cls(**settings)
            if hasattr(model, "progress"):  # trained by gradient steps: the app shows progress and can cancel
                model.progress, model.cancel = self.report_progress, self.cancel
            try:
                scored = train_and_score(model, *data, self.sample_dt, lyapunov, self.observation_noise, self.seed)
            except TrainingCancelled as stop:
                raise Cancelled(str(stop)) from None
            except TrainingTooShort as error:
                raise SceneError(str(error)) from None
            except FloatingPointError as error:
                raise SceneError(f"training {name} failed: {error}") from None
            scored.update(truth=data[2][0], equations=model.equations() if hasattr(model, "equations") else None)
            self._scored[key] = scored
            while len(self._scored) > CACHE_SIZE:
                self._scored.popitem(last=False)
        return {key[1][0]: value for key, value in self._scored.items() if key[0] == data_key and key[2] == steps}

    def filter_run(self) -> dict:
        key = (self.sigma, self.rho, self.beta, self.dt, self.enkf_method, self.enkf_members, self.enkf_obs_interval,
               self.enkf_obs_variance, self.enkf_inflation, self.enkf_cycles, self.seed)
        if key not in self._filtered:
            try:
                self._filtered[key] = twin_experiment(self.enkf_cycles, self.enkf_obs_interval, self.dt,
                                                      self.enkf_obs_variance, self.enkf_members, self.enkf_inflation,
                                                      self.enkf_method, self.sigma, self.rho, self.beta, seed=self.seed)
            except FloatingPointError as error:
                raise SceneError(f"the EnKF run failed: {error}; lower dt") from None
            while len(self._filtered) > 4:
                self._filtered.popitem(last=False)
        return self._filtered[key]

    # -- the run -------------------------------------------------------------------------------------
    def stages(self):
        """The ensemble first (the attractor, spread, fan chart and Hovmöller panels draw it), then the
        forecasters' scores and the EnKF run (trained or taken from their caches)."""
        start = time.perf_counter()
        paths, times, died, background = self.ensemble()
        extras = {"background": background, "died_at": died, "lost": float((died >= 0).mean()),
                  "first_divergence_step": int(died[died >= 0].min()) if (died >= 0).any() else -1}
        if extras["lost"] > 0:  # said before the forecasters and the filter, which would only repeat it
            step = extras["first_divergence_step"]
            raise DivergenceError(
                f"{self.integrator} diverged: {100 * extras['lost']:.1f}% of members left the finite numbers, the "
                f"first at step {step} (t = {step * self.dt:g}) of {self.n_steps()}; dt {self.dt:g} is too large "
                f"for {self.integrator} at these parameters: lower it.",
                Result(paths=paths, times=times, extras=extras, parameters=self.values()))
        lyapunov = (lorenz96_lyapunov_exponent(self.l96_dimension, self.forcing) if self.lorenz96
                    else lyapunov_exponent(self.sigma, self.rho, self.beta))
        spread = ensemble_spread(paths, finite=died < 0)
        metrics = {"lyapunov_exponent": lyapunov, "spread_growth_rate": growth_rate(times, spread),
                   "spread_trace": spread, "run_seconds": time.perf_counter() - start}
        ensemble = Result(paths=paths, times=times, metrics=metrics, extras=extras, parameters=self.values(),
                          complete=False)
        yield ensemble
        if self.lorenz96:  # the forecasters and the filter are Lorenz-63 models: skipped, their panels say so
            complete = ensemble.completed(scores={}, enkf=None)
        else:
            scores = self.forecast_scores(lyapunov)
            enkf = self.filter_run()
            complete = ensemble.completed({"vpt_lyapunov": scores[self.forecaster]["vpt_mean"],
                                           "enkf_rmse": float(np.mean(enkf["rmse"][len(enkf["rmse"]) // 5:])),
                                           "climatology_rmse": enkf["climatology_rmse"]}, scores=scores, enkf=enkf)
        complete.metrics["run_seconds"] = time.perf_counter() - start
        yield complete

    # -- views -------------------------------------------------------------------------------------
    def panels(self):
        from scenes.lorenz_views import panels

        return panels(self)

    def panels_shown(self, result: Result) -> set[str]:
        from scenes.lorenz_views import panels_shown

        return panels_shown(result)

    def view(self, result: Result):
        from scenes.lorenz_views import layout

        return layout(self, result)


def growth_rate(times: np.ndarray, spread: np.ndarray, saturation: float = 1.0) -> float:
    """Slope of log spread against time while the spread is below ``saturation`` (the linear regime)."""
    usable = np.isfinite(spread) & (spread > 0) & (spread < saturation)
    if usable.sum() < 3:
        return float("nan")
    return float(np.polyfit(times[usable], np.log(spread[usable]), 1)[0])
