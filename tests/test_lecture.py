"""Lecture sequences: every shipped file is valid; the lecture page steps with the arrow keys; projector
mode makes type and plots larger (checked in the browser, with screenshots kept)."""
import pytest

from explorer.lectures import LectureError, list_lectures, read_lecture
from scenes import SCENES
from tests.test_browser import FIRST_RUN_MS, RECOMPUTE_MS, expect, open_scene


def test_every_shipped_lecture_names_real_scenes_and_presets():
    lectures = list_lectures(SCENES)
    assert "langevin" in lectures
    for lecture in lectures.values():
        assert lecture.title and all(step.caption for step in lecture.steps)


def test_a_bad_lecture_is_refused_naming_the_step(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("title: t\nsteps:\n  - {scene: langevin, preset: ula_bias, caption: ok}\n"
                    "  - {scene: langevin, preset: nope, caption: missing}\n")
    with pytest.raises(LectureError, match="step 2: scene 'langevin' has no preset 'nope'"):
        read_lecture(path, SCENES)


@pytest.mark.browser
def test_lecture_steps_with_the_arrow_keys_and_keeps_the_step_in_the_url(page, served_app, artifacts):
    lecture = list_lectures(SCENES)["langevin"]
    page.goto(f"{served_app}/lecture?lecture=langevin")
    caption = page.locator(".lecture-caption")
    expect()(caption).to_contain_text(lecture.steps[0].caption[:30], timeout=FIRST_RUN_MS)
    page.locator(".scene-plots canvas").first.wait_for(timeout=FIRST_RUN_MS)
    page.locator("body").click(position={"x": 5, "y": 300})  # focus the page, as a lecturer's click would
    for key, step in (("ArrowRight", 2), ("ArrowRight", 3), ("ArrowLeft", 2)):  # each key seen before the next
        page.keyboard.press(key)
        expect()(caption).to_contain_text(lecture.steps[step - 1].caption[:30], timeout=FIRST_RUN_MS)
        page.wait_for_function(f"() => new URLSearchParams(window.location.search).get('step') === '{step}'",
                               timeout=RECOMPUTE_MS)
    page.locator(".scene-plots canvas").first.wait_for(timeout=FIRST_RUN_MS)
    page.screenshot(path=str(artifacts / "lecture_step2.png"))


@pytest.mark.browser
def test_projector_mode_enlarges_type_and_plots(page, served_app, artifacts):
    def measure():
        status = page.locator(".run-status")
        font = status.evaluate("element => parseFloat(getComputedStyle(element).fontSize)")
        width = page.locator(".panel-cloud").bounding_box()["width"]
        return font, width

    open_scene(page, served_app)
    normal = measure()
    page.screenshot(path=str(artifacts / "projector_off.png"))
    open_scene(page, served_app, "?projector=true")
    expect()(page.locator(".panel-cloud canvas").first).to_be_visible(timeout=FIRST_RUN_MS)
    big = measure()
    page.screenshot(path=str(artifacts / "projector_on.png"))
    assert big[0] > 1.3 * normal[0], (normal, big)
    assert big[1] > 1.3 * normal[1], (normal, big)


def test_presets_and_lectures_read_under_an_ascii_locale():
    """The shipped files hold non-ASCII text (ε, σ, →): they are read as UTF-8 whatever the machine's locale
    (a clean CI run served the index from a process whose default encoding was ASCII, and it failed)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONPATH": str(root)}
    code = ("import locale; assert locale.getpreferredencoding(False).lower() in ('ascii', 'ansi_x3.4-1968'); "
            "from scenes import SCENES; from explorer.presets import list_presets; "
            "from explorer.lectures import list_lectures; [list_presets(s) for s in SCENES]; list_lectures(SCENES)")
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
