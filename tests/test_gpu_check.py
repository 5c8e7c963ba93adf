"""``python -m benchmarks.gpu --simulate``: the GPU check's verification run on numba's CUDA simulator.

This is the suite's test of every CUDA build against its CPU build (one check, run here and on a GPU, so
no family is verified twice). It must exit 0 with every kernel family verified (every Langevin sampler on
a mixture and a non-mixture target, accept counts and divergence steps exactly, the typed formula, every
diffusion sampler with each score, learned included, Sinkhorn, its partner draws, the Brownian bridges,
Lorenz-63 with each integrator, a diverging Lorenz-63 run, Lorenz-96; each CUDA run in slices of its
steps, the CPU run in one, and a CUDA run stopped between slices), ``backend="auto"`` must have
picked the CUDA build in every worker, having never imported param, holoviews, bokeh, panel, scenes
or explorer (the GPU machine's image has none of them); and a perturbed CUDA result must read MISMATCH
and make it exit non-zero (so the check can fail).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.gpu.compare import FLOAT32_TOL, compare
from kernels.diffusion.samplers import SAMPLERS as DIFFUSION
from kernels.diffusion.score import SCORES
from kernels.samplers import SAMPLERS as LANGEVIN

ROOT = Path(__file__).resolve().parent.parent


def gpu_check(tmp_path, *options):
    out = tmp_path / "nested" / "gpu.json"  # the command creates the folder
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NUMBA_ENABLE_CUDASIM", None)  # --simulate must switch the simulator on by itself
    done = subprocess.run([sys.executable, "-m", "benchmarks.gpu", "--simulate", "--json", str(out), *options],
                          cwd=ROOT, env=env, text=True, capture_output=True, timeout=900)
    return done, json.loads(out.read_text())


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    return gpu_check(tmp_path_factory.mktemp("gpu_check"))


@pytest.mark.cudasim
def test_every_family_is_verified(simulated):
    done, report = simulated
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert report["errors"] == {} and report["all_verified"]
    assert report["auto_backend"] == ["cuda"]  # the simulator counts as a device for backend="auto"
    families = {c["family"]: c for c in report["checks"]}
    assert all(c["verified"] and c["moved"] for c in families.values()), [f for f, c in families.items()
                                                                          if not c["verified"]]
    for sampler, spec in LANGEVIN.items():
        assert f"langevin {sampler} on ring8 (mixture)" in families
        assert spec.mixture_only or f"langevin {sampler} on banana (non-mixture)" in families
    assert "typed formula (mala on U(x, y))" in families
    assert "cancel between CUDA slices (ula)" in families  # a CUDA run stops at the slice it was asked to
    assert {f"diffusion {s}, {score} score" for s in DIFFUSION for score in SCORES} <= set(families)
    assert {"sinkhorn (log-domain sweeps)", "sinkhorn partner draws", "brownian bridges"} <= set(families)
    assert "lorenz-63 euler diverging (dt 0.3)" in families
    assert sum(f.startswith("lorenz-63") for f in families) == 4 and any(f.startswith("lorenz-96") for f in families)
    assert done.stdout.count("verified  ") == len(families)  # one printed line per family


@pytest.mark.cudasim
def test_no_app_library_is_imported(simulated):
    _, report = simulated
    assert {"numba", "numpy", "kernels", "benchmarks"} <= set(report["modules"])  # the list is real
    assert report["forbidden_imported"] == []
    assert not {"param", "holoviews", "bokeh", "panel", "scenes", "explorer"} & set(report["modules"])


@pytest.mark.cudasim
def test_a_perturbed_cuda_result_reads_mismatch(tmp_path):
    done, report = gpu_check(tmp_path, "--only", "bridges", "--inject-mismatch")
    assert done.returncode == 1
    assert report["checks"] and not any(c["verified"] for c in report["checks"])
    assert "MISMATCH" in done.stdout


def test_compare_flags_each_kind_of_difference():
    cpu = np.array([[0.0, 1.0], [2.0, np.nan]], dtype=np.float32)
    assert compare("same", {"p": (cpu, cpu.copy(), FLOAT32_TOL)}, moved=True).verified
    assert compare("rounding", {"p": (cpu, cpu + np.float32(1e-6), FLOAT32_TOL)}, moved=True).verified
    off = compare("off", {"p": (cpu, cpu + np.float32(1e-3), FLOAT32_TOL)}, moved=True)
    assert not off.verified and off.max_diff == pytest.approx(1e-3, rel=1e-3) and "MISMATCH" in off.line()
    moved_nan = cpu.copy()
    moved_nan[0, 0] = np.nan
    assert not compare("nan", {"p": (cpu, moved_nan, FLOAT32_TOL)}, moved=True).verified
    assert not compare("shape", {"p": (cpu, cpu[:1], FLOAT32_TOL)}, moved=True).verified
    assert not compare("still", {"p": (cpu, cpu, FLOAT32_TOL)}, moved=False).verified
    assert not compare("count", {"a": (np.array([3, 4]), np.array([3, 5]), 0.0)}, moved=True).verified
