"""The patterns pane: a million log lines as the few templates they come from.

Lines go into a ``PatternGrouper`` (headless, in ``opsconsole.sources.log_patterns``) as they
arrive; the table shows each pattern's template, count, worst level, first and last seen, and a
sparkline of its lines per minute, most frequent first. Patterns first seen after a chosen moment
(a deploy, an alert, or ``m`` for "now") are marked new. Enter on a pattern posts
``PatternSelected`` with a regex the log view can filter by.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import ClassVar, Final

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from opsconsole.sources.base import BUNDLE_LOGS_PREFIX
from opsconsole.sources.events import Event, LogLines
from opsconsole.sources.log_levels import Level, detect_level
from opsconsole.sources.log_patterns import Pattern, PatternGrouper
from opsconsole.sources.text import safe_text
from opsconsole.widgets.format import count
from opsconsole.widgets.metric import spark_rows
from opsconsole.widgets.pane import EventPane
from opsconsole.widgets.row_table import Column, Row, RowTable

SPARK_MINUTES: Final = 15
"""Minutes of rate each sparkline shows, one column a minute."""
MAX_ROWS: Final = 500
"""Patterns shown at most, the most frequent first (the grouper keeps more)."""
TEMPLATE_LIMIT: Final = 400
"""Characters of a template shown (left/right scroll to them)."""

COLUMNS: Final = (
    Column("new", "NEW", 3),
    Column("count", "COUNT", 8, "right"),
    Column("level", "LEVEL", 5),
    Column("first", "FIRST", 8),
    Column("last", "LAST", 8),
    Column("rate", "PER MIN", SPARK_MINUTES),
    Column("template", "TEMPLATE", TEMPLATE_LIMIT),
)
_LEVEL_NAMES: Final = {
    level: None if level is Level.NONE else level.name.lower() for level in Level
}
"""The log view's levels by the names the grouper knows (``warn`` is read as ``warning``)."""
_ALARMING: Final = frozenset({"error", "critical", "fatal"})
_LEVEL_LABELS: Final = {
    "trace": "TRACE",
    "debug": "DEBUG",
    "info": "INFO",
    "notice": "NOTE",
    "warning": "WARN",
    "error": "ERROR",
    "critical": "CRIT",
    "fatal": "FATAL",
}


def clock(ts: float) -> str:
    """``ts`` as ``HH:MM:SS`` in UTC (the header of the pane says UTC)."""
    return time.strftime("%H:%M:%S", time.gmtime(ts))


