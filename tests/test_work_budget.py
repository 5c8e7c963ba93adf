"""One careless link must not stall a lecture hall (issue 17): live runs have a work budget, stop when asked
and share the cores in turns.

The issue's scenario, at sizes that fit the suite: two tabs open ``/langevin`` with sizes far over the
budget (refused with the estimate and the knobs to lower); two heavy tabs within a raised budget compute
while a normal visitor opens ``/langevin`` (its first result comes in its usual few seconds: the heavy
runs hand over their slots between slices); the heavy tabs close and their runs stop at once.
Each page is the app's own ScenePage (the URL's values reach it the same way), without a server.
"""
import threading
import time

import numba
import numpy as np
import pytest

from explorer import slots
from explorer.app import ScenePage
from explorer.slots import FairSlots
from explorer import app
from kernels.compile_clock import compile_seconds, compiling_for
from scenes import SCENES, BudgetError
from scenes.base import OVERRUN_FACTOR

CARELESS = {"n_particles": 5_000_000, "n_steps": 2_000_000, "n_frames": 2}  # the link: 10¹³ steps
HEAVY = {"n_particles": 400_000, "n_steps": 20_000, "n_frames": 2, "compare_sampler": "none"}  # ~3 min of ULA
WAIT_S = 120


def wait_for(condition, seconds=WAIT_S) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


@pytest.mark.parametrize("name, values, knobs", [
    ("langevin", CARELESS, "n_particles or n_steps"),
    ("langevin", {"sampler": "hmc", "leapfrog_steps": 100, "n_particles": 20_000, "n_steps": 5000},
     "choose a cheaper sampler"),
    ("lorenz", {"n_members": 200_000, "horizon": 1000.0}, "n_members or horizon"),
    ("ode_sde", {"n_particles": 200_000, "nfe": 5000}, "n_particles or nfe"),
    ("bridges", {"n_particles": 20_000}, "n_particles"),
])
def test_a_run_over_the_budget_is_refused_with_its_estimate_and_the_knobs_to_lower(name, values, knobs):
    scene = SCENES[name](**values)
    scene.max_run_seconds = slots.RUN_BUDGET_S
    with pytest.raises(BudgetError, match=r"would compute for about .* over the 5 s a live run may take") as error:
        scene.run()
    assert knobs in str(error.value)
    scene.max_run_seconds = None  # the CLI's and Python's default: no budget (the run itself is not tried here)


def test_every_scene_at_its_defaults_is_well_within_the_budget():
    for name, cls in SCENES.items():
        scene = cls()
        scene.max_run_seconds = slots.RUN_BUDGET_S / 5
        scene.run()  # would raise BudgetError


def test_a_run_that_computes_far_beyond_its_budget_is_stopped_between_slices():
    """The estimate can be wrong (Sinkhorn's iterations are only known as it goes): a run that has computed
    for 3 × the budget is stopped at the next slice. Here the budget is tiny and the estimate is bypassed."""
    scene = SCENES["langevin"](**{**HEAVY, "n_particles": 100_000})
    scene.max_run_seconds = 0.1
    scene.check_work = lambda work, knobs: None  # the estimate lets it through
    scene.start_clock()
    start = time.perf_counter()
    with pytest.raises(BudgetError, match="stopped after"):
        scene.run()
    assert time.perf_counter() - start < 20  # the run itself is about a minute


def test_compiling_a_kernel_does_not_count_as_computing():
    """The first run in a fresh process compiles its kernels (tens of seconds on a cold cache): that time
    is not the run's work, and counting it stopped a fresh server's first Lorenz run before it drew."""
    fresh_kernel()  # the process's first compile also imports Numba's compiler lazily, outside the events
    scene = SCENES["langevin"]()
    scene.max_run_seconds = 0.01
    scene.start_clock()
    started = time.perf_counter()
    fresh_kernel()  # compiled here: no cache
    assert time.perf_counter() - started > OVERRUN_FACTOR * scene.max_run_seconds  # long enough to be stopped
    scene.between_slices()  # does not raise: the time went to compiling
    time.sleep(OVERRUN_FACTOR * scene.max_run_seconds)
    with pytest.raises(BudgetError, match="stopped after"):
        scene.between_slices()


