"""Small helpers shared by the kernel tests."""
import numpy as np

from kernels.samplers import simulate
from kernels.samplers.driver import INIT_GAUSSIAN, INIT_POINT
from kernels.samplers.layout import N_PARAMS
from kernels.targets import get_target


def sampler_params(step_size=0.1, temperature=1.0, friction=1.0, leapfrog_steps=10, sigma_max=5.0,
                   sigma_min=0.01, replicas=4, ladder=2.5):
    params = np.array([step_size, temperature, friction, leapfrog_steps, sigma_max, sigma_min, replicas, ladder])
    assert params.shape == (N_PARAMS,)
    return params


def final_cloud(sampler, target="gauss", n=20_000, n_steps=400, seed=1, start=None, spread=None, backend="cpu",
                **params):
    """Positions after n_steps (float64) and each particle's acceptance rate: from N(0, I), from the point
    ``start``, or from N(start, spread² I) when ``spread`` is given too."""
    centre = (0.0, 0.0) if start is None else start
    spread = (1.0 if start is None else 0.0) if spread is None else spread
    spec = np.array([centre[0], centre[1], spread, 0.0])
    paths, accepts, died = simulate(sampler, get_target(target), n, n_steps, np.array([0, n_steps]), seed,
                                    sampler_params(**params), INIT_GAUSSIAN if spread > 0 else INIT_POINT,
                                    spec, backend)
    assert (died < 0).all()
    return paths[-1].astype(np.float64), accepts[-1] / n_steps


def simulator_reports(*jobs) -> dict:
    """Run each (script, *args) under numba's CUDA simulator, each in its own process, side by side, and
    merge the JSON each prints last. The simulator must be switched on before numba is imported, and one
    long-lived simulator process slows down as it goes, hence processes, each on one core
    (benchmarks.gpu.verify.on_one_core)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from benchmarks.gpu.verify import on_one_core

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "PYTHONPATH": str(root)}
    running = [(job, subprocess.Popen([sys.executable, str(root / "tests" / job[0]), *job[1:]], env=env, cwd=root,
                                      text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      preexec_fn=on_one_core(slot))) for slot, job in enumerate(jobs)]
    merged = {}
    for job, process in running:
        out, err = process.communicate(timeout=900)
        assert process.returncode == 0, f"{' '.join(job)}: {err[-3000:]}"
        merged.update(json.loads(out.strip().splitlines()[-1]))
    return merged


def draw_with_both_backends(build) -> None:
    """Draw the HoloViews object ``build()`` makes with bokeh (the app's backend) and with matplotlib (the
    export's), each built while its backend is current (explorer.render.backend), as the app and the export
    build theirs: a view that builds but cannot be drawn fails here."""
    import holoviews as hv
    import matplotlib.pyplot as plt

    from explorer import render

    for name in ("bokeh", "matplotlib"):
        with render.backend(name):
            drawn = hv.render(build(), backend=name)
        if name == "matplotlib":
            drawn.canvas.draw()  # the artists drawn to pixels (Agg), not only created
            plt.close(drawn)