class PatternsPane(EventPane):
    """A table of log patterns: NEW, COUNT, LEVEL, FIRST, LAST (UTC), PER MIN, TEMPLATE.

    Feed it with ``add_lines`` (``LogLines`` events or plain strings), or let the app hand it
    events: it collects every ``LogLines``. Keys: ``m`` marks now as the moment after which
    patterns are new (``set_moment`` does it for a deploy or an alert), ``n`` shows only the
    new ones; the table's keys move the cursor; enter posts ``PatternSelected``. Error
    patterns and new ones are alarm rows.
    """

    HELP_GROUP: ClassVar[str] = "Patterns"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "mark_moment", "Mark now: later patterns are new", id="patterns.mark"),
        Binding("n", "toggle_new_only", "Only new patterns", id="patterns.new_only"),
    ]

    DEFAULT_CSS = """
    PatternsPane {
        height: 1fr;
        layout: vertical;
        & > #status { height: 1; padding: 0 1; background: $panel; color: $foreground; }
        & > RowTable { height: 1fr; scrollbar-size-horizontal: 0; }
    }
    """

    class PatternSelected(Message):
        """Posted when enter is pressed on a pattern: filter the log view by ``regex``."""

        def __init__(self, pane: PatternsPane, pattern: Pattern) -> None:
            super().__init__()
            self.pane = pane
            """The pane the pattern was selected in."""
            self.pattern_id = pattern.id
            """The pattern's id in the pane's grouper."""
            self.template = pattern.template
            """The template as text; ``<*>`` where lines differ (not yet made safe)."""
            self.regex: re.Pattern[str] = pattern.regex()
            """Matches the lines of the pattern (``regex.search(line)``): the log view's filter."""

        @property
        def control(self) -> PatternsPane:
            """The pane the pattern was selected in."""
            return self.pane

    moment: reactive[float | None] = reactive[float | None](None)
    """Patterns first seen after this time (seconds since the epoch) are new; None: none are."""

    new_only: reactive[bool] = reactive(False)
    """Show only the patterns first seen after ``moment``."""

    def __init__(
        self,
        *,
        grouper: PatternGrouper | None = None,
        now: Callable[[], float] = time.time,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create the pane.

        Args:
            grouper: The grouper to fill (a new one with the default settings when None).
            now: The clock for ``m`` and for lines without a time of their own.
            id: The ID of the widget in the DOM.
            classes: The CSS classes of the widget.
        """
        super().__init__(id=id, classes=classes)
        self.grouper = grouper or PatternGrouper()
        """Where the lines go: read it for the patterns, their counts and rates."""
        self._now = now
        self._lock = threading.Lock()
        """Held while the grouper changes or is read: lines may come from a worker thread."""
        self._latest = 0.0
        """Time of the newest line, the right end of every sparkline."""
        self._kept: list[LogLines] = []
        """Batches a replay starting over does not give again (a bundle's log files)."""
        self._table = RowTable(COLUMNS)
        self._status = Static(id="status", markup=False)

    def compose(self) -> ComposeResult:
        yield self._status
        yield self._table

    def on_mount(self) -> None:
        self.show()

    # -- feeding ----------------------------------------------------------------------------

    def add_lines(self, batch: LogLines | Sequence[str], ts: float | None = None) -> int:
        """Group a batch of lines: a ``LogLines`` event, or strings seen at ``ts`` (now if None).

        Call it on the UI thread (``add_lines_from_thread`` from a worker). Returns how many
        lines were added; the table follows at once if it is shown.
        """
        added = self._group(batch, ts)
        if added:
            self._stale = True
            self.show_if_due()
        return added

    def add_lines_from_thread(
        self, batch: LogLines | Sequence[str], ts: float | None = None
    ) -> int:
        """``add_lines`` from a worker thread: a backfill of a big file groups off the UI thread
        (about 5 microseconds a line), and the table is told on the UI thread."""
        added = self._group(batch, ts)
        if added:
            self.app.call_from_thread(self._regrouped)
        return added

    def _regrouped(self) -> None:
        self._stale = True
        self.show_if_due()

    def _group(self, batch: LogLines | Sequence[str], ts: float | None) -> int:
        if isinstance(batch, LogLines):
            stamped = [
                (line.text, batch.ts if line.ts is None else line.ts) for line in batch.lines
            ]
        else:
            stamp = self._now() if ts is None else ts
            stamped = [(text, stamp) for text in batch]
        add = self.grouper.add
        previous = Level.NONE
        with self._lock:
            latest = self._latest
            for text, stamp in stamped:
                # The log view's own reading of levels, so that both panes agree; a stack
                # frame after an error is part of it.
                previous = detect_level(text, previous)
                add(text, stamp, _LEVEL_NAMES[previous])
                latest = max(latest, stamp)
            self._latest = latest
        return len(stamped)

    def collect(self, events: Sequence[Event]) -> bool:
        added = 0
        for event in events:
            if isinstance(event, LogLines):
                added += self._group(event, None)
                if event.source.startswith(BUNDLE_LOGS_PREFIX):
                    self._kept.append(event)
        return added > 0

    def reset(self) -> None:
        with self._lock:
            self.grouper = PatternGrouper(self.grouper.config)
            self._latest = 0.0
        # A bundle's log files are not given again: their lines are grouped anew.
        for batch in self._kept:
            self._group(batch, None)
        self._stale = True

    def set_moment(self, moment: float | None) -> None:
        """Mark patterns first seen after ``moment`` as new (None: none are)."""
        self.moment = moment

    def action_mark_moment(self) -> None:
        """Mark now: patterns first seen from here on are new."""
        self.moment = self._now()

    def action_toggle_new_only(self) -> None:
        """Show only the new patterns, or all of them again."""
        self.new_only = not self.new_only

    def watch_moment(self) -> None:
        if self.is_mounted:
            self.show()

    def watch_new_only(self) -> None:
        if self.is_mounted:
            self.show()

    # -- showing ----------------------------------------------------------------------------

    def _is_new(self, pattern: Pattern) -> bool:
        return self.moment is not None and pattern.first_seen > self.moment

    def _row(self, pattern: Pattern) -> Row:
        new = self._is_new(pattern)
        rate = pattern.rate(self._latest, SPARK_MINUTES)
        spark = spark_rows(rate, max(rate) or 1)[0]
        level = pattern.level
        cells = (
            "new" if new else "",
            count(pattern.count),
            _LEVEL_LABELS.get(level, "") if level else "",
            clock(pattern.first_seen),
            clock(pattern.last_seen),
            spark,
            safe_text(pattern.template[:TEMPLATE_LIMIT]),
        )
        return Row(str(pattern.id), cells, alarm=new or level in _ALARMING)

    def shown_patterns(self) -> list[Pattern]:
        """The patterns in the table, most frequent first (first seen first among equals)."""
        patterns = self.grouper.patterns
        if self.new_only:
            patterns = [pattern for pattern in patterns if self._is_new(pattern)]
        patterns.sort(key=lambda p: (-p.count, p.first_seen, p.id))
        return patterns[:MAX_ROWS]

    def show(self) -> None:
        with self._lock:
            self._show()

    def _show(self) -> None:
        shown = self.shown_patterns()
        self._table.set_rows(self._row(pattern) for pattern in shown)
        grouper = self.grouper
        new = sum(1 for pattern in grouper.patterns if self._is_new(pattern))
        text = f"{count(grouper.lines)} lines · {count(len(grouper))} patterns (UTC)"
        if self.moment is not None:
            text += f" · {new} new since {clock(self.moment)}"
        if self.new_only:
            text += " · showing new only (n: all)"
        if grouper.evicted:
            text += f" · {count(grouper.evicted)} dropped at the cap"
        self._status.update(text)

    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        event.stop()
        with self._lock:
            pattern = self.grouper.get(int(event.key))
            message = None if pattern is None else self.PatternSelected(self, pattern)
        if message is not None:
            self.post_message(message)
