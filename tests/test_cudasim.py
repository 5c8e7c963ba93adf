"""The CUDA builds of every sampler, on numba's CUDA simulator, against the CPU builds.

Each sampler runs in its own process (the simulator must be switched on before numba is imported, and
one long-lived simulator process slows down as it goes); the processes run side by side.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernels.samplers import SAMPLERS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def report():
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "PYTHONPATH": str(ROOT)}
    script = str(ROOT / "tests" / "cudasim_check.py")
    running = {name: subprocess.Popen([sys.executable, script, name], env=env, cwd=ROOT, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for name in [*SAMPLERS, "custom:mala"]}
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
@pytest.mark.parametrize("sampler", [*SAMPLERS, "custom:mala"])
def test_cuda_build_matches_cpu_for_the_same_seed(report, sampler):
    entry = report[sampler]
    assert entry["moved"]
    assert entry["max_abs_diff"] < 1e-5  # the same arithmetic, so equal up to rounding (here: bit for bit)
    assert entry["accepts_equal"]
