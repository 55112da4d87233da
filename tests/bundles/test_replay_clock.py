"""The replay clock driven by its keys, over a real bundle replayed by BundleSource."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.app import App, ComposeResult

from opsconsole.bundle import open_bundle
from opsconsole.sources.bundle_source import BundleSource, ReplayControl
from opsconsole.sources.events import Alert, Event, LogLines, ReplayRestart
from opsconsole.widgets.replay_clock import ReplayClock
from tests.bundles.helpers import T0, write_bundle
from tests.scripted import wait_for


class ClockApp(App[None]):
    """The clock over a bundle source whose events are collected as a pane would get them."""

    def __init__(self, source: BundleSource) -> None:
        super().__init__()
        self.source = source
        self.played: list[Event] = []

    def compose(self) -> ComposeResult:
        yield ReplayClock(self.source.control, step=5, id="clock")

    async def on_mount(self) -> None:
        await self.source.open()
        self._task = asyncio.create_task(self._play())

    async def _play(self) -> None:
        async for event in self.source.events():
            self.played.append(event)

    async def on_unmount(self) -> None:
        await self.source.close()
        await self._task


def _shown(app: ClockApp) -> str:
    return str(app.query_one(ReplayClock).render())


async def test_pause_speed_seek_and_jump(tmp_path: Path) -> None:
    bundle = open_bundle(write_bundle(tmp_path / "b"))
    control = ReplayControl(*bundle.time_span, paused=True)
    app = ClockApp(BundleSource(bundle.events, control, host=bundle.host))
    async with app.run_test() as pilot:
        # Paused: the first event shows, and nothing more comes.
        await wait_for(lambda: len(app.played) == 1)
        await asyncio.sleep(0.3)
        assert len(app.played) == 1 and control.position == T0
        await pilot.pause(0.3)
        assert "paused" in _shown(app) and "x1" in _shown(app)
        # Speed steps up and down.
        await pilot.press("plus", "plus")
        assert control.speed == 4.0
        await pilot.press("minus")
        assert control.speed == 2.0
        await pilot.pause(0.3)
        assert "x2" in _shown(app)
        # a: the next alert, still paused.
        await pilot.press("a")
        await wait_for(lambda: control.position == T0 + 20)
        assert isinstance(app.played[-1], Alert) and control.paused
        # e: the next error (the ERROR log line), skipping what is between.
        await pilot.press("e")
        await wait_for(lambda: control.position == T0 + 40)
        assert isinstance(app.played[-1], LogLines)
        # ] seeks forward by the step, [ back (the stream starts over up to there).
        await pilot.press("right_square_bracket")
        await wait_for(lambda: control.position == T0 + 45)
        before = len(app.played)
        await pilot.press("left_square_bracket")
        await wait_for(lambda: control.position == T0 + 40 and len(app.played) > before)
        # From the start again, told first, so that panes forget what they were given.
        assert isinstance(app.played[before], ReplayRestart)
        assert app.played[before + 1].ts == T0
        # space plays; at x128 the last 20 s take a fraction of a second.
        for _ in range(7):
            await pilot.press("plus")
        assert control.speed == 128.0
        await pilot.press("space")
        await wait_for(lambda: control.ended, timeout=5)
        assert control.position == T0 + 59
        await pilot.pause(0.3)
        assert "ended" in _shown(app) and "(100%)" in _shown(app)
        # Nothing more to jump to: said, not silent.
        await pilot.press("a")
        await pilot.pause(0.3)
        assert "no further alert" in _shown(app)


async def test_playing_follows_the_recorded_gaps(tmp_path: Path) -> None:
    bundle = open_bundle(write_bundle(tmp_path / "b"))
    control = ReplayControl(*bundle.time_span, speed=8.0)
    app = ClockApp(BundleSource(bundle.events, control))
    async with app.run_test() as pilot:
        await pilot.pause(0.55)
        # About 4 recorded seconds at x8 (the first event at once); pausing stops the clock.
        assert T0 + 2 <= (control.position or 0) <= T0 + 6
        await pilot.press("space")
        held = control.position
        await pilot.pause(0.4)
        assert control.position == held
