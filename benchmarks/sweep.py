"""Sweeps (scenes.sweep): 200 Langevin runs at default sizes, serially in one process and on a 2-worker
LocalCluster (scenes.sweep_dask), with the overhead per Dask task and the scaling expected across N machines.

The overhead per task is the cluster's wall time × workers, less the compute the runs themselves reported,
divided by the tasks. Across N machines of W workers each, a sweep of R runs taking c seconds each is
expected to take about R·c / (N·W) + (tasks / (N·W))·overhead + the workers' start (once per worker).
"""
from __future__ import annotations

import os
import time

from scenes.sweep import make_spec, start

TITLE = "Sweep of Langevin runs, serial against a 2-worker LocalCluster; units: runs"
FIELDS = ("execution", "runs", "tasks", "seconds", "runs_per_s", "overhead_ms_per_task")
WORKERS = 2


def spec(quick: bool):
    """200 runs (sampler × step size × seeds) at the scene's default sizes; 40 with ``quick``."""
    steps, seeds = (5, 4) if quick else (10, 10)
    return make_spec("langevin", {"sampler": "ula,mala", "step_size": f"log:0.005:0.3:{steps}"}, seeds=seeds)


def rows(quick: bool = False):
    """(execution, runs, tasks, seconds, runs/s, overhead ms per task) for serial and the cluster."""
    from scenes.sweep_dask import connect

    sweep = spec(quick)
    start(make_spec("langevin", {"sampler": "ula,mala"}, seeds=1)).run()  # compile (or load the cache) first
    began = time.perf_counter()
    serial = start(sweep).run()
    serial_seconds = time.perf_counter() - began
    out = [("serial (1 process)", len(serial), len(serial), serial_seconds, len(serial) / serial_seconds, 0.0)]
    with connect(n_workers=WORKERS) as client:
        client.run(lambda: __import__("scenes.sweep") and None)  # the workers' start, paid once, left out
        start(make_spec("langevin", {"sampler": "ula,mala"}, seeds=list(range(WORKERS))), client, 1).run()
        began = time.perf_counter()
        job = start(sweep, client)
        table = job.run()
        seconds = time.perf_counter() - began
    tasks = len(job.chunks)
    overhead = max(0.0, seconds * WORKERS - table["run_seconds"].sum()) / tasks
    out.append((f"LocalCluster {WORKERS} workers", len(table), tasks, seconds, len(table) / seconds, 1e3 * overhead))
    return out


def table(title: str, rows) -> list[str]:
    lines = [title, f"{'execution':<26}{'runs':>6}{'tasks':>7}{'seconds':>10}{'runs/s':>9}{'overhead/task':>15}"]
    for name, runs, tasks, seconds, rate, overhead in rows:
        lines.append(f"{name:<26}{runs:>6}{tasks:>7}{seconds:>10.2f}{rate:>9.2f}{overhead:>12.1f} ms")
    serial, cluster = rows[0], rows[-1]
    per_run = serial[3] / serial[1]
    lines.append(f"speed-up on this machine ({os.cpu_count()} cores): {serial[3] / cluster[3]:.2f}×")
    for machines in (1, 4, 16):
        workers = machines * WORKERS
        expected = serial[1] * per_run / workers + cluster[2] / workers * cluster[5] / 1e3
        lines.append(f"expected on {machines:>2} machine(s) × {WORKERS} workers: {expected:6.2f} s "
                     f"({serial[3] / expected:.1f}× serial)")
    return lines
