"""A start pays only for what it uses (issue 18, warm start): on a machine without a CUDA driver, importing
the app and running a scene never imports numba.cuda (about 0.7 s, most of it ml_dtypes), and the learned
models' torch waits for a learned run. The kernels reach numba.cuda through kernels.backend.cuda, a module
loaded on first use; the CUDA simulator tests (test_gpu_check) show it still binds into CUDA kernels."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernels.backend import LazyModule, driver_library_present

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import json, sys
import explorer.app
from scenes import LangevinScene
LangevinScene(n_particles=64, n_steps=20, n_frames=5, backend="auto").run()
print(json.dumps(sorted(name for name in ("numba.cuda", "torch") if name in sys.modules)))
"""


def test_a_cpu_start_and_run_import_neither_numba_cuda_nor_torch():
    env = {key: value for key, value in os.environ.items() if key not in ("NUMBA_ENABLE_CUDASIM", "NUMBA_CUDA_DRIVER")}
    if driver_library_present():
        pytest.skip("a CUDA driver library is present: numba.cuda is imported to ask it for a GPU")
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_a_lazy_module_is_imported_on_first_use_only():
    lazy = LazyModule("json.tool")
    sys.modules.pop("json.tool", None)
    assert "json.tool" not in sys.modules
    assert callable(lazy.main) and "json.tool" in sys.modules
    assert lazy.load() is sys.modules["json.tool"]
