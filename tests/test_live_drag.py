"""Live in the browser (issue 15): the plots follow a dragged slider, the hand's last value is what stays drawn,
and each result arrives in two stages, the particles first and the diagnostics after.

No timing is asserted: how fast is the benchmark's business (benchmarks/browser_latency.py).
"""
import pytest

from benchmarks.browser_latency import PAGE_HOOKS, handle_centre

pytestmark = pytest.mark.browser

FIRST_RUN_MS = 180_000
SETTLED_MS = 120_000
DRAG_SECONDS = 2.0


@pytest.fixture
def hooked(browser):
    """A tab carrying the benchmark's page hooks (per-panel pixel hashes, status-line changes as applied)."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    context.add_init_script(PAGE_HOOKS)
    yield context
    context.close()


def open_complete(page, url: str):
    """Open ``url`` and wait until a complete result (no stage still coming) is on screen."""
    page.goto(url)
    page.locator(".scene-plots canvas").first.wait_for(timeout=FIRST_RUN_MS)
    settle(page)


def settle(page):
    page.wait_for_function("() => { const s = window.__pix.status; const t = s && (s.textContent + "
                           "(s.shadowRoot ? s.shadowRoot.textContent : '')); return t && t.includes(' ms') && "
                           "!t.includes('…'); }", timeout=SETTLED_MS, polling=100)
    page.wait_for_timeout(800)  # the last patch painted


def drawn_particles(page, n: int = 2000) -> list:
    """The sums of the x and y columns of every Bokeh data source in the page holding ``n`` points (the cloud of
    the default Langevin page): what the browser draws, whatever the axes (a drag may have refitted them)."""
    return page.evaluate(f"""() => Bokeh.documents.flatMap(doc => [...doc.all_models])
        .filter(m => m.type === 'ColumnDataSource' && m.data.x && m.data.x.length === {n})
        .map(m => [Array.from(m.data.x).reduce((a, b) => a + b, 0), Array.from(m.data.y).reduce((a, b) => a + b, 0)])""")


def test_a_drag_redraws_the_plots_while_moving_and_ends_on_the_value_where_the_hand_stopped(hooked, served_app,
                                                                                            artifacts):
    page = hooked.new_page()
    open_complete(page, f"{served_app}/langevin")
    x, y = handle_centre(page, "step_size")
    page.mouse.move(x, y)
    page.mouse.down()
    steps = int(DRAG_SECONDS * 1000 / 30)
    for step in range(1, steps + 1):
        page.mouse.move(x - step, y)  # left: smaller step sizes, a new value every few pixels
        page.wait_for_timeout(30)
        if step == steps // 2:
            page.screenshot(path=artifacts / "langevin_during_drag.png")
    redraws = page.evaluate("() => { const down = window.__pix.down; "
                            "return new Set(window.__pix.changed.filter(([p, t]) => p === 0 && t >= down)"
                            ".map(([p, t]) => t)).size; }")
    page.mouse.up()
    settle(page)
    page.screenshot(path=artifacts / "langevin_after_drag.png")
    assert redraws >= 3, f"the cloud was redrawn {redraws} times during a {DRAG_SECONDS} s drag"

    value = float(page.locator(".knob-step_size input").first.input_value())
    assert value < 0.05, f"dragging left should lower step_size from 0.05, got {value}"
    assert f"step_size={value:g}" in page.url or f"step_size={value}" in page.url, page.url
    after_drag = drawn_particles(page)
    fresh = hooked.new_page()
    open_complete(fresh, page.url)  # the same knobs and seed from scratch: the same particles
    assert len(after_drag) == 1 and after_drag == drawn_particles(fresh), \
        "the drawn result is not the one for the value where the drag ended"


def test_the_particles_come_first_and_the_diagnostics_follow_in_a_second_update(hooked, served_app):
    page = hooked.new_page()
    open_complete(page, f"{served_app}/langevin")
    seen = page.evaluate("() => window.__pix.applied.length")
    page.locator(".knob-sampler select").select_option("mala")
    page.wait_for_function(f"() => window.__pix.applied.slice({seen}).some(([t, s]) => s.includes('acceptance_rate'))",
                           timeout=SETTLED_MS, polling=100)
    texts = [text for _, text in page.evaluate(f"() => window.__pix.applied.slice({seen})")]
    first = next(i for i, text in enumerate(texts) if "diagnostics…" in text)
    complete = next(i for i, text in enumerate(texts) if "acceptance_rate" in text)
    assert first < complete, texts
    assert "kl " not in texts[first] and "kl " in texts[complete], texts
