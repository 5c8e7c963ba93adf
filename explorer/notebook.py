"""A scene's live app inside Jupyter, or served from a script (``scene.app()``, issue 21).

``app(scene)`` builds the served page's own ``ScenePage`` (explorer.app): the same knob widgets, presets,
downloads, plots, status line, sweep card and newest-wins live loop (explorer.live), laid out as a Panel
``Row`` (sidebar, main) instead of the page template, which does not display inline. The page runs on its
own copy of the scene, linked both ways to the one given: a knob moved in the app sets it on the user's
scene, a value set on the scene in a cell moves the app, and the user's ``scene.run()`` keeps its
Python defaults (the app sets a live run's work budget, cancel flag and turns on the scene it runs).

In a notebook the page's updates reach its comm-based document on the kernel's event loop
(explorer.live.loop_schedule). ``.show()`` serves the page itself (explorer.app.build_page), one per
browser session, from the scene's values when the session opens.
"""
from __future__ import annotations

import panel as pn

from explorer.app import TEMPLATE_STYLE, ScenePage, build_page
from scenes import SCENES, Scene

__all__ = ["SceneApp", "app", "scene_name"]


def scene_name(scene: Scene) -> str:
    """The registry name (``SCENES``) of a scene object, e.g. ``"langevin"``."""
    for name, cls in SCENES.items():
        if type(scene) is cls:
            return name
    raise TypeError(f"{type(scene).__name__} is not a registered scene; known: {', '.join(SCENES)}")


def link_knobs(one: Scene, other: Scene) -> None:
    """Keep the two scenes' knobs equal: a change on either is set on the other (equal values stop the echo)."""
    names = [name for name in one.param if name != "name"]

    def follow(target: Scene):
        def copy(*events):
            changed = {event.name: event.new for event in events if getattr(target, event.name) != event.new}
            if changed:
                target.param.update(**changed)
        return copy

    one.param.watch(follow(other), names)
    other.param.watch(follow(one), names)


class SceneApp(pn.viewable.Viewer):
    """The live app of one scene: displays inline in Jupyter, ``.show()`` serves it in a browser tab."""

    def __init__(self, scene: Scene, **params):
        super().__init__(**params)
        self.scene = scene
        self.scene_name = scene_name(scene)
        self._page: ScenePage | None = None
        self._layout = None

    @property
    def page(self) -> ScenePage:
        """The inline page (built on first use, in the kernel's thread when displayed in a notebook)."""
        if self._page is None:
            runs_on = type(self.scene)(**self.scene.values())
            self._page = ScenePage(self.scene_name, sync_url=False, scene=runs_on)
            link_knobs(self.scene, runs_on)
        return self._page

    def __panel__(self) -> pn.Row:
        if self._layout is None:
            page = self.page
            self._layout = pn.Row(
                pn.Column(*page.sidebar(), width=TEMPLATE_STYLE["sidebar_width"], css_classes=["app-sidebar"]),
                pn.Column(*page.main(), sizing_mode="stretch_width"),
                sizing_mode="stretch_width", css_classes=["scene-app"])
        return self._layout

    def show(self, **kwargs):
        """Serve the scene's page (as ``stochastic-explorer serve`` does) and open it in a browser; keyword
        arguments go to ``pn.serve`` (``port``, ``address``, ``open``, ``threaded``, …)."""
        def page():
            return build_page(self.scene_name, values=self.scene.values())

        kwargs.setdefault("title", f"Stochastic Explorer — {self.scene.title}")
        return pn.serve({self.scene_name: page}, **kwargs)

    def servable(self, *args, **kwargs):
        """Mark the page servable (``panel serve notebook.ipynb``): the page built for this session."""
        return build_page(self.scene_name, values=self.scene.values()).servable(*args, **kwargs)

    def close(self) -> None:
        """Stop the inline page's live loop (the kernel keeps it otherwise until it shuts down)."""
        if self._page is not None:
            self._page.close()


def app(scene: Scene) -> SceneApp:
    """The live app of ``scene`` (see the module's docstring); ``Scene.app()`` delegates here."""
    return SceneApp(scene)
