"""Staged runs on the page (DESIGN §5): each partial stage of ``Scene.stages()`` is drawn on its own panels
(``stage_panels``), in order, and the complete result on the panels that show no stage of its run yet, so
every panel is drawn once per run and the first pixels wait only for the first stage's few panels."""
import time

import param
import pytest

from explorer.app import ScenePage

SMALL = {"langevin": dict(n_particles=200, n_steps=40, n_frames=6),
         "ode_sde": dict(n_particles=200, nfe=10, n_frames=5),
         "bridges": dict(n_particles=200, n_frames=6, backend="cpu"),
         "lorenz": dict(n_members=100, horizon=3.0, n_frames=10, enkf_cycles=20, train_length=400, backend="cpu")}
WAIT_S = 300  # the first run may compile its kernels


def page_after_first_run(name: str) -> ScenePage:
    page = ScenePage(name, sync_url=False, values=SMALL[name])
    deadline = time.monotonic() + WAIT_S
    # outside a server the worker draws each stage itself: wait until it has drawn the last one and is idle
    while (page.result is None or page.runner.backlog != (0, 0)) and not page.alert.visible \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    assert page.result is not None, page.alert.object
    return page


def next_seed(scene) -> None:
    """Another seed, without the page's watcher asking for a run: the test delivers the stages itself."""
    with param.parameterized.discard_events(scene):
        scene.seed += 1


@pytest.mark.parametrize("name", list(SMALL))
def test_each_stage_is_drawn_on_its_panels_and_the_complete_result_on_the_rest(name):
    page = page_after_first_run(name)
    scene, grid = page.scene, page.grid
    titles = [title for title, _ in grid.panels]
    assert all(set(panels) <= set(titles) for panels in scene.stage_panels)
    next_seed(scene)
    stages = list(scene.stages())
    assert [s.complete for s in stages] == [False] * len(scene.stage_panels) + [True]
    assert [s.stage for s in stages[:-1]] == list(range(len(scene.stage_panels)))
    drawn = []  # (result, its panels drawn by one call): a stage goes one panel per turn (ScenePage._draw_in_turns)
    show = grid.show
    grid.show = lambda result, panels=None: drawn.append((result, list(panels))) or show(result, panels)
    try:
        for stage in stages:
            page._draw(stage, 0.1)
        shown, result, status = dict(grid._shown), page.result, page.status.object
    finally:
        grid.show = show
        page.close()
    assert not page.alert.visible, page.alert.object
    by_stage = [sum((panels for result, panels in drawn if result is stage), []) for stage in stages]
    assert by_stage[:-1] == [list(panels) for panels in scene.stage_panels]  # each stage on its panels, in order
    assert sorted(sum(by_stage, [])) == sorted(titles)   # every panel once, the complete stage the rest
    assert all(shown[title].paths is stages[-1].paths for title in titles)
    assert result is stages[-1] and "…" not in status


def test_a_complete_result_of_another_run_is_drawn_on_every_panel():
    """A run whose partial stages were overtaken (never drawn) still reaches every panel."""
    page = page_after_first_run("ode_sde")
    next_seed(page.scene)
    *_, complete = page.scene.stages()
    assert page.grid.not_showing(complete) == [title for title, _ in page.grid.panels]
    page._draw(complete, 0.1)
    left = page.grid.not_showing(complete)
    page.close()
    assert left == []
