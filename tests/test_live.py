"""LiveRunner without a browser: newest request wins, stale outcomes are dropped, errors are delivered."""
import queue
import threading
import time

import numpy as np
import pytest

from explorer.live import PREVIEW_AFTER_S, LiveRunner

WAIT = 30  # seconds; generous, only reached when something is broken


class GatedJob:
    """A job whose runs block until released, recording the input each run saw."""

    def __init__(self):
        self.input = 0
        self.seen = []
        self.started = queue.Queue()
        self.gate = threading.Event()

    def __call__(self):
        value = self.input
        self.seen.append(value)
        self.started.put(value)
        assert self.gate.wait(WAIT)
        if value < 0:
            raise ValueError(f"bad input {value}")
        return value * 10


class Inbox:
    """A scheduler that queues callbacks, so the test plays the session thread."""

    def __init__(self):
        self.callbacks = queue.Queue()

    def __call__(self, callback):
        self.callbacks.put(callback)

    def run_next(self):
        self.callbacks.get(timeout=WAIT)()


def make_runner(job, schedule):
    results, errors = [], []
    runner = LiveRunner(job, on_result=lambda value, seconds: results.append(value),
                        on_error=lambda error, seconds: errors.append(error), schedule=schedule)
    return runner, results, errors


def test_newest_request_wins_and_queued_requests_are_skipped():
    job, inbox = GatedJob(), Inbox()
    runner, results, errors = make_runner(job, inbox)
    job.input = 1
    runner.submit()
    assert job.started.get(timeout=WAIT) == 1      # run 1 is busy
    job.input = 2
    runner.submit()                                # queued behind run 1 ...
    job.input = 3
    runner.submit()                                # ... and overtaken by this one
    job.gate.set()
    inbox.run_next()
    assert results == [30] and errors == []
    assert job.seen == [1, 3]                      # request 2 never ran, run 1's result was dropped
    assert inbox.callbacks.empty()
    runner.close()


def test_result_made_stale_on_its_way_is_dropped():
    job, inbox = GatedJob(), Inbox()
    job.gate.set()
    runner, results, errors = make_runner(job, inbox)
    job.input = 1
    runner.submit()
    first = inbox.callbacks.get(timeout=WAIT)      # run 1 finished; its delivery waits for the session
    job.input = 2
    runner.submit()
    first()                                        # delivered after a newer request: dropped
    inbox.run_next()
    assert results == [20] and errors == []
    runner.close()


def test_errors_are_delivered_and_the_loop_lives_on():
    job, inbox = GatedJob(), Inbox()
    job.gate.set()
    runner, results, errors = make_runner(job, inbox)
    job.input = -1
    runner.submit()
    inbox.run_next()
    assert results == [] and len(errors) == 1 and "bad input -1" in str(errors[0])
    job.input = 4
    runner.submit()
    inbox.run_next()
    assert results == [40]
    runner.close()


def test_close_drops_pending_outcomes_and_refuses_new_requests():
    job, inbox = GatedJob(), Inbox()
    runner, results, errors = make_runner(job, inbox)
    runner.submit()
    job.started.get(timeout=WAIT)
    runner.close()
    job.gate.set()
    with pytest.raises(RuntimeError):
        runner.submit()
    runner._executor.shutdown(wait=True)
    assert inbox.callbacks.empty() and results == [] and errors == []


def test_without_a_session_outcomes_arrive_on_the_worker_thread():
    done = threading.Event()
    got = []
    runner = LiveRunner(lambda: 7, on_result=lambda value, seconds: (got.append(value), done.set()),
                        on_error=lambda error, seconds: done.set())
    runner.submit()
    assert done.wait(WAIT)
    assert got == [7]
    runner.close()


# -- the live plots: PlotGrid keeps the user's zoom unless the data moved --------------------------

def small_langevin(**values):
    from scenes import SCENES

    return SCENES["langevin"](n_particles=300, n_steps=60, n_frames=10, **values)


def bokeh_figure(root):
    from bokeh.models import Plot

    return next(iter(root.select({"type": Plot})))


