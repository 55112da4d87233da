"""Scripted sources and helpers shared by the tests of the hub and of what taps it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

from opsconsole.hub import Backoff
from opsconsole.sources.base import SourceUnavailable
from opsconsole.sources.events import Event, HostSample


def sample(n: int, source: str = "scripted") -> HostSample:
    return HostSample(ts=1000.0 + n, host="h", source=source, cpu_percent=float(n))


class ScriptedSource:
    """A source whose behaviour each test scripts: fail to open N times, then yield events."""

    live = True

    def __init__(
        self,
        events: list[Event],
        *,
        id: str = "scripted",
        fail_opens: int = 0,
        fail_mid_stream: bool = False,
        permanent: bool = False,
        hold_open: bool = False,
    ) -> None:
        self.id = id
        self._events = events
        self.fail_opens = fail_opens
        self.fail_mid_stream = fail_mid_stream
        self.permanent = permanent
        self.hold_open = hold_open
        self.opens = 0
        self.closes = 0
        self._closed = asyncio.Event()

    async def open(self) -> None:
        self.opens += 1
        self._closed.clear()
        if self.opens <= self.fail_opens:
            raise SourceUnavailable(f"socket missing (try {self.opens})", permanent=self.permanent)

    async def events(self) -> AsyncIterator[Event]:
        for event in self._events:
            yield event
        if self.fail_mid_stream:
            self.fail_mid_stream = False
            raise ConnectionResetError("engine went away")
        if self.hold_open:
            await self._closed.wait()

    async def close(self) -> None:
        self.closes += 1
        self._closed.set()


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


FAST = Backoff(initial=0.01, maximum=0.04, jitter=0.0)
