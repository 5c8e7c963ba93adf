"""The forecasters by name, their training data, and one function that trains and scores them.

Data (a twin experiment): one long RK4 trajectory of the true Lorenz-63 system, sampled every
``sample_dt``; the first ``train_length`` samples (plus Gaussian observation noise of standard deviation
``observation_noise``) train the model; forecasts start from ``n_starts`` later points of the same
trajectory, each given the clean (or noisy) past it needs, and are scored against the clean truth.
"""
from __future__ import annotations

import numpy as np

from kernels.lorenz.analog import Analog
from kernels.lorenz.baselines import Climatology, Persistence
from kernels.lorenz.esn import ESN
from kernels.lorenz.integrate import trajectory
from kernels.lorenz.mlp import MLP
from kernels.lorenz.ngrc import NGRC
from kernels.lorenz.scores import score
from kernels.lorenz.sindy import SINDy

FORECASTERS = {"ngrc": NGRC, "esn": ESN, "sindy": SINDy, "mlp": MLP, "analog": Analog,
               "persistence": Persistence, "climatology": Climatology}
MAX_INTEGRATION_STEP = 0.0025   # the truth is integrated at this step or finer, then sampled
SPIN_UP = 20.0                  # time units discarded so the data start on the attractor
HISTORY = 200                   # past samples handed to every forecast (the ESN's listening period)


def twin_data(sigma, rho, beta, sample_dt, train_length, n_starts, forecast_steps, seed=0):
    """(train (train_length, 3), histories (n_starts, HISTORY, 3), truths (n_starts, steps, 3), attractor
    standard deviations (3,)) from one clean trajectory."""
    substeps = max(1, int(np.ceil(sample_dt / MAX_INTEGRATION_STEP - 1e-9)))
    h = sample_dt / substeps
    spin = int(round(SPIN_UP / sample_dt))
    gap = HISTORY + forecast_steps
    total = spin + train_length + n_starts * gap
    rng = np.random.default_rng(seed)
    start = np.array([1.0, 1.0, 1.0]) + rng.normal(scale=1.0, size=3)
    series = trajectory(start, total, substeps, h, sigma, rho, beta)[spin:]
    train = series[:train_length]
    tests = series[train_length:].reshape(n_starts, gap, 3)
    return train, tests[:, :HISTORY], tests[:, HISTORY:], series.std(axis=0)


def train_and_score(model, train, histories, truths, scale, sample_dt, lyapunov_exponent,
                    observation_noise=0.0, seed=0):
    """Fit ``model`` on ``train`` (with observation noise added) and score its forecasts."""
    rng = np.random.default_rng(seed + 1)
    noisy = train + observation_noise * rng.standard_normal(train.shape) if observation_noise > 0 else train
    model.fit(noisy, sample_dt)
    noisy_histories = (histories + observation_noise * rng.standard_normal(histories.shape)
                       if observation_noise > 0 else histories)
    forecast = model.predict(noisy_histories, truths.shape[1])
    return {"forecast": forecast, **score(forecast, truths, scale, sample_dt, lyapunov_exponent)}