def test_plot_grid_keeps_zoom_refits_moved_data_and_rebuilds_changed_structure():
    from bokeh.document import Document

    from explorer.app import PlotGrid

    scene = small_langevin()
    grid = PlotGrid(scene.panels())
    grid.show(scene.run())
    root = grid.pane("cloud").get_root(Document())               # as a browser session would
    cloud = bokeh_figure(root)
    cloud.x_range.start, cloud.x_range.end = -1.0, 1.0            # the user zooms in
    compare_map = grid.pane("compare").object

    scene.step_size = 0.04                                         # same target: same extent
    grid.show(scene.run())
    assert bokeh_figure(root) is cloud               # the plot was updated, not replaced
    assert (cloud.x_range.start, cloud.x_range.end) == (-1.0, 1.0)  # and the zoom survived
    assert grid.pane("compare").object is compare_map

    scene.compare_sampler = "mala"                                 # the compare panel keeps its shape,
    grid.show(scene.run())
    assert grid.pane("compare").object is compare_map             # so it is updated, not rebuilt
    assert bokeh_figure(root) is cloud

    scene.update(target="asym2")                                   # another box: the axes refit
    grid.show(scene.run())
    assert (cloud.x_range.start, cloud.x_range.end) != (-1.0, 1.0)

    cloud_map = grid.pane("cloud").object
    scene.update(n_particles=25_000, n_steps=5, n_frames=2)       # dense cloud: points -> histogram image
    grid.show(scene.run())
    assert grid.pane("cloud").object is not cloud_map             # rebuilt: a DynamicMap keeps its shape


def test_the_compare_panel_shows_only_while_a_compare_sampler_runs():
    """Issue 16 item 5: with no compare sampler the compare panel showed an empty density. It is hidden
    then, shown once a compare sampler runs, hidden again without one; export leaves it out likewise."""
    from explorer.app import PlotGrid

    scene = small_langevin(compare_sampler="none")
    grid = PlotGrid(scene.panels(), shown=scene.panels_shown)
    grid.show(scene.run())
    assert not grid.visible("compare") and grid.visible("cloud")
    scene.compare_sampler = "mala"
    grid.show(scene.run())
    assert grid.visible("compare")
    assert len(scene.view(scene.run())) == len(scene.panels())
    scene.compare_sampler = "none"
    result = scene.run()
    grid.show(result)
    assert not grid.visible("compare")
    assert len(scene.view(result)) == len(scene.panels()) - 1


def test_a_hidden_panel_is_not_drawn_until_a_result_shows_it():
    """A panel hidden for a result is left as it is (its view not called, nothing sent for it); the first
    result that shows it draws it, with that result."""
    from explorer.app import PlotGrid

    scene = small_langevin(compare_sampler="none")
    calls = []
    panels = [(title, (lambda view: lambda result, frame: calls.append(result) or view(result, frame))(view)
               if title == "compare" else view) for title, view in scene.panels()]
    grid = PlotGrid(panels, shown=scene.panels_shown)
    grid.show(scene.run())                       # the first show builds every panel, hidden or not
    built = len(calls)
    scene.seed += 1
    hidden = scene.run()
    grid.show(hidden)
    assert len(calls) == built and not grid.visible("compare")
    assert grid.not_showing(hidden) == []        # it counts as showing the result it has nothing for
    scene.compare_sampler = "mala"
    shown = scene.run()
    grid.show(shown)
    assert calls[-1] is shown and grid.visible("compare")


def test_a_newer_request_cancels_the_run_in_flight():
    import threading

    from explorer.live import LiveRunner

    started, seen, results = threading.Event(), [], []

    def job(cancel):
        seen.append(cancel)
        if len(seen) == 1:
            started.set()
            assert cancel.wait(timeout=30), "the first run was never cancelled"
            return "stopped"
        return "second"

    done = threading.Event()
    runner = LiveRunner(job, lambda value, s: (results.append(value), done.set()), lambda e, s: None,
                        schedule=lambda callback: callback(), cancellable=True)
    runner.submit()
    assert started.wait(timeout=30)
    runner.submit()  # supersedes the first: its cancel flag is set, and only the second is delivered
    assert done.wait(timeout=30)
    runner.close()
    assert seen[0].is_set() and results == ["second"]


