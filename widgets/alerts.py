"""The alerts pane: every alert, de-duplicated, with severity, age, repeats, ack and silence.

Also home of ``LinkTablePane``, the base of the MQTT-fed panes (alerts, fleet, topics): a status
line over a RowTable, where the status line says how the broker link is (live, unavailable and
why, what a flood made it drop), because a quiet pane must not look like a quiet fleet.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final, TypedDict, Unpack

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

from opsconsole.sources.events import Alert, Event, SourceHealth, SourceState, SourceStatus
from opsconsole.widgets.format import count, duration
from opsconsole.widgets.pane import EventPane
from opsconsole.widgets.row_table import Column, Row, RowTable

MAX_ALERTS: Final = 2000
"""Alerts kept at most; past it the oldest resolved, then the oldest, go first."""
SILENCE_SECONDS: Final = 3600.0
"""How long ``s`` silences an alert."""

_RANK: Final = {"critical": 0, "warning": 1, "info": 2}
_SHORT: Final = {"critical": "CRIT", "warning": "WARN", "info": "INFO"}

COLUMNS: Final = (
    Column("severity", "SEV", 4),
    Column("age", "AGE", 7, "right"),
    Column("count", "COUNT", 6, "right"),
    Column("state", "STATE", 8),
    Column("host", "HOST", 16),
    Column("summary", "SUMMARY", 300),
)


class LinkPaneOptions(TypedDict, total=False):
    """What every link-table pane is created with: see ``LinkTablePane``."""

    clock: Callable[[], float]
    id: str | None
    classes: str | None


class LinkTablePane(EventPane):
    """A status line over a RowTable, and the state of the sources whose ids start with
    ``link_prefixes`` (the broker link) for that line. Subclasses fill the table (``show``
    runs once mounted, then on every change and every five seconds for the ages)."""

    link_prefixes: ClassVar[tuple[str, ...]] = ()

    DEFAULT_CSS = """
    LinkTablePane {
        height: 1fr;
        layout: vertical;
        & > .status { height: 1; padding: 0 1; background: $panel; color: $foreground; }
        & > .status.-error { color: $error; text-style: bold; }
        & > .status.-warning { color: $warning; }
        & > RowTable { height: 1fr; scrollbar-size-horizontal: 0; }
    }
    """

    def __init__(
        self,
        columns: Iterable[Column],
        *,
        clock: Callable[[], float] = time.time,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create the pane.

        Args:
            columns: The table's columns, left to right.
            clock: Wall-clock time, for ages, last-seen times and silences (tests pass a
                fixed one).
            id: The ID of the widget in the DOM.
            classes: The CSS classes of the widget.
        """
        super().__init__(id=id, classes=classes)
        self.clock = clock
        """Wall-clock time."""
        self.table = RowTable(columns)
        self._status = Static(classes="status", markup=False)
        self._status_shown: tuple[str, str] | None = None
        self._links: dict[str, SourceStatus] = {}
        self._link_health: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield self._status
        yield self.table

    def on_mount(self) -> None:
        self.show()
        # Ages move without events; a hidden or frozen pane skips the redraw.
        self.set_interval(5.0, self._tick)

    def _tick(self) -> None:
        self._stale = True
        self.show_if_due()

    def collect_link(self, event: Event) -> bool:
        """Track the broker link's status from ``event``; True when it was such an event."""
        if not event.source.startswith(self.link_prefixes):
            return False
        if isinstance(event, SourceStatus):
            self._links[event.source] = event
            return True
        if isinstance(event, SourceHealth):
            if event.degraded:
                self._link_health[event.source] = event.degraded
            else:
                self._link_health.pop(event.source, None)
            return True
        return False

    def link_note(self) -> tuple[str, str]:
        """What the status line says about the link, and its class ("", -warning, -error)."""
        notes, level = [], ""
        for source, status in self._links.items():
            if status.state is SourceState.UNAVAILABLE:
                retry = status.retry_at
                when = (
                    f"retry in {max(0.0, retry - self.clock()):.0f}s"
                    if retry
                    else "not retrying: fix and restart"
                )
                notes.append(f"broker unavailable: {status.reason} ({when})")
                level = "-error"
            elif status.state is SourceState.STARTING:
                notes.append("connecting to the broker…")
            elif health := self._link_health.get(source):
                notes.append(health)
                level = level or "-warning"
            if status.dropped:
                notes.append(f"{count(status.dropped)} events dropped (console behind)")
                level = level or "-warning"
        return " · ".join(notes), level

    def set_status(self, text: str, level: str = "") -> None:
        """Show ``text`` on the status line, with the link's note after it."""
        note, link_level = self.link_note()
        text = f"{text} · {note}" if note else text
        level = link_level or level
        if self._status_shown != (text, level):
            self._status_shown = (text, level)
            self._status.update(Text(text, no_wrap=True, overflow="ellipsis"), layout=False)
            for name in ("-error", "-warning"):
                self._status.set_class(level == name, name)


