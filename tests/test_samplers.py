"""Every sampler against an independent truth: Gaussian moments, the known ULA bias, mode weights."""
import numpy as np
import pytest

from kernels.samplers.registry import BLOCKED_SAMPLERS
from tests.helpers import final_cloud

XDIST_GROUP = "langevin_block_kernels"  # shared with test_slices: the same block kernels (tests/conftest.py)
# Std. error of a variance from 40 000 unit-variance draws is √(2/40 000) ≈ 0.007.
TOL_VAR = 0.035
# A start point well off the N(0, I) target: a sampler that never moves ends there, with variance 0.
OFF_TARGET = (3.0, -3.0)


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
    # From a point off the target, so that a chain which never moves cannot pass.
    ula, _ = final_cloud("ula", step_size=0.5, start=OFF_TARGET)
    mala, acceptance = final_cloud("mala", step_size=0.5, start=OFF_TARGET)
    assert np.mean(variances(ula)[:2]) > 1.25
    assert np.mean(variances(mala)[:2]) == pytest.approx(1.0, abs=TOL_VAR)
    assert np.abs(mala.mean(axis=0)).max() < 0.03
    assert 0.5 < acceptance.mean() < 1.0  # measured 0.88: most proposals kept, not all


def test_baoab_samples_a_harmonic_potential_exactly_in_position():
    # BAOAB's configurational marginal is exact for Gaussian targets at any stable h (Leimkuhler–Matthews).
    # Every particle starts at one point off the target: the variance is the sampler's doing.
    cloud, _ = final_cloud("baoab", step_size=0.8, friction=1.0, n_steps=400, start=OFF_TARGET)
    vx, vy, _ = variances(cloud)
    assert (vx, vy) == pytest.approx((1.0, 1.0), abs=TOL_VAR)
    assert np.abs(cloud.mean(axis=0)).max() < 0.03


def rmid_stationary_variance(h):
    """Randomized midpoint on U = |x|²/2, per coordinate: x' = a x + (1 − h)W_α + √(2(1 − α)h)η with
    a = 1 − h + αh², W_α = √(2αh)ξ, α ~ U(0, 1) fresh each step. So V = E[a²]V + E[noise²]:
    E[a²] = (1 − h)² + (1 − h)h² + h⁴/3 and E[noise²] = h((1 − h)² + 1)."""
    return h * ((1 - h) ** 2 + 1) / (1 - (1 - h) ** 2 - (1 - h) * h * h - h ** 4 / 3)


def test_randomized_midpoint_is_less_biased_than_ula():
    h = 0.4  # rmid's own stationary variance 1.016, ULA's 1 / (1 − h/2) = 1.25
    ula, _ = final_cloud("ula", step_size=h, start=OFF_TARGET)
    rmid, _ = final_cloud("rmid", step_size=h, start=OFF_TARGET)
    rmid_variance = np.mean(variances(rmid)[:2])
    assert rmid_variance == pytest.approx(rmid_stationary_variance(h), abs=TOL_VAR)
    assert np.abs(rmid.mean(axis=0)).max() < 0.03
    ula_error = abs(np.mean(variances(ula)[:2]) - 1)
    assert abs(rmid_variance - 1) < 0.5 * ula_error


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
    # From N((2, −1), 2² I): shifted and four times the target's variance.
    cloud, _ = final_cloud("svgd", n=600, n_steps=300, step_size=1.5, start=(2.0, -1.0), spread=2.0)
    assert np.abs(cloud.mean(axis=0)).max() < 0.1
    assert np.mean(variances(cloud)[:2]) == pytest.approx(1.0, abs=0.15)


def run_both_paths(sampler, target, n=600, n_steps=30, step_size=0.05, seed=4):
    """The blocked, vectorised CPU launcher and the per-particle one (library exp/log) on the same
    draws: (final positions, accepts, died_at) of each. n > BLOCK, so a full and a partial block."""
    from kernels.samplers import SAMPLERS
    from kernels.samplers.driver import INIT_GAUSSIAN, initial_positions, launch
    from kernels.samplers.registry import state_width
    from kernels.targets import get_target
    from tests.helpers import sampler_params

    params = sampler_params(step_size=step_size, leapfrog_steps=3, replicas=2)
    target = get_target(target) if isinstance(target, str) else target
    out = []
    for blocked in (True, False):
        state = np.zeros((n, state_width(sampler, params)))
        state[:, :2] = initial_positions(n, seed, INIT_GAUSSIAN, np.array([0.0, 0.0, 2.0, 0.0]))
        paths, accepts, died = launch(SAMPLERS[sampler].step, "cpu", state, n_steps, np.array([0, 10, n_steps]),
                                      seed, params, target.kind, target.params, target.mix, blocked=blocked,
                                      init=SAMPLERS[sampler].init, phases=SAMPLERS[sampler].phases)
        out.append((state[:, :2].copy(), paths, accepts, died))
    return out