def test_progress_and_cancel_reach_a_scene_run():
    from scenes.base import Cancelled, Scene

    class Training(Scene):
        def run(self):
            for step in range(10):
                self.report_progress(step / 10)
                self.check_cancelled("training")
            return "trained"

    import threading

    scene, fractions = Training(), []
    scene.progress = fractions.append
    assert scene.run() == "trained" and fractions[-1] == 0.9
    scene.cancel = threading.Event()
    scene.cancel.set()
    with pytest.raises(Cancelled, match="training was cancelled"):
        scene.run()


# -- rapid changes: nothing piles up --------------------------------------------------------------

def test_rapid_requests_keep_one_run_in_flight_and_one_waiting():
    job, inbox = GatedJob(), Inbox()
    runner, results, errors = make_runner(job, inbox)
    job.input = 0
    runner.submit()
    assert job.started.get(timeout=WAIT) == 0        # run 0 holds the worker
    for value in range(1, 1001):                     # a thousand knob moves while it runs
        job.input = value
        runner.submit()
        assert runner.backlog == (1, 1)              # one in flight, one waiting: never more
    assert runner._executor._work_queue.qsize() == 0  # nothing queued in the pool either
    job.gate.set()
    inbox.run_next()
    assert results == [10_000] and errors == []
    assert job.seen == [0, 1000]                     # the 999 superseded requests never ran
    runner._executor.submit(lambda: None).result(WAIT)  # the worker has gone idle
    assert runner.backlog == (0, 0) and inbox.callbacks.empty()
    runner.close()


def test_knob_changes_during_training_cancel_it_and_only_the_last_is_shown():
    """A LightSB training (long) is superseded by rapid ε moves: it stops early, at most one more run
    starts, and only the run for the final values is delivered."""
    from scenes.bridges import BridgeScene
    from scenes.base import Cancelled

    scene = BridgeScene(method="lightsb", n_particles=200, n_frames=4, training_steps=100_000, backend="cpu",
                        epsilon=0.5)
    started, runs, outcomes = threading.Event(), [], []
    done = threading.Event()

    def job(cancel):
        runs.append((scene.epsilon, scene.training_steps))
        scene.cancel = cancel
        scene.progress = lambda fraction: started.set()
        try:
            return scene.run()
        except Cancelled:
            outcomes.append("cancelled")
            raise

    runner = LiveRunner(job, lambda value, s: (outcomes.append(value), done.set()),
                        lambda error, s: (outcomes.append(error), done.set()),
                        schedule=lambda callback: callback(), cancellable=True)
    runner.submit()
    assert started.wait(WAIT)                        # training is under way
    for k in range(1, 31):
        scene.epsilon = 0.5 + 0.01 * k
        if k == 30:
            scene.training_steps = 20                # the last request is quick
        runner.submit()
        assert runner.backlog[1] <= 1
    assert done.wait(120)
    runner.close()
    assert outcomes[0] == "cancelled"                # the long training stopped early
    assert len(runs) <= 3 and runs[0] == (0.5, 100_000) and runs[-1] == (0.8, 20)
    delivered = [o for o in outcomes if o != "cancelled"]
    assert len(delivered) == 1 and delivered[0].parameters["epsilon"] == pytest.approx(0.8)



def staged_runner(schedule, gate: threading.Event | None = None):
    """A runner whose job yields a first stage, then (once ``gate`` is set, if given) the complete one."""
    def job():
        yield "first"
        if gate is not None:
            assert gate.wait(WAIT)
        yield "complete"
    results = []
    runner = LiveRunner(job, on_result=lambda value, seconds: results.append(value),
                        on_error=lambda error, seconds: results.append(error), schedule=schedule, staged=True)
    return runner, results


def test_each_stage_is_delivered_as_it_is_computed():
    inbox, gate = Inbox(), threading.Event()
    runner, results = staged_runner(inbox, gate)
    runner.submit()
    inbox.run_next()
    assert results == ["first"]          # drawn while the rest is being computed
    gate.set()
    inbox.run_next()
    assert results == ["first", "complete"]
    runner.close()


