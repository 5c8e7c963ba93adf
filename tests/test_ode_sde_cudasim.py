"""The diffusion samplers' CUDA build on numba's CUDA simulator against the CPU build (processes with
NUMBA_ENABLE_CUDASIM=1 set before numba is imported, one per sampler, and one for the learned score's
MLP; tiny sizes)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernels.diffusion.samplers import SAMPLERS

ROOT = Path(__file__).resolve().parent.parent
RUNS = [*SAMPLERS, "learned"]  # "learned": dpm2 with the learned score's MLP


@pytest.fixture(scope="module")
def report():
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "PYTHONPATH": str(ROOT)}
    script = str(ROOT / "tests" / "cudasim_ode_sde.py")
    # one process per sampler: a long-lived simulator process slows down as it goes
    running = {name: subprocess.Popen([sys.executable, script, name], env=env, cwd=ROOT, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE) for name in RUNS}
    merged = {}
    for name, process in running.items():
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, f"{name}: {err[-3000:]}"
        merged.update(json.loads(out.strip().splitlines()[-1]))
    return merged


@pytest.mark.cudasim
def test_simulator_is_picked_by_auto(report):
    assert report["auto_backend"] == "cuda"


@pytest.mark.cudasim
@pytest.mark.parametrize("sampler", RUNS)
def test_cuda_build_matches_cpu_for_the_same_seed(report, sampler):
    assert report[sampler]["moved"]
    assert report[sampler]["max_abs_diff"] < 1e-5
