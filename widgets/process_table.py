"""The process table: the busiest processes, sorted and filtered, updated in place.

Rebuilding a DataTable every second is what makes other Textual consoles expensive; here each
row is keyed by pid and start time, and an update touches only the cells that changed, adds
the processes that appeared and removes those that exited. The cursor stays on its process.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar, Final, Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Input, Static
from textual.widgets.data_table import ColumnKey

from opsconsole.sources.events import Event, ProcessRow, ProcessTable
from opsconsole.sources.text import safe_text
from opsconsole.widgets.format import count, number, size
from opsconsole.widgets.pane import EventPane

SortKey = Literal["cpu", "memory", "pid", "user", "command"]
"""What the rows can be sorted by; each is also the key of the column that shows it."""

COMMAND_LIMIT: Final = 256
"""Characters of a command line shown at most (left/right scroll to them); the rest is cut."""

# (key, header, width). Every width is fixed: DataTable caches rendered cells without their
# width, so a column that grows with its content can leave a stale, truncated cell on screen.
COLUMNS: Final = (
    ("pid", "PID", 7),
    ("user", "USER", 9),
    ("cpu", "CPU%", 6),
    ("memory", "MEM%", 5),
    ("rss", "RSS", 5),
    ("state", "STATE", 5),
    ("command", "COMMAND", COMMAND_LIMIT),
)
_NUMERIC: Final = frozenset({"pid", "cpu", "memory", "rss"})
_DESCENDING: Final = frozenset({"cpu", "memory"})
"""Sort keys whose natural order is biggest first."""

# psutil's state names as the one-letter codes of ps and top, which on-call engineers read.
_STATE_CODES: Final = {
    "running": "R",
    "sleeping": "S",
    "disk-sleep": "D",
    "stopped": "T",
    "tracing-stop": "t",
    "zombie": "Z",
    "dead": "X",
    "wake-kill": "K",
    "waking": "W",
    "parked": "P",
    "idle": "I",
    "locked": "L",
    "waiting": "W",
}
_ALARMING_STATES: Final = frozenset({"D", "Z"})
"""Uninterruptible sleep and zombies: shown bold, they are what an on-call engineer looks for."""


def row_key(row: ProcessRow) -> str:
    """The table key of a process: its pid and start time, so a reused pid is a new row."""
    return f"{row.pid}@{row.started!r}"


def _safe(text: str) -> str:
    return safe_text(text[:COMMAND_LIMIT])


def cell_values(row: ProcessRow) -> tuple[str, ...]:
    """The text of each column for ``row``, in ``COLUMNS`` order."""
    state = _STATE_CODES.get(row.state, row.state)
    command = row.command or f"[{row.name}]"  # a kernel thread has no command line, as in ps
    return (
        str(row.pid),
        _safe(row.user),
        number(row.cpu_percent, 1),
        number(row.mem_percent, 1),
        size(row.rss),
        _safe(state),
        _safe(command),
    )


def _cell(column: str, value: str) -> Text:
    # A Text, never a markup string: "[red]" in a command line is shown as typed.
    if column in _NUMERIC:
        return Text(value, justify="right", no_wrap=True)
    if column == "state" and value in _ALARMING_STATES:
        return Text(value, style="bold", no_wrap=True)
    return Text(value, no_wrap=True, overflow="ellipsis")


def _header(column: str, label: str, style: str = "") -> Text:
    return Text(label, justify="right" if column in _NUMERIC else "left", style=style)


def _sort_value(key: SortKey, row: ProcessRow) -> tuple[float | str, int]:
    """Sort value with the pid as tie-breaker, so equal rows keep a stable order."""
    if key == "cpu":
        return (row.cpu_percent, row.pid)
    if key == "memory":
        return (float(row.rss), row.pid)
    if key == "user":
        return (row.user.casefold(), row.pid)
    if key == "command":
        return ((row.command or row.name).casefold(), row.pid)
    return (0.0, row.pid)


class ProcessFilter:
    """A case-insensitive regular expression over pid, user, name and command; ``!`` inverts.

    A plain word is a substring search. An invalid expression raises ``re.error``.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.invert = text.startswith("!")
        self.pattern = re.compile(text[1:] if self.invert else text, re.IGNORECASE)

    def matches(self, row: ProcessRow) -> bool:
        """True when ``row`` is shown under this filter."""
        search = self.pattern.search
        found = bool(
            search(str(row.pid)) or search(row.user) or search(row.name) or search(row.command)
        )
        return found != self.invert


