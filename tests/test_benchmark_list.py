"""``python -m benchmarks`` runs every harness module and nothing else: a check with its own command and no rows
(the JupyterLab check) stopped the whole run half-way, before the kernel benchmarks."""
from benchmarks.__main__ import benchmark_modules


def test_every_listed_benchmark_has_a_title_and_rows_and_commands_of_their_own_are_left_out():
    import importlib

    names = benchmark_modules()
    assert "jupyterlab_app" not in names and "ula_ring8" in names and "browser_latency" in names
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        assert isinstance(module.TITLE, str) and callable(module.rows), name