def test_the_compile_clock_counts_a_compilation_and_nothing_else():
    """kernels.compile_clock listens to Numba's "numba:compile" events: fails if an upgrade changes them."""
    before, started = compile_seconds(), time.perf_counter()
    fresh_kernel()
    compiled, elapsed = compile_seconds() - before, time.perf_counter() - started
    assert 0.5 * elapsed < compiled <= elapsed
    before = compile_seconds()
    time.sleep(0.05)
    assert compile_seconds() == before


def test_the_compile_under_way_is_seen_from_another_thread():
    """compiling_for() reads a compilation under way in another thread, and 0 once none is."""
    seen = []
    compiler = threading.Thread(target=fresh_kernel)
    compiler.start()
    while compiler.is_alive():
        seen.append(compiling_for())
        time.sleep(0.001)
    assert max(seen) > 0.0
    assert compiling_for() == 0.0


def test_a_run_waiting_for_its_first_compile_says_so_in_the_status_line(monkeypatch):
    """Issue 16 item 6: a lecture step whose kernels were not compiled yet said only "computing…" for up to
    half a minute. While a compile lasts, the status line says so with its seconds; after it, the line
    it replaced is back. A page that is not busy says nothing of another session's compile."""
    page = ScenePage("langevin", sync_url=False)
    page.runner.close()
    page.show_busy(True)
    before = page.status.object
    monkeypatch.setattr(app, "compiling_for", lambda: 12.3)
    page.say_if_compiling()
    assert "compiling kernels" in page.status.object and "12 s so far" in page.status.object
    monkeypatch.setattr(app, "compiling_for", lambda: 0.4)  # over (or a cached kernel loading)
    page.say_if_compiling()
    assert page.status.object == before
    page.show_busy(False)
    monkeypatch.setattr(app, "compiling_for", lambda: 12.3)
    page.say_if_compiling()
    assert page.status.object == before


def fresh_kernel():
    """Compile and call a Numba function no other call has compiled (so no cache to load from)."""
    @numba.njit(cache=False)
    def kernel(x):
        total = 0.0
        for i in range(x.shape[0]):
            total += np.sin(x[i]) * np.exp(-x[i])
        return total
    return kernel(np.arange(3.0))


