"""The samplers by name, and :func:`simulate`, the one entry point the scenes call."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kernels.samplers import annealed, kinetic, overdamped, tempering
from kernels.samplers.driver import Phases, initial_positions, launch, no_init, no_proposal
from kernels.samplers.layout import LEAPFROG_STEPS, N_PARAMS, N_REPLICAS
from kernels.samplers.svgd import run_svgd
from kernels.targets import CUSTOM


@dataclass(frozen=True)
class SamplerSpec:
    step: object             # the per-particle DeviceFunction (None for SVGD, which interacts)
    state_width: int         # float64 columns of per-particle state
    has_acceptance: bool     # whether it has an accept/reject step
    mixture_only: bool = False
    label: str = ""
    cost: float = 1.0        # work per particle-step relative to ULA's, on ring8 (step_cost)
    init: object = no_init   # run once per particle before step 0: what the step caches beside the position
    phases: Phases | None = None  # the step as phases, for the block launcher (a step with a run-time loop)


SAMPLERS = {
    "ula": SamplerSpec(overdamped.ula_step, 2, False, label="ULA (unadjusted Langevin)"),
    "mala": SamplerSpec(overdamped.mala_step, 5, True, label="MALA (Metropolis-adjusted Langevin)", cost=3.3,
                        init=overdamped.cache_potential),
    "baoab": SamplerSpec(kinetic.baoab_step, 6, False, label="kinetic Langevin (BAOAB)", cost=2.8,
                         init=kinetic.baoab_init),
    "rmid": SamplerSpec(overdamped.rmid_step, 2, False, label="randomized midpoint", cost=5.0),
    "hmc": SamplerSpec(kinetic.hmc_step, kinetic.HMC_WIDTH, True, label="HMC (leapfrog)", cost=2.1,
                       init=kinetic.hmc_init, phases=Phases(kinetic.hmc_propose, kinetic.hmc_leapfrog,
                                                            kinetic.hmc_leapfrog_steps, kinetic.hmc_accept)),
    "annealed": SamplerSpec(annealed.annealed_step, 2, False, mixture_only=True, label="annealed Langevin", cost=4.5),
    "svgd": SamplerSpec(None, 2, False, label="SVGD (RBF kernel)", cost=0.17),
    "tempering": SamplerSpec(tempering.tempering_step, tempering.WIDTH * tempering.MAX_REPLICAS, True,
                             label="parallel tempering (MALA moves)", cost=3.6, init=tempering.tempering_init,
                             phases=Phases(no_proposal, tempering.tempering_move, tempering.tempering_replicas,
                                           tempering.tempering_swap)),
    "rwmh": SamplerSpec(overdamped.rwmh_step, 3, True, label="random-walk Metropolis", cost=3.3,
                        init=overdamped.cache_energy),
}

# Samplers run on the vectorised CPU block launcher on a mixture target (kernels.samplers.driver). Measured
# on ring8, 2 cores, 100,000 particles (M particle-steps/s, blocked / per particle): ULA 149 / 28, MALA 92 / 21,
# BAOAB 104 / 26, randomized midpoint 71 / 15, annealed 124 / 16, random-walk MH 112 / 23. HMC and parallel
# tempering loop a run-time number of times within a step (leapfrog steps, replicas) and give their steps as
# Phases, run over a block each: at 50,000 particles HMC (L = 5) 22 / 5.1, 99 % of ULA's rate per gradient,
# tempering (R = 4) 14.1 / 4.4, 51 % (python -m benchmarks --only mixture_samplers). A blocked kernel is
# compiled per mixture size up to BLOCKED_MAX_COMPONENTS, in 16–23 s each with a cold cache (per particle:
# 2–9 s, once for every size), and once for every larger size (the mixture as an array, kernels.blocked.
# block_mixture): ULA 33 / 20 / 12.9 M/s at 16 / 25 / 64 components (2.5–3× the per-particle path), MALA
# 19 / 12 / 10.5.
BLOCKED_SAMPLERS = ("ula", "mala", "baoab", "rmid", "hmc", "annealed", "tempering", "rwmh")
SHAPE_TARGET_COST = 0.4  # a step on banana, double well … against one on ring8 (step_cost)


def state_width(sampler: str, params: np.ndarray) -> int:
    if sampler == "tempering":
        return tempering.WIDTH * int(params[N_REPLICAS])
    return SAMPLERS[sampler].state_width


def simulate(sampler: str, target, n_particles: int, n_steps: int, frame_steps: np.ndarray, seed: int,
             params: np.ndarray, init_mode: int, init_spec: np.ndarray, backend: str = "cpu", between=None,
             slice_steps: int | None = None):
    """Run ``sampler`` on ``target`` from the counter-based initial cloud, the steps in slices with
    ``between()`` after each slice but the last (kernels.chunks; the numbers do not depend on the slicing).

    Returns ``(paths, accepts, died_at)``: positions at ``frame_steps`` (n_frames, n, 2) float32, the
    cumulative accept count per particle at each frame (n_frames, n), and per particle the step at which
    it became non-finite (−1 if never).
    """
    params = np.asarray(params, dtype=np.float64)
    assert params.shape == (N_PARAMS,), params.shape
    frame_steps = np.ascontiguousarray(frame_steps, dtype=np.int64)
    positions = initial_positions(n_particles, seed, init_mode, init_spec)
    work = n_particles * step_cost(sampler, params, target, n_particles)  # per step, for the slicing
    if sampler == "svgd":
        return run_svgd(positions, n_steps, frame_steps, params[0], params[1], target.kind, target.params,
                        target.mix, backend, work, between, slice_steps)
    state = np.zeros((n_particles, state_width(sampler, params)))
    state[:, :2] = positions
    spec = SAMPLERS[sampler]
    return launch(spec.step, backend, state, n_steps, frame_steps, seed, params, target.kind, target.params,
                  target.mix, blocked=sampler in BLOCKED_SAMPLERS, work_per_step=work, between=between,
                  slice_steps=slice_steps, init=spec.init, phases=spec.phases)


def step_cost(sampler: str, params: np.ndarray, target, n_particles: int = 1) -> float:
    """The work of one particle-step, in units of ULA's on the ring8 mixture (kernels.chunks): the sampler's
    ``cost`` (HMC per leapfrog step and its final evaluation, parallel tempering per replica, SVGD per
    particle it interacts with) times the target's cost (a mixture's grows with its components; the built-in
    non-mixtures cost less; a typed formula, run by the stack machine, is counted as a mixture). Measured
    with ``python benchmarks/step_costs.py``; an estimate, good to a factor of about two."""
    cost = SAMPLERS[sampler].cost
    if sampler == "hmc":
        cost *= params[LEAPFROG_STEPS] + 1
    elif sampler == "tempering":
        cost *= params[N_REPLICAS]
    elif sampler == "svgd":
        cost *= n_particles
    if target.is_mixture:
        return cost * max(1.0, len(target.mix) / 8)
    return cost * (1.0 if target.kind == CUSTOM else SHAPE_TARGET_COST)
