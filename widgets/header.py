"""The console's header: which host, how long it has been up, live or replay, and the time."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.reactive import reactive
from textual.strip import Strip

from opsconsole.sources.events import Event, HostSample
from opsconsole.widgets.format import duration
from opsconsole.widgets.pane import EventPane


class ConsoleHeader(EventPane):
    """One line: host name, uptime, a LIVE or REPLAY badge, FROZEN and READ-ONLY badges, a clock.

    Live, the clock is the wall clock (local time, zone shown). In replay it is the recorded time
    of the newest event, in UTC, so a screen of a recording reads the same on every machine.
    The line is drawn by the widget itself (Textual's line API): it changes every second, and
    a widget per part would cost the compositor more than the drawing does.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "header--title",
        "header--uptime",
        "header--live",
        "header--replay",
        "header--frozen",
        "header--read-only",
        "header--recording",
        "header--clock",
    }
    """
    | Class | Description |
    | :- | :- |
    | `header--title` | The host name. |
    | `header--uptime` | The host's uptime after its name. |
    | `header--live` | The LIVE badge. |
    | `header--replay` | The REPLAY badge. |
    | `header--frozen` | The FROZEN badge. |
    | `header--read-only` | The READ-ONLY badge. |
    | `header--recording` | The REC badge, while the stream is recorded. |
    | `header--clock` | The clock. |
    """

    DEFAULT_CSS = """
    ConsoleHeader {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
    }
    ConsoleHeader > .header--title { text-style: bold; }
    ConsoleHeader > .header--uptime { text-style: not bold; }
    ConsoleHeader > .header--live { background: $success; color: $background; text-style: bold; }
    ConsoleHeader > .header--replay { background: $accent; color: $background; text-style: bold; }
    ConsoleHeader > .header--frozen { background: $warning; color: $background; text-style: bold; }
    ConsoleHeader > .header--read-only {
        background: $primary;
        color: $background;
        text-style: bold;
    }
    ConsoleHeader > .header--recording {
        background: $error;
        color: $background;
        text-style: bold;
    }
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
        """Create the header.

        Args:
            hostname: The host shown until a sample names one.
            live: False for a replay: a REPLAY badge and the recorded time.
            read_only: Show the READ-ONLY badge.
            id: The ID of the widget in the DOM.
        """
        super().__init__(id=id)
        self._boot_time: float | None = None
        self._data_time: float | None = None
        self._data_at: float | None = None
        """When the newest sample arrived (monotonic seconds): the clock ticks on its own only
        when none has come for ``CLOCK_STALE``."""
        self._parts: list[tuple[str, str]] = []
        """What the line shows: text and component class, title first."""
        self._strip: Strip | None = None
        self._styles: dict[str, Style] = {}
        """Each part's style over the header's, kept until the styles change: computing them
        every second cost more than the rest of the drawing."""
        self.set_reactive(ConsoleHeader.hostname, hostname)
        self.set_reactive(ConsoleHeader.live, live)
        self.set_reactive(ConsoleHeader.read_only, read_only)

    def on_mount(self) -> None:
        if self.live:
            # Only the live clock ticks; a replayed screen changes only with its data.
            self.set_interval(1.0, self._tick)
        for name in ("hostname", "live", "read_only", "display_frozen", "recording"):
            self.watch(self, name, self.show, init=False)
        self.show()

    def collect(self, events: Sequence[Event]) -> bool:
        changed = False
        for event in events:
            if isinstance(event, HostSample):
                # The clock is shown again with each sample, in the frame that draws it: a
                # frame of its own each second cost about a tenth of the console's idle CPU.
                changed = True
                self._boot_time = event.boot_time
                self._data_time = event.ts
                self._data_at = time.monotonic()
                if event.host and event.host != self.hostname:
                    self.set_reactive(ConsoleHeader.hostname, event.host)
                    changed = True
        return changed

    def _tick(self) -> None:
        """Show the clock when no sample has for a while (a stalled or ended source)."""
        if self._data_at is None or time.monotonic() - self._data_at >= CLOCK_STALE:
            self.show()

    def show(self) -> None:
        parts = [(self.hostname or "?", "header--title")]
        if self._boot_time is not None and self._data_time is not None:
            # Uptime as of the newest sample: right for a recording, and a live sample is fresh.
            parts.append((f"up {duration(self._data_time - self._boot_time)}", "header--uptime"))
        badges = [
            ("LIVE" if self.live else "REPLAY", "header--live" if self.live else "header--replay"),
            ("FROZEN", "header--frozen") if self.display_frozen else None,
            ("READ-ONLY", "header--read-only") if self.read_only else None,
            ("REC", "header--recording") if self.recording else None,
        ]
        parts.extend(badge for badge in badges if badge is not None)
        parts.append((self._clock_text(self._now()), "header--clock"))
        if parts != self._parts:
            self._parts = parts
            self._strip = None
            self.refresh()

    def _now(self) -> float | None:
        return time.time() if self.live else self._data_time

    def _clock_text(self, now: float | None) -> str:
        if now is None:
            return "--:--:--"
        if self.live:
            return datetime.fromtimestamp(now).astimezone().strftime("%H:%M:%S %Z")
        return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strip = None
        self._styles.clear()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if self._strip is None or self._strip.cell_length != width:
            self._strip = self._draw(width)
        return self._strip if y == 0 else Strip.blank(width, self.rich_style)

    def _draw(self, width: int) -> Strip:
        """The line: the title on the left (cut first when short of room), badges and clock
        on the right, each badge padded and followed by a gap."""
        base = self._styled("")
        title = [part for part in self._parts if part[1] in ("header--title", "header--uptime")]
        # Padding is a segment of its own: text never starts with a space (an SVG screenshot
        # collapses leading spaces, which would misplace the text in the snapshots).
        right: list[Segment] = []
        for text, name in self._parts[len(title) :]:
            style = self._styled(name)
            pad = Segment(" ", style + _NOT_BOLD)  # unlike the text's, so never merged with it
            right += [pad, Segment(text, style), pad]
            if name != "header--clock":
                right.append(Segment(" ", base))
        room = max(0, width - sum(cell_len(segment.text) for segment in right) - 1)
        left: list[Segment] = []
        for text, name in title:
            for piece, style in ((" " if not left else "  ", base), (text, self._styled(name))):
                if (piece := set_cell_size(piece, min(cell_len(piece), room))) and room > 0:
                    left.append(Segment(piece, style))
                    room -= cell_len(piece)
        gap = Segment(" " * (room + 1), base)
        return Strip([*left, gap, *right]).crop_extend(0, width, base)

    def _styled(self, name: str) -> Style:
        """The style of the component class ``name`` over the header's own ("": its own)."""
        style = self._styles.get(name)
        if style is None:
            style = self.rich_style
            if name:
                style += self.get_component_rich_style(name)
            self._styles[name] = style
        return style


_NOT_BOLD = Style(bold=False)
CLOCK_STALE = 1.5
"""Seconds without a sample after which the clock's own timer shows it: above a 1 s refresh
with room for a late sample, so that the clock and the figures share a frame."""
