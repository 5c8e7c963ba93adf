"""``stochastic-explorer``: serve the app, or export a scene without a browser.

    stochastic-explorer serve [--port 5006] [--address 127.0.0.1] [--show] [--allow-websocket-origin HOST:PORT]
                              [--unused-session-lifetime MS] [--check-unused-sessions MS]
                              [--num-procs N] [--recycle-above MB]
    stochastic-explorer export SCENE [--preset NAME] [--set key=value ...] [--fps F] [--frames A:B] [--screen] --out FILE
    stochastic-explorer export --all-presets [--format png] --out DIR
    stochastic-explorer list
    stochastic-explorer sweep SCENE --grid KNOB=V1,V2,...|log:A:B:N|lin:A:B:N [--seeds N] [--set KNOB=VALUE ...]
                              [--scheduler ADDRESS | --serial] --out FILE.csv|.parquet [--plot FILE.png|.svg]
    stochastic-explorer bench [--quick] [--json FILE]

Problems the user can fix (unknown scene, preset, parameter or format; a refused run) end with exit
status 2 and one line on stderr, never a traceback. Panel is imported only by ``serve``.
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from pathlib import Path

from explorer.recycling import LIMIT_MB as RECYCLE_LIMIT_MB
from explorer.slots import RUN_BUDGET_S, set_run_budget

PROG = "stochastic-explorer"
BOOL_WORDS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


class UsageError(Exception):
    """A mistake in what the user asked for; its message is printed as is."""


def parse_value(text: str):
    """Command-line text to a Python value: bool words, int, float, else the string (never evaluated)."""
    word = text.strip().lower()
    if word in BOOL_WORDS:
        return BOOL_WORDS[word]
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def parse_assignments(pairs: list[str], scene) -> dict:
    """``key=value`` strings to a dict, values typed for the scene's params (``3.0`` for an int is 3)."""
    import param

    values = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set wants key=value, got {pair!r}")
        value = parse_value(text)
        parameter = scene.param[key] if key in scene.param else None
        if isinstance(parameter, param.Integer) and isinstance(value, float) and value.is_integer():
            value = int(value)
        values[key] = value
    return values


