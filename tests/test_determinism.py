"""Determinism (issue 8): the same parameters and seed give identical paths, for every scene,
(1) between two runs of fresh scene objects, (2) with 1 or 2 numba threads, bit for bit, and
(3) between the CPU build and the CUDA build on numba's CUDA simulator, to rounding.

Why bit for bit on the CPU: every draw comes from the counter-based generator keyed by (seed, stream,
particle, step) (kernels/rng.py), and no kernel sums across particles, so how ``prange`` splits the
particles (or the CPU launchers' blocks: 512 Langevin particles, 256 Lorenz members) between threads
cannot change a number. The sizes below give each launcher several blocks, so both threads get work.

Why only to rounding on CUDA: the CPU builds are compiled with fastmath (a·b + c may be contracted to a
fused multiply-add) and the Langevin block launcher uses a polynomial exp/log (about 1e-16 relative per
call, kernels/fastmath.py), while a CUDA thread calls the library functions; the paths are float32, so
such float64 differences show at most as a float32 rounding step of the coordinate. The bound 1e-5 is a
few float32 ulps of the largest coordinates here (|x| < 50: ulp 3.8e-6) and far below any real
difference (a different draw moves a point by O(0.1)).
"""
import numpy as np
import pytest

from scenes import SCENES
from tests.determinism_probe import CASES, scene_paths
from tests.helpers import simulator_reports

# Per scene: small CPU parameters, big enough for several CPU blocks (and, for bridges, n² = 360,000 pairs
# per Sinkhorn sweep: over SERIAL_BELOW, so the sweep runs the parallel build).
CPU_CASES = {
    "langevin": dict(target="ring8", sampler="mala", compare_sampler="ula", step_size=0.1, init="gaussian",
                     n_particles=1300, n_steps=20, n_frames=4),
    "ode_sde": dict(target="ring8", sampler="em", compare_sampler="euler", nfe=20, n_particles=700, n_frames=4),
    "bridges": dict(source="8gaussians", target="moons", method="sinkhorn", epsilon=0.5, tolerance=1e-6,
                    n_particles=600, n_frames=4),
    "lorenz": dict(integrator="heun", noise=0.5, n_members=600, horizon=2.0, n_frames=5),
}
SEED = 7


def run_scene(key: str, seed: int = SEED) -> list:
    """The path arrays of a fresh scene's run (see determinism_probe.scene_paths)."""
    return scene_paths(SCENES[key](backend="cpu", seed=seed, **CPU_CASES[key]))


def assert_identical(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert a.shape == b.shape
        assert np.array_equal(a, b, equal_nan=True), f"max |Δ| = {np.nanmax(np.abs(a - b))}"


def test_every_scene_is_checked():
    assert set(CPU_CASES) == set(SCENES)
    assert {scene for scene, _ in CASES.values()} == set(SCENES)


@pytest.mark.parametrize("key", list(CPU_CASES))
def test_two_runs_give_identical_paths(key):
    paths = run_scene(key)
    again = run_scene(key)
    assert all(np.isfinite(p).all() and np.any(p[-1] != p[0]) for p in paths)  # real, moving paths
    assert_identical(paths, again)
    other = run_scene(key, seed=SEED + 1)
    assert not np.array_equal(other[0], paths[0])  # the comparison can fail: the seed does change the paths


@pytest.mark.parametrize("key", list(CPU_CASES))
def test_one_and_two_numba_threads_give_identical_paths(key, threads):
    threads(1)
    one = run_scene(key)
    threads(2)
    two = run_scene(key)
    assert_identical(one, two)


@pytest.fixture(scope="module")
def simulator_report():
    return simulator_reports(*[("determinism_probe.py", name) for name in CASES])


@pytest.mark.cudasim
@pytest.mark.parametrize("case", list(CASES))
def test_cuda_simulator_matches_cpu_to_rounding(simulator_report, case):
    assert simulator_report["auto_backend"] == "cuda"
    entry = simulator_report[case]
    assert entry["shapes_equal"] and entry["all_finite"] and entry["moved"]
    assert entry["nan_equal"]
    assert entry["max_abs_diff"] < 1e-5