def test_slots_are_handed_over_between_slices_first_come_first_served():
    slot, order = FairSlots(1, quantum=0), []
    light_waits = threading.Event()

    def heavy():
        with slot:
            for i in range(6):
                order.append(f"heavy {i}")
                if i == 2:
                    light_waits.set()
                    assert wait_for(lambda: slot.waiting == 1, 10)
                slot.take_turn()

    def light():
        assert light_waits.wait(10)
        with slot:
            order.append("light")

    threads = [threading.Thread(target=heavy), threading.Thread(target=light)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    # the light run went at the heavy one's first slice boundary after it asked, not after the heavy run
    assert order == ["heavy 0", "heavy 1", "heavy 2", "light", "heavy 3", "heavy 4", "heavy 5"]


def test_two_heavy_runs_take_turns_slice_by_slice():
    slot, order = FairSlots(1, quantum=0), []
    started = threading.Barrier(2)

    def run(name):
        started.wait()
        with slot:
            for i in range(4):
                order.append(name)
                assert wait_for(lambda: slot.waiting == 1 or len(order) >= 5, 10)
                slot.take_turn()

    threads = [threading.Thread(target=run, args=(name,)) for name in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(order) == list("aaaabbbb") and all(x != y for x, y in zip(order[:7], order[1:7]))


def test_a_run_keeps_its_slot_for_a_quantum_however_often_it_offers_it():
    """A kernel that offers its slot every fraction of a millisecond (Sinkhorn's sweeps) hands it over once a
    quantum, not at every offer: else it queues behind every waiting run at each of its hundreds of offers."""
    quantum = 0.3
    slot, offers, handed = FairSlots(1, quantum=quantum), [], {}
    other_waits = threading.Event()

    def frequent():
        with slot:
            granted = time.perf_counter()
            other_waits.set()
            assert wait_for(lambda: slot.waiting == 1, 10)
            while time.perf_counter() - granted < 2 * quantum:
                offers.append(time.perf_counter() - granted)
                slot.take_turn()
                time.sleep(0.01)
            handed["granted"] = granted

    def other():
        assert other_waits.wait(10)
        with slot:
            handed["other"] = time.perf_counter()

    threads = [threading.Thread(target=frequent), threading.Thread(target=other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    waited = handed["other"] - handed["granted"]
    until_handed = [at for at in offers if at < waited]  # the offers up to the one that handed the slot over
    # those within the quantum were declined; the first one after it handed the slot over
    assert waited >= quantum and len(until_handed) >= 3 and until_handed[-1] >= quantum


def test_the_careless_links_scenario(monkeypatch):
    refused = [ScenePage("langevin", sync_url=False, values=CARELESS) for _ in range(2)]
    assert all(wait_for(lambda page=page: page.alert.visible) for page in refused)
    for page in refused:
        assert "would compute for about" in page.alert.object and "n_particles or n_steps" in page.alert.object
        page.close()

    monkeypatch.setattr(slots, "RUN_BUDGET_S", 3600.0)  # the two heavy tabs are within this budget
    heavy = [ScenePage("langevin", sync_url=False, values=HEAVY) for _ in range(2)]
    assert wait_for(lambda: all(page.runner.backlog == (1, 0) for page in heavy))
    time.sleep(1.0)  # both heavy runs are computing, holding both slots
    assert all(page.runner.backlog == (1, 0) and page.result is None for page in heavy)
    monkeypatch.setattr(slots, "RUN_BUDGET_S", 5.0)

    start = time.perf_counter()
    visitor = ScenePage("langevin", sync_url=False)  # a normal visitor, at the defaults
    assert wait_for(lambda: visitor.result is not None or visitor.alert.visible)
    visitor_seconds = time.perf_counter() - start
    assert visitor.result is not None, visitor.alert.object
    assert all(page.result is None for page in heavy)  # the heavy runs were still going meanwhile
    assert visitor_seconds < 60, visitor_seconds   # they have minutes to go: the visitor did not wait for them
    print(f"normal visitor's first result beside two heavy runs: {visitor_seconds:.2f} s")

    closed = time.perf_counter()
    for page in heavy:
        page.close()   # the tabs close: the session ends
    assert wait_for(lambda: all(page.runner.backlog == (0, 0) for page in heavy), 30)
    print(f"heavy runs stopped {time.perf_counter() - closed:.2f} s after their sessions closed")
    visitor.close()


def test_on_a_gpu_the_estimate_takes_the_gpus_rate(monkeypatch):
    """The large presets (issue 20) are refused on two CPU cores and let through where the run goes to CUDA."""
    from explorer.presets import load_preset
    from kernels import chunks
    from scenes import base

    scene = SCENES["bridges"]()
    scene.update(**load_preset("bridges", "large"))
    scene.max_run_seconds = slots.RUN_BUDGET_S
    with pytest.raises(BudgetError, match="would compute for about"):
        scene.check_work(2.0e9, "n_particles")
    monkeypatch.setattr(base, "resolve_backend", lambda name: "cuda")
    scene.check_work(2.0e9, "n_particles")  # 40 s of these cores: under a second at the GPU's rate
    with pytest.raises(BudgetError):
        scene.check_work(2.0e9 * chunks.GPU_SPEEDUP, "n_particles")


def test_a_run_refused_on_the_cpu_that_a_gpu_could_take_says_so():
    scene = SCENES["bridges"](n_particles=16_384)
    scene.max_run_seconds = slots.RUN_BUDGET_S
    with pytest.raises(BudgetError, match=r"lower n_particles \(a CUDA GPU would take about 0\.\d s\)"):
        scene.run()
    scene = SCENES["langevin"](**CARELESS)  # far beyond a GPU too: no such hint
    scene.max_run_seconds = slots.RUN_BUDGET_S
    with pytest.raises(BudgetError) as error:
        scene.run()
    assert "GPU" not in str(error.value)