@dataclass
class AlertEntry:
    """One de-duplicated alert: its latest occurrence, and what the engineer did with it."""

    alert: Alert
    first: float
    """When it was first seen (of this firing: a resolved alert that fires again starts anew)."""
    count: int = 1
    acked: bool = False
    silenced_until: float = 0.0

    def state(self, now: float) -> str:
        """resolved, silenced, acked or firing."""
        if self.alert.resolved:
            return "resolved"
        if self.silenced_until > now:
            return "silenced"
        return "acked" if self.acked else "firing"


def entry_key(alert: Alert) -> str:
    """The pane's key of an alert: its host and its own de-duplication key."""
    return f"{alert.host}\x1f{alert.key}"


class AlertsPane(LinkTablePane):
    """Alerts from MQTT and from the console's thresholds, one row per alert (de-duplicated by
    host and key), firing ones first by severity, then acknowledged, silenced and resolved.

    Keys: ``a`` acknowledges (again: un-acknowledges), ``s`` silences for an hour (again:
    lifts it), ``x`` clears resolved alerts; the table's keys move; enter posts ``Selected``.
    """

    HELP_GROUP: ClassVar[str] = "Alerts"
    link_prefixes = ("mqtt-alerts:",)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "acknowledge", "Acknowledge", id="alerts.acknowledge"),
        Binding("s", "silence", "Silence 1h", id="alerts.silence"),
        Binding("x", "clear_resolved", "Clear resolved", show=False, id="alerts.clear"),
    ]

    class Acknowledged(Message):
        """Posted when the engineer acknowledges an alert (or takes the ack back)."""

        def __init__(self, alert: Alert, acknowledged: bool) -> None:
            super().__init__()
            self.alert = alert
            """The alert as last seen."""
            self.acknowledged = acknowledged
            """True for an acknowledgement, False when it was taken back."""

    class Silenced(Message):
        """Posted when an alert is silenced (``until`` a time) or the silence lifted (None)."""

        def __init__(self, alert: Alert, until: float | None) -> None:
            super().__init__()
            self.alert = alert
            """The alert as last seen."""
            self.until = until
            """Wall-clock time the silence ends; None when lifted."""

    class Selected(Message):
        """Posted when enter is pressed on an alert: to pin it as evidence, say."""

        def __init__(self, alert: Alert, repeats: int) -> None:
            super().__init__()
            self.alert = alert
            """The alert as last seen."""
            self.repeats = repeats
            """How many times it arrived."""

    def __init__(self, **options: Unpack[LinkPaneOptions]) -> None:
        """Create the pane; ``options`` as for ``LinkTablePane``."""
        super().__init__(COLUMNS, **options)
        self.entries: dict[str, AlertEntry] = {}
        """Every alert kept, by ``entry_key``."""
        self._acked_before_reset: set[str] = set()
        """Keys the engineer had acknowledged when a replay started over: acked again."""

    def reset(self) -> None:
        self._acked_before_reset |= {key for key, entry in self.entries.items() if entry.acked}
        self.entries.clear()
        self._stale = True

    # -- the model --------------------------------------------------------------------------

    def collect(self, events: Sequence[Event]) -> bool:
        changed = False
        for event in events:
            if isinstance(event, Alert):
                self._add(event)
                changed = True
            elif self.collect_link(event):
                changed = True
        return changed

    def _add(self, alert: Alert) -> None:
        key = entry_key(alert)
        entry = self.entries.get(key)
        if entry is None:
            if len(self.entries) >= MAX_ALERTS:
                self._evict()
            acked = key in self._acked_before_reset
            self.entries[key] = AlertEntry(alert=alert, first=alert.ts, acked=acked)
            return
        if entry.alert.resolved and not alert.resolved:
            # Firing again after it resolved: a new episode, to be looked at again.
            entry.first, entry.acked = alert.ts, False
        entry.alert = alert
        entry.count += 1

    def _evict(self) -> None:
        oldest = min(
            self.entries.items(), key=lambda item: (not item[1].alert.resolved, item[1].alert.ts)
        )
        del self.entries[oldest[0]]

    # -- the display -------------------------------------------------------------------------

    def _order(self, now: float) -> list[tuple[str, AlertEntry]]:
        states = {"firing": 0, "acked": 1, "silenced": 2, "resolved": 3}
        return sorted(
            self.entries.items(),
            key=lambda item: (
                states[item[1].state(now)],
                _RANK[item[1].alert.severity],
                -item[1].alert.ts,
            ),
        )

    def show(self) -> None:
        now = self.clock()
        rows = []
        tally = {"critical": 0, "warning": 0, "info": 0}
        for key, entry in self._order(now):
            alert, state = entry.alert, entry.state(now)
            if state == "firing":
                tally[alert.severity] += 1
            rows.append(
                Row(
                    key,
                    (
                        "OK" if alert.resolved else _SHORT[alert.severity],
                        duration(now - entry.first),
                        count(entry.count),
                        state,
                        alert.host,
                        alert.summary,
                    ),
                    alarm=state == "firing" and alert.severity == "critical",
                )
            )
        self.table.set_rows(rows)
        if not self.entries:
            self.set_status("No alerts")
            return
        firing = sum(tally.values())
        parts = [f"{count(len(self.entries))} alerts", f"{count(firing)} firing"]
        parts += [f"{count(n)} {name}" for name, n in tally.items() if n and name != "info"]
        self.set_status(" · ".join(parts), "-error" if tally["critical"] else "")

    # -- actions -----------------------------------------------------------------------------

    @property
    def selected(self) -> AlertEntry | None:
        """The alert under the cursor."""
        key = self.table.cursor_key
        return self.entries.get(key) if key is not None else None

    def action_acknowledge(self) -> None:
        """Acknowledge the alert under the cursor, or take the acknowledgement back."""
        entry = self.selected
        if entry is None:
            return
        entry.acked = not entry.acked
        self.post_message(self.Acknowledged(entry.alert, entry.acked))
        self.show()

    def action_silence(self) -> None:
        """Silence the alert under the cursor for an hour, or lift its silence."""
        entry = self.selected
        if entry is None:
            return
        now = self.clock()
        silenced = entry.silenced_until > now
        entry.silenced_until = 0.0 if silenced else now + SILENCE_SECONDS
        self.post_message(self.Silenced(entry.alert, None if silenced else entry.silenced_until))
        self.show()

    def action_clear_resolved(self) -> None:
        """Forget the resolved alerts."""
        self.entries = {k: e for k, e in self.entries.items() if not e.alert.resolved}
        self.show()

    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        event.stop()
        entry = self.entries.get(event.key)
        if entry is not None:
            self.post_message(self.Selected(entry.alert, entry.count))