def test_a_stage_overtaken_before_its_delivery_is_not_drawn_after_the_later_one():
    """The session's callbacks may run out of the order they were scheduled in (seen in the served app: a
    first stage drawn after its complete stage, which left the first on screen). Whatever the order, the
    last thing delivered is the complete stage, and a stage it overtook is not delivered at all."""
    inbox = Inbox()
    runner, results = staged_runner(inbox)
    runner.submit()
    callbacks = [inbox.callbacks.get(timeout=WAIT) for _ in range(2)]  # both stages handed back
    for callback in reversed(callbacks):
        callback()
    assert results == ["complete"]
    runner.close()


def test_a_failed_first_run_says_so_in_the_status_line():
    """Issue 16: "computing the first run…" stayed on screen after the first run had failed."""
    import time

    from explorer.app import ScenePage

    page = ScenePage("langevin", sync_url=False, values={"n_particles": 20_000_000, "n_frames": 1000,
                                                          "n_steps": 2000})  # over the memory budget
    deadline = time.monotonic() + WAIT
    while not page.alert.visible and time.monotonic() < deadline:
        time.sleep(0.05)
    page.close()
    assert page.alert.visible and "MB" in page.alert.object
    assert "computing" not in page.status.object and "failed" in page.status.object


def test_a_superseded_run_shows_its_first_stage_and_the_newest_run_comes_last():
    """During a drag every run is superseded before it ends: its first stage is drawn as a preview (a value the
    knob passed through), its later stages are never computed, and the newest request's result ends on screen."""
    inbox, computed = Inbox(), []
    gates = {1: threading.Event(), 2: threading.Event()}
    started = queue.Queue()
    state = {"input": 1}

    def job():
        value = state["input"]
        started.put(value)
        assert gates[value].wait(WAIT)
        computed.append(f"first-{value}")
        yield f"first-{value}"
        computed.append(f"complete-{value}")
        yield f"complete-{value}"
    results = []
    runner = LiveRunner(job, on_result=lambda value, seconds: results.append(value),
                        on_error=lambda error, seconds: results.append(error), schedule=inbox, staged=True)
    runner.submit()
    assert started.get(timeout=WAIT) == 1
    state["input"] = 2
    runner.submit()                       # run 1 is superseded while it computes its first stage ...
    time.sleep(PREVIEW_AFTER_S)           # ... and the page has waited a while for it (a drag)
    gates[1].set()
    inbox.run_next()
    assert results == ["first-1"]         # drawn although superseded: the preview
    gates[2].set()
    callbacks = [inbox.callbacks.get(timeout=WAIT) for _ in range(2)]
    for callback in callbacks:
        callback()
    assert results == ["first-1", "complete-2"]
    assert computed == ["first-1", "first-2", "complete-2"]  # run 1's later stage never computed
    runner.close()


def test_after_a_quick_flick_the_value_passed_through_is_not_drawn():
    """A run superseded before the page has waited PREVIEW_AFTER_S (the hand went through its value at once and
    stopped) shows nothing: its preview took the cores from the run of the value where the hand stopped."""
    inbox, gates, state, results = Inbox(), {1: threading.Event(), 2: threading.Event()}, {"input": 1}, []

    def job():
        value = state["input"]
        assert gates[value].wait(WAIT)
        yield f"first-{value}"
        yield f"complete-{value}"
    runner = LiveRunner(job, on_result=lambda value, seconds: results.append(value),
                        on_error=lambda error, seconds: results.append(error), schedule=inbox, staged=True)
    runner.submit()
    state["input"] = 2
    runner.submit()
    gates[1].set()                        # run 1 ends its first stage at once, superseded
    gates[2].set()
    for _ in range(2):
        inbox.run_next()
    assert results == ["first-2", "complete-2"]
    runner.close()


