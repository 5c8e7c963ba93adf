"""The CUDA builds of every sampler, on numba's CUDA simulator, against the CPU builds.

Each sampler runs in its own process (the simulator must be switched on before numba is imported, and
one long-lived simulator process slows down as it goes); the processes run side by side.
"""
import pytest

from kernels.samplers import SAMPLERS
from tests.helpers import simulator_reports

CHECKS = [*SAMPLERS, "custom:mala"]


@pytest.fixture(scope="module")
def report():
    return simulator_reports(*[("cudasim_check.py", name) for name in CHECKS])


@pytest.mark.cudasim
def test_simulator_is_picked_by_auto(report):
    assert report["auto_backend"] == "cuda"


@pytest.mark.cudasim
@pytest.mark.parametrize("sampler", CHECKS)
def test_cuda_build_matches_cpu_for_the_same_seed(report, sampler):
    entry = report[sampler]
    assert entry["moved"]
    assert entry["max_abs_diff"] < 1e-5  # the same arithmetic, so equal up to rounding (here: bit for bit)
    assert entry["accepts_equal"] and entry["stuck_equal"]
