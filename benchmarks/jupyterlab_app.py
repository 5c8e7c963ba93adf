"""``scene.app()`` inside a real JupyterLab, in headless Chromium: the tour notebook's app cell, then a knob
moved in the app and the plots recomputed (issue 21).

    python -m benchmarks.jupyterlab_app [--scene langevin] [--out DIR]

It needs the ``notebook`` extra (``pip install -c constraints.txt -e ".[notebook]"``: JupyterLab) and
Debian's ``chromium``. JupyterLab is started on a free loopback port with no token, in a temporary folder
holding a copy of ``assets/notebooks/<scene>.ipynb``; Playwright opens the notebook, runs every cell from
the Run menu, waits for the app's plots, then types a new step size (Langevin; ``--knob``/``--value``
for others) into the app's own knob and waits for the app's status line to change. It prints the
seconds from the open to the app's first plot and from the knob's change to the new status line, and
writes ``<scene>_app.png`` (after the notebook ran) and ``<scene>_moved.png`` (after the move) into DIR.

Not in the suite: JupyterLab's start and its front end's build of the notebook take about a minute on
two cores. The suite runs the same notebooks with nbclient (``tests/test_notebooks.py``).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.browser_latency import CHROMIUM, CHROMIUM_ARGS, start_server

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "assets" / "notebooks"
MAIN_PANEL = {"ode_sde": "SDE", "bridges": "coupling", "lorenz": "ensemble"}  # the first panel drawn; else "cloud"
DEFAULT_MOVES = {"langevin": ("step_size", "0.05"), "ode_sde": ("nfe", "12"), "bridges": ("epsilon", "0.3"),
                 "lorenz": ("rho", "35")}
WAIT_MS = 120_000
SETTLE_MS = 10_000


def start_jupyterlab(folder: Path, log: Path):
    """``jupyter lab`` on a free loopback port serving ``folder``, no token, no browser, the kernel importing
    this repository first; returns once it answers (the benchmarks' own server starter)."""
    return start_server(None, log, command=[
        "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--ServerApp.root_dir={folder}",
        "--IdentityProvider.token=", "--ServerApp.password=", "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"])


def run_all_cells(page) -> None:
    """Run ▸ Run All Cells from JupyterLab's menu bar."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="langevin", choices=sorted(DEFAULT_MOVES))
    parser.add_argument("--knob", help="the knob moved in the app (default: one per scene)")
    parser.add_argument("--value", help="its new value")
    parser.add_argument("--out", type=Path, default=Path("jupyterlab_shots"))
    args = parser.parse_args(argv)
    knob, value = DEFAULT_MOVES[args.scene]
    knob, value = args.knob or knob, args.value or value
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import expect, sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        shutil.copy(NOTEBOOKS / f"{args.scene}.ipynb", folder / f"{args.scene}.ipynb")
        lab = start_jupyterlab(folder, (args.out / "jupyterlab.log").resolve())
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1600, "height": 1200})
                problems = []
                page.on("console", lambda message: message.type == "error" and problems.append(message.text))
                page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
                opened = time.perf_counter()
                page.goto(f"{lab.base}/lab/tree/{args.scene}.ipynb")
                page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=WAIT_MS)
                page.locator(".jp-StatusBar-TextItem", has_text="| Idle").first.wait_for(timeout=WAIT_MS)
                page.wait_for_timeout(2000)       # the kernel's connection settles after its first status
                run_all_cells(page)
                app = page.locator(".scene-app").first
                status = app.locator(".run-status p").first
                try:  # the app's first panel drawn (the front end builds the plots well after the status line)
                    page.locator(f".panel-{MAIN_PANEL.get(args.scene, 'cloud')} canvas:visible").first.wait_for(
                        timeout=WAIT_MS)
                    expect(status).to_contain_text(" ms", timeout=WAIT_MS)
                except Exception:
                    page.screenshot(path=args.out / f"{args.scene}_failed.png", full_page=True)
                    print("the page's errors:", *problems[-20:], sep="\n  ", file=sys.stderr)
                    raise
                first_plot_s = time.perf_counter() - opened
                page.locator(".jp-StatusBar-TextItem", has_text="| Idle").first.wait_for(timeout=WAIT_MS)
                page.wait_for_timeout(3000)       # the last cell's knob change recomputes too
                app.scroll_into_view_if_needed()
                page.screenshot(path=args.out / f"{args.scene}_app.png")
                before = status.inner_text()
                box = app.locator(f".knob-{knob} input").first
                box.fill(value)
                moved = time.perf_counter()
                box.press("Tab")    # a change on leaving the box: JupyterLab's shortcuts take Enter
                expect(status).not_to_have_text(before, timeout=WAIT_MS)
                recompute_s = time.perf_counter() - moved
                page.wait_for_timeout(SETTLE_MS)  # the diagnostics' panels follow the particles (staged runs)
                app.scroll_into_view_if_needed()
                page.screenshot(path=args.out / f"{args.scene}_moved.png")
                after = status.inner_text()
                browser.close()
        finally:
            lab.stop()
    print(f"{args.scene} in JupyterLab: open → the app's first plot {first_plot_s:.1f} s; "
          f"{knob} = {value} typed in the app → new status line {recompute_s:.2f} s")
    print(f"status before: {before!r}\nstatus after:  {after!r}\nscreenshots in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
