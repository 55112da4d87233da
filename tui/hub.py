"""The hub: runs every source, tracks its status, and fans its events out to subscribers.

Headless (no textual): the app runs it on its event loop and subscribes; tests drive it directly.
Each source runs in its own asyncio task. A source that cannot open, or fails mid-stream, is
marked unavailable with the reason and retried with exponential backoff; a source whose stream
ends is marked ended. Every change of status is itself an event (``SourceStatus``), so panes,
the recorder and a replay see statuses the same way they see data.

Subscribers get events through bounded queues: a slow consumer (a frozen UI, a stalled recorder)
never grows memory; the oldest events are dropped and counted, per subscriber and per source.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import msgspec

from opsconsole.sources.base import Source, SourceUnavailable
from opsconsole.sources.events import Event, SourceHealth, SourceState, SourceStatus

log = logging.getLogger(__name__)

MAX_LATEST = 1024
"""Most (source, kind) pairs whose latest event the hub keeps."""


@dataclass
class Backoff:
    """Exponential backoff with jitter: ``initial``, doubling up to ``maximum`` seconds."""

    initial: float = 1.0
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.1
    """Fraction of each delay added at random, so many consoles do not retry in step."""

    def delay(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based)."""
        base = min(self.maximum, self.initial * self.factor ** max(0, attempt - 1))
        return base * (1.0 + self.jitter * random.random())


class Subscription:
    """A bounded queue of events for one consumer.

    ``put`` never blocks the hub: when the queue is full the oldest event goes and
    ``dropped`` counts it. ``batch`` waits for at least one event and returns all queued.
    """

    def __init__(self, maxlen: int, kinds: frozenset[str] | None) -> None:
        self._queue: deque[Event] = deque(maxlen=maxlen)
        self._ready = asyncio.Event()
        self.kinds = kinds
        """Event kinds this subscriber wants; None for all."""
        self.dropped = 0
        """Events dropped because this subscriber fell behind."""
        self.dropped_by_source: dict[str, int] = {}
        self.closed = False

    def wants(self, event: Event) -> bool:
        """True when this subscriber takes events of this kind."""
        return self.kinds is None or _kind(event) in self.kinds

    def put(self, event: Event) -> None:
        """Queue an event, dropping (and counting) the oldest when full."""
        if len(self._queue) == self._queue.maxlen:
            lost = self._queue[0]
            self.dropped += 1
            self.dropped_by_source[lost.source] = self.dropped_by_source.get(lost.source, 0) + 1
        self._queue.append(event)
        self._ready.set()

    @property
    def pending(self) -> int:
        """Events queued and not yet taken."""
        return len(self._queue)

    def drain(self) -> list[Event]:
        """Take every queued event without waiting."""
        events = list(self._queue)
        self._queue.clear()
        self._ready.clear()
        return events

    async def wait(self) -> None:
        """Return once at least one event is queued, or the subscription is closed."""
        while not self._queue and not self.closed:
            await self._ready.wait()
            self._ready.clear()

    async def batch(self) -> list[Event]:
        """Wait until at least one event is queued (or the hub stops), then take them all."""
        await self.wait()
        return self.drain()

    def close(self) -> None:
        """Wake a waiting ``batch`` for good."""
        self.closed = True
        self._ready.set()


@dataclass
class _Running:
    source: Source
    status: SourceStatus
    task: asyncio.Task[None] | None = None


def _kind(event: Event) -> str:
    return str(event.__struct_config__.tag)