def whole_number(text: str, minimum: int) -> int:
    """``text`` as a whole number of at least ``minimum`` (argparse.ArgumentTypeError otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {minimum} or more, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number above zero."""
    return whole_number(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: a whole number, 0 or more."""
    return whole_number(text, 0)


def non_negative_float(text: str) -> float:
    """argparse type: a number, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number, 0 or more, got {text}")
    return value


def websocket_origins(address: str, port: int, extra: list[str] | None) -> list[str]:
    """The origins allowed to open the app's websocket: the served host:port (both loopback names).

    Listening on every interface (0.0.0.0) names no host, so only localhost is allowed until
    ``--allow-websocket-origin`` names the host the browsers will use.
    """
    if extra:
        return list(extra)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:  # a host name, not an address
        return [f"{address}:{port}"]
    if ip.is_unspecified:
        print(f"{PROG}: listening on all interfaces; browsers on other machines also need "
              f"--allow-websocket-origin HOST:{port}", file=sys.stderr)
        return [f"localhost:{port}", f"127.0.0.1:{port}"]
    return [f"{address}:{port}", f"localhost:{port}"] if ip.is_loopback else [f"{address}:{port}"]


def serve(args) -> int:
    # Many sessions compute at once, each on its own thread: BLAS threads only spin-wait on the small
    # products the scenes do (a 1000-particle Langevin run took 0.26 s of CPU with OpenBLAS threads, 0.12
    # without). Set before numpy is first imported; a value already in the environment wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import panel as pn

    from explorer.app import routes
    from explorer.live import share_cores
    from explorer.memory import limit_arenas, release_free_memory

    if args.num_procs < 0:
        raise UsageError(f"--num-procs must be 0 (one per core) or more, got {args.num_procs}")
    processes = args.num_procs or os.cpu_count() or 1
    share_cores(processes)
    set_run_budget(args.max_run_seconds)
    warm_up = not args.no_warm_up
    if processes != 1:  # each forked process warms itself up, ends with the parent (explorer.processes)
        from explorer import recycling  # and is replaced by a fresh one when idle and grown (explorer.recycling)
        from explorer.gallery import warm_up as start_warm_up
        from explorer.processes import after_fork
        from scenes import SCENES

        recycling.arm(limit_mb=args.recycle_above)
        after_fork((lambda: start_warm_up(list(SCENES), then=recycling.mark_warm)) if warm_up else None)
    limit_arenas()  # the sessions' worker threads share two malloc arenas (see explorer.memory)
    release_free_memory()  # and the libraries just imported stay out of every later garbage collection
    origins = websocket_origins(args.address, args.port, args.allow_websocket_origin)
    try:
        pn.serve(routes(warm_up=warm_up and processes == 1), port=args.port, address=args.address, show=args.show,
                 websocket_origin=origins, num_procs=args.num_procs, title="Stochastic Explorer", verbose=True,
                 unused_session_lifetime_milliseconds=args.unused_session_lifetime,
                 check_unused_sessions_milliseconds=args.check_unused_sessions)
    except OSError as error:  # port taken, address not ours
        raise UsageError(f"cannot serve on {args.address}:{args.port}: {error.strerror or error}") from None
    return 0


def export_options(args):
    """ExportOptions from --screen, --fps, --frames FIRST:LAST and --dpi."""
    from explorer.export import ExportOptions

    first, last = 0, None
    if args.frames:
        head, sep, tail = args.frames.partition(":")
        try:
            first = int(head) if head else 0
            last = int(tail) if tail else None
        except ValueError:
            raise UsageError(f"--frames wants FIRST:LAST frame indices, got {args.frames!r}") from None
        if not sep:
            last = first
    return ExportOptions(screen=args.screen, fps=args.fps, first=first, last=last, dpi=args.dpi)


def export(args) -> int:
    from explorer.export import FORMATS, ExportError, check_format, export_all_presets, export_scene
    from explorer.presets import PresetError, list_presets, load_preset
    from scenes import SCENES, SceneError

    out = Path(args.out)
    try:
        options = export_options(args)
        if args.all_presets:
            if args.scene or args.preset or args.set:
                raise UsageError("--all-presets exports every preset of every scene: give only --out DIR "
                                 "(and --format)")
            for path in export_all_presets(SCENES, out, args.format, options):
                print(path)
            return 0
        if not args.scene:
            raise UsageError("name a scene (e.g. langevin), or use --all-presets")
        if args.scene not in SCENES:
            raise UsageError(f"unknown scene {args.scene!r}; known: {', '.join(SCENES)}")
        try:
            check_format(out.suffix)
        except ExportError:
            raise UsageError(f"cannot export {out.name!r}: the extension must be one of "
                             f"{', '.join(f.lstrip('.') for f in FORMATS)}") from None
        scene = SCENES[args.scene]()
        if args.preset:
            presets = list_presets(args.scene)
            if args.preset not in presets:
                raise UsageError(f"unknown preset {args.preset!r} for {args.scene}; "
                                 f"known: {', '.join(presets) or '(none)'}")
            scene.update(**load_preset(args.scene, args.preset))
        scene.update(**parse_assignments(args.set, scene))
        path = export_scene(scene, out, options=options)
    except (SceneError, PresetError, ExportError) as error:
        raise UsageError(str(error)) from None
    except OSError as error:
        raise UsageError(f"cannot write {out}: {error.strerror or error}") from None
    print(path)
    return 0


def run_benchmarks(args) -> int:
    from benchmarks.__main__ import main as benchmarks_main

    return benchmarks_main((["--quick"] if args.quick else []) + (["--json", args.json] if args.json else []))


def list_scenes(args) -> int:
    from explorer.presets import list_presets
    from scenes import SCENES

    for name, cls in SCENES.items():
        print(f"{name}: {cls.title}")
        for preset, info in list_presets(name).items():
            print(f"    --preset {preset}: {info.get('title', '')}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Interactive explorer of stochastic dynamics.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("serve", help="serve the app (localhost only unless --address says otherwise)")
    run.add_argument("--port", type=int, default=5006, help="port (default 5006)")
    run.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    run.add_argument("--show", action="store_true", help="open the app in a browser")
    run.add_argument("--allow-websocket-origin", action="append", metavar="HOST[:PORT]",
                     help="a host allowed to connect (repeatable; default: the served host:port)")
    run.add_argument("--num-procs", type=int, default=1, metavar="N",
                     help="server processes sharing the port (default 1; 0: one per core). Each has its own event "
                          "loop: for a lecture hall, one per core (Linux and macOS)")
    run.add_argument("--recycle-above", type=non_negative_int, default=RECYCLE_LIMIT_MB, metavar="MB",
                     help="with several processes, a process left without sessions that has grown by more than "
                          f"MB since its warm-up is replaced by a fresh one (default {RECYCLE_LIMIT_MB}; 0: every "
                          "idle process)")
    run.add_argument("--no-warm-up", action="store_true",
                     help="do not draw the index thumbnails (and compile every scene) in the background at start")
    run.add_argument("--unused-session-lifetime", type=positive_int, default=15_000, metavar="MS",
                     help="a session whose browser has gone is cleaned up after this many ms (default 15000)")
    run.add_argument("--check-unused-sessions", type=positive_int, default=17_000, metavar="MS",
                     help="how often (ms) to look for sessions to clean up (default 17000)")
    run.add_argument("--max-run-seconds", type=non_negative_float, default=RUN_BUDGET_S, metavar="S",
                     help="a run estimated to compute longer than S seconds is refused, saying its estimate and the "
                          f"knobs to lower, and one that computes for 3 × S is stopped (default {RUN_BUDGET_S:g}; 0: "
                          "no limit). The export and sweep commands have no such limit")
    run.set_defaults(handler=serve)

    out = commands.add_parser("export", help="run a scene and write a figure or data file",
                          description="Run a scene and write a figure or data file. The run has no work budget (serve's "
                                      "--max-run-seconds): it computes for as long as its sizes need.")
    out.add_argument("scene", nargs="?", help="scene name, e.g. langevin")
    out.add_argument("--preset", help="a preset of the scene, applied first")
    out.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="a parameter value, applied after the preset (repeatable)")
    out.add_argument("--out", required=True, help="output file (its extension picks the format), or the folder "
                                                  "for --all-presets")
    out.add_argument("--all-presets", action="store_true", help="a file per preset of every scene, in --out DIR")
    out.add_argument("--format", default="png", help="the format of --all-presets files (default png)")
    out.add_argument("--screen", action="store_true", help="PNG as the browser draws it (bokeh, in Chromium)")
    out.add_argument("--fps", type=float, default=8.0, help="frames per second of a GIF or MP4 (default 8)")
    out.add_argument("--frames", metavar="FIRST:LAST", help="frame range of a GIF or MP4 (default: all)")
    out.add_argument("--dpi", type=int, default=110, help="resolution of matplotlib figures (default 110)")
    out.set_defaults(handler=export)

    bench = commands.add_parser("bench", help="run the benchmarks: our figures beside the peers', with ratios")
    bench.add_argument("--quick", action="store_true", help="smaller sizes, about a minute per benchmark")
    bench.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    bench.set_defaults(handler=run_benchmarks)

    from explorer.sweep_cli import add_parser as add_sweep

    add_sweep(commands, UsageError)

    show = commands.add_parser("list", help="list the scenes and their presets")
    show.set_defaults(handler=list_scenes)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
