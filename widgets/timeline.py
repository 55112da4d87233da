"""The timeline: what happened and what was done, in time order, filterable, with manual lines."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType

from opsconsole.store import IncidentBundle, TimelineEntry
from opsconsole.widgets.filtered_table import FilteredTable, filter_bindings
from opsconsole.widgets.incident import InvestigationPart, clock_time, one_line
from opsconsole.widgets.row_table import Column, Row

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


class WordsFilter:
    """Words that must all be in an entry's kind, text or command, whatever their case."""

    def __init__(self, words: list[str]) -> None:
        self.words = words
        """The words, case-folded."""
        self.text = " ".join(words)
        """The filter as it applies."""

    def matches(self, entry: TimelineEntry) -> bool:
        """True when every word is in the entry's kind, text or command."""
        haystack = f"{'note' if entry.manual else entry.kind} {entry.text} {entry.command or ''}"
        haystack = haystack.casefold()
        return all(word in haystack for word in self.words)


class TimelinePane(InvestigationPart, FilteredTable[TimelineEntry]):
    """The incident's timeline. ``m`` adds a manual entry, ``/`` filters (every word must
    match the kind, text or command; esc clears)."""

    HELP_GROUP: ClassVar[str] = "Timeline"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "manual", "Add entry", id="timeline.manual"),
        *filter_bindings("timeline"),
    ]

    DEFAULT_CSS = """
    TimelinePane {
        & > RowTable { height: 1fr; scrollbar-size-horizontal: 0; }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        """Create the pane.

        Args:
            id: The ID of the widget in the DOM.
            classes: The CSS classes of the widget.
        """
        super().__init__(
            COLUMNS, placeholder="words to match · enter keeps · esc clears", id=id, classes=classes
        )
        self._entries: tuple[TimelineEntry, ...] = ()
        self._rows: dict[int, Row] = {}
        """Each entry's row, by id (entries never change): a reload formats only new ones."""

    def show_bundle(self, bundle: IncidentBundle | None) -> None:
        self._entries = bundle.timeline if bundle else ()
        rows = self._rows
        self._rows = {e.id: rows.get(e.id) or timeline_row(e) for e in self._entries}
        self.show_rows()

    def show_rows(self) -> None:
        """Show the entries the filter keeps, and how many."""
        shown = self.filtered(self._entries)
        self.table.set_rows(self._rows[e.id] for e in shown)
        text = f"{len(shown)} of {len(self._entries)} entries"
        if self.row_filter is not None:
            text += f" matching {self.row_filter.text!r}"
        self.status_line.say(text + " · m adds an entry · / filters")

    def make_filter(self, text: str) -> WordsFilter | None:
        """The entries matching every word of ``text``; None when it has no words."""
        words = text.casefold().split()
        return WordsFilter(words) if words else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "manual":
            return self.incident_id is not None
        return super().check_action(action, parameters)

    def action_manual(self) -> None:
        """Write an entry into the timeline, at the current time."""
        if self.store is not None and self.incident_id is not None:
            store, incident = self.store, self.incident_id
            self.ask(
                "Timeline entry", lambda text: self.act(store.add_manual_entry, incident, text)
            )
