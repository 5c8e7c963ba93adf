"""The CUDA builds of the bridges kernels on numba's CUDA simulator, in their own process, against the CPU."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def report():
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "cudasim_bridges.py")], env=env, cwd=ROOT,
                          text=True, capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


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
