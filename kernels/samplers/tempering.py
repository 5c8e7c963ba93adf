"""Parallel tempering (Swendsen & Wang 1986; Geyer 1991) with MALA moves inside each replica.

Each particle is a chain of R replicas at temperatures T_r = T·ladder^r, r = 0 … R−1, stored in columns
5r … 5r+4 as (x, y, U, ∂xU, ∂yU). A step moves every replica by MALA at its own temperature, then
proposes swaps between neighbours (r, r+1) for r of the step's parity (even steps: 0↔1, 2↔3, …),
accepted with probability min(1, exp((U_r − U_{r+1})(1/T_r − 1/T_{r+1}))). The cold replica r = 0 is the
sample (columns 0–1). Returns the cold replica's MALA acceptance.
"""
import math

from kernels.compile import device
from kernels.fastmath import exact_log as log
from kernels.rng import STREAM_ACCEPT, replica_move, replica_swap, uniform
from kernels.samplers.layout import LADDER, N_REPLICAS, STEP_SIZE, TEMPERATURE
from kernels.samplers.overdamped import mala_move
from kernels.targets import potential

WIDTH = 5  # columns per replica
MAX_REPLICAS = 8


@device
def tempering_init(state, p, seed, params, kind, tparams, mix):
    """Every replica starts at the particle's start, with its U and ∇U cached."""
    u, gx, gy = potential(state[p, 0], state[p, 1], kind, tparams, mix, 0.0)
    for r in range(int(params[N_REPLICAS])):
        c = WIDTH * r
        state[p, c], state[p, c + 1] = state[p, 0], state[p, 1]
        state[p, c + 2], state[p, c + 3], state[p, c + 4] = u, gx, gy


@device
def tempering_step(state, p, t, n_steps, seed, params, kind, tparams, mix):
    """One parallel-tempering step (see module doc)."""
    n_rep = int(params[N_REPLICAS])
    base_t = params[TEMPERATURE]
    ladder = params[LADDER]
    h = params[STEP_SIZE]
    cold_accepted = 0.0
    for r in range(n_rep):
        c = WIDTH * r
        x, y, u, gx, gy, accepted = mala_move(state[p, c], state[p, c + 1], state[p, c + 2],
                                              state[p, c + 3], state[p, c + 4], h,
                                              base_t * math.pow(ladder, r), seed, p, t, replica_move(r),
                                              kind, tparams, mix)
        state[p, c] = x
        state[p, c + 1] = y
        state[p, c + 2] = u
        state[p, c + 3] = gx
        state[p, c + 4] = gy
        if r == 0:
            cold_accepted = accepted
    for r in range(t % 2, n_rep - 1, 2):
        c = WIDTH * r
        d = c + WIDTH
        beta_gap = 1.0 / (base_t * math.pow(ladder, r)) - 1.0 / (base_t * math.pow(ladder, r + 1))
        if log(uniform(seed, STREAM_ACCEPT, p, t, replica_swap(r))) < (state[p, c + 2] - state[p, d + 2]) * beta_gap:
            for j in range(WIDTH):
                swap = state[p, c + j]
                state[p, c + j] = state[p, d + j]
                state[p, d + j] = swap
    return cold_accepted
