"""The fleet: every agent's event stream, read back from the broker.

Headless (no textual). Agents (``opsconsole agent``) publish under ``opsconsole/v1/<host>/<kind>``
(see ``opsconsole.agent`` for the scheme). This source subscribes to all of it, decodes each
payload with the event vocabulary's validating decoder and re-emits the event with its host, its
source id prefixed ``fleet:<host>/`` (so the hub keeps the latest of each host apart), and
``HostPresence`` events from the agents' retained presence and last will.

Conflicts are shown, not hidden: two agent instances online under one name at once, or events
on one host's topics that say they come from another host (those events are dropped). A payload
that does not decode is counted and reported as degraded health; it never stops the stream.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

import msgspec

from opsconsole.sources.base import FLEET_PREFIX
from opsconsole.sources.events import (
    Event,
    EventDecodeError,
    HostPresence,
    SourceHealth,
    decode,
)
from opsconsole.sources.mqtt_link import (
    FLEET_ROOT,
    PRESENCE,
    MqttSettings,
    MqttSubscriber,
    Received,
    split_fleet_topic,
)
from opsconsole.sources.text import safe_text

MAX_HOSTS: Final = 2000
"""Hosts tracked at most; messages of further hosts are dropped and counted."""
MAX_EVENT_BYTES: Final = 1 << 20
"""An event payload larger than this is not decoded."""
CONFLICT_WINDOW: Final = 90.0
"""Seconds an agent instance counts as online after its last presence (3 heartbeats)."""
IGNORED_KINDS: Final = frozenset({"source.status", "source.health", "alert"})
"""Kinds not re-emitted: an agent's hub statuses would confuse this console's, and its alerts
come in through the alert source (``opsconsole.sources.mqtt_alerts``), once."""


@dataclass
class _Host:
    online: dict[str, float] = field(default_factory=dict)
    """Agent instances online under this name, with when each was last heard (monotonic)."""
    foreign: str | None = None
    """Why events on this host's topics were refused, while recent."""
    foreign_at: float = 0.0
    shown: tuple[bool, str | None] | None = None
    """The presence last emitted: online and conflict."""


def fleet_source_id(host: str, source: str = "") -> str:
    """The source id under which the fleet re-emits ``host``'s events from ``source``."""
    return f"{FLEET_PREFIX}{host}/{source}" if source else f"{FLEET_PREFIX}{host}"


class FleetSource(MqttSubscriber):
    """Every host's events from the agents' topics, with presence and conflicts."""

    rate = 5000.0

    def __init__(
        self,
        settings: MqttSettings,
        *,
        host: str = "",
        id: str | None = None,
        conflict_window: float = CONFLICT_WINDOW,
    ) -> None:
        super().__init__(settings, id=id or f"{FLEET_PREFIX}{settings.url}", host=host)
        self.topics = (f"{FLEET_ROOT}/#",)
        self.conflict_window = conflict_window
        self._hosts: dict[str, _Host] = {}
        self.bad = 0
        """Messages that could not be used (undecodable, wrong kind, too many hosts)."""
        self._last_bad = ""
        self._bad_report_at = 0.0

    def convert(self, message: Received) -> Iterable[Event]:
        """The events one message of the scheme means."""
        parts = split_fleet_topic(message.topic)
        if parts is None:
            return ()
        host, kind, _ = parts
        if len(host) > 253:
            return self._refuse(host[:40] + "…", kind, "host name longer than 253 characters")
        state = self._hosts.get(host)
        if state is None:
            if len(self._hosts) >= MAX_HOSTS:
                return self._refuse(host, kind, f"more than {MAX_HOSTS} hosts")
            state = self._hosts[host] = _Host()
        if not message.payload:
            return ()  # a retained message being cleared
        if message.size > MAX_EVENT_BYTES:
            return self._refuse(host, kind, f"{message.size} bytes, over {MAX_EVENT_BYTES}")
        try:
            event = decode(message.payload)
        except (EventDecodeError, RecursionError) as exc:
            return self._refuse(host, kind, str(exc)[:120])
        if kind == PRESENCE:
            if not isinstance(event, HostPresence):
                return self._refuse(host, kind, f"a {_kind(event)} event on the presence topic")
            return self._presence(host, state, event)
        if _kind(event) != kind:
            return self._refuse(host, kind, f"a {_kind(event)} event on the {kind} topic")
        if kind in IGNORED_KINDS or isinstance(event, HostPresence):
            return ()
        if event.host != host:
            state.foreign = (
                f"events on {host}'s topics say they are from {safe_text(event.host[:80])}"
            )
            state.foreign_at = time.monotonic()
            return self._presence_if_changed(host, state)
        shown = msgspec.structs.replace(event, source=fleet_source_id(host, event.source))
        if not state.online and state.shown is None:
            # Data before any presence (a console that joined after the retained presence
            # was cleared): the host is evidently there.
            return (*self._presence_if_changed(host, state, assume_online=True), shown)
        return (shown,)

    def _presence(self, host: str, state: _Host, event: HostPresence) -> list[Event]:
        now = time.monotonic()
        instance = event.source
        if event.online:
            state.online[instance] = now
        else:
            state.online.pop(instance, None)
        return self._presence_if_changed(host, state, force=True)

    def _presence_if_changed(
        self, host: str, state: _Host, *, force: bool = False, assume_online: bool = False
    ) -> list[Event]:
        now = time.monotonic()
        window = self.conflict_window
        state.online = {i: seen for i, seen in state.online.items() if now - seen < window}
        conflict = None
        if len(state.online) > 1:
            names = ", ".join(sorted(safe_text(i[:40]) for i in state.online))
            conflict = f"{len(state.online)} agents publish as {host} ({names})"
        elif state.foreign is not None and now - state.foreign_at < window:
            conflict = state.foreign
        else:
            state.foreign = None
        online = bool(state.online) or assume_online
        if state.shown == (online, conflict) and not force:
            return []
        state.shown = (online, conflict)
        return [
            HostPresence(
                ts=time.time(),
                host=host,
                source=fleet_source_id(host),
                online=online,
                conflict=conflict,
            )
        ]

    def _refuse(self, host: str, kind: str, reason: str) -> list[Event]:
        self.bad += 1
        self._last_bad = safe_text(f"{host}/{kind}: {reason}")
        now = time.monotonic()
        if now < self._bad_report_at:
            return []  # one report a second, however much garbage arrives
        self._bad_report_at = now + 1.0
        return [
            SourceHealth(
                ts=time.time(),
                host=self.host,
                source=self.id,
                degraded=f"{self.bad} unusable messages (last: {self._last_bad})",
            )
        ]


def _kind(event: Event) -> str:
    return str(event.__struct_config__.tag)
