"""Replays a recorded event stream (JSON lines) at recorded or accelerated pace.

Tests use it for deterministic screens; bundles replay through it. A damaged line does not stop
the replay: it is skipped and reported (``SourceHealth``) with its line number.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from opsconsole.sources.base import SourceUnavailable
from opsconsole.sources.events import Event, EventDecodeError, SourceHealth, decode

MAX_LINE_BYTES = 16 * 1024 * 1024
"""Longer lines are refused: no event is that large, and reading one whole would hurt."""

_BATCH = 512


class ReplaySource:
    """Plays the events of a JSON-lines file in order.

    ``speed`` scales the recorded gaps between events: 1 is the recorded pace, 10 ten times
    faster, 0 as fast as the consumer takes them.
    """

    live = False

    def __init__(self, path: Path, *, speed: float = 1.0, host: str = "replay") -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self.path = path
        self.speed = speed
        self.host = host
        self.id = f"replay:{path.name}"
        self._closed = asyncio.Event()
        self.bad_lines = 0
        """Lines skipped because they were not valid events."""

    async def open(self) -> None:
        """Check the recording can be read."""
        self._closed.clear()
        try:
            await asyncio.to_thread(self._probe)
        except OSError as exc:
            raise SourceUnavailable(
                f"cannot read {self.path}: {exc.strerror or exc}", permanent=True
            ) from None

    def _probe(self) -> None:
        with self.path.open("rb") as fh:
            fh.read(1)

    async def events(self) -> AsyncIterator[Event]:
        """Yield the recorded events, sleeping the recorded gaps scaled by ``speed``."""
        start_wall: float | None = None
        start_ts = 0.0
        with self.path.open("rb") as fh:
            line_no = 0
            while not self._closed.is_set():
                lines = await asyncio.to_thread(_read_lines, fh, _BATCH)
                if not lines:
                    return
                for raw in lines:
                    line_no += 1
                    if not raw.strip():
                        continue
                    try:
                        if len(raw) > MAX_LINE_BYTES:
                            raise EventDecodeError(f"line longer than {MAX_LINE_BYTES} bytes")
                        event = decode(raw)
                    except EventDecodeError as exc:
                        self.bad_lines += 1
                        yield SourceHealth(
                            ts=time.time(),
                            host=self.host,
                            source=self.id,
                            degraded=f"{self.path.name}:{line_no}: skipped, {exc}",
                        )
                        continue
                    if start_wall is None:
                        start_wall, start_ts = time.monotonic(), event.ts
                    elif self.speed > 0:
                        due = start_wall + (event.ts - start_ts) / self.speed
                        if (delay := due - time.monotonic()) > 0 and await self._wait(delay):
                            return
                    if self._closed.is_set():
                        return
                    yield event

    async def _wait(self, delay: float) -> bool:
        """Sleep ``delay`` seconds; True when closed meanwhile."""
        try:
            await asyncio.wait_for(self._closed.wait(), timeout=delay)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Stop the replay; a pending ``events`` returns promptly."""
        self._closed.set()


def _read_lines(fh: BinaryIO, count: int) -> list[bytes]:
    """Up to ``count`` lines, each cut at MAX_LINE_BYTES + 1 so a huge line cannot fill memory."""
    lines: list[bytes] = []
    readline = fh.readline
    for _ in range(count):
        line: bytes = readline(MAX_LINE_BYTES + 1)
        if not line:
            break
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while (rest := readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass  # skip the remainder of an oversized line
        lines.append(line)
    return lines
