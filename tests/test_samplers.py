"""Every sampler against an independent truth: Gaussian moments, the known ULA bias, mode weights."""
import numpy as np
import pytest

from tests.helpers import final_cloud

# Std. error of a variance from 40 000 unit-variance draws is √(2/40 000) ≈ 0.007.
TOL_VAR = 0.035


def variances(cloud):
    cov = np.cov(cloud.T)
    return cov[0, 0], cov[1, 1], cov[0, 1]


@pytest.mark.parametrize("h", [0.1, 0.4])
def test_ula_bias_on_a_gaussian_is_the_closed_form(h):
    # U = |x|²/2: x' = (1 − h)x + √(2h)ξ has stationary variance 2h / (1 − (1 − h)²) = 1 / (1 − h/2).
    cloud, _ = final_cloud("ula", step_size=h)
    vx, vy, _ = variances(cloud)
    assert vx == pytest.approx(1 / (1 - h / 2), abs=TOL_VAR)
    assert vy == pytest.approx(1 / (1 - h / 2), abs=TOL_VAR)


def test_ula_targets_the_tempered_density():
    cloud, _ = final_cloud("ula", step_size=0.02, temperature=2.5)
    assert np.mean(variances(cloud)[:2]) == pytest.approx(2.5 / (1 - 0.02 * 2.5 / 2 / 2.5), rel=0.03)


@pytest.mark.parametrize("sampler,params", [
    ("mala", dict(step_size=0.08)),
    ("rwmh", dict(step_size=0.3)),
    ("hmc", dict(step_size=0.15, leapfrog_steps=8)),
    ("tempering", dict(step_size=0.1, replicas=3, ladder=2.0)),
])
def test_exact_samplers_hit_the_correlated_gaussian_moments(sampler, params):
    cloud, acceptance = final_cloud(sampler, target="correlated", n_steps=600, **params)
    vx, vy, cxy = variances(cloud)
    assert (vx, vy, cxy) == pytest.approx((1.0, 1.0, 0.9), abs=TOL_VAR)
    assert np.abs(cloud.mean(axis=0)).max() < 0.03
    assert 0.05 < acceptance.mean() < 1.0


def test_mala_is_unbiased_where_ula_is_not():
    ula, _ = final_cloud("ula", step_size=0.5)
    mala, _ = final_cloud("mala", step_size=0.5)
    assert np.mean(variances(ula)[:2]) > 1.25
    assert np.mean(variances(mala)[:2]) == pytest.approx(1.0, abs=TOL_VAR)


def test_baoab_samples_a_harmonic_potential_exactly_in_position():
    # BAOAB's configurational marginal is exact for Gaussian targets at any stable h (Leimkuhler–Matthews).
    cloud, _ = final_cloud("baoab", step_size=0.8, friction=1.0, n_steps=400)
    vx, vy, _ = variances(cloud)
    assert (vx, vy) == pytest.approx((1.0, 1.0), abs=TOL_VAR)


def test_randomized_midpoint_is_less_biased_than_ula():
    h = 0.4
    ula, _ = final_cloud("ula", step_size=h)
    rmid, _ = final_cloud("rmid", step_size=h)
    ula_error = abs(np.mean(variances(ula)[:2]) - 1)
    rmid_error = abs(np.mean(variances(rmid)[:2]) - 1)
    assert rmid_error < 0.5 * ula_error


def test_annealing_finds_both_modes_in_proportion_from_the_light_one():
    from kernels.metrics import mode_occupancy
    from kernels.targets import get_target

    target = get_target("asym2")
    annealed, _ = final_cloud("annealed", target="asym2", n=8000, n_steps=600, start=(5.0, 5.0),
                              step_size=0.05, sigma_max=10.0, sigma_min=0.05)
    mala, _ = final_cloud("mala", target="asym2", n=8000, n_steps=600, start=(5.0, 5.0), step_size=0.3)
    assert mode_occupancy(annealed, target) == pytest.approx([0.8, 0.2], abs=0.08)
    assert mode_occupancy(mala, target)[0] < 0.01  # stuck where it started


def test_parallel_tempering_crosses_the_double_well_barrier():
    from kernels.metrics import mode_occupancy
    from kernels.targets import get_target

    target = get_target("double_well")
    pt, _ = final_cloud("tempering", target="double_well", n=4000, n_steps=1000, start=(-1.0, 0.0),
                        step_size=0.02, replicas=5, ladder=2.5)
    mala, _ = final_cloud("mala", target="double_well", n=4000, n_steps=1000, start=(-1.0, 0.0), step_size=0.02)
    assert mode_occupancy(pt, target) == pytest.approx([0.5, 0.5], abs=0.05)
    assert mode_occupancy(mala, target)[1] < 0.35


def test_svgd_moves_a_wide_cloud_onto_the_gaussian():
    cloud, _ = final_cloud("svgd", n=600, n_steps=300, step_size=0.2)
    assert np.abs(cloud.mean(axis=0)).max() < 0.1
    assert np.mean(variances(cloud)[:2]) == pytest.approx(1.0, abs=0.15)
