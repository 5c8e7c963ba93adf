"""Forecast scores in Lyapunov times.

NRMSE(τ) = √( (1/3) Σᵢ (x̂ᵢ(τ) − xᵢ(τ))² / sᵢ² ), sᵢ the standard deviation of variable i on the attractor
(Pathak et al. 2018; Gauthier et al. 2021). The valid prediction time (VPT) is the first lead at which
NRMSE exceeds 0.5, reported in Lyapunov times λ₁τ (one Lyapunov time is 1/λ₁ = 1.104 at the classic
parameters). A non-finite forecast counts as infinitely wrong.
"""
from __future__ import annotations

import numpy as np

VPT_THRESHOLD = 0.5


def nrmse(forecast: np.ndarray, truth: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(B, T, 3) forecasts and truths → (B, T) normalised RMSE (inf where the forecast is not finite)."""
    with np.errstate(all="ignore"):
        error = np.sqrt((((forecast - truth) / scale) ** 2).mean(axis=-1))
    return np.where(np.isfinite(error), error, np.inf)


def valid_prediction_time(errors: np.ndarray, lead_times: np.ndarray, threshold: float = VPT_THRESHOLD):
    """(B, T) NRMSE over ``lead_times`` → (B,) the first lead where it passes ``threshold`` (the full
    horizon where it never does)."""
    past = errors > threshold
    first = np.where(past.any(axis=1), past.argmax(axis=1), errors.shape[1])
    padded = np.concatenate([lead_times, [lead_times[-1]]])
    return padded[first]


def score(forecast: np.ndarray, truth: np.ndarray, scale: np.ndarray, dt: float, lyapunov_exponent: float) -> dict:
    """Mean NRMSE against lead time (in Lyapunov times) and the VPT of each start, in Lyapunov times."""
    errors = nrmse(forecast, truth, scale)
    lead = dt * np.arange(1, forecast.shape[1] + 1) * lyapunov_exponent
    vpt = valid_prediction_time(errors, lead)
    return {"lead_lyapunov": lead, "nrmse": np.minimum(errors, 1e6).mean(axis=0), "vpt": vpt,
            "vpt_mean": float(vpt.mean()), "nrmse_per_start": errors}