class ProcessTablePane(EventPane):
    """A table of the busiest processes: PID, USER, CPU%, MEM%, RSS, STATE, COMMAND.

    Keys (when the table has focus): ``c`` CPU, ``m`` memory, ``p`` pid, ``u`` user, ``n``
    command sort, ``r`` reverses; ``/`` filters by regular expression (``!`` inverts; esc
    clears); ``j``/``k``, ``g``/``G`` move like vim; left/right scroll long command lines;
    enter posts ``Selected`` with the process.

    The cursor stays on its process while the rows move under it; a cursor left on the first
    row stays on top, so that a glance (and ``g``) shows the busiest.
    """

    HELP_GROUP: ClassVar[str] = "Processes"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="processes.filter"),
        Binding("c", "sort('cpu')", "Sort by CPU", show=False, id="processes.sort_cpu"),
        Binding("m", "sort('memory')", "Sort by memory", show=False, id="processes.sort_memory"),
        Binding("p", "sort('pid')", "Sort by PID", show=False, id="processes.sort_pid"),
        Binding("u", "sort('user')", "Sort by user", show=False, id="processes.sort_user"),
        Binding("n", "sort('command')", "Sort by command", show=False, id="processes.sort_command"),
        Binding("r", "reverse", "Reverse the sort", show=False, id="processes.reverse"),
        Binding("escape", "clear_filter", "Clear the filter", show=False, id="processes.clear"),
        Binding("j", "cursor('down')", "Down", show=False, id="processes.down"),
        Binding("k", "cursor('up')", "Up", show=False, id="processes.up"),
        Binding("g", "cursor('top')", "First process", show=False, id="processes.top"),
        Binding("G", "cursor('bottom')", "Last process", show=False, id="processes.bottom"),
    ]

    DEFAULT_CSS = """
    ProcessTablePane {
        height: 1fr;
        layout: vertical;
        & > #status { height: 1; padding: 0 1; background: $panel; color: $foreground; }
        & > #status.-error { color: $error; text-style: bold; }
        & > DataTable { height: 1fr; background: $surface; scrollbar-size-horizontal: 0; }
        & > #filter { dock: bottom; display: none; border: none; height: 1; padding: 0 1; }
        & > #filter.-open { display: block; }
    }
    """

    class Selected(Message):
        """Posted when enter is pressed on a process: for actions and evidence to act on."""

        def __init__(self, pane: ProcessTablePane, process: ProcessRow) -> None:
            super().__init__()
            self.pane = pane
            """The pane the process was selected in."""
            self.process = process
            """The process as the table showed it."""

        @property
        def control(self) -> ProcessTablePane:
            """The pane the process was selected in."""
            return self.pane

    sort_key: reactive[SortKey] = reactive[SortKey]("cpu")
    """Column the rows are sorted by."""
    sort_reverse: reactive[bool] = reactive(False)
    """True to reverse the sort key's natural order (biggest first for CPU and memory)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        """Create the pane.

        Args:
            id: The ID of the widget in the DOM.
            classes: The CSS classes of the widget.
        """
        super().__init__(id=id, classes=classes)
        self._latest: ProcessTable | None = None
        self._shown: ProcessTable | None = None
        self._filter: ProcessFilter | None = None
        self._filter_error: str | None = None
        self._followed: str | None = None
        """Key of the process the cursor followed at the last update."""
        self._cells: dict[str, tuple[str, ...]] = {}
        """Text of each row's cells as last put in the table, by row key."""
        self._processes: dict[str, ProcessRow] = {}
        """The process of each row in the table, by row key."""
        self._table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True)
        self._status = Static(id="status", markup=False)
        self._input = Input(
            placeholder="regex on pid, user, command (!x excludes) · enter keeps · esc clears",
            id="filter",
        )

    def compose(self) -> ComposeResult:
        for key, header, width in COLUMNS:
            self._table.add_column(_header(key, header), width=width, key=key)
        yield self._status
        yield self._table
        yield self._input

    def on_mount(self) -> None:
        self._show_headers()
        self._show_status()

    # -- the model and the display --------------------------------------------------------

    def collect(self, events: Sequence[Event]) -> bool:
        latest = self._latest
        for event in events:
            if isinstance(event, ProcessTable):
                latest = event
        changed = latest is not self._latest
        self._latest = latest
        return changed

    def show(self) -> None:
        self._shown = self._latest
        self._refresh_rows()

    @property
    def shown_rows(self) -> list[ProcessRow]:
        """The processes in the table, in the order shown."""
        rows = self._shown.rows if self._shown else ()
        if self._filter is not None:
            rows = tuple(row for row in rows if self._filter.matches(row))
        key = self.sort_key
        return sorted(rows, key=lambda row: _sort_value(key, row), reverse=self._descending)

    def _refresh_rows(self) -> None:
        """Bring the table to ``shown_rows`` with as few changes as possible."""
        table = self._table
        follow = self._followed_key()
        rows = self.shown_rows
        wanted = {row_key(row): row for row in rows}
        for key in self._cells.keys() - wanted.keys():
            table.remove_row(key)
            del self._cells[key]
        for key, row in wanted.items():
            values = cell_values(row)
            old = self._cells.get(key)
            if old is None:
                table.add_row(
                    *(_cell(c, v) for (c, _, _), v in zip(COLUMNS, values, strict=True)), key=key
                )
            elif old != values:
                for (column, _, _), before, after in zip(COLUMNS, old, values, strict=True):
                    if before != after:
                        table.update_cell(key, column, _cell(column, after))
            self._cells[key] = values
        order = list(wanted)
        if [row.key.value for row in table.ordered_rows] != order:
            # Every pid is in the table once, so the pid cell identifies the row to sort.
            rank = {str(row.pid): index for index, row in enumerate(rows)}
            table.sort("pid", key=lambda cell: rank[cell.plain])
        self._processes = wanted
        self._followed = follow if follow in wanted else None
        if follow in wanted:
            table.move_cursor(row=order.index(follow), animate=False)
        self._show_status()

    def _followed_key(self) -> str | None:
        """Key of the process the cursor stays on, or None to leave the cursor where it is.

        A cursor on the first row stays on top (the busiest, whoever that is) unless it got
        there by following its process.
        """
        table = self._table
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if table.cursor_row == 0 and key != self._followed:
            return None
        return key

    def _show_status(self) -> None:
        shown = self._shown
        status = Text(no_wrap=True, overflow="ellipsis")
        if self._filter_error is not None:
            kept = f"kept /{self._filter.text}/" if self._filter else "showing all"
            status.append(f"invalid regex ({kept}): {self._filter_error}")
        elif shown is None:
            status.append("Waiting for the process list…")
        else:
            status.append(f"{count(self._table.row_count)} of {count(shown.total)} processes")
            if self._filter is not None:
                status.append(f" matching /{self._filter.text}/")
            if shown.running:
                status.append(f" · {count(shown.running)} running")
            if shown.denied:
                status.append(f" · {count(shown.denied)} not readable")
        self._status.update(status)
        self._status.set_class(self._filter_error is not None, "-error")

    def _show_headers(self) -> None:
        arrow = "▼" if self._descending else "▲"
        for key, header, _ in COLUMNS:
            if key == self.sort_key:
                label = _header(key, f"{header}{arrow}", style="bold")
            else:
                label = _header(key, header)
            self._table.columns[ColumnKey(key)].label = label
        self._table.refresh()

    @property
    def _descending(self) -> bool:
        return (self.sort_key in _DESCENDING) != self.sort_reverse

    def watch_sort_key(self) -> None:
        self._resort()

    def watch_sort_reverse(self) -> None:
        self._resort()

    def _resort(self) -> None:
        if self.is_mounted:
            self._show_headers()
            self._refresh_rows()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        process = self._processes.get(event.row_key.value or "")
        if process is not None:
            self.post_message(self.Selected(self, process))

    # -- filter ---------------------------------------------------------------------------

    def set_filter(self, text: str) -> bool:
        """Filter the rows by ``text`` (see ``ProcessFilter``); empty shows all.

        An invalid expression leaves the previous filter in place, shows why, and returns
        False.
        """
        try:
            new_filter = ProcessFilter(text) if text else None
        except re.error as exc:
            self._filter_error = str(exc)
            self._show_status()
            return False
        self._filter, self._filter_error = new_filter, None
        self._refresh_rows()
        return True

    @property
    def filter_text(self) -> str:
        """The filter in force ("" for none)."""
        return self._filter.text if self._filter else ""

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.set_filter(event.value):
            self._close_filter()

    def _close_filter(self) -> None:
        self._input.remove_class("-open")
        self._table.focus()

    # -- actions --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            # Let esc go on to the app when there is nothing here to clear.
            return self._input.has_class("-open") or self._filter is not None
        return True

    def action_filter(self) -> None:
        """Open the filter input, holding the filter in force."""
        self._input.value = self.filter_text
        self._input.add_class("-open")
        self._input.focus()

    def action_clear_filter(self) -> None:
        """Drop the filter and close its input."""
        self._input.value = ""
        self.set_filter("")
        self._close_filter()

    def action_sort(self, key: SortKey) -> None:
        """Sort by ``key`` in its natural order."""
        self.sort_reverse = False
        self.sort_key = key

    def action_reverse(self) -> None:
        """Reverse the order of the sort."""
        self.sort_reverse = not self.sort_reverse

    def action_cursor(self, where: Literal["up", "down", "top", "bottom"]) -> None:
        """Move the cursor like vim's j, k, g and G."""
        table = self._table
        if where == "up":
            table.action_cursor_up()
        elif where == "down":
            table.action_cursor_down()
        else:
            table.move_cursor(row=0 if where == "top" else table.row_count - 1)