@pytest.mark.parametrize("sampler", BLOCKED_SAMPLERS)
def test_blocked_cpu_path_equals_the_per_particle_one_up_to_rounding(sampler, target="ring8"):
    # Same counter-based draws, same step function; only exp/log differ (polynomial vs library, ~1 ulp).
    (fast, fast_paths, fast_acc, fast_died), (ref, ref_paths, ref_acc, ref_died) = run_both_paths(sampler, target)
    assert np.max(np.abs(fast - ref) / (np.abs(ref) + 1e-12)) < 1e-9
    assert np.array_equal(fast_acc, ref_acc) and np.array_equal(fast_died, ref_died)
    assert np.allclose(fast_paths, ref_paths, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("sampler", ["mala", "annealed"])
def test_a_64_component_mixture_runs_on_the_blocked_path_as_on_the_per_particle_one(sampler):
    # Past BLOCKED_MAX_COMPONENTS the block launcher takes the mixture as an array and its potential by two
    # passes (kernels.mixture.mixture_potential_two_pass); the per-particle path keeps the one-pass sum.
    # MALA caches ∇U and accepts; annealed adds noise to every component.
    from kernels.samplers import SAMPLERS
    from kernels.samplers.driver import cpu_block_kernel
    from kernels.targets import ring_of_modes

    (fast, fast_paths, fast_acc, fast_died), (ref, ref_paths, ref_acc, ref_died) = run_both_paths(
        sampler, ring_of_modes(64, 3.0, 0.05))
    assert np.max(np.abs(fast - ref) / (np.abs(ref) + 1e-12)) < 1e-9
    assert np.array_equal(fast_acc, ref_acc) and np.array_equal(fast_died, ref_died)
    assert np.allclose(fast_paths, ref_paths, rtol=1e-6, atol=1e-6)
    spec = SAMPLERS[sampler]
    assert cpu_block_kernel(spec.step, init=spec.init, phases=spec.phases, wide=True).signatures  # it ran there


def test_blocked_cpu_path_marks_divergence_as_the_per_particle_one_does():
    (_, fast_paths, fast_acc, fast_died), (_, ref_paths, ref_acc, ref_died) = run_both_paths(
        "ula", "ring8", step_size=4.0)
    assert (ref_died >= 0).all()  # ULA at h = 4 on variance-0.3 modes: every particle blows up
    assert np.array_equal(fast_died, ref_died) and np.array_equal(fast_acc, ref_acc)
    assert np.array_equal(np.isnan(fast_paths), np.isnan(ref_paths))


def test_blocked_ula_step_loop_vectorises_on_a_mixture():
    """The point of the blocked launcher (DESIGN §10): no call left in the inner loop. Checked on the
    serial build's LLVM IR (any vector width the machine has)."""
    from kernels.mixture import mixture_flat
    from kernels.samplers import SAMPLERS
    from kernels.samplers.driver import cpu_block_kernel, run_compiled
    from kernels.targets import get_target
    from tests.helpers import sampler_params

    ring8 = get_target("ring8")
    n = 64
    kernel = cpu_block_kernel(SAMPLERS["ula"].step, parallel=False)
    run_compiled(kernel, np.asfortranarray(np.zeros((n, 2))), 0, 2, 2, np.array([0, 2]), np.uint64(1), sampler_params(),
                 ring8.kind, ring8.params, mixture_flat(ring8.mix), np.empty((2, n, 2), np.float32),
                 np.empty((2, n), np.float32), np.full(n, -1), np.zeros(n))
    llvm_ir = next(iter(kernel.inspect_llvm().values()))
    assert "@llvm.floor.v" in llvm_ir  # the fast exp's rounding, on a vector of particles: <W x double>
