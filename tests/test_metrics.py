"""Diagnostics against closed forms."""
import numpy as np
import pytest

from kernels.metrics import effective_sample_size, histogram_divergences, sliced_w2
from kernels.targets import TARGETS


def test_sliced_w2_of_shifted_gaussians_is_the_shift_over_root_two():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((50_000, 2))
    b = rng.standard_normal((50_000, 2)) + [3.0, 4.0]
    # W₂²(θᵀX, θᵀY) = (θ·m)², averaged over θ on the half circle = |m|²/2
    assert sliced_w2(a, b) == pytest.approx(5.0 / np.sqrt(2), rel=0.01)
    assert sliced_w2(a, rng.standard_normal((50_000, 2))) < 0.03


def test_histogram_divergences_separate_good_from_bad_clouds():
    target = TARGETS["ring8"]
    good = target.sample(20_000, seed=1)
    kl_good, tv_good = histogram_divergences(good, target, bins=30)
    kl_bad, tv_bad = histogram_divergences(good * 0.5, target, bins=30)
    assert kl_good < 0.1 and tv_good < 0.1
    assert kl_bad > 10 * kl_good and tv_bad > 0.7


def test_lost_particles_count_in_total_variation():
    target = TARGETS["gauss"]
    cloud = target.sample(10_000, seed=2)
    cloud[:5000] = np.nan
    assert histogram_divergences(cloud, target)[1] > 0.45


def test_ess_of_an_ar1_chain_matches_the_closed_form():
    rho, n_times, n_chains = 0.6, 2000, 50
    rng = np.random.default_rng(3)
    x = np.zeros((n_times, n_chains))
    x[0] = rng.standard_normal(n_chains)
    for t in range(1, n_times):
        x[t] = rho * x[t - 1] + np.sqrt(1 - rho ** 2) * rng.standard_normal(n_chains)
    expected = n_times * n_chains * (1 - rho) / (1 + rho)
    assert effective_sample_size(x) == pytest.approx(expected, rel=0.1)


def test_grid_counts_are_numpys_histogram2d_cells():
    """The compiled binning of histogram_divergences counts exactly what np.histogram2d counts (edges included)."""
    from kernels.metrics import grid_counts

    rng = np.random.default_rng(4)
    for bins in (5, 17, 60):
        points = rng.normal(size=(3000, 2)) * 3
        points[:40] = np.nan
        points[40:60] = [[-4.0, 5.0]] * 20                      # on the lower x edge and the upper y edge
        box = (-4.0, 4.0, -3.0, 5.0)
        finite = np.isfinite(points).all(axis=1)
        want, _, _ = np.histogram2d(points[finite, 1], points[finite, 0], bins=bins,
                                    range=[[box[2], box[3]], [box[0], box[1]]])
        assert np.array_equal(grid_counts(points, *box, bins), want)


def test_sliced_w2_against_a_presorted_reference_reads_as_many_points_as_it_has():
    """More particles than the reference's draws resolve no finer quantiles (issue 20: a million particles)."""
    from kernels.metrics import sorted_projections

    rng = np.random.default_rng(3)
    reference = sorted_projections(rng.standard_normal((2_000, 2)))
    points = rng.standard_normal((50_000, 2)) * [1.0, 1.5]
    points[:10] = np.nan  # dropped before the count
    finite = points[10:]
    assert sliced_w2(points, reference, presorted=True) == sliced_w2(finite[:2_000], reference, presorted=True)
    assert sliced_w2(points, reference, presorted=True) != sliced_w2(finite[2_000:4_000], reference, presorted=True)


def test_ensemble_spread_is_numpys_rms_distance_from_the_mean():
    from kernels.metrics import ensemble_spread

    rng = np.random.default_rng(4)
    paths = (rng.standard_normal((5, 3000, 3)) * [1.0, 2.0, 3.0] + 100.0).astype(np.float32)
    expected = np.sqrt(paths.astype(np.float64).var(axis=1).mean(axis=1))
    assert np.allclose(ensemble_spread(paths), expected, rtol=1e-9)
    paths[2, 7] = np.nan  # a member that diverged is left out of every frame
    kept = np.delete(paths, 7, axis=1).astype(np.float64)
    assert np.allclose(ensemble_spread(paths), np.sqrt(kept.var(axis=1).mean(axis=1)), rtol=1e-9)
    finite = np.ones(3000, bool)
    finite[7] = False
    assert np.allclose(ensemble_spread(paths, finite), np.sqrt(kept.var(axis=1).mean(axis=1)), rtol=1e-9)


def test_sliced_w2_of_a_float32_cloud_is_its_float64_value_to_float32_precision():
    # A run's frames are float32 and are projected and sorted as such (kernels.metrics.sliced_w2).
    from kernels.metrics import sorted_projections

    rng = np.random.default_rng(3)
    reference = sorted_projections(rng.standard_normal((20_000, 2)))
    points = (rng.standard_normal((2_000, 2)) * 1.3 + 0.2).astype(np.float32)
    in_float64 = sliced_w2(points.astype(np.float64), reference, presorted=True)
    assert sliced_w2(points, reference, presorted=True) == pytest.approx(in_float64, rel=1e-6)
    assert sliced_w2(points, reference, presorted=True) != in_float64  # it did take the float32 path
