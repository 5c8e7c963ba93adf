"""``stochastic-explorer sweep``: a grid × seeds of a scene's runs, on a Dask cluster (a LocalCluster unless
``--scheduler`` or ``$EXPLORER_DASK_SCHEDULER`` names one) or ``--serial``, with a progress bar on stderr,
written as a CSV or Parquet table and, with ``--plot``, a figure."""
from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

TABLE_FORMATS = (".csv", ".parquet")
PLOT_FORMATS = (".png", ".svg")
BAR_WIDTH = 30


def add_parser(commands, usage_error) -> None:
    """The ``sweep`` subcommand, its handler raising ``usage_error`` for what the user can fix."""
    sweep = commands.add_parser("sweep", help="run a grid of knob values × seeds and write a table (and a plot)",
                                 description="Run a grid of knob values × seeds and write a table (and a plot). The runs "
                                             "have no work budget (serve's --max-run-seconds): each computes for as "
                                             "long as its sizes need.")
    sweep.add_argument("scene", help="scene name, e.g. langevin")
    sweep.add_argument("--grid", action="append", default=[], metavar="KNOB=SPEC", required=True,
                       help="a knob and its values: V1,V2,... or log:A:B:N or lin:A:B:N (repeatable)")
    sweep.add_argument("--seeds", type=int, default=1, metavar="N", help="seeds 0 … N−1 for each point (default 1)")
    sweep.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE", help="a fixed knob (repeatable)")
    sweep.add_argument("--scheduler", metavar="ADDRESS",
                       help="a Dask scheduler, tcp://HOST:PORT (default $EXPLORER_DASK_SCHEDULER, else a LocalCluster)")
    sweep.add_argument("--serial", action="store_true", help="run here, one run after another (no Dask)")
    sweep.add_argument("--workers", type=int, metavar="N", help="LocalCluster worker processes (default: one per core)")
    sweep.add_argument("--runs-per-task", type=int, metavar="N", help="runs grouped in one Dask task (default: auto)")
    sweep.add_argument("--out", required=True, help="the table: FILE.csv or FILE.parquet")
    sweep.add_argument("--plot", metavar="FILE", help="also draw it: FILE.png or FILE.svg (mean and 95 %% band)")
    sweep.add_argument("--metric", help="the metric plotted (default sliced_w2 where there is one, else the first)")
    sweep.set_defaults(handler=lambda args: run(args, usage_error))


def _pairs(pairs: list[str], option: str, usage_error) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise usage_error(f"{option} wants KNOB=VALUE, got {pair!r}")
        out[key.strip()] = value
    return out


def bar(done: int, total: int, failed: int, started: float) -> str:
    """One line of the terminal progress bar."""
    filled = int(BAR_WIDTH * done / total) if total else BAR_WIDTH
    failures = f", {failed} failed" if failed else ""
    return f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} runs{failures}, {time.perf_counter() - started:.0f} s"


def write_table(table, out: Path, usage_error) -> None:
    if out.suffix == ".parquet":
        if importlib.util.find_spec("pyarrow") is None:  # optional: the [parquet] extra
            raise usage_error("writing .parquet needs pyarrow: pip install 'stochastic-explorer[parquet]' "
                              "(or write .csv)") from None
        table.to_parquet(out, index=False)
    else:
        table.to_csv(out, index=False)


def run(args, usage_error) -> int:
    from scenes import SceneError
    from scenes.sweep import make_spec, start
    from scenes.sweep_dask import connect

    out, plot_path = Path(args.out), Path(args.plot) if args.plot else None
    if out.suffix not in TABLE_FORMATS:
        raise usage_error(f"--out {out.name!r}: the extension must be one of {', '.join(TABLE_FORMATS)}")
    if plot_path is not None and plot_path.suffix not in PLOT_FORMATS:
        raise usage_error(f"--plot {plot_path.name!r}: the extension must be one of {', '.join(PLOT_FORMATS)}")
    if out.suffix == ".parquet" and importlib.util.find_spec("pyarrow") is None:  # said before anything runs
        write_table(None, out, usage_error)
    if args.seeds < 1:
        raise usage_error(f"--seeds must be 1 or more, got {args.seeds}")
    try:
        spec = make_spec(args.scene, _pairs(args.grid, "--grid", usage_error), args.seeds,
                         _pairs(args.set, "--set", usage_error))
        started = time.perf_counter()
        if args.serial:
            table = _drive(start(spec), started)
        else:
            with connect(args.scheduler, n_workers=args.workers) as client:
                table = _drive(start(spec, client, args.runs_per_task), started)
    except SceneError as error:
        raise usage_error(str(error)) from None
    try:
        write_table(table, out, usage_error)
        print(out)
        if plot_path is not None:
            from explorer.sweep_plot import default_metric, plot

            logs = [a.knob for a in spec.axes if a.scale == "log"]
            metric = args.metric or default_metric(table, spec.knobs)
            plot(table, list(spec.knobs), metric, plot_path, log_knobs=logs,
                 title=f"{args.scene}: {metric}, {len(spec.seeds)} seeds")
            print(plot_path)
    except ValueError as error:
        raise usage_error(str(error)) from None
    except OSError as error:
        raise usage_error(f"cannot write: {error.strerror or error}") from None
    failed = int(table["error"].notna().sum())
    if failed:
        print(f"{failed} of {len(table)} runs failed; their rows hold the error", file=sys.stderr)
    return 0


def _drive(job, started):
    """Run ``job`` showing the bar; Ctrl-C cancels what is queued and keeps what came back."""
    print(bar(0, len(job.spec), 0, started), end="", file=sys.stderr, flush=True)
    try:
        for progress in job:
            print(bar(progress.done, progress.total, progress.failed, started), end="", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        job.cancel()
        print("\ncancelled: writing the runs that finished", file=sys.stderr)
    print(file=sys.stderr)
    return job.table()
