"""Bridge matching by iterative Markovian fitting: DSBM-IMF (Shi, De Bortoli, Campbell & Doucet 2023,
"Diffusion Schrödinger Bridge Matching", NeurIPS, Algorithm 1), between two clouds with reference √ε W.

Given a coupling Π of (x₀, x₁) pairs, its reciprocal process mixes Brownian bridges with σ² = ε,

    x_t = (1 − t) x₀ + t x₁ + √(ε t(1 − t)) z,    z ~ N(0, I),  t ~ U(0, 1),

and its Markovian projection is the SDE whose drift is the bridges' drift averaged given X_t (their
Prop. 2, eqs. 7 and 16–17): forward, dX = v^f(t, X) dt + √ε dW with
v^f(t, x) = E[(x₁ − x_t)/(1 − t) | x_t = x]; backward in time, X_t with Y_s = X_{1−s},
dY = v^b(1 − s, Y) ds + √ε dW, v^b(t, x) = E[(x₀ − x_t)/t | x_t = x]. Each drift is a small MLP v_θ(t, x)
(2 hidden layers, SiLU, float32) fitted by regression onto those targets,

    L^f(θ) = E (1 − t) ‖v^f_θ(t, x_t) − (x₁ − x_t)/(1 − t)‖²,   L^b(φ) = E t ‖v^b_φ(t, x_t) − (x₀ − x_t)/t‖².

The weights 1 − t and t leave the minimiser (the conditional mean) unchanged and give the regression a
finite variance: the forward target (x₁ − x_t)/(1 − t) = x₁ − x₀ − √(ε t/(1 − t)) z has variance ε t/(1 − t),
not integrable in t, and with the weight the residual is √(1 − t)(v − (x₁ − x₀)) + √(ε t) z (backward,
√t (v − (x₀ − x₁)) + √(ε(1 − t)) z), with no division by t or 1 − t. (Measured on two standard Gaussians at
ε = 1: weights (1 − t)², t² left the first backward coupling's X₀ 13 % too narrow, against 6 % here; a network
predicting the endpoint E[x₁ | x_t], drift (m − x)/(1 − t), was worse than both.)

IMF starts from the independent coupling (x₀ with a random permutation of x₁) and alternates, as in their
Algorithm 1: fit v^b on the current pairs and simulate it backward from the target cloud x₁ (new pairs
(X₀, x₁)); fit v^f on those and simulate it forward from the source cloud x₀ (new pairs (x₀, X₁)). One
iteration is both; each network starts from its previous fit. Every projection keeps the marginals and
lowers KL to the Schrödinger bridge (their Prop. 6), whose static coupling is the entropic-OT plan at ε
(cost ½‖x − y‖²) that Sinkhorn computes. Euler–Maruyama is :func:`kernels.bridges.learned.simulate`.

What is reported after every projection (index 0: the independent coupling) is the pairs' cross-covariance
C = Cov(X₀, X₁) (2×2) and their transport cost ½ E‖X₀ − X₁‖²; the gap to Sinkhorn's plan π is
‖C − C_π‖_F with C_π = Σ_ij π_ij (x_i − x̄)(y_j − ȳ)ᵀ (:func:`plan_cross_covariance`): defined the same way
for a sampled coupling and for a plan, zero between two Gaussians exactly at the Schrödinger bridge
(which is fixed by its cross-covariance there, :mod:`kernels.bridges.gaussian`), and in covariance units.

Training goes through :func:`kernels.torch_training.fit` (Adam, cosine decay, progress, cancel); all draws
come from seeded generators, so the same inputs and seed give the same numbers. A fit is kept per
(clouds, ε, settings) so a redraw does not retrain.
"""
from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from kernels.bridges.learned import simulate
from kernels.bridges.sinkhorn import dense_plan
from kernels.torch_training import TrainingCancelled, fit, torch_module

CACHE_SIZE = 8
MATCHING_TAG = 0x53   # seeds (seed, tag, …): apart from the clouds', LightSB's and the pair draws' streams
_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()


class DriftNetwork:
    """v_θ(t, x) = s · MLP(t, (x − c)/s): inputs standardised by the clouds' centre c and scale s, 3 → width →
    width → 2 with SiLU, weights drawn from a generator of its own (torch's global stream is left alone)."""

    def __init__(self, centre: np.ndarray, scale: float, width: int, seed: int):
        torch = torch_module()
        generator = torch.Generator().manual_seed(seed)
        self.centre = torch.as_tensor(np.asarray(centre, dtype=np.float32))
        self.scale = float(scale)
        self.layers = []
        for n_in, n_out in ((3, width), (width, width), (width, 2)):
            bound = 1 / math.sqrt(n_in)  # torch.nn.Linear's default range
            weight = (torch.rand(n_in, n_out, generator=generator) * 2 - 1) * bound
            bias = (torch.rand(n_out, generator=generator) * 2 - 1) * bound
            self.layers.append((weight.requires_grad_(True), bias.requires_grad_(True)))

    @property
    def parameters(self):
        return [tensor for layer in self.layers for tensor in layer]

    def __call__(self, t, x):
        """v_θ at rows of x (float32, (n, 2)) and times t ((n, 1) or a float)."""
        torch = torch_module()
        u = (x - self.centre) / self.scale
        h = torch.cat([torch.as_tensor(t, dtype=u.dtype).expand(len(u), 1), u], dim=1)
        for weight, bias in self.layers[:-1]:
            h = torch.nn.functional.silu(h @ weight + bias)
        weight, bias = self.layers[-1]
        return self.scale * (h @ weight + bias)

    def drift(self, t: float, x):
        """v_θ(t, ·) for :func:`kernels.bridges.learned.simulate`: float64 rows in, float64 out."""
        return self(float(t), x.float()).double()


