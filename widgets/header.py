"""The console's header: which host, how long it has been up, live or replay, and the time."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Static

from opsconsole.sources.events import Event, HostSample
from opsconsole.widgets.format import duration
from opsconsole.widgets.pane import EventPane


class ConsoleHeader(EventPane):
    """One line: host name, uptime, a LIVE or REPLAY badge, FROZEN and READ-ONLY badges, a clock.

    Live, the clock is the wall clock (local time, zone shown). In replay it is the recorded time
    of the newest event, in UTC, so a screen of a recording reads the same on every machine.
    """

    DEFAULT_CSS = """
    ConsoleHeader {
        dock: top;
        height: 1;
        layout: horizontal;
        background: $panel;
        color: $foreground;
    }
    ConsoleHeader > #title { width: 1fr; padding: 0 1; text-style: bold; }
    ConsoleHeader > .badge { width: auto; padding: 0 1; margin-right: 1; text-style: bold; }
    ConsoleHeader > #mode { background: $success; color: $background; }
    ConsoleHeader > #mode.-replay { background: $accent; color: $background; }
    ConsoleHeader > #frozen { background: $warning; color: $background; display: none; }
    ConsoleHeader > #frozen.-on { display: block; }
    ConsoleHeader > #readonly { background: $primary; color: $background; display: none; }
    ConsoleHeader > #readonly.-on { display: block; }
    ConsoleHeader > #recording { background: $error; color: $background; display: none; }
    ConsoleHeader > #recording.-on { display: block; }
    ConsoleHeader > #clock { width: auto; padding: 0 1; }
    """

    hostname: reactive[str] = reactive("")
    """Name of the host whose data is shown."""
    live: reactive[bool] = reactive(True)
    """False when replaying a recording."""
    read_only: reactive[bool] = reactive(False)
    """True when the console refuses state-changing actions."""
    display_frozen: reactive[bool] = reactive(False)
    """True while the user has frozen the display."""
    recording: reactive[bool] = reactive(False)
    """True while the stream is being recorded into a bundle."""

    def __init__(
        self, hostname: str, *, live: bool, read_only: bool, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self._boot_time: float | None = None
        self._data_time: float | None = None
        self._clock_width = 0
        self._clock_timer: Timer | None = None
        self.set_reactive(ConsoleHeader.hostname, hostname)
        self.set_reactive(ConsoleHeader.live, live)
        self.set_reactive(ConsoleHeader.read_only, read_only)

    def compose(self) -> ComposeResult:
        yield Static(id="title", markup=False)
        yield Static("LIVE", id="mode", classes="badge")
        yield Static("FROZEN", id="frozen", classes="badge")
        yield Static("READ-ONLY", id="readonly", classes="badge")
        yield Static("REC", id="recording", classes="badge")
        yield Static(id="clock", markup=False)

    def on_mount(self) -> None:
        if self.live:
            # Only the live clock ticks; a replayed screen changes only with its data.
            self._clock_timer = self.set_interval(1.0, self.show)
        self._show_badges()
        self.show()

    def collect(self, events: Sequence[Event]) -> bool:
        changed = False
        for event in events:
            if isinstance(event, HostSample):
                self._boot_time = event.boot_time
                self._data_time = event.ts
                if event.host and event.host != self.hostname:
                    self.hostname = event.host
                changed = True
        return changed

    def show(self) -> None:
        if self._clock_timer is not None:
            # Data arriving every second redraws the clock already; restarting the timer keeps
            # it from adding a second redraw per second, and it still ticks when data stops.
            self._clock_timer.reset()
        now = self._now()
        title = Text(self.hostname or "?", style="bold")
        if self._boot_time is not None and self._data_time is not None:
            # Uptime as of the newest sample: right for a recording, and a live sample is fresh.
            uptime = duration(self._data_time - self._boot_time)
            title.append(f"  up {uptime}", style="not bold")
        # The title is 1fr wide and the clock's width only changes with its format: neither
        # update needs a layout of the screen, which would cost more than the update itself.
        self.query_one("#title", Static).update(title, layout=False)
        clock = self._clock_text(now)
        self.query_one("#clock", Static).update(clock, layout=len(clock) != self._clock_width)
        self._clock_width = len(clock)

    def _now(self) -> float | None:
        return time.time() if self.live else self._data_time

    def _clock_text(self, now: float | None) -> str:
        if now is None:
            return "--:--:--"
        if self.live:
            return datetime.fromtimestamp(now).astimezone().strftime("%H:%M:%S %Z")
        return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    def _show_badges(self) -> None:
        mode = self.query_one("#mode", Static)
        mode.update("LIVE" if self.live else "REPLAY")
        mode.set_class(not self.live, "-replay")
        self.query_one("#frozen").set_class(self.display_frozen, "-on")
        self.query_one("#readonly").set_class(self.read_only, "-on")
        self.query_one("#recording").set_class(self.recording, "-on")

    def watch_live(self) -> None:
        if self.is_mounted:
            self._show_badges()

    def watch_read_only(self) -> None:
        if self.is_mounted:
            self._show_badges()

    def watch_display_frozen(self) -> None:
        if self.is_mounted:
            self._show_badges()

    def watch_recording(self) -> None:
        if self.is_mounted:
            self._show_badges()

    def watch_hostname(self) -> None:
        if self.is_mounted:
            self.show()