def test_the_next_stage_is_computed_once_the_first_is_drawn():
    """Computing the complete stage while the first is drawn took the cores the drawing needed (ODE/SDE: the NFE
    sweep beside the first stage's views), so the worker waits for the first stage's delivery (or, for a
    session that draws nothing, DRAW_WAIT_S)."""
    inbox, computing = Inbox(), threading.Event()

    def job():
        yield "first"
        computing.set()
        yield "complete"
    results = []
    runner = LiveRunner(job, on_result=lambda value, seconds: results.append(value),
                        on_error=lambda error, seconds: results.append(error), schedule=inbox, staged=True)
    runner.submit()
    first = inbox.callbacks.get(timeout=WAIT)
    assert not computing.wait(0.5)      # handed back, not drawn yet: the rest waits
    first()
    assert computing.wait(WAIT)         # drawn: the rest is computed
    inbox.run_next()
    assert results == ["first", "complete"]
    runner.close()


class RecordingComm:
    """A notebook's comm to the front end, open, recording what is sent (pyviz_comms' Comm sends through its
    ``_comm`` once the front end has opened it; ``panel.io.notebook.push`` checks that)."""

    def __init__(self):
        import uuid

        self.id, self._comm, self.sent = uuid.uuid4().hex, True, []

    def send(self, data=None, buffers=None):
        self.sent.append(data)


def test_in_a_notebook_a_redrawn_panel_is_sent_to_the_front_end():
    """A notebook's document holds its model changes until pushed over the comm: a panel redrawn by writing its
    Bokeh models (explorer.fastdraw) must push them, or the front end keeps the old plot (seen in JupyterLab)."""
    from bokeh.document import Document
    from panel.io.notebook import diff

    from explorer.app import PlotGrid

    scene = small_langevin()
    grid = PlotGrid(scene.panels())
    grid.show(scene.run())
    document, comm = Document(), RecordingComm()
    document.add_root(grid.pane("marginal x").get_root(document, comm))  # as Panel's notebook output does,
    document.hold("combine")                                              # which holds the changes for its comm
    scene.step_size = 0.04
    grid.show(scene.run())
    assert diff(document) is None, "model changes left on the kernel side"
    assert comm.sent, "nothing was sent to the front end"


def test_outside_a_kernel_another_librarys_running_loop_is_not_used():
    """A page built where some other asyncio loop runs (Playwright's, in the browser tests' process) draws at
    once: scheduled onto that loop, its results waited forever."""
    import asyncio

    from explorer.live import loop_schedule

    async def build_and_draw():
        drawn = []
        loop_schedule()(lambda: drawn.append(True))
        return list(drawn)  # drawn by now, not when the loop next turns

    drawn = []  # on a thread of its own: the browser tests' worker already runs Playwright's loop on this one
    thread = threading.Thread(target=lambda: drawn.extend(asyncio.run(build_and_draw())))
    thread.start()
    thread.join(30)
    assert drawn == [True]


def test_a_stage_drawn_over_several_turns_holds_the_next_stage_until_it_is_all_drawn():
    """An ``on_result`` that returns LATER draws the outcome over turns of the session's loop: the worker computes
    the next stage only once it says the outcome is drawn."""
    from explorer.live import LATER

    inbox, computing, results = Inbox(), threading.Event(), []

    def job():
        yield "first"
        computing.set()
        yield "complete"
    runner = LiveRunner(job, on_result=lambda value, seconds: (results.append(value), LATER)[1],
                        on_error=lambda error, seconds: results.append(error), schedule=inbox, staged=True)
    runner.submit()
    inbox.run_next()
    assert results == ["first"] and not computing.wait(0.5)  # delivered, still being drawn: the rest waits
    runner.drawn()
    assert computing.wait(WAIT)
    runner.close()


def page_with_a_complete_result(scene: str, values: dict):
    """A page (outside a server: its worker draws the results itself) once its first complete result is drawn on
    every panel: the worker draws the panels in turns, and a test that builds the page's plots meanwhile would
    race it (HoloViews' stream registry is not for two threads at once)."""
    from explorer.app import ScenePage

    page = ScenePage(scene, sync_url=False, values=values)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (page.result is None or not page.result.complete
                                           or page.grid.not_showing(page.result)):
        time.sleep(0.05)
    return page


