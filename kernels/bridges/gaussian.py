"""The Schrödinger bridge between two Gaussians in closed form: the exact answer beside the numerics.

Between N(μ₀, Σ₀) and N(μ₁, Σ₁) with reference σW and ε = σ² (cost ½‖x − y‖²), the static bridge is
Gaussian with cross-covariance (Janati et al. 2020, "Entropic optimal transport between unbalanced
Gaussian measures has a closed form", Thm. 1; Bunne et al. 2023, "The Schrödinger bridge between Gaussian
measures has a closed form", Thm. 3):

    D_ε = (4 Σ₀^{½} Σ₁ Σ₀^{½} + ε² I)^{½},   C_ε = Cov(X₀, X₁) = ½ (Σ₀^{½} D_ε Σ₀^{−½} − ε I).

The dynamic bridge mixes Brownian bridges over that coupling, so at time t
X_t = (1 − t)X₀ + tX₁ + σ√(t(1 − t)) Z has mean μ_t = (1 − t)μ₀ + tμ₁ and covariance

    Σ_t = (1 − t)² Σ₀ + t² Σ₁ + t(1 − t)(C_ε + C_εᵀ + ε I).

Its drift is the Brownian-bridge drift averaged over the endpoint given X_t (the Markov mimicking of the
mixture; Shi et al. 2023, DSBM, §3): v_t(x) = (E[X₁ | X_t = x] − x)/(1 − t), and for jointly Gaussian
(X_t, X₁), E[X₁ | X_t = x] = μ₁ + ((1 − t) C_εᵀ + t Σ₁) Σ_t^{−1} (x − μ_t).
All 2×2 algebra is in closed form.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RNG_TAG = 0x5B  # seeds (seed, tag): a stream of its own, apart from the clouds drawn with the same seed


def sqrtm2(a: np.ndarray) -> np.ndarray:
    """The symmetric positive-definite square root of a 2×2 SPD matrix: (A + √det A · I)/√(tr A + 2√det A)."""
    s = np.sqrt(a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0])
    return (a + s * np.eye(2)) / np.sqrt(a[0, 0] + a[1, 1] + 2 * s)


def inv2(a: np.ndarray) -> np.ndarray:
    """The inverse of a 2×2 matrix by its adjugate."""
    det = a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0]
    return np.array([[a[1, 1], -a[0, 1]], [-a[1, 0], a[0, 0]]]) / det


@dataclass(frozen=True)
class GaussianBridge:
    """The closed-form Schrödinger bridge between N(mean0, cov0) and N(mean1, cov1) at ε = σ²."""

    mean0: np.ndarray
    cov0: np.ndarray
    mean1: np.ndarray
    cov1: np.ndarray
    epsilon: float

    @classmethod
    def fit(cls, x0: np.ndarray, x1: np.ndarray, epsilon: float) -> "GaussianBridge":
        """The bridge between the Gaussians with the clouds' means and covariances."""
        return cls(x0.mean(0), np.cov(x0.T), x1.mean(0), np.cov(x1.T), float(epsilon))

    @property
    def coupling(self) -> np.ndarray:
        """C_ε = Cov(X₀, X₁) (module doc)."""
        root0 = sqrtm2(self.cov0)
        d = sqrtm2(4 * root0 @ self.cov1 @ root0 + self.epsilon ** 2 * np.eye(2))
        return 0.5 * (root0 @ d @ inv2(root0) - self.epsilon * np.eye(2))

    def marginal(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """(μ_t, Σ_t) of the bridge at time t ∈ [0, 1]."""
        c = self.coupling
        mean = (1 - t) * self.mean0 + t * self.mean1
        cov = ((1 - t) ** 2 * self.cov0 + t ** 2 * self.cov1
               + t * (1 - t) * (c + c.T + self.epsilon * np.eye(2)))
        return mean, cov

    def drift(self, t: float, points: np.ndarray) -> np.ndarray:
        """v_t(x) at each row of ``points`` (n, 2), for t ∈ [0, 1)."""
        if not 0 <= t < 1:
            raise ValueError(f"the drift is defined for t in [0, 1), got {t}")
        mean_t, cov_t = self.marginal(t)
        gain = ((1 - t) * self.coupling.T + t * self.cov1) @ inv2(cov_t)
        expected_end = self.mean1 + (points - mean_t) @ gain.T
        return (expected_end - points) / (1 - t)

    def sample_endpoints(self, x0: np.ndarray, seed: int) -> np.ndarray:
        """X₁ | X₀ = x₀ for each row: N(μ₁ + Cᵀ Σ₀^{−1}(x₀ − μ₀), Σ₁ − Cᵀ Σ₀^{−1} C)."""
        c = self.coupling
        gain = c.T @ inv2(self.cov0)
        cov = self.cov1 - gain @ c
        cov = 0.5 * (cov + cov.T)
        # Cholesky of a 2×2 SPD matrix in closed form
        l00 = np.sqrt(cov[0, 0])
        l10 = cov[1, 0] / l00
        l11 = np.sqrt(max(cov[1, 1] - l10 ** 2, 0.0))
        z = np.random.default_rng((seed, RNG_TAG)).standard_normal((len(x0), 2))  # not the clouds' stream
        noise = np.stack([l00 * z[:, 0], l10 * z[:, 0] + l11 * z[:, 1]], axis=1)
        return self.mean1 + (x0 - self.mean0) @ gain.T + noise
