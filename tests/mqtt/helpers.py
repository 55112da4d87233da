"""Helpers of the MQTT tests: a running hub that collects what it sees, and a publisher."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence

from opsconsole.hub import Backoff, Hub
from opsconsole.sources.base import Source
from opsconsole.sources.events import Event, SourceStatus
from opsconsole.sources.mqtt_link import MqttSettings, connect, disconnect

FAST = Backoff(initial=0.2, maximum=0.5, jitter=0.0)


class Seen:
    """Everything a hub published, in order, and waits on it."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.events: list[Event] = []
        self._sub = hub.subscribe(maxlen=100_000)
        self._task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        while not self._sub.closed:
            self.events.extend(await self._sub.batch())

    def of(self, kind: type[Event]) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    def status(self, source: str) -> SourceStatus:
        return next(s for s in self.hub.statuses() if s.source == source)

    async def until(self, predicate: Callable[[], object], timeout: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                tail = "\n".join(repr(e)[:200] for e in self.events[-15:])
                raise AssertionError(f"condition not reached; last events:\n{tail}")
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        self.hub.unsubscribe(self._sub)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@contextlib.asynccontextmanager
async def running(sources: Sequence[Source], backoff: Backoff = FAST) -> AsyncIterator[Seen]:
    """A started hub over ``sources`` and what it publishes; stopped at the end."""
    hub = Hub(sources, host="console", backoff=backoff)
    seen = Seen(hub)
    await hub.start()
    try:
        yield seen
    finally:
        await hub.stop()
        await seen.close()


async def live(seen: Seen, source: str) -> None:
    """Wait until ``source`` is live: connected and its subscriptions acknowledged."""
    await seen.until(lambda: seen.status(source).state == "live")


async def publish(
    settings: MqttSettings, messages: Sequence[tuple[str, bytes | str]], retain: bool = False
) -> None:
    client = await connect(settings)
    try:
        for topic, payload in messages:
            await client.publish(topic, payload, retain=retain)
    finally:
        await disconnect(client)
