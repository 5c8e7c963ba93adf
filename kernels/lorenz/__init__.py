"""Lorenz-63: ensembles, Lyapunov exponents, data-driven forecasters, scores and the EnKF."""
