"""The recorder: taps the hub's stream and writes it as JSON lines, which ReplaySource reads.

Headless. Writes happen in a thread, in batches, so a slow disk never stalls the event loop; the
subscription is bounded, so a stalled disk drops (and counts) events instead of growing memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import BinaryIO

from opsconsole.hub import Hub, Subscription
from opsconsole.sources.events import Event, encode


class Recorder:
    """Records every event the hub publishes, from now until ``stop``."""

    def __init__(self, hub: Hub, path: Path, *, maxlen: int = 65536) -> None:
        self.path = path
        self.written = 0
        """Events written so far."""
        self.error: OSError | None = None
        """The write error that stopped the recording, if any."""
        self._hub = hub
        self._subscription: Subscription = hub.subscribe(maxlen=maxlen)
        self._task: asyncio.Task[None] | None = None

    @property
    def dropped(self) -> int:
        """Events lost because the disk could not keep up."""
        return self._subscription.dropped

    def start(self) -> None:
        """Open the file (created or truncated) and start writing."""
        fh = self.path.open("wb")
        self._task = asyncio.create_task(self._write_all(fh), name=f"recorder:{self.path}")

    async def stop(self) -> None:
        """Write what is queued, close the file, and stop listening. Idempotent."""
        self._hub.unsubscribe(self._subscription)
        if self._task is not None:
            await self._task
            self._task = None

    async def _write_all(self, fh: BinaryIO) -> None:
        try:
            while batch := await self._subscription.batch():
                await asyncio.to_thread(_write_batch, fh, batch)
                self.written += len(batch)
        except OSError as exc:  # a full disk ends the recording, never the console
            self.error = exc
            self._hub.unsubscribe(self._subscription)
        finally:
            await asyncio.to_thread(_close_quietly, fh)


def _close_quietly(fh: BinaryIO) -> None:
    # Closing flushes the buffer, which fails again on a full disk; the error is already kept.
    with contextlib.suppress(OSError):
        fh.close()


def _write_batch(fh: BinaryIO, batch: list[Event]) -> None:
    fh.write(b"".join(encode(event) + b"\n" for event in batch))
    fh.flush()
