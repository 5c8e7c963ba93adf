"""The app's sweep panel in process (explorer.sweep_panel), serial and tiny: a submit streams rows in (the
progress moves), the plot is drawn and the CSV download parses back to the table; Cancel stops with fewer rows;
a bad range or a far too large sweep is refused naming the knob or the size before anything runs; an
unreachable scheduler is said; the page's card builds its panel only when opened."""
import io
import re
import socket

import pandas as pd
import pytest

from explorer.sweep_panel import SweepPanel, sweep_card
from scenes import LangevinScene
from scenes.sweep import ERROR

TINY = dict(n_particles=200, n_steps=40, n_frames=3, target="gauss")


def panel(start=0.05, end=5.0, count=3, scale="log", seeds=2, execution="serial", **knobs):
    sweep = SweepPanel("langevin", LangevinScene(**{**TINY, **knobs}), execution=execution)
    first = sweep.axes[0]
    first.knob.value = "step_size"
    first.start.value, first.end.value, first.count.value, first.scale.value = start, end, count, scale
    sweep.seeds.value = seeds
    return sweep


def test_a_submit_streams_rows_in_draws_the_plot_and_the_csv_download_is_the_table():
    sweep = panel()
    seen = []
    sweep.progress.param.watch(lambda event: seen.append(event.new), "value")
    sweep.submit()
    sweep.wait(120)
    table = sweep.table
    assert len(table) == 6 and list(table["seed"]) == [0, 1] * 3
    assert list(table["step_size"].unique()) == pytest.approx([0.05, 0.5, 5.0])
    assert any(0 < value < 100 for value in seen) and seen[-1] == 100  # the bar moved as rows came in
    assert sweep.status.object.startswith("done: 6/6 runs")
    failed = int(table[ERROR].notna().sum())  # ULA diverges at h = 5
    assert failed >= 2 and sweep.alert.visible and f"{failed} of 6 runs failed" in sweep.alert.object
    assert sweep.metric.value == "sliced_w2" and "kl" in sweep.metric.options
    assert sweep.plot.visible and sweep.plot.object[:8] == b"\x89PNG\r\n\x1a\n"
    downloads = {button.filename.rsplit(".", 1)[1]: button.callback().getvalue() for button in sweep.downloads}
    assert not any(button.disabled for button in sweep.downloads)
    assert downloads["svg"].lstrip().startswith(b"<?xml") and downloads["pdf"].startswith(b"%PDF")
    back = pd.read_csv(io.BytesIO(downloads["csv"]))
    pd.testing.assert_frame_equal(back.drop(columns=[ERROR]), table.drop(columns=[ERROR]), check_dtype=False)
    assert list(back[ERROR].notna()) == list(table[ERROR].notna())
    before = sweep.plot.object
    sweep.metric.value = "kl"  # another metric: drawn again from the table, nothing run
    assert sweep.plot.object != before and len(sweep.table) == 6


def test_cancel_stops_the_sweep_with_fewer_rows():
    sweep = panel(start=0.05, end=0.3, count=4, scale="lin", seeds=2)
    sweep.progress.param.watch(lambda event: event.new >= 25 and sweep.cancel(), "value")  # after 2 of 8 runs
    sweep.submit()
    sweep.wait(120)
    assert len(sweep.table) == 2 < len(sweep.spec) == 8
    assert sweep.status.object.startswith("cancelled: 2/8 runs")
    assert not sweep.submit_button.disabled and sweep.cancel_button.disabled


@pytest.mark.parametrize("change, message", [
    (dict(start=0.05, end=20.0, count=2, scale="lin"), r"step_size: 20 is above its upper bound 10"),
    (dict(start=0.0, end=1.0, scale="log"), r"step_size: a log range needs START and STOP above 0"),
    (dict(seeds=0), r"seeds: at least one seed is needed"),
    (dict(n_steps=5_000_000, count=40, seeds=32), r"about [\d,]+ min of one core \(1,280 runs\)"),
])
def test_a_bad_or_far_too_large_sweep_is_refused_before_anything_runs(change, message):
    sweep = panel(**change)
    sweep.submit()
    assert sweep.thread is None and sweep.table is None
    assert sweep.alert.visible and sweep.alert.alert_type == "danger"
    assert re.search(message, sweep.alert.object), sweep.alert.object


def test_an_unreachable_scheduler_is_said(monkeypatch):
    from explorer import sweep_client

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("EXPLORER_DASK_SCHEDULER", f"tcp://127.0.0.1:{port}")
    monkeypatch.setattr(sweep_client, "CONNECT_TIMEOUT_S", 1.0)
    sweep = panel(count=2, seeds=1, execution="dask")
    sweep.submit()
    sweep.wait(60)
    assert "could not be reached" in sweep.alert.object and f"127.0.0.1:{port}" in sweep.alert.object
    assert sweep.status.object.startswith("stopped: 0/2 runs") and not sweep.submit_button.disabled


def test_the_pages_card_builds_its_panel_when_first_opened():
    card = sweep_card("langevin", LangevinScene(**TINY))
    assert card.collapsed and card.sweep_panels == []
    card.collapsed = False
    assert len(card.sweep_panels) == 1 and card.objects == [card.sweep_panels[0].layout]
    card.collapsed, card.collapsed = True, False
    assert len(card.sweep_panels) == 1  # built once


def test_a_metrics_floor_is_drawn_with_it_not_offered_alone():
    from explorer.sweep_plot import figure, metric_columns

    table = pd.DataFrame({"step_size": [0.1, 0.1, 0.2, 0.2], "seed": [0, 1, 0, 1], "kl": [0.3, 0.4, 0.5, 0.7],
                          "kl_reference": [0.1, 0.12, 0.1, 0.12], "tv_reference": [0.2] * 4, ERROR: [None] * 4,
                          "run_seconds": [1.0] * 4, "worker": ["local:1"] * 4})
    assert metric_columns(table, ["step_size"]) == ["kl", "tv_reference"]  # a floor without its metric stays
    ax = figure(table, ["step_size"], "kl").axes[0]
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and list(dashed[0].get_ydata()) == pytest.approx([0.11, 0.11])
    plain = figure(table.drop(columns=["kl_reference"]), ["step_size"], "kl").axes[0]
    assert not [line for line in plain.get_lines() if line.get_linestyle() == "--"]


def test_sweep_plots_drawn_by_several_sessions_at_once_all_succeed():
    """matplotlib's mathtext (the log axis' tick labels) is not thread-safe: without explorer.render's
    MATPLOTLIB_LOCK every one of these draws failed with a ParseException."""
    import threading

    import numpy as np

    from explorer.sweep_plot import image

    table = pd.DataFrame({"step_size": np.repeat(np.geomspace(0.01, 0.5, 6), 2), "seed": [0, 1] * 6,
                          "kl": np.linspace(0.01, 1, 12), ERROR: [None] * 12, "run_seconds": 1.0, "worker": "x"})
    failures, pictures = [], []

    def draw():
        for _ in range(5):
            try:
                pictures.append(image(table, ["step_size"], "kl", log_knobs=("step_size",)))
            except Exception as error:  # noqa: BLE001 - counted, and the count asserted
                failures.append(error)

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures and len(pictures) == 20 and all(p[:8] == b"\x89PNG\r\n\x1a\n" for p in pictures)
