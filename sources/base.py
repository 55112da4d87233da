"""The contract every data source keeps with the hub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

if TYPE_CHECKING:  # annotations only: the prefixes and SourceUnavailable load no msgspec
    from opsconsole.sources.events import Event

FLEET_PREFIX: Final = "fleet:"
"""Start of the source id of every event another host's agent published (sources/fleet.py):
panes about this host leave them out."""

BUNDLE_LOGS_PREFIX: Final = "bundle-logs:"
"""Start of the source id of a bundle's log files (sources/bundle_source.py): they are given
once, outside the replay clock, so panes keep them when a replay starts over."""


class SourceUnavailable(Exception):
    """The source cannot produce events now; the hub shows ``reason`` and tries again.

    ``retry_after`` (seconds) overrides the hub's backoff when the source knows better,
    such as a broker that says when to come back. ``permanent`` means retrying is pointless
    (a missing file named on the command line, wrong credentials): the hub stops trying.
    """

    def __init__(
        self, reason: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.permanent = permanent


@runtime_checkable
class Source(Protocol):
    """A headless producer of events.

    ``open`` connects (raising SourceUnavailable when it cannot), ``events`` yields until the
    source ends or fails, and ``close`` releases everything; it is idempotent and must unblock a
    pending ``events``. Blocking calls (SDKs, file reads, process scans) run in threads inside the
    source so the event loop, which is also the UI's, never waits on them.
    """

    id: str
    """Stable id shown in the UI and recorded in events, e.g. ``host``, ``replay:/tmp/x.jsonl``."""
    live: bool
    """False for sources that replay a recording; the header shows a replay badge."""

    async def open(self) -> None: ...

    def events(self) -> AsyncIterator[Event]: ...

    async def close(self) -> None: ...
