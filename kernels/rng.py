"""Counter-based random numbers: every draw is a pure function of (seed, stream, particle, step, k).

Nothing is pre-drawn and no generator state is carried, so results do not depend on the number of
threads or on scheduling, the CPU and CUDA builds draw the same numbers, and two samplers run with the
same seed see the same Brownian increments (common random numbers).

The hash is the SplitMix64 finaliser (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number
generators") applied to the counter fields one after another; normals come from Box–Muller on the two
32-bit halves of one 64-bit hash, which gives a pair of independent standard normals.
"""
from __future__ import annotations

import math

import numpy as np

from kernels.compile import device
from kernels.fastmath import exact_log as log
from kernels.fastmath import sincos_turn

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
SHIFT30 = np.uint64(30)
SHIFT27 = np.uint64(27)
SHIFT31 = np.uint64(31)
SHIFT32 = np.uint64(32)
LOW32 = np.uint64(0xFFFFFFFF)
TWO_POW_M32 = 2.0 ** -32

# -- The table of streams: every family of draws in the project, each its own ``stream`` value, so no two
# families ever share a number (tests/test_rng.py runs every sampler step and checks its counters).
STREAM_INIT = 0          # samplers: start positions, at step 0 (k 0 and 1: a box's two uniforms; 0: a normal pair)
STREAM_DYNAMICS = 1      # a step's Brownian increments: Langevin samplers, diffusion SDE steps, Lorenz forcing
STREAM_ACCEPT = 2        # a sampler step's uniforms: Metropolis tests, the randomized midpoint's α, swaps
STREAM_FINE_PATH = 3     # diffusion: increments of the fine Brownian path that coarse steps sum
STREAM_CORRECTOR = 4     # diffusion: the predictor–corrector's Langevin draws
STREAM_COUPLING = 10     # bridges: the uniforms that pick a source point's partners
STREAM_BRIDGE = 11       # bridges: Brownian and OU bridge increments

# -- Sub-indices k of one sampler step's draws (counter (seed, stream, particle, t, k)). Every sampler draws
# its step's increment at (STREAM_DYNAMICS, K_STEP): the common random numbers of compare mode.
K_STEP = 0               # the step's increment (DYNAMICS) and its Metropolis test (ACCEPT)
K_MIDPOINT = 1           # randomized midpoint: the increment's second part (DYNAMICS) and α (ACCEPT)
K_INITIAL_VELOCITY = 7   # BAOAB: the starting velocity, drawn at t = 0 beside that step's increment


@device
def splitmix(z):
    """SplitMix64 finaliser: z ← (z ⊕ z≫30)·C₁, (z ⊕ z≫27)·C₂, z ⊕ z≫31 (mod 2⁶⁴)."""
    z = (z ^ (z >> SHIFT30)) * MIX1
    z = (z ^ (z >> SHIFT27)) * MIX2
    return z ^ (z >> SHIFT31)


@device
def counter_hash(seed, stream, particle, step, k):
    """A well-mixed 64-bit hash of the five counter fields (each absorbed through SplitMix64)."""
    z = splitmix(np.uint64(seed) + GOLDEN)
    z = splitmix(z ^ (np.uint64(stream) + GOLDEN))
    z = splitmix(z ^ (np.uint64(particle) * GOLDEN))
    z = splitmix(z ^ (np.uint64(step) + GOLDEN))
    return splitmix(z ^ (np.uint64(k) * MIX1))


@device
def uniform(seed, stream, particle, step, k):
    """A uniform draw on (0, 1]: the top 32 bits of the hash, plus one, times 2⁻³²."""
    z = counter_hash(seed, stream, particle, step, k)
    return (np.float64(z >> SHIFT32) + 1.0) * TWO_POW_M32


@device
def normal_pair(seed, stream, particle, step, k):
    """Two independent N(0, 1) draws by Box–Muller: r = √(−2 ln u₁), (r cos 2πu₂, r sin 2πu₂)
    (the sine and cosine by :func:`kernels.fastmath.sincos_turn`; ``log`` is the library's unless the
    kernel rebinds it to :func:`kernels.fastmath.fast_log`)."""
    z = counter_hash(seed, stream, particle, step, k)
    u1 = (np.float64(z >> SHIFT32) + 1.0) * TWO_POW_M32
    u2 = np.float64(z & LOW32) * TWO_POW_M32
    r = math.sqrt(-2.0 * log(u1))
    sine, cosine = sincos_turn(u2)
    return r * cosine, r * sine


@device
def replica_move(r):
    """Parallel tempering: the sub-index of replica r's MALA move (its DYNAMICS and ACCEPT draws)."""
    return 2 * r


@device
def replica_swap(r):
    """Parallel tempering: the sub-index of the swap of replicas r and r + 1 (an ACCEPT draw)."""
    return 2 * r + 1