@dataclass
class MatchingFit:
    """The fitted forward and backward drifts, and the coupling after every projection (index 0: independent)."""

    forward: DriftNetwork
    backward: DriftNetwork
    epsilon: float
    directions: tuple          # "independent", then "backward", "forward", … per projection
    cross_covariances: np.ndarray   # (projections + 1, 2, 2): Cov(X₀, X₁) of each coupling's pairs
    transport_costs: np.ndarray     # (projections + 1,): ½ mean ‖X₀ − X₁‖²
    endpoints: np.ndarray      # X₁ of the last (forward) coupling, one per source point
    seconds: float

    def drift(self, t: float, x):
        """The forward drift v^f(t, x) (float64 torch rows), for simulating the bridge from the source."""
        return self.forward.drift(t, x)

    def gaps(self, reference: np.ndarray) -> np.ndarray:
        """‖C_k − reference‖_F for every coupling k (module doc)."""
        return np.linalg.norm(self.cross_covariances - np.asarray(reference)[None], axis=(1, 2))


def cross_covariance(x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """Cov(X₀, X₁) (2×2) of the pairs (rows of x0 with rows of x1), normalised by n."""
    centred0, centred1 = x0 - x0.mean(0), x1 - x1.mean(0)
    return centred0.T @ centred1 / len(x0)


def plan_cross_covariance(x: np.ndarray, y: np.ndarray, f: np.ndarray, g: np.ndarray, epsilon: float,
                          block: int = 256) -> np.ndarray:
    """C_π = Σ_ij π_ij (x_i − x̄)(y_j − ȳ)ᵀ of the entropic plan π_ij = exp((f_i + g_j − ½‖x_i − y_j‖²)/ε),
    normalised to mass 1, the means its marginals'; accumulated over blocks of rows (never n×m)."""
    mass, first, second, moment = 0.0, np.zeros(2), np.zeros(2), np.zeros((2, 2))
    for start in range(0, len(x), block):
        rows = slice(start, start + block)
        plan = dense_plan(x[rows], y, f[rows], g, epsilon)
        row_mass, column_mass = plan.sum(1), plan.sum(0)
        mass += row_mass.sum()
        first += row_mass @ x[rows]
        second += column_mass @ y
        moment += x[rows].T @ (plan @ y)
    return moment / mass - np.outer(first / mass, second / mass)


def _check(x0: np.ndarray, x1: np.ndarray, epsilon: float, iterations: int, steps: int, batch: int, width: int,
           em_steps: int) -> None:
    if x0.ndim != 2 or x1.ndim != 2 or x0.shape[1] != 2 or x1.shape[1] != 2:
        raise ValueError(f"bridge matching needs two clouds of 2D points, (n, 2) each: got {x0.shape} and {x1.shape}")
    if len(x0) != len(x1):
        raise ValueError(f"bridge matching pairs the clouds point for point: {len(x0)} source and {len(x1)} "
                         f"target points")
    if len(x0) < 2:
        raise ValueError(f"bridge matching needs at least 2 points per cloud, got {len(x0)}")
    if not (np.isfinite(x0).all() and np.isfinite(x1).all()):
        raise ValueError("the clouds hold NaN or Inf")
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise ValueError(f"ε must be a positive number, got {epsilon}")
    for name, value, low in (("iterations", iterations, 1), ("steps", steps, 1), ("batch", batch, 1),
                             ("width", width, 1), ("em_steps", em_steps, 1)):
        if int(value) != value or value < low:
            raise ValueError(f"{name} must be a whole number ≥ {low}, got {value}")


def bridge_matching(x0: np.ndarray, x1: np.ndarray, epsilon: float, iterations: int = 3, steps: int = 400,
                    batch: int = 512, width: int = 64, learning_rate: float = 5e-3, em_steps: int = 100,
                    seed: int = 0, progress=None, should_stop=None) -> MatchingFit:
    """DSBM-IMF between the clouds x0 and x1 (n, 2) at ε, ``iterations`` × (backward fit, forward fit) of
    ``steps`` Adam steps each on batches of ``batch`` pairs (module doc); ``em_steps`` Euler–Maruyama steps
    per simulation. ``progress(fraction)`` follows all fits together; ``should_stop()`` is asked between Adam
    steps (:func:`kernels.torch_training.fit`) and between fits, and a true answer raises TrainingCancelled.
    """
    x0, x1 = np.asarray(x0, dtype=np.float64), np.asarray(x1, dtype=np.float64)
    _check(x0, x1, epsilon, iterations, steps, batch, width, em_steps)
    torch = torch_module()
    start_time = time.perf_counter()
    both = np.concatenate([x0, x1])
    centre, scale = both.mean(0), float(both.std(0).mean()) or 1.0
    streams = np.random.SeedSequence((seed, MATCHING_TAG)).spawn(4 * iterations + 3)
    forward = DriftNetwork(centre, scale, width, int(streams[0].generate_state(1)[0]))
    backward = DriftNetwork(centre, scale, width, int(streams[1].generate_state(1)[0]))
    order = np.random.default_rng(streams[2]).permutation(len(x1))
    pairs = (x0, x1[order])    # the independent coupling
    directions, covariances, costs = ["independent"], [cross_covariance(*pairs)], [_cost(*pairs)]
    fits = 2 * iterations
    for k in range(fits):
        if should_stop is not None and should_stop():
            raise TrainingCancelled(f"bridge matching cancelled before fit {k + 1} of {fits}")
        direction = "backward" if k % 2 == 0 else "forward"
        network = backward if direction == "backward" else forward
        fit_seed, simulation_seed = (int(s.generate_state(1)[0]) for s in streams[3 + 2 * k: 5 + 2 * k])
        _fit(torch, network, direction, pairs, epsilon, steps, batch, learning_rate, fit_seed,
             None if progress is None else (lambda fraction, k=k: progress((k + fraction) / fits)), should_stop)
        if direction == "backward":   # Y_s = X_{1−s} from the target: dY = v^b(1 − s, Y) ds + √ε dW
            start = simulate(lambda s, y: network.drift(1.0 - s, y), x1, epsilon, em_steps, np.array([1.0]),
                             simulation_seed)[0].astype(np.float64)
            pairs = (start, x1)
        else:
            pairs = (x0, simulate(network.drift, x0, epsilon, em_steps, np.array([1.0]),
                                  simulation_seed)[0].astype(np.float64))
        if not np.isfinite(pairs[0]).all() or not np.isfinite(pairs[1]).all():
            raise FloatingPointError(f"bridge matching's {direction} simulation left the finite numbers (NaN/Inf) "
                                     f"in fit {k + 1} of {fits} at ε = {epsilon:g}")
        directions.append(direction)
        covariances.append(cross_covariance(*pairs))
        costs.append(_cost(*pairs))
    return MatchingFit(forward, backward, float(epsilon), tuple(directions), np.array(covariances),
                       np.array(costs), pairs[1], time.perf_counter() - start_time)


def _cost(x0: np.ndarray, x1: np.ndarray) -> float:
    return float(0.5 * np.mean(np.sum((x0 - x1) ** 2, axis=1)))


def _fit(torch, network: DriftNetwork, direction: str, pairs, epsilon: float, steps: int, batch: int,
         learning_rate: float, seed: int, progress, should_stop) -> float:
    """Regress ``network`` onto the bridges' forward or backward drift over ``pairs`` (the weighted losses of
    the module doc)."""
    start = torch.as_tensor(pairs[0], dtype=torch.float32)
    end = torch.as_tensor(pairs[1], dtype=torch.float32)
    generator = torch.Generator().manual_seed(seed)
    root_eps = math.sqrt(epsilon)

    def batch_loss(_step):
        rows = torch.randint(0, len(start), (batch,), generator=generator)
        t = torch.rand(batch, 1, generator=generator)
        z = torch.randn(batch, 2, generator=generator)
        a, b = start[rows], end[rows]
        x_t = (1 - t) * a + t * b + root_eps * torch.sqrt(t * (1 - t)) * z
        v = network(t, x_t)
        if direction == "forward":   # √(1 − t) (v − (x₁ − x_t)/(1 − t))
            residual = torch.sqrt(1 - t) * (v - (b - a)) + root_eps * torch.sqrt(t) * z
        else:                        # √t (v − (x₀ − x_t)/t)
            residual = torch.sqrt(t) * (v - (a - b)) + root_eps * torch.sqrt(1 - t) * z
        return residual.square().sum(1).mean()

    return fit(network.parameters, batch_loss, steps, learning_rate, progress=progress, should_stop=should_stop,
               what=f"bridge matching ({direction} fit)")


def cached_bridge_matching(x0: np.ndarray, x1: np.ndarray, epsilon: float, **settings) -> MatchingFit:
    """:func:`bridge_matching`, remembered per (clouds, ε, settings) for the last CACHE_SIZE fits."""
    key = (hashlib.sha1(np.ascontiguousarray(x0, dtype=np.float64).tobytes()).hexdigest(),
           hashlib.sha1(np.ascontiguousarray(x1, dtype=np.float64).tobytes()).hexdigest(), float(epsilon),
           tuple(sorted((k, v) for k, v in settings.items() if k not in ("progress", "should_stop"))))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    model = bridge_matching(x0, x1, epsilon, **settings)
    with _cache_lock:
        _cache[key] = model
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return model
