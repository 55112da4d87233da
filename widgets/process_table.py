"""The process table: the busiest processes, sorted and filtered, updated in place.

Rebuilding a table every second is what makes other Textual consoles expensive; here each row
is keyed by pid and start time and drawn by a RowTable, which renders again only the rows whose
text changed. The cursor stays on its process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import ClassVar, Final, Literal

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive

from opsconsole.evidence import EvidenceDraft, draft_from_process
from opsconsole.sources.events import Event, ProcessRow, ProcessTable
from opsconsole.sources.text import safe_text
from opsconsole.widgets.filtered_table import FilteredTable, RegexFilter, filter_bindings
from opsconsole.widgets.format import count, number, size
from opsconsole.widgets.pane import EventPane
from opsconsole.widgets.row_table import Column, Row, RowTable

SortKey = Literal["cpu", "memory", "pid", "user", "command"]
"""What the rows can be sorted by; each is also the key of the column that shows it."""

COMMAND_LIMIT: Final = 256
"""Characters of a command line shown at most (left/right scroll to them); the rest is cut."""

# Fixed widths, so that a row's look never depends on the others: a tick redraws only the
# rows that changed.
COLUMNS: Final = (
    Column("pid", "PID", 7, "right"),
    Column("user", "USER", 9),
    Column("cpu", "CPU%", 6, "right"),
    Column("memory", "MEM%", 5, "right"),
    Column("rss", "RSS", 5, "right"),
    Column("state", "STATE", 5),
    Column("command", "COMMAND", COMMAND_LIMIT),
)
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
"""Uninterruptible sleep and zombies: alarm rows, they are what an on-call engineer looks for."""


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


def table_row(row: ProcessRow, key: str | None = None) -> Row:
    """The row that shows ``row`` (under ``key``, its ``row_key`` when known): its cells as
    plain text (never markup), D and Z alarming."""
    alarm = _STATE_CODES.get(row.state, row.state) in _ALARMING_STATES
    return Row(key or row_key(row), cell_values(row), alarm=alarm)


_SORT_VALUES: Final[dict[str, Callable[[ProcessRow], float | str | int]]] = {
    "cpu": lambda row: round(row.cpu_percent, 1),  # as the table shows it
    "memory": lambda row: float(row.rss),
    "user": lambda row: row.user.casefold(),
    "command": lambda row: (row.command or row.name).casefold(),
    "pid": lambda row: row.pid,
}
"""What each sort key orders a process by."""


def sort_rows(
    rows: Iterable[ProcessRow], key: SortKey, *, descending: bool, places: Mapping[str, int]
) -> list[tuple[str, ProcessRow]]:
    """``rows`` sorted by ``key``, each with its ``row_key``; rows that tie keep the order of
    ``places`` (where each was shown), and rows new to the table follow them by pid.

    An idle process's CPU% flickers between 0.0 and 1.0 each tick; ordered by pid among equals
    it jumped between the top and its pid's place every second, moving every row in between
    (about 25 lines repainted a second on a quiet host). Held in place, it repaints one cell.
    """
    unplaced, sign = len(places), -1 if descending else 1
    keyed = [(row_key(row), row) for row in rows]  # once: the key formats a float
    keyed.sort(key=lambda item: (places.get(item[0], unplaced), sign * item[1].pid))
    # Python's sort is stable, reverse included: equal keys keep the order made above.
    value = _SORT_VALUES[key]
    keyed.sort(key=lambda item: value(item[1]), reverse=descending)
    return keyed


class ProcessFilter(RegexFilter):
    """A case-insensitive regular expression over pid, user, name and command; ``!`` inverts.

    A plain word is a substring search. An invalid expression raises ``re.error``.
    """

    def matches(self, row: ProcessRow) -> bool:
        """True when ``row`` is shown under this filter."""
        return self.found((str(row.pid), row.user, row.name, row.command))


class ProcessTablePane(EventPane, FilteredTable[ProcessRow]):
    """A table of the busiest processes: PID, USER, CPU%, MEM%, RSS, STATE, COMMAND.

    Keys (when the table has focus): ``c`` CPU, ``m`` memory, ``p`` pid, ``u`` user, ``n``
    command sort, ``r`` reverses; ``/`` filters by regular expression (``!`` inverts; esc
    clears); the table's keys move the cursor (``j``/``k``, ``g``/``G`` like vim) and scroll
    long command lines (left/right, home/end); enter posts ``Selected`` with the process.

    The cursor stays on its process while the rows move under it; a cursor left on the first
    row stays on top, so that a glance (and ``g``) shows the busiest. Processes in
    uninterruptible sleep (D) and zombies (Z) are alarm rows.
    """

    HELP_GROUP: ClassVar[str] = "Processes"

    BINDINGS: ClassVar[list[BindingType]] = [
        *filter_bindings("processes"),
        # Capitals, as htop and k9s sort: plain letters stay free for the console's own keys.
        Binding("C", "sort('cpu')", "Sort by CPU", show=False, id="processes.sort_cpu"),
        Binding("M", "sort('memory')", "Sort by memory", show=False, id="processes.sort_memory"),
        Binding("P", "sort('pid')", "Sort by PID", show=False, id="processes.sort_pid"),
        Binding("U", "sort('user')", "Sort by user", show=False, id="processes.sort_user"),
        Binding("N", "sort('command')", "Sort by command", show=False, id="processes.sort_command"),
        Binding("I", "reverse", "Invert the sort", show=False, id="processes.reverse"),
    ]

    DEFAULT_CSS = """
    ProcessTablePane {
        height: 1fr;
        & > RowTable { height: 1fr; scrollbar-size-horizontal: 0; }
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
        super().__init__(
            COLUMNS,
            placeholder="regex on pid, user, command (!x excludes) · enter keeps · esc clears",
            id=id,
            classes=classes,
        )
        self._latest: ProcessTable | None = None
        self._shown: ProcessTable | None = None
        self._processes: dict[str, tuple[ProcessRow, Row]] = {}
        """Each process in the table and the row that shows it, by row key."""

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
        self.show_rows()

    # -- evidence (the app's p) -----------------------------------------------------------

    def pin_selection(self) -> EvidenceDraft | None:
        """The process under the cursor, as evidence; None when the table is empty."""
        shown, key = self._shown, self.table.cursor_key
        row = next((r for r in self.shown_rows if row_key(r) == key), None)
        if row is None or shown is None:
            return None
        return draft_from_process(
            row, host=shown.host, ts=shown.ts, source=shown.source, pane=self.id or "processes"
        )

    def jump_to(self, locator: Mapping[str, str]) -> bool:
        """Put the cursor on the pinned process; False when it is no longer listed."""
        for index, row in enumerate(self.shown_rows):
            if str(row.pid) == locator.get("pid"):
                self.table.cursor_row = index
                return True
        return False

    @property
    def shown_rows(self) -> list[ProcessRow]:
        """The processes in the table, in the order shown."""
        return [row for _, row in self._sorted_rows()]

    def _sorted_rows(self) -> list[tuple[str, ProcessRow]]:
        places = {key: place for place, key in enumerate(self._processes)}
        return sort_rows(
            self.filtered(self._shown.rows if self._shown else ()),
            self.sort_key,
            descending=self._descending,
            places=places,
        )

    def show_rows(self) -> None:
        """Give the table ``shown_rows``, formatting only the processes that changed."""
        before = self._processes
        shown: dict[str, tuple[ProcessRow, Row]] = {}
        for key, process in self._sorted_rows():
            old = before.get(key)
            # Equal structs show equal text: most of a tick's processes are not formatted again.
            shown[key] = (
                old if old is not None and old[0] == process else (process, table_row(process, key))
            )
        self._processes = shown
        self.table.set_rows(row for _, row in shown.values())
        self._show_status()

    def _show_status(self) -> None:
        shown, problem = self._shown, self.filter_problem
        if problem is not None:
            text = problem
        elif shown is None:
            text = "Waiting for the process list…"
        else:
            text = f"{count(self.table.row_count)} of {count(shown.total)} processes"
            if self.row_filter is not None:
                text += f" matching /{self.row_filter.text}/"
            if shown.running:
                text += f" · {count(shown.running)} running"
            if shown.denied:
                text += f" · {count(shown.denied)} not readable"
        self.status_line.say(text, error=problem is not None)

    def _show_headers(self) -> None:
        arrow = "▼" if self._descending else "▲"
        self.table.columns = [
            column._replace(label=column.label + arrow) if column.key == self.sort_key else column
            for column in COLUMNS
        ]

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
            self.show_rows()

    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        event.stop()
        shown = self._processes.get(event.key)
        if shown is not None:
            self.post_message(self.Selected(self, shown[0]))

    # -- filter ---------------------------------------------------------------------------

    def make_filter(self, text: str) -> ProcessFilter | None:
        """The filter ``text`` means (see ``ProcessFilter``); None for empty text."""
        return ProcessFilter(text) if text else None

    # -- actions --------------------------------------------------------------------------

    def action_sort(self, key: SortKey) -> None:
        """Sort by ``key`` in its natural order."""
        self.sort_reverse = False
        self.sort_key = key

    def action_reverse(self) -> None:
        """Reverse the order of the sort."""
        self.sort_reverse = not self.sort_reverse