def test_the_bridges_page_sends_the_particles_at_t_once_for_its_coupling_and_marginal_panels():
    """The coupling and marginal panels (drawn by the same first stage) show the particles at t from one
    Bokeh source, which holds the newest result's particles at the frame shown (explorer.fastdraw)."""
    import panel as pn
    import param
    from bokeh.document import Document

    from explorer.library_internals import drawn_element, layer_subplots, plot_models
    from scenes.bridges_views import PARTICLES_AT_T
    from scenes.layers import shared_group

    def particle_sources():
        return [plot_models(layer)["source"] for title in ("coupling", "marginal")
                for plot in page.grid._hv_plots(title) for layer in layer_subplots(plot)
                if drawn_element(layer).group == shared_group(PARTICLES_AT_T)]

    page = page_with_a_complete_result("bridges", {"n_particles": 200})
    pn.Column(*page.main()).get_root(Document())
    page._show_result(next(page.scene.stages()), 0.1)   # drawn once the panels' plots exist
    first, second = particle_sources()
    assert first is second
    with param.parameterized.discard_events(page.scene):  # no run of the page's own meanwhile
        page.scene.seed += 1
    page._show_result(next(page.scene.stages()), 0.1)
    result, frame = page.grid.result, page.grid.player.value
    assert particle_sources() == [first, first]
    assert np.allclose(np.asarray(first.data["x"]), result.paths[frame][:, 0], atol=1e-5)
    page.close()


def test_a_page_draws_a_stage_one_panel_per_turn_and_a_newer_result_takes_the_rest():
    """The main panel and the status line go first, each other panel in a later turn of the session's loop (its
    own message to the browser); a result drawn meanwhile takes the remaining panels' place."""
    import param

    from explorer.live import LATER

    page = page_with_a_complete_result("lorenz", {"n_members": 200, "horizon": 2.0})
    assert page.result is not None and not page.alert.visible  # the first stage drew on a page being built
    posted, drawn, show = [], [], page.grid.show
    page.runner.post = posted.append
    page.grid.show = lambda result, titles=None: (drawn.append((result, list(titles))), show(result, titles))
    stage = list(page.scene.stage_panels[0])
    with param.parameterized.discard_events(page.scene):  # the test plays the runner
        page.scene.noise = 0.5
    first = next(page.scene.stages())
    assert page._show_result(first, 0.1) == LATER
    assert drawn == [(first, stage[:1])] and "diagnostics" in page.status.object
    posted.pop(0)()
    assert drawn[-1] == (first, stage[1:2]) and len(posted) == 1
    with param.parameterized.discard_events(page.scene):
        page.scene.noise = 0.7
    newer = next(page.scene.stages())
    page._show_result(newer, 0.1)
    while posted:
        posted.pop(0)()
    assert [titles for result, titles in drawn if result is first] == [stage[:1], stage[1:2]]  # no more of it
    assert sum((titles for result, titles in drawn if result is newer), []) == stage  # one after the other
    assert len([1 for result, _ in drawn if result is newer]) >= 3
    page.close()


def test_a_panel_a_result_leaves_as_it_was_does_not_take_a_turn():
    """ODE/SDE page, the SDE's noise moved: the ODE's paths (the stage's first panel) come out the same, so the
    first turn goes on to the SDE's paths, the panel that moved."""
    import panel as pn
    import param
    from bokeh.document import Document

    page = page_with_a_complete_result("ode_sde", {"n_particles": 300, "nfe": 20})
    pn.Column(*page.main()).get_root(Document())  # the panels on a page: their plots exist, drawn the short way
    posted, drawn, show = [], [], page.grid.show
    page.runner.post = posted.append
    page.grid.show = lambda result, titles=None: (drawn.append(list(titles)), show(result, titles))
    with param.parameterized.discard_events(page.scene):
        page.scene.noise = 0.5
    page._show_result(next(page.scene.stages()), 0.1)
    assert drawn == [["ODE paths"], ["SDE paths"]]   # one turn: the ODE's panel sent nothing
    assert not page.grid.changed("ODE paths") and page.grid.changed("SDE paths")
    page.close()
