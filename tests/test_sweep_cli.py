"""``stochastic-explorer sweep`` end to end: a CSV and a plot written, a bad grid refused naming the knob."""
import subprocess
import sys

import pandas as pd

from explorer.cli import main


def test_cli_writes_the_table_and_the_plot(tmp_path, capsys):
    out, plot = tmp_path / "sweep.csv", tmp_path / "sweep.png"
    status = main(["sweep", "langevin", "--grid", "sampler=ula,mala", "--grid", "step_size=log:0.02:0.2:2",
                   "--seeds", "2", "--set", "n_particles=150", "--set", "n_steps=30", "--set", "n_frames=2",
                   "--serial", "--out", str(out), "--plot", str(plot)])
    assert status == 0
    table = pd.read_csv(out)
    assert len(table) == 8 and table["error"].isna().all() and {"sampler", "step_size", "seed", "sliced_w2"} <= set(table)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 10_000
    assert "8/8 runs" in capsys.readouterr().err  # the progress bar


def test_cli_refuses_a_bad_grid_before_running(tmp_path):
    done = subprocess.run([sys.executable, "-m", "explorer", "sweep", "langevin", "--grid", "step_size=lin:0.1:20:3",
                           "--out", str(tmp_path / "x.csv")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "step_size: 10.05 is above its upper bound 10" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "x.csv").exists()
