"""The fleet view: every host seen, its state, its worst alert and its key figures.

Fed by the fleet source (agents over MQTT) and by the console's own host; one row per host,
offline hosts and conflicts marked. Enter on a host posts ``HostSelected`` so the app can show
that host's panes, fed from the broker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Final, Unpack

from textual.message import Message

from opsconsole.sources.events import (
    Alert,
    ContainerList,
    Event,
    HostPresence,
    HostSample,
    SourceHealth,
    SourceStatus,
)
from opsconsole.widgets.alerts import LinkPaneOptions, LinkTablePane
from opsconsole.widgets.format import count, duration, number, percent
from opsconsole.widgets.row_table import Column, Row, RowTable

MAX_HOSTS: Final = 2000
"""Hosts kept at most; past it the one heard from longest ago goes."""
MAX_ALERTS_PER_HOST: Final = 256

COLUMNS: Final = (
    Column("host", "HOST", 20),
    Column("state", "STATE", 8),
    Column("alert", "ALERT", 5),
    Column("cpu", "CPU%", 6, "right"),
    Column("memory", "MEM%", 6, "right"),
    Column("load", "LOAD", 6, "right"),
    Column("disk", "DISK%", 6, "right"),
    Column("containers", "CTRS", 7, "right"),
    Column("seen", "SEEN", 7, "right"),
    Column("note", "NOTE", 120),
)

_RANK: Final = {"critical": 0, "warning": 1, "info": 2}
_SHORT: Final = {"critical": "CRIT", "warning": "WARN", "info": "INFO"}


@dataclass
class FleetHost:
    """What the fleet view knows of one host."""

    name: str
    local: bool = False
    """The console's own host (its events come from local sources)."""
    online: bool | None = None
    """None until a presence says; an agent's events imply it is online."""
    conflict: str | None = None
    sample: HostSample | None = None
    alerts: dict[str, str] = field(default_factory=dict)
    """Severity of each firing alert, by key."""
    containers: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Running and total containers per engine."""
    seen: float = 0.0

    @property
    def state(self) -> str:
        """CONFLICT, offline, online, local or ? (nothing said yet)."""
        if self.conflict:
            return "CONFLICT"
        if self.online is False:
            return "offline"
        if self.local:
            return "local"
        return "online" if self.online else "?"

    @property
    def worst(self) -> str | None:
        """The severity of the worst firing alert."""
        return min(self.alerts.values(), key=_RANK.__getitem__, default=None)


class FleetPane(LinkTablePane):
    """One row per host: state (online, offline, CONFLICT, local), worst firing alert, CPU,
    memory, load per core, fullest disk, running/total containers, and when last heard of.

    Hosts in conflict, offline or with a critical alert are alarm rows and sort first. Enter
    (the table's select key) posts ``HostSelected``.
    """

    fleet_events: ClassVar[bool] = True

    HELP_GROUP: ClassVar[str] = "Fleet"
    link_prefixes = ("fleet:mqtt",)

    class HostSelected(Message):
        """Posted when a host is chosen: the app shows that host's panes."""

        def __init__(self, host: str, local: bool) -> None:
            super().__init__()
            self.host = host
            """The host's name (as its events carry it)."""
            self.local = local
            """True for the console's own host."""

    def __init__(
        self, *, local_host: str | None = None, **options: Unpack[LinkPaneOptions]
    ) -> None:
        """Create the pane.

        Args:
            local_host: The console's own host name, marked ``local``.
            options: As for ``LinkTablePane``.
        """
        super().__init__(COLUMNS, **options)
        self.local_host = local_host
        self.hosts: dict[str, FleetHost] = {}

    def collect(self, events: Sequence[Event]) -> bool:
        changed = False
        for event in events:
            if self.collect_link(event):
                changed = True
                continue
            if isinstance(event, SourceStatus | SourceHealth) or not event.host:
                continue
            host = self._host(event.host)
            host.seen = max(host.seen, event.ts)
            if isinstance(event, HostPresence):
                host.online, host.conflict = event.online, event.conflict
            elif isinstance(event, HostSample):
                host.sample = event
            elif isinstance(event, Alert):
                if event.resolved:
                    host.alerts.pop(event.key, None)
                elif event.key in host.alerts or len(host.alerts) < MAX_ALERTS_PER_HOST:
                    host.alerts[event.key] = event.severity
            elif isinstance(event, ContainerList):
                running = sum(c.state == "running" for c in event.containers)
                host.containers[event.engine] = (running, len(event.containers))
            changed = True
        return changed

    def _host(self, name: str) -> FleetHost:
        host = self.hosts.get(name)
        if host is None:
            if len(self.hosts) >= MAX_HOSTS:
                stalest = min(self.hosts.values(), key=lambda h: h.seen)
                del self.hosts[stalest.name]
            host = self.hosts[name] = FleetHost(name=name, local=name == self.local_host)
        return host

    def show(self) -> None:
        now = self.clock()
        order = sorted(self.hosts.values(), key=lambda h: (not _alarming(h), h.name))
        self.table.set_rows(
            Row(host.name, _cells(host, now), alarm=_alarming(host)) for host in order
        )
        online = sum(h.online is not False for h in self.hosts.values())
        conflicts = sum(bool(h.conflict) for h in self.hosts.values())
        text = f"{count(len(self.hosts))} hosts · {count(online)} up"
        if offline := len(self.hosts) - online:
            text += f" · {count(offline)} offline"
        if conflicts:
            text += f" · {count(conflicts)} in conflict"
        if not self.hosts:
            text = "No hosts yet: agents publish with `opsconsole agent --mqtt URL`"
        self.set_status(text, "-warning" if conflicts else "")

    def action_select_host(self) -> None:
        """Show the host under the cursor."""
        key = self.table.cursor_key
        if key is not None and key in self.hosts:
            self.post_message(self.HostSelected(key, self.hosts[key].local))

    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        event.stop()
        self.action_select_host()


def _alarming(host: FleetHost) -> bool:
    return bool(host.conflict) or host.online is False or host.worst == "critical"


def _cells(host: FleetHost, now: float) -> tuple[str, ...]:
    sample = host.sample
    worst = host.worst
    load = None
    if sample is not None and sample.load is not None and sample.cpu_count:
        load = sample.load[0] / sample.cpu_count
    disk = max((d.percent for d in sample.disks), default=None) if sample else None
    running = sum(r for r, _ in host.containers.values())
    total = sum(t for _, t in host.containers.values())
    return (
        host.name,
        host.state,
        _SHORT[worst] if worst else "-",
        percent(sample.cpu_percent if sample else None),
        percent(sample.mem_percent if sample else None),
        number(load),
        percent(disk, 0),
        f"{running}/{total}" if host.containers else "-",
        duration(now - host.seen) if host.seen else "-",
        host.conflict or (f"{len(host.alerts)} firing" if host.alerts else ""),
    )