class Hub:
    """Runs sources, keeps the latest event of each kind per source, and fans events out."""

    def __init__(
        self,
        sources: Iterable[Source],
        *,
        host: str,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self.backoff = backoff or Backoff()
        self._clock = clock
        self._running: dict[str, _Running] = {}
        self._subscriptions: list[Subscription] = []
        # Newest event per (source, kind); a replay's events keep their recorded source ids.
        self._latest: dict[tuple[str, str], Event] = {}
        self._stopping = False
        for source in sources:
            self.add(source)

    # -- configuration ----------------------------------------------------------------

    def add(self, source: Source) -> None:
        """Register a source; it starts with the hub, or at once if the hub is running."""
        if source.id in self._running:
            raise ValueError(f"duplicate source id {source.id!r}")
        status = SourceStatus(
            ts=self._clock(),
            host=self.host,
            source=source.id,
            state=SourceState.STARTING,
            live=source.live,
        )
        running = _Running(source=source, status=status)
        self._running[source.id] = running
        if self.started:
            running.task = asyncio.create_task(self._run(running), name=f"source:{source.id}")

    def subscribe(self, *, maxlen: int = 4096, kinds: Iterable[str] | None = None) -> Subscription:
        """A new bounded subscription, primed with the current status and latest value of each
        source so a pane mounted late draws at once."""
        sub = Subscription(maxlen, frozenset(kinds) if kinds is not None else None)
        self._subscriptions.append(sub)
        for event in self.snapshot():
            if sub.wants(event):
                sub.put(event)
        return sub

    def snapshot(self) -> list[Event]:
        """The status of each source and the latest event of each kind of each: what a view
        opened late needs to draw at once."""
        return [*self.statuses(), *self._latest.values()]

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop delivering to ``sub`` and wake its waiter."""
        with contextlib.suppress(ValueError):
            self._subscriptions.remove(sub)
        sub.close()

    # -- queries ----------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """True once ``start`` ran (and until ``stop``)."""
        return any(r.task is not None for r in self._running.values())

    @property
    def live(self) -> bool:
        """False when every source replays a recording."""
        return any(r.source.live for r in self._running.values()) or not self._running

    def statuses(self) -> list[SourceStatus]:
        """The current status of every source, in registration order."""
        return [r.status for r in self._running.values()]

    def dropped(self, source: str) -> int:
        """Events from ``source`` that full subscriber queues have dropped so far."""
        return sum(sub.dropped_by_source.get(source, 0) for sub in self._subscriptions)

    def latest(self, kind: str, source: str | None = None) -> Event | None:
        """The newest event of ``kind`` (from ``source``, or from any source)."""
        candidates = [
            event
            for (src, k), event in self._latest.items()
            if k == kind and (source is None or src == source)
        ]
        return max(candidates, key=lambda e: e.ts, default=None)

    # -- life cycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Start a task per source. Returns at once."""
        self._stopping = False
        for running in self._running.values():
            if running.task is None:
                running.task = asyncio.create_task(
                    self._run(running), name=f"source:{running.source.id}"
                )

    async def stop(self) -> None:
        """Close every source, end their tasks and wake every subscriber. Idempotent."""
        self._stopping = True
        tasks = [r.task for r in self._running.values() if r.task is not None]
        for running in self._running.values():
            with contextlib.suppress(Exception):
                await running.source.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for running in self._running.values():
            running.task = None
        for sub in self._subscriptions:
            sub.close()

    # -- internals --------------------------------------------------------------------

    def publish(self, event: Event) -> None:
        """Fan one event out to every subscriber that wants it."""
        if not isinstance(event, SourceStatus | SourceHealth):
            key = (event.source, _kind(event))
            if key not in self._latest and len(self._latest) >= MAX_LATEST:
                # A hostile recording can name endless sources; keep the map bounded.
                del self._latest[next(iter(self._latest))]
            self._latest[key] = event
        for sub in self._subscriptions:
            if sub.wants(event):
                sub.put(event)

    def _set_status(
        self,
        running: _Running,
        state: SourceState,
        *,
        reason: str | None = None,
        retry_at: float | None = None,
        attempts: int | None = None,
    ) -> None:
        """Publish a new status for ``running`` when anything in it changed."""
        old = running.status
        new = msgspec.structs.replace(
            old,
            ts=self._clock(),
            state=state,
            reason=reason,
            retry_at=retry_at,
            attempts=old.attempts if attempts is None else attempts,
            dropped=self.dropped(old.source),
        )
        if msgspec.structs.replace(new, ts=old.ts) == old:
            return
        running.status = new
        self.publish(new)

    async def _run(self, running: _Running) -> None:
        source = running.source
        attempts = 0
        while not self._stopping:
            self._set_status(running, SourceState.STARTING, attempts=attempts)
            try:
                await source.open()
                self._set_status(running, SourceState.LIVE, attempts=attempts)
                async for event in source.events():
                    if attempts:
                        attempts = 0  # a source that delivers has recovered
                        self._set_status(
                            running,
                            running.status.state,
                            reason=running.status.reason,
                            attempts=0,
                        )
                    if isinstance(event, SourceHealth):
                        if event.degraded:
                            self._set_status(running, SourceState.DEGRADED, reason=event.degraded)
                        else:
                            self._set_status(running, SourceState.LIVE)
                    self.publish(event)
                self._set_status(running, SourceState.ENDED)
                await _close_quietly(source)
                return
            except asyncio.CancelledError:
                raise
            except SourceUnavailable as exc:
                reason, retry_after, permanent = exc.reason, exc.retry_after, exc.permanent
            except Exception as exc:  # a broken source must not take the console down
                log.exception("source %s failed", source.id)
                reason, retry_after, permanent = f"{type(exc).__name__}: {exc}", None, False
            await _close_quietly(source)
            attempts += 1
            if permanent:
                self._set_status(running, SourceState.UNAVAILABLE, reason=reason, attempts=attempts)
                return
            delay = retry_after if retry_after is not None else self.backoff.delay(attempts)
            self._set_status(
                running,
                SourceState.UNAVAILABLE,
                reason=reason,
                retry_at=self._clock() + delay,
                attempts=attempts,
            )
            await asyncio.sleep(delay)


async def _close_quietly(source: Source) -> None:
    try:
        await source.close()
    except Exception:
        log.exception("closing source %s failed", source.id)
