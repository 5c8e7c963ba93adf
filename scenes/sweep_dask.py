"""Sweeps on ``dask.distributed`` (DESIGN §11): the cluster to use, and a job that sends the runs to it.

``connect(address)`` gives a Client: to the scheduler at ``address`` (or ``$EXPLORER_DASK_SCHEDULER``), else
to a LocalCluster of worker processes, one per core, each single-threaded (numba's threads too, so that
the workers do not oversubscribe the cores). A scheduler that cannot be reached is said in one sentence.

A :class:`DaskSweepJob` groups the runs into tasks of several runs each (a task's cost on the scheduler is
paid once for its runs), submits them under keys of its own (so sweeps of several sessions on one cluster
stay apart), and yields the rows as tasks finish. Dask re-runs the tasks of a worker that is lost; a task
that still fails gives rows that carry its error. Workers need this package importable (installed, or on
their PYTHONPATH); a run's numbers depend only on its knobs and seed, so any worker gives the same row.
"""
from __future__ import annotations

import math
import os
import uuid
from contextlib import contextmanager

from scenes.base import SceneError
from scenes.sweep import ERROR, SweepJob, SweepSpec, run_points

SCHEDULER_ENV = "EXPLORER_DASK_SCHEDULER"
TASKS_PER_THREAD = 8  # enough tasks for the progress to move and for a lost worker to cost little
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# Dask's nanny starts each worker with MALLOC_TRIM_THRESHOLD_=65536 (distributed.nanny.pre-spawn-environ), and
# setting any malloc tunable stops glibc from raising its mmap threshold as a process allocates: every array
# over 128 KiB is then a fresh mmap, zeroed page by page, and a default Langevin run took 0.25 s in a worker
# against 0.125 s in a plain single-threaded process. An mmap threshold at glibc's largest (32 MiB) gives the
# 0.125 s back, while the trim threshold still hands freed memory back to the system. Like the trim threshold
# it must be in the environment before the process starts (the nanny's ``env`` is applied after), so it goes
# in the same pre-spawn configuration; workers started by hand want it in their environment too.
PRE_SPAWN_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 * 2 ** 20)}


class SchedulerUnreachable(SceneError):
    """The Dask scheduler named by the user does not answer."""


def scheduler_address(address: str | None = None) -> str | None:
    """The scheduler asked for: ``address``, else ``$EXPLORER_DASK_SCHEDULER``, else None (a LocalCluster)."""
    return address or os.environ.get(SCHEDULER_ENV) or None


@contextmanager
def connect(address: str | None = None, n_workers: int | None = None, timeout: float = 10.0):
    """A ``distributed.Client`` for the sweep, closed (with its LocalCluster, if one was started) on exit."""
    import dask
    from distributed import Client, LocalCluster

    address = scheduler_address(address)
    cluster = None
    if address:
        try:
            client = Client(address, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as error:
            raise SchedulerUnreachable(
                f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({error}); start one with "
                f"`dask scheduler`, or give its address as tcp://HOST:PORT") from None
    else:
        pre_spawn = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in PRE_SPAWN_ENV.items()}
        with dask.config.set(pre_spawn):  # read when the nannies are made, which a LocalCluster does here
            cluster = LocalCluster(n_workers=n_workers or os.cpu_count() or 1, threads_per_worker=1,
                                   processes=True, dashboard_address=None, env=WORKER_ENV)
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def runs_per_task(total: int, threads: int) -> int:
    """Runs grouped in one task: about TASKS_PER_THREAD tasks for each worker thread."""
    return max(1, math.ceil(total / (TASKS_PER_THREAD * max(threads, 1))))


class DaskSweepJob(SweepJob):
    """A sweep whose runs go to a Dask cluster, submitted at once and streamed back as tasks finish."""

    def __init__(self, spec: SweepSpec, client, group: int | None = None):
        super().__init__(spec)
        self.client = client
        points = spec.points()
        threads = sum(client.nthreads().values())
        self.group = group or runs_per_task(len(points), threads)
        token = uuid.uuid4().hex[:12]
        self.chunks = [points[i:i + self.group] for i in range(0, len(points), self.group)]
        self.futures = [client.submit(run_points, spec.scene, spec.fixed, chunk, key=f"sweep-{spec.scene}-{token}-{i}",
                                      pure=False) for i, chunk in enumerate(self.chunks)]

    def cancel(self) -> None:
        super().cancel()
        self.client.cancel(self.futures)

    def __iter__(self):
        from distributed import as_completed

        chunk_of = {future.key: chunk for future, chunk in zip(self.futures, self.chunks)}
        try:
            for future in as_completed(self.futures):
                if self.cancelled:
                    break
                try:
                    rows = future.result()
                except Exception as error:  # the task itself failed (e.g. killed too many workers)
                    rows = [{**point, ERROR: f"task failed: {type(error).__name__}: {error}", "run_seconds": None,
                             "worker": None} for point in chunk_of[future.key]]
                self.rows.extend(rows)
                yield self.progress()
        finally:
            if self.cancelled:
                self.client.cancel(self.futures)
            self.futures = []
