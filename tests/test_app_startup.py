"""The console's start: the first frame has the dashboard and every tab, the other views and the
container engines come once the first figures are drawn, and keys pressed meanwhile (a view, q)
work as later."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from textual.widgets import TabbedContent

from opsconsole.app import PENDING, VIEWS, OpsConsoleApp
from opsconsole.config import Config
from opsconsole.sources.events import ContainerInfo, ContainerList
from tests.scripted import ScriptedSource, wait_for
from tests.test_app import host_events, make_app, screen_text


class HeldApp(OpsConsoleApp):
    """The console with the views after the dashboard held back until ``held`` is False."""

    held = True
    asked = False
    """True once the console went to build them."""

    async def _fill_views(self) -> None:
        self.asked = True
        if self.held:  # asked again soon, leaving the screen free to run meanwhile
            self.set_timer(0.02, lambda: self.call_after_refresh(self._fill_views))
        else:
            await super()._fill_views()


def tab_row(app: OpsConsoleApp) -> list[tuple[str, object, object]]:
    """The cells of the tab row as seen: character, background, and the colour of a character
    that shows one (a blank's is not seen)."""
    strip = app.screen._compositor.render_strips()[1]
    return [
        (char, segment.style and segment.style.bgcolor, char != " " and segment.style.color)
        for segment in strip
        if not segment.control
        for char in segment.text
    ]


async def test_tab_row_looks_the_same_before_and_after_the_views_are_built(
    tmp_path: Path,
) -> None:
    app = HeldApp(Config(), [], hostname="web-7", theme_dir=tmp_path)
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_for(lambda: app.asked)
        await pilot.pause()
        before = tab_row(app)
        assert "".join(cell[0] for cell in before).startswith(" 1 Dashboard  2 Processes  3 Host")
        assert app.query_one("#views", TabbedContent).tab_count == 2  # the dashboard's, and one
        app.held = False
        await wait_for(lambda: app.caught_up)
        await pilot.pause()
        assert app.query_one("#views", TabbedContent).tab_count == len(VIEWS)
        assert not app.query(f"#{PENDING}")
        assert tab_row(app) == before


class SlowSource(ScriptedSource):
    """A host source whose first figures take a while, as on a loaded machine."""

    async def open(self) -> None:
        await asyncio.sleep(0.2)
        await super().open()


class WatchedApp(OpsConsoleApp):
    """The console noting what its screen showed when it went to build the other views."""

    seen: str | None = None

    async def _fill_views(self) -> None:
        self.seen = screen_text(self)
        await super()._fill_views()


async def test_the_first_figures_are_drawn_before_the_other_views_are_built(
    tmp_path: Path,
) -> None:
    # Building the other views holds the screen for a while: the engineer sees the host first.
    source = SlowSource(host_events(1), id="host", hold_open=True)
    app = WatchedApp(Config(), [source], hostname="web-7", theme_dir=tmp_path)
    async with app.run_test(size=(120, 30)):
        await wait_for(lambda: app.caught_up)
        assert app.seen is not None and "4242" in app.seen


async def test_the_other_views_are_built_when_no_data_comes(tmp_path: Path) -> None:
    app = WatchedApp(Config(), [], hostname="web-7", theme_dir=tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(lambda: app.caught_up)
        await pilot.press("5")
        await pilot.pause()
        assert app.query_one("#views", TabbedContent).active == "logs"


@pytest.mark.parametrize(("view", "key"), [(view, key) for view, _, key in VIEWS])
async def test_a_view_key_pressed_at_once_shows_that_view_whole(
    tmp_path: Path, view: str, key: str
) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(key)
        await wait_for(lambda: app.caught_up)
        await pilot.pause(0.1)
        views = app.query_one("#views", TabbedContent)
        assert views.active == view
        pane = views.active_pane
        assert pane is not None and pane.children and pane.display
        focused = app.focused
        assert focused is not None and pane in focused.ancestors  # its keys work at once
        if view in ("dashboard", "processes"):
            # The host's events came before the view was built: it shows them all the same.
            assert "4242" in screen_text(app)


async def test_keys_before_the_views_are_built_end_on_the_last_one(tmp_path: Path) -> None:
    app = HeldApp(Config(), [], hostname="web-7", theme_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(lambda: app.asked)
        await pilot.press("4", "3")
        assert app.query_one("#views", TabbedContent).active == "dashboard"
        app.held = False
        await wait_for(lambda: app.caught_up)
        await pilot.pause(0.1)
        assert app.query_one("#views", TabbedContent).active == "host"


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.05, 0.1, 0.2, 0.4])
async def test_q_while_the_console_starts_quits_cleanly(tmp_path: Path, delay: float) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        if delay:
            await asyncio.sleep(delay)
        await pilot.press("q")
        await pilot.pause(0.1)
    assert app.return_code in (0, None)
    assert not app.is_running


def engine_source(found: list[ScriptedSource], delay: float = 0.0) -> ScriptedSource:
    """Find one scripted container engine (in the thread the console calls it in)."""
    time.sleep(delay)
    info = ContainerInfo(
        engine="podman:/x", runtime="podman", id="c" * 64, name="web", image="nginx", state="up"
    )
    source = ScriptedSource(
        [ContainerList(ts=1.0, host="web-7", source="podman:/x", engine="podman:/x",
                       containers=(info,))],
        id="podman:/x",
        hold_open=True,
    )  # fmt: skip
    found.append(source)
    return source


def engine_app(tmp_path: Path, found: list[ScriptedSource], delay: float = 0.0) -> OpsConsoleApp:
    """The console with a host source and one engine, found after ``delay`` seconds."""
    return OpsConsoleApp(
        Config(),
        [ScriptedSource(host_events(1), id="host", hold_open=True)],
        hostname="web-7",
        theme_dir=tmp_path,
        engines=lambda: [engine_source(found, delay)],  # type: ignore[list-item]
    )


async def test_engines_found_after_the_first_frame_are_run_and_shown(tmp_path: Path) -> None:
    found: list[ScriptedSource] = []
    app = engine_app(tmp_path, found)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("4")
        await wait_for(lambda: app.caught_up)
        assert app.containers is not None and app.containers.engines == ["podman:/x"]
        await wait_for(lambda: "1 of 1 containers" in screen_text(app))
        assert "nginx" in screen_text(app)
    assert [(source.opens, source.closes) for source in found] == [(1, 1)]


async def test_q_while_the_engines_are_sought_leaves_none_running(tmp_path: Path) -> None:
    found: list[ScriptedSource] = []
    app = engine_app(tmp_path, found, delay=1.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("q")
        await pilot.pause(0.1)
    await asyncio.sleep(1.2)  # the search ends after the console did
    assert len(found) == 1
    assert found[0].opens <= found[0].closes  # never opened, or closed
