"""Indices into the per-run sampler parameter vector (float64), shared by every step function."""
STEP_SIZE = 0      # h
TEMPERATURE = 1    # T: the chain targets exp(−U/T)
FRICTION = 2       # γ (kinetic Langevin)
LEAPFROG_STEPS = 3  # L (HMC)
SIGMA_MAX = 4      # annealing: the widest noise level
SIGMA_MIN = 5      # annealing: the narrowest noise level
N_REPLICAS = 6     # parallel tempering: replicas per particle
LADDER = 7         # parallel tempering: ratio between neighbouring temperatures
N_PARAMS = 8
