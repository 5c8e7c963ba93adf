"""The Lorenz ensemble's CUDA build on numba's CUDA simulator, against the CPU build (own process)."""
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
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "cudasim_lorenz.py")], env=env, cwd=ROOT,
                          text=True, capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.cudasim
@pytest.mark.parametrize("method", ["rk4", "euler", "heun", "lorenz96"])
def test_cuda_build_matches_cpu(report, method):
    entry = report[method]
    assert report["auto_backend"] == "cuda"
    assert entry["moved"]
    assert entry["max_abs_diff"] < 1e-5 and entry["final_diff"] < 1e-10   # same arithmetic, same noise


@pytest.mark.cudasim
def test_cuda_build_reports_divergence(report):
    assert all(0 <= step < 40 for step in report["cuda_divergence_step"])
