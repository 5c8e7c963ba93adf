"""Parallel tempering (Swendsen & Wang 1986; Geyer 1991) with MALA moves inside each replica.

Each particle is a chain of R replicas at temperatures T_r = T·ladder^r, r = 0 … R−1, stored in columns
6r … 6r+5 as (x, y, U, ∂xU, ∂yU, whether its last move was accepted). A step moves every replica by MALA
at its own temperature, then proposes swaps between neighbours (r, r+1) for r of the step's parity (even steps: 0↔1, 2↔3, …),
accepted with probability min(1, exp((U_r − U_{r+1})(1/T_r − 1/T_{r+1}))). The cold replica r = 0 is the
sample (columns 0–1). Returns the cold replica's MALA acceptance.
"""
from kernels.compile import device
from kernels.fastmath import exact_exp as exp, exact_log as log
from kernels.rng import STREAM_ACCEPT, replica_move, replica_swap, uniform
from kernels.samplers.layout import LADDER, N_REPLICAS, STEP_SIZE, TEMPERATURE
from kernels.samplers.overdamped import mala_move
from kernels.targets import potential

WIDTH = 6  # columns per replica
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
def replica_temperature(params, r):
    """T_r = T·ladder^r, as T·exp(r log ladder): the rebindable exp and log vectorise in the block launcher, a
    pow call would not."""
    return params[TEMPERATURE] * exp(r * log(params[LADDER]))


@device
def tempering_move(state, p, t, n_steps, seed, params, kind, tparams, mix, r):
    """Replica r's MALA move at its temperature T·ladder^r, its acceptance kept in the replica's last column
    (stored whatever r is: a store that depends on r would keep the block launcher from vectorising)."""
    # r bounded where LLVM sees it: with an unbounded column offset the block launcher's moves ran 4× slower
    # (12 against 51 M moves/s, R = 4 on ring8), though they still vectorised
    c = WIDTH * min(r, MAX_REPLICAS - 1)
    x, y, u, gx, gy, accepted = mala_move(state[p, c], state[p, c + 1], state[p, c + 2], state[p, c + 3],
                                          state[p, c + 4], params[STEP_SIZE], replica_temperature(params, r), seed, p, t,
                                          replica_move(r), kind, tparams, mix)
    state[p, c] = x
    state[p, c + 1] = y
    state[p, c + 2] = u
    state[p, c + 3] = gx
    state[p, c + 4] = gy
    state[p, c + 5] = accepted


@device
def tempering_replicas(params):
    """R, the replicas each step moves."""
    return int(params[N_REPLICAS])


@device
def tempering_swap(state, p, t, n_steps, seed, params, kind, tparams, mix):
    """The swaps of neighbours of the step's parity (see module doc); returns the cold replica's acceptance
    of this step's move (read before a swap brings another replica down)."""
    cold_accepted = state[p, 5]
    n_rep = int(params[N_REPLICAS])
    for r in range(t % 2, n_rep - 1, 2):
        c = WIDTH * r
        d = c + WIDTH
        beta_gap = 1.0 / replica_temperature(params, r) - 1.0 / replica_temperature(params, r + 1)
        if log(uniform(seed, STREAM_ACCEPT, p, t, replica_swap(r))) < (state[p, c + 2] - state[p, d + 2]) * beta_gap:
            for j in range(WIDTH):
                swap = state[p, c + j]
                state[p, c + j] = state[p, d + j]
                state[p, d + j] = swap
    return cold_accepted


@device
def tempering_step(state, p, t, n_steps, seed, params, kind, tparams, mix):
    """One parallel-tempering step (see module doc): every replica's move, then the swaps. The blocked
    launcher runs the same as phases (its SamplerSpec.phases), each replica's moves over a block."""
    for r in range(tempering_replicas(params)):
        tempering_move(state, p, t, n_steps, seed, params, kind, tparams, mix, r)
    return tempering_swap(state, p, t, n_steps, seed, params, kind, tparams, mix)
