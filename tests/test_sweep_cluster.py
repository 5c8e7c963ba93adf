"""Sweeps on a real Dask cluster: a `dask scheduler` and two `dask worker` processes on loopback (separate
processes), checked against the same sweep run serially, and a worker killed mid-sweep."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from scenes.sweep import PROVENANCE, make_spec, start
from scenes.sweep_dask import SchedulerUnreachable, connect

ROOT = Path(__file__).resolve().parent.parent
TINY = dict(n_particles=200, n_steps=40, n_frames=3)


def _dask(*args, log):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(["dask", *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(address, [worker processes]): a scheduler and two single-threaded workers without nannies."""
    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    log = open(folder / "cluster.log", "w")
    processes = [_dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file",
                       str(scheduler_file), log=log)]
    deadline = time.monotonic() + 60
    while not scheduler_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = [_dask("worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1", "--no-nanny",
                     "--no-dashboard", "--name", f"w{i}", log=log) for i in range(2)]
    try:
        yield json.loads(scheduler_file.read_text())["address"], workers
    finally:
        for process in [*workers, *processes]:
            process.terminate()
        for process in [*workers, *processes]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


def _numbers(table):
    return table.drop(columns=list(PROVENANCE))


def test_cluster_table_equals_the_serial_one_and_both_workers_computed(cluster):
    address, _ = cluster
    spec = make_spec("langevin", {"sampler": "ula,mala", "step_size": "log:0.02:5:3"}, seeds=2, fixed=TINY)
    serial = start(spec).run()
    with connect(address) as client:
        client.wait_for_workers(2, timeout=60)
        distributed = start(spec, client, 1).run()
    pd.testing.assert_frame_equal(_numbers(distributed), _numbers(serial))  # identical numbers, errors too
    assert distributed["error"].notna().any()  # ULA at h = 5 diverged on the cluster as serially
    assert distributed["worker"].nunique() == 2 and distributed["worker"].str.startswith("tcp://127.0.0.1").all()


def _panel(execution, count=3, **knobs):
    from explorer.sweep_panel import SweepPanel
    from scenes import LangevinScene

    panel = SweepPanel("langevin", LangevinScene(**{**TINY, "target": "gauss", **knobs}), execution=execution)
    first = panel.axes[0]
    first.knob.value = "step_size"
    first.start.value, first.end.value, first.count.value, first.scale.value = 0.05, 0.2, count, "log"
    panel.seeds.value = 2
    return panel


def test_a_sweep_started_from_the_app_runs_on_the_named_cluster(cluster, monkeypatch):
    """The app's sweep panel on Dask (execution "dask", the scheduler from $EXPLORER_DASK_SCHEDULER, as a served
    app would be started): its rows come from the cluster's workers, with the serial panel's numbers."""
    from explorer import sweep_client
    from scenes.sweep_dask import SCHEDULER_ENV

    address, _ = cluster
    monkeypatch.setenv(SCHEDULER_ENV, address)
    tables = {}
    for execution in ("serial", "dask"):
        panel = _panel(execution)
        panel.submit()
        panel.wait(120)
        assert panel.status.object.startswith("done: 6/6 runs"), panel.status.object
        tables[execution] = panel.table
    sweep_client.drop()
    assert tables["dask"]["worker"].str.startswith("tcp://127.0.0.1").all()
    assert tables["serial"]["worker"].str.startswith("local:").all()
    pd.testing.assert_frame_equal(_numbers(tables["dask"]), _numbers(tables["serial"]))


def test_two_sessions_sweeping_on_one_cluster_keep_their_sweeps_apart(cluster, monkeypatch):
    """Two sessions' panels submit at once to the shared client: one cancels after its first rows, the other
    finishes with its own rows only, the same numbers as alone."""
    from explorer import sweep_client
    from scenes.sweep_dask import SCHEDULER_ENV

    address, _ = cluster
    monkeypatch.setenv(SCHEDULER_ENV, address)
    alone = _panel("serial", target="ring8")
    alone.submit()
    alone.wait(120)
    kept, cancelled = _panel("dask", target="ring8"), _panel("dask", count=8)
    cancelled.progress.param.watch(lambda event: 0 < event.new < 100 and cancelled.cancel(), "value")
    cancelled.submit()
    kept.submit()
    kept.wait(120)
    cancelled.wait(120)
    sweep_client.drop()
    assert kept.status.object.startswith("done: 6/6 runs"), kept.status.object
    assert cancelled.status.object.startswith("cancelled:") and len(cancelled.table) < 16
    pd.testing.assert_frame_equal(_numbers(kept.table), _numbers(alone.table))


def test_unreachable_scheduler_is_said_plainly():
    with pytest.raises(SchedulerUnreachable, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        with connect("tcp://127.0.0.1:9", timeout=1):
            pass


def test_a_worker_killed_mid_sweep_loses_nothing(cluster):
    # last in this module: it leaves the cluster with one worker
    address, workers = cluster
    spec = make_spec("langevin", {"step_size": "log:0.01:0.3:10"}, seeds=4,
                     fixed=dict(n_particles=1000, n_steps=200, n_frames=10))
    serial = start(spec).run()
    with connect(address) as client:
        client.wait_for_workers(2, timeout=60)
        job = start(spec, client, 1)
        done_at_kill = None
        for progress in job:
            if done_at_kill is None:
                done_at_kill = progress.done
                workers[1].kill()
                print(f"killed a worker after {done_at_kill} of {len(spec)} runs")
        table = job.table()
    assert done_at_kill < len(spec)  # killed while runs were still queued
    assert len(table) == len(spec) and table["error"].isna().all()
    pd.testing.assert_frame_equal(_numbers(table), _numbers(serial))


def _malloc_environment():
    return {k: os.environ.get(k) for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "NUMBA_NUM_THREADS")}


def test_local_cluster_workers_start_with_the_mmap_threshold_set():
    """The LocalCluster's workers get MALLOC_MMAP_THRESHOLD_ before they start (scenes.sweep_dask: without it
    Dask's trim setting made every run twice as slow), and one numba thread each."""
    from scenes.sweep_dask import PRE_SPAWN_ENV

    with connect(n_workers=1) as client:
        (seen,) = client.run(_malloc_environment).values()
    assert seen["MALLOC_MMAP_THRESHOLD_"] == PRE_SPAWN_ENV["MALLOC_MMAP_THRESHOLD_"] == str(32 * 2 ** 20)
    assert seen["NUMBA_NUM_THREADS"] == "1"
