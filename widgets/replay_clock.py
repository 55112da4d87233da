"""The replay clock: one line showing where a replay is, and the keys that drive it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual.binding import Binding
from textual.reactive import reactive
from textual.widget import Widget

if TYPE_CHECKING:
    # Only a type here: a live console never loads the replay code.
    from opsconsole.sources.bundle_source import ReplayControl

REDRAW_INTERVAL = 0.25
"""Seconds between two redraws: the clock moves on its own while the replay plays."""


def _clock(ts: float | None) -> str:
    if ts is None:
        return "--:--:--"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


class ReplayClock(Widget, can_focus=True):
    """The recorded time, the speed, paused or playing, and the span of the recording.

    Its keys drive a ``ReplayControl`` (which never blocks): space plays or pauses, + and -
    change the speed, [ and ] seek back and forward by ``step`` seconds, a and e jump to the
    next alert and the next error.
    """

    BINDINGS = [
        Binding("space", "play_pause", "Play/pause", id="replay.toggle"),
        Binding("plus,equals_sign", "faster", "Faster", id="replay.faster"),
        Binding("minus", "slower", "Slower", id="replay.slower"),
        Binding("left_square_bracket", "back", "Back", id="replay.back"),
        Binding("right_square_bracket", "forward", "Forward", id="replay.forward"),
        Binding("a", "next_alert", "Next alert", id="replay.next_alert"),
        Binding("e", "next_error", "Next error", id="replay.next_error"),
    ]

    DEFAULT_CSS = """
    ReplayClock {
        height: 1;
        width: 1fr;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    ReplayClock.-paused { color: $warning; }
    ReplayClock:focus { background: $primary 30%; }
    """

    step: reactive[float] = reactive(60.0)
    """Seconds that [ and ] seek by."""

    def __init__(
        self,
        control: ReplayControl,
        *,
        step: float = 60.0,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.control = control
        self.step = step

    def on_mount(self) -> None:
        self.set_interval(REDRAW_INTERVAL, self._tick)

    def _tick(self) -> None:
        self.set_class(self.control.paused, "-paused")
        self.refresh()

    def render(self) -> Text:
        control = self.control
        state = "paused" if control.paused else "playing"
        if control.busy:
            state = "seeking"
        elif control.ended:
            state = "ended"
        text = Text.assemble(
            ("REPLAY ", "bold"),
            (_clock(control.position), "bold"),
            f"  {state}  x{control.speed:g}",
        )
        if control.start is not None and control.end is not None:
            span = control.end - control.start
            done = (
                100.0 * ((control.position or control.start) - control.start) / span
                if span > 0
                else 100.0
            )
            text.append(f"  {_clock(control.start)} to {_clock(control.end)} ({done:.0f}%)")
        if control.notice:
            text.append(f"  {control.notice}", style="italic")
        return text

    def action_play_pause(self) -> None:
        """Play or pause."""
        self.control.toggle()
        self._tick()

    def action_faster(self) -> None:
        """Play faster."""
        self.control.faster()
        self._tick()

    def action_slower(self) -> None:
        """Play slower."""
        self.control.slower()
        self._tick()

    def action_back(self) -> None:
        """Seek back by ``step`` seconds."""
        self.control.seek_by(-self.step)
        self._tick()

    def action_forward(self) -> None:
        """Seek forward by ``step`` seconds."""
        self.control.seek_by(self.step)
        self._tick()

    def action_next_alert(self) -> None:
        """Jump to the next alert."""
        self.control.next_alert()
        self._tick()

    def action_next_error(self) -> None:
        """Jump to the next error."""
        self.control.next_error()
        self._tick()
