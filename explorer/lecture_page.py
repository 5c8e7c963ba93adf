"""Lecture mode: step through a sequence of (scene, preset, caption) with buttons or the arrow keys.

The lecture and the step live in the URL (``/lecture?lecture=langevin&step=2``), so a link opens the
same slide. Each step builds a fresh scene page with its preset; the caption shows above the plots.
"""
from __future__ import annotations

import panel as pn
import param
from panel.reactive import ReactiveHTML

from explorer.app import ScenePage, TEMPLATE_STYLE
from explorer.lectures import LectureError, list_lectures
from explorer.presets import load_preset
from scenes import SCENES


class KeyNavigator(ReactiveHTML):
    """Counts presses of → / PageDown (``forward``) and ← / PageUp (``back``) anywhere on the page."""

    forward = param.Integer(default=0)
    back = param.Integer(default=0)

    _template = '<div id="keys" style="display: none"></div>'
    _scripts = {"render": """
        window.addEventListener('keydown', (event) => {
          if (event.key === 'ArrowRight' || event.key === 'PageDown') { data.forward = data.forward + 1 }
          else if (event.key === 'ArrowLeft' || event.key === 'PageUp') { data.back = data.back + 1 }
        })"""}


class LectureState(param.Parameterized):
    lecture = param.String(default="", doc="Name of the lecture file in assets/lectures")
    step = param.Integer(default=1, bounds=(1, None), doc="Step of the lecture, from 1")
    projector = param.Boolean(default=False, doc="Projector mode")


class LecturePage:
    """One session's lecture: caption, navigation, and the current step's scene page."""

    def __init__(self):
        self.lectures = list_lectures(SCENES)
        self.state = LectureState(lecture=next(iter(self.lectures), ""))
        self.caption = pn.pane.Markdown("", css_classes=["lecture-caption"], styles={"font-size": "24px"},
                                        sizing_mode="stretch_width")
        self.position = pn.pane.Markdown("", css_classes=["lecture-position"], margin=(12, 10))
        self.alert = pn.pane.Alert("", alert_type="danger", visible=False)
        back = pn.widgets.Button(name="◀ back", css_classes=["lecture-back"], width=90)
        forward = pn.widgets.Button(name="next ▶", button_type="primary", css_classes=["lecture-next"], width=90)
        back.on_click(lambda event: self.move(-1))
        forward.on_click(lambda event: self.move(+1))
        self.keys = KeyNavigator()
        self.keys.param.watch(lambda event: self.move(+1), "forward")
        self.keys.param.watch(lambda event: self.move(-1), "back")
        self.navigation = pn.Row(back, forward, self.position, self.keys)
        self.body = pn.Column(sizing_mode="stretch_width")
        self.controls = pn.Column()
        self.page = None
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            pn.state.location.sync(self.state, parameters=["lecture", "step", "projector"])
        self.state.param.watch(lambda event: self.show(), ["lecture", "step"])
        self.state.param.watch(self._projector_changed, "projector")
        self.show()

    def _projector_changed(self, event) -> None:
        if self.page is not None:
            self.page.view_options.projector = event.new

    def move(self, delta: int) -> None:
        lecture = self.lectures.get(self.state.lecture)
        if lecture is not None:
            self.state.step = min(max(self.state.step + delta, 1), len(lecture.steps))

    def show(self) -> None:
        """Build the current step's scene page (closing the previous one's worker)."""
        lecture = self.lectures.get(self.state.lecture)
        if lecture is None:
            self.alert.object = (f"No lecture {self.state.lecture!r}; known: {', '.join(self.lectures) or 'none'}")
            self.alert.visible = True
            return
        self.alert.visible = False
        number = min(self.state.step, len(lecture.steps))
        step = lecture.steps[number - 1]
        if self.page is not None:
            self.page.runner.close()
        self.page = ScenePage(step.scene, sync_url=False, values=load_preset(step.scene, step.preset))
        self.page.view_options.projector = self.state.projector  # the page's own toggle drives the lecture's
        self.page.view_options.param.watch(lambda event: setattr(self.state, "projector", event.new), "projector")
        self.caption.object = step.caption
        self.position.object = f"**{lecture.title}** — step {number} of {len(lecture.steps)}"
        self.body[:] = self.page.main()
        self.controls[:] = self.page.sidebar()

    def main(self) -> list:
        return [pn.Column(self.alert, self.navigation, self.caption, self.body, sizing_mode="stretch_width")]


def build_lecture():
    """The lecture page, built fresh for each browser session."""
    try:
        page = LecturePage()
    except LectureError as error:
        return pn.pane.Alert(str(error), alert_type="danger")
    return pn.template.FastListTemplate(title="Stochastic Explorer — lecture", sidebar=[page.controls],
                                        main=page.main(), **TEMPLATE_STYLE)
