"""The sources pane: every data source, its state, why it is not live, and what it dropped."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable

from opsconsole.sources.events import Event, SourceHealth, SourceState, SourceStatus
from opsconsole.widgets.pane import EventPane

# Theme colour for each state; the upper-case state word carries the meaning without colour.
_STATE_COLOUR = {
    SourceState.STARTING: None,
    SourceState.LIVE: "success",
    SourceState.DEGRADED: "warning",
    SourceState.UNAVAILABLE: "error",
    SourceState.ENDED: None,
}

_COLUMNS = ("source", "state", "detail", "retry", "attempts", "dropped")


class SourcesPane(EventPane):
    """A table of the hub's sources: state, reason, next retry, failed attempts, dropped events.

    The table is updated in place; a source whose stream says it is degraded shows the reason
    it gave. "retry" counts down to the next attempt of an unavailable source.
    """

    fleet_events: ClassVar[bool] = True

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="sources.down"),
        Binding("k", "cursor_up", "Up", show=False, id="sources.up"),
    ]

    DEFAULT_CSS = """
    SourcesPane { height: 1fr; }
    SourcesPane > DataTable { height: 1fr; background: $surface; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._statuses: dict[str, SourceStatus] = {}
        self._degraded: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        table: DataTable[Text | str] = DataTable(cursor_type="row", zebra_stripes=True)
        for key in _COLUMNS:
            table.add_column(key.upper(), key=key)
        yield table

    def on_mount(self) -> None:
        # Retry countdowns move even when no event arrives.
        self.set_interval(1.0, self._tick)

    def collect(self, events: Sequence[Event]) -> bool:
        changed = False
        for event in events:
            if isinstance(event, SourceStatus):
                self._statuses[event.source] = event
                changed = True
            elif isinstance(event, SourceHealth):
                if event.degraded:
                    self._degraded[event.source] = event.degraded
                else:
                    self._degraded.pop(event.source, None)
                changed = True
        return changed

    def show(self) -> None:
        table = self.query_one(DataTable)
        now = time.time()
        for source, status in self._statuses.items():
            cells = self._cells(status, now)
            if source in table.rows:
                for key, value in zip(_COLUMNS, cells, strict=True):
                    table.update_cell(source, key, value)
            else:
                table.add_row(*cells, key=source)

    def _tick(self) -> None:
        # The retry countdown moves: redraw when it can be seen (a hidden view waits).
        if any(s.state is SourceState.UNAVAILABLE and s.retry_at for s in self._statuses.values()):
            self._stale = True
            self.show_if_due()

    def _cells(self, status: SourceStatus, now: float) -> tuple[Text | str, ...]:
        colour_name = _STATE_COLOUR[status.state]
        colour = getattr(self.app.current_theme, colour_name) if colour_name else None
        state = Text(status.state.value.upper(), style=f"bold {colour}" if colour else "dim")
        detail = status.reason or self._degraded.get(status.source, "")
        if not status.live:
            detail = f"replay  {detail}".rstrip()
        retry = ""
        if status.state is SourceState.UNAVAILABLE:
            retry = f"in {max(0.0, status.retry_at - now):.0f}s" if status.retry_at else "never"
        return (
            Text(status.source),
            state,
            Text(detail),
            retry,
            str(status.attempts),
            str(status.dropped),
        )

    def action_cursor_down(self) -> None:
        self.query_one(DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(DataTable).action_cursor_up()
