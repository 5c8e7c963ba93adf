"""The CUDA builds of the bridges kernels on numba's CUDA simulator, in their own process, against the CPU."""
import pytest

from tests.helpers import simulator_reports


@pytest.fixture(scope="module")
def report():
    return simulator_reports(("cudasim_bridges.py",))


@pytest.mark.cudasim
def test_simulator_is_picked_by_auto(report):
    assert report["auto_backend"] == "cuda"


@pytest.mark.cudasim
def test_cuda_sinkhorn_sweeps_match_cpu(report):
    assert report["sinkhorn_moved"]
    assert report["sinkhorn_max_abs_diff"] < 1e-12


@pytest.mark.cudasim
def test_cuda_partner_draws_and_bridges_match_cpu(report):
    assert report["partners_equal"]
    assert report["bridge_max_abs_diff"] < 1e-6
