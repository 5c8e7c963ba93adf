"""The tour notebooks (assets/notebooks/<scene>.ipynb) run in a Jupyter kernel, and ``scene.app()`` lives there.

All four tours run in one kernel (one start, one import of the app; about 30 s warm), each followed by a check
cell that moves one of its app's knobs and waits for the app to draw the new run: the run's metrics are finite,
the view and the app are rich outputs (the app a Panel bundle), the sweep has its rows, and the live loop
delivers its results on the kernel's thread (explorer.live.loop_schedule), where the comm messages go.
"""
from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
TOURS = ROOT / "assets" / "notebooks"
SCENE_NAMES = ("langevin", "ode_sde", "bridges", "lorenz")
MOVED = {"langevin": ("step_size", 0.3), "ode_sde": ("noise", 0.25), "bridges": ("epsilon", 0.3),
         "lorenz": ("noise", 0.25)}  # the knob each check moves, to a value its tour does not set
PANEL_BUNDLE = "application/vnd.holoviews_exec.v0+json"  # what Panel's and HoloViews' notebook outputs carry
WAIT_S = 60  # for the app's runs in the kernel (a cold kernel compile is counted out by the clock, not here)

CHECK = '''\
import asyncio, json, threading, time
_page = app.page
_on_kernel_thread = []
_draw = _page.runner._on_result
def _recorded(result, seconds):
    _on_kernel_thread.append(threading.current_thread() is threading.main_thread())
    _draw(result, seconds)
_page.runner._on_result = _recorded
setattr(_page.scene, {knob!r}, {value!r})  # as the app's widget does
_waited = time.perf_counter()
while (_page.result is None or _page.result.parameters.get({knob!r}) != {value!r}) and \\
        time.perf_counter() - _waited < {wait}:
    await asyncio.sleep(0.05)
print(json.dumps({{"drawn": None if _page.result is None else _page.result.parameters.get({knob!r}),
                  "scene_follows": scene.{knob}, "on_kernel_thread": _on_kernel_thread,
                  "status": _page.status.object, "alert": _page.alert.visible}}))
app.close()
'''


def run_tours() -> dict:
    """Every tour, then its check cell, in one kernel started in the repository root: scene -> its cells run."""
    combined, spans = nbformat.v4.new_notebook(), {}
    for name in SCENE_NAMES:
        tour = nbformat.read(TOURS / f"{name}.ipynb", as_version=4)
        assert not any(cell.get("outputs") for cell in tour.cells), f"{name}.ipynb is stored with outputs"
        knob, value = MOVED[name]
        start = len(combined.cells)
        combined.cells += [*tour.cells, nbformat.v4.new_code_cell(CHECK.format(knob=knob, value=value, wait=WAIT_S))]
        spans[name] = combined.cells[start:]
    nbclient.NotebookClient(combined, timeout=240, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    return spans


@pytest.fixture(scope="module")
def tours() -> dict:
    return run_tours()


def outputs(cells, source_start: str) -> list:
    """The outputs of the cell whose source starts with ``source_start``."""
    found = [cell for cell in cells if cell.cell_type == "code" and cell.source.startswith(source_start)]
    assert len(found) == 1, f"no single cell starts with {source_start!r}"
    return found[0].outputs


def result_data(cells, source_start: str) -> dict:
    """The rich data (mime type -> content) the cell's value displayed."""
    shown = [out for out in outputs(cells, source_start) if out.output_type == "execute_result"]
    assert shown, f"the cell {source_start!r} shows nothing"
    return shown[-1].data


@pytest.mark.parametrize("name", SCENE_NAMES)
def test_the_tour_runs_and_its_outputs_are_sound(tours, name):
    cells = tours[name]
    errors = [out for cell in cells if cell.cell_type == "code" for out in cell.outputs if out.output_type == "error"]
    assert not errors, errors
    metrics = eval(result_data(cells, "result = scene.run()")["text/plain"], {"nan": math.nan, "inf": math.inf})
    assert len(metrics) >= 3 and all(math.isfinite(value) for value in metrics.values()), metrics
    assert PANEL_BUNDLE in result_data(cells, "scene.view(result)")
    table = result_data(cells, "table = sweep(")["text/html"]
    assert table.split("<tbody>")[1].count("<tr>") >= 2  # a row per point of the grid
    assert "NaN" not in table
    app = result_data(cells, "app = scene.app()")
    assert PANEL_BUNDLE in app and "text/html" in app


@pytest.mark.parametrize("name", SCENE_NAMES)
def test_the_app_recomputes_in_the_kernel_on_the_kernels_thread(tours, name):
    knob, value = MOVED[name]
    printed = "".join(out.text for out in tours[name][-1].outputs if out.output_type == "stream")
    check = json.loads(printed.strip().splitlines()[-1])
    assert check["drawn"] == value, check  # the moved knob's run reached the app
    assert check["scene_follows"] == value  # the app's knobs are the user's scene's
    assert check["on_kernel_thread"] and all(check["on_kernel_thread"]), check
    assert re.match(r"[\d,]+ ms · ", check["status"]) and not check["alert"], check


def test_importing_the_scenes_imports_no_panel():
    """Scene.app() imports the app when called (DESIGN §2: scenes never imports panel)."""
    code = "import sys, scenes; scenes.LangevinScene().app; print(sorted(m for m in ('panel', 'explorer') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
