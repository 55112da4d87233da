"""From the event stream to the timeline: alerts, container state changes and console actions.

Headless (no textual). The app hands every batch of events to ``TimelineFeed.feed`` with the id
of the open incident; the feed keeps what belongs on a timeline and stores it in one
transaction. The hub primes each new subscriber with the latest events, so the same event can
arrive twice: each entry carries a digest of its event and the store ignores a repeat.

Container engines are chatty (exec sessions, health checks every few seconds): only changes of
state go on the timeline, and a health status only when it differs from the last one seen.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Final

from opsconsole.sources.events import Alert, ContainerAction, ContainerChange, Event, encode
from opsconsole.sources.text import safe_text
from opsconsole.store import Store, TimelineDraft

CONTAINER_ACTIONS: Final = frozenset(
    {
        "create",
        "start",
        "restart",
        "stop",
        "die",
        "kill",
        "oom",
        "pause",
        "unpause",
        "remove",
        "destroy",
        "health_status",
    }
)
"""Engine event actions that are changes of state worth a line on the timeline."""

MAX_HEALTH_MEMORY: Final = 4096
"""Most containers whose last health the feed remembers (bounded on a hostile engine)."""


def _dedup(event: Event) -> str:
    return hashlib.blake2b(encode(event), digest_size=12).hexdigest()


def _line(text: str) -> str:
    return safe_text(" ".join(text.split()))[:1000]


def alert_entry(alert: Alert) -> TimelineDraft:
    """The timeline line of an alert (or of its resolution)."""
    state = "resolved" if alert.resolved else alert.severity
    return TimelineDraft(
        ts=alert.ts,
        kind="alert",
        text=_line(f"Alert {state} on {alert.host}: {alert.summary}"),
        source=_line(alert.origin),
        dedup=_dedup(alert),
    )


def change_entry(change: ContainerChange) -> TimelineDraft:
    """The timeline line of a container's change of state."""
    detail = ""
    if change.exit_code is not None:
        detail = f" (exit {change.exit_code})"
    if change.health is not None:
        detail = f": {change.health}"
    return TimelineDraft(
        ts=change.ts,
        kind="container",
        text=_line(f"Container {change.name} {change.action}{detail}"),
        source=_line(change.engine),
        dedup=_dedup(change),
    )


def action_entry(action: ContainerAction) -> TimelineDraft:
    """The timeline line of an action taken from the console, with its CLI equivalent."""
    outcome = "" if action.ok else f" failed: {action.error or 'unknown error'}"
    return TimelineDraft(
        ts=action.ts,
        kind="action",
        text=_line(f"{action.action.capitalize()} container {action.name}{outcome}"),
        command=_line(action.command),
        source=_line(action.engine),
        dedup=_dedup(action),
    )


class TimelineFeed:
    """Turns batches of events into timeline entries of an incident."""

    def __init__(self) -> None:
        self._health: OrderedDict[str, str] = OrderedDict()

    def entries(self, events: Iterable[Event]) -> list[TimelineDraft]:
        """The timeline entries ``events`` make, in order (pure but for the health memory)."""
        drafts: list[TimelineDraft] = []
        for event in events:
            if isinstance(event, Alert):
                drafts.append(alert_entry(event))
            elif isinstance(event, ContainerAction):
                drafts.append(action_entry(event))
            elif isinstance(event, ContainerChange) and self._worth_a_line(event):
                drafts.append(change_entry(event))
        return drafts

    def feed(self, store: Store, incident_id: int | None, events: Sequence[Event]) -> int:
        """Store the entries of ``events`` in the incident; how many were new. A None incident
        (none open) or a read-only store records nothing."""
        drafts = self.entries(events)
        if incident_id is None or store.read_only or not drafts:
            return 0
        return store.add_timeline(incident_id, drafts)

    def _worth_a_line(self, change: ContainerChange) -> bool:
        action = change.action.split(":", 1)[0].strip()
        if action not in CONTAINER_ACTIONS:
            return False
        if action != "health_status":
            return True
        key = f"{change.engine}\0{change.id}"
        health = change.health or change.action
        if self._health.get(key) == health:
            return False
        self._health[key] = health
        self._health.move_to_end(key)
        if len(self._health) > MAX_HEALTH_MEMORY:
            self._health.popitem(last=False)
        return True
