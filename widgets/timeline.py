"""The timeline: what happened and what was done, in time order, filterable, with manual lines."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from opsconsole.store import IncidentBundle, TimelineEntry
from opsconsole.widgets.incident import InvestigationPart, clock_time, one_line
from opsconsole.widgets.row_table import Column, Row, RowTable

COLUMNS = (
    Column("time", "TIME", 8),
    Column("kind", "KIND", 9),
    Column("text", "WHAT", 70),
    Column("command", "COMMAND", 40),
)


def timeline_row(entry: TimelineEntry) -> Row:
    """How a timeline entry reads: manual lines show as ``note``, alerts as alarms."""
    return Row(
        str(entry.id),
        (
            clock_time(entry.ts),
            "note" if entry.manual else one_line(entry.kind),
            one_line(entry.text),
            one_line(entry.command or ""),
        ),
        alarm=entry.kind == "alert",
    )


def matches(entry: TimelineEntry, words: list[str]) -> bool:
    """True when every word of the filter is in the entry's kind, text or command."""
    haystack = f"{'note' if entry.manual else entry.kind} {entry.text} {entry.command or ''}"
    haystack = haystack.casefold()
    return all(word in haystack for word in words)


class TimelinePane(InvestigationPart):
    """The incident's timeline. ``m`` adds a manual entry, ``/`` filters (every word must
    match the kind, text or command; esc clears)."""

    HELP_GROUP: ClassVar[str] = "Timeline"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "manual", "Add entry", id="timeline.manual"),
        Binding("slash", "filter", "Filter", id="timeline.filter"),
        Binding("escape", "clear_filter", "Clear the filter", show=False, id="timeline.clear"),
    ]

    DEFAULT_CSS = """
    TimelinePane {
        layout: vertical;
        & > #timeline-status { height: 1; padding: 0 1; background: $panel; color: $foreground; }
        & > RowTable { height: 1fr; }
        & RowTable { scrollbar-size-horizontal: 0; }
        & > #timeline-filter { dock: bottom; display: none; border: none; height: 1; padding: 0 1; }
        & > #timeline-filter.-open { display: block; }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        """Create the pane.

        Args:
            id: The ID of the widget in the DOM.
            classes: The CSS classes of the widget.
        """
        super().__init__(id=id, classes=classes)
        self._entries: tuple[TimelineEntry, ...] = ()
        self._rows: dict[int, Row] = {}
        """Each entry's row, by id (entries never change): a reload formats only new ones."""
        self._words: list[str] = []
        self.table = RowTable(COLUMNS)
        self._status = Static(id="timeline-status", markup=False)
        self._input = Input(
            placeholder="words to match · enter keeps · esc clears", id="timeline-filter"
        )

    def compose(self) -> ComposeResult:
        yield self._status
        yield self.table
        yield self._input

    def show_bundle(self, bundle: IncidentBundle | None) -> None:
        self._entries = bundle.timeline if bundle else ()
        rows = self._rows
        self._rows = {e.id: rows.get(e.id) or timeline_row(e) for e in self._entries}
        self._refresh_rows()

    def _refresh_rows(self) -> None:
        shown = [e for e in self._entries if matches(e, self._words)]
        self.table.set_rows(self._rows[e.id] for e in shown)
        text = f"{len(shown)} of {len(self._entries)} entries"
        if self._words:
            text += f" matching {' '.join(self._words)!r}"
        self._status.update(text + " · m adds an entry · / filters")

    @property
    def filter_text(self) -> str:
        """The filter in force ("" for none)."""
        return " ".join(self._words)

    def set_filter(self, text: str) -> None:
        """Show only the entries matching every word of ``text``."""
        self._words = text.casefold().split()
        self._refresh_rows()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._input.remove_class("-open")
        self.table.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            return self._input.has_class("-open") or bool(self._words)
        if action == "manual":
            return self.incident_id is not None
        return True

    def action_filter(self) -> None:
        """Open the filter input."""
        self._input.value = self.filter_text
        self._input.add_class("-open")
        self._input.focus()

    def action_clear_filter(self) -> None:
        """Drop the filter and close its input."""
        self._input.value = ""
        self.set_filter("")
        self._input.remove_class("-open")
        self.table.focus()

    def action_manual(self) -> None:
        """Write an entry into the timeline, at the current time."""
        if self.store is not None and self.incident_id is not None:
            store, incident = self.store, self.incident_id
            self.ask(
                "Timeline entry", lambda text: self.act(store.add_manual_entry, incident, text)
            )
