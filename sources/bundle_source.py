"""Replays a bundle's event stream under a clock the user drives: play, pause, speed, seek, jump.

Headless. ``ReplayControl`` is the clock: the UI calls its methods (they only set fields and
wake the source, never block), and ``BundleSource`` plays ``events.jsonl`` (read and decoded
by sources/replay.py) at the pace the control sets.

Seeking forward plays the events up to the target at once, so every pane's state is the
recording's state at that time. Seeking back starts the stream over and plays up to the
target: events are facts, and a pane can only be right about a time after seeing what came
before it. Jumps play on at once to the next alert (``a``) or error (``e``: a log line at error
level or worse, a container that died or was OOM-killed).

``BundleLogsSource`` shows the log files a bundle carries (containers', the host's, the
journal's) in the Logs view, each as its own stream, once, at the time they were taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple, cast

from opsconsole.sources.base import BUNDLE_LOGS_PREFIX, SourceUnavailable
from opsconsole.sources.events import (
    Alert,
    ContainerChange,
    Event,
    LogLine,
    LogLines,
    ReplayRestart,
    SourceHealth,
    SourceStatus,
)
from opsconsole.sources.log_index import decode
from opsconsole.sources.log_levels import Level, detect_level, parse_timestamp
from opsconsole.sources.log_sources import parse_journal_entry
from opsconsole.sources.replay import ReplaySource
from opsconsole.sources.text import safe_text

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
"""The speeds ``faster`` and ``slower`` step through."""

Jump = Literal["alert", "error"]


class ReplayControl:
    """The clock of a replay. Every method returns at once; the source follows."""

    def __init__(
        self,
        start: float | None = None,
        end: float | None = None,
        *,
        speed: float = 1.0,
        paused: bool = False,
    ) -> None:
        self.start = start
        """First recorded time (from the manifest), when known."""
        self.end = end
        """Last recorded time, when known."""
        self.speed = speed
        self.paused = paused
        self.position: float | None = None
        """Recorded time of the newest event played."""
        self.ended = False
        """The stream has played to its end (a seek back starts it again)."""
        self.notice: str | None = None
        """The latest thing to tell the user (``no further alert``), until the next command."""
        self.target: float | None = None
        """A seek in progress: play at once up to this time."""
        self.jump: Jump | None = None
        """A jump in progress: play at once up to the next event of this kind."""
        self.rewind = False
        """Start the stream over (a seek back)."""
        self.wake = asyncio.Event()

    def _changed(self) -> None:
        self.notice = None
        self.wake.set()

    @property
    def busy(self) -> bool:
        """A seek or jump is being played."""
        return self.target is not None or self.jump is not None or self.rewind

    def toggle(self) -> None:
        """Play when paused, pause when playing."""
        self.paused = not self.paused
        self._changed()

    def faster(self) -> None:
        """The next speed up."""
        self.speed = next((s for s in SPEEDS if s > self.speed), SPEEDS[-1])
        self._changed()

    def slower(self) -> None:
        """The next speed down."""
        self.speed = next((s for s in reversed(SPEEDS) if s < self.speed), SPEEDS[0])
        self._changed()

    def seek(self, when: float) -> None:
        """Go to recorded time ``when`` (back starts the stream over)."""
        if self.position is not None and when < self.position:
            self.rewind = True
            self.ended = False
        elif self.ended:
            self.notice = "the recording has ended"
            return
        self.target = when
        self.jump = None
        self._changed()

    def seek_by(self, seconds: float) -> None:
        """Go ``seconds`` forward (negative: back) from the current position."""
        base = self.position if self.position is not None else (self.start or 0.0)
        self.seek(base + seconds)

    def next_alert(self) -> None:
        """Play on to the next alert."""
        self._jump("alert")

    def next_error(self) -> None:
        """Play on to the next error."""
        self._jump("error")

    def _jump(self, kind: Jump) -> None:
        self.target = None
        self.jump = kind
        self._changed()
        if self.ended:
            self.jump = None
            self.notice = f"no further {kind}: the recording has ended"


def is_alert(event: Event) -> bool:
    """An alert that fires (not one that resolves)."""
    return isinstance(event, Alert) and not event.resolved


def is_error(event: Event) -> bool:
    """A log batch with a line at error level or worse, or a container that died badly."""
    if isinstance(event, LogLines):
        return any(detect_level(line.text) >= Level.ERROR for line in event.lines)
    if isinstance(event, ContainerChange):
        return event.action == "oom" or (event.action == "die" and event.exit_code not in (0, None))
    return False


_MATCH = {"alert": is_alert, "error": is_error}


class BundleSource:
    """Plays a recorded event stream under a ``ReplayControl``."""

    live = False

    def __init__(self, path: Path, control: ReplayControl | None = None, *, host: str = "") -> None:
        self.path = path
        self.control = control or ReplayControl()
        self.host = host or "replay"
        self.id = f"bundle:{path.parent.name}"
        self._closed = asyncio.Event()
        self._anchor_wall = 0.0
        self._anchor_ts = 0.0

    async def open(self) -> None:
        """Check the stream can be read."""
        self._closed.clear()
        try:
            await asyncio.to_thread(self.path.stat)
        except OSError as exc:
            raise SourceUnavailable(
                f"cannot read {self.path}: {exc.strerror or exc}", permanent=True
            ) from None

    async def close(self) -> None:
        """Stop; a pending ``events`` returns promptly."""
        self._closed.set()
        self.control.wake.set()

    async def events(self) -> AsyncIterator[Event]:
        """The recorded events, paced by the control."""
        control = self.control
        first = True
        while not self._closed.is_set():
            if not first:
                # Everything is given again from the start: panes forget what they kept.
                yield ReplayRestart(ts=control.target or 0.0, host=self.host, source=self.id)
            first = False
            control.rewind = False
            control.ended = False
            # The file's reading and decoding are ReplaySource's, unpaced; the pace is ours.
            reader = ReplaySource(self.path, speed=0, host=self.host)
            # events() is an async generator (typed as an iterator): closed here, not by the GC,
            # so the file is released as soon as a seek back starts over.
            events = cast(AsyncGenerator[Event, None], reader.events())
            async with contextlib.aclosing(events) as stream:
                async for event in stream:
                    if not await self._due(event):
                        return
                    if control.rewind:
                        break
                    if not isinstance(event, SourceStatus | SourceHealth):
                        control.position = event.ts
                    yield event
                else:
                    control.ended = True
                    if control.jump is not None:
                        control.notice = f"no further {control.jump}: the recording has ended"
                        control.jump = None
                    control.target = None
            # Played to the end (or asked to start over): wait for a seek back or the close.
            while not control.rewind and not self._closed.is_set():
                control.wake.clear()
                await control.wake.wait()

    def _anchor(self, ts: float) -> None:
        self._anchor_wall, self._anchor_ts = time.monotonic(), ts

    async def _due(self, event: Event) -> bool:
        """Wait until ``event`` is due by the clock; False when closed meanwhile."""
        control = self.control
        if isinstance(event, SourceStatus | SourceHealth):
            return True  # the hub's notes carry the capture's wall clock: not paced
        # A seek or jump lands on its event, and the first event shows at once: the clock then
        # counts from there (paused or not) to the next one.
        if control.target is not None:
            if event.ts < control.target:
                return True
            control.target = None
            self._anchor(event.ts)
            return True
        if control.jump is not None:
            if not _MATCH[control.jump](event):
                return True
            control.jump = None
            self._anchor(event.ts)
            return True
        if control.position is None:
            self._anchor(event.ts)
            return True
        while not self._closed.is_set():
            control.wake.clear()
            if control.busy:
                return True
            if control.paused:
                await control.wake.wait()
                self._anchor(control.position if control.position is not None else event.ts)
                continue
            if control.speed <= 0:
                return True
            delay = self._anchor_wall + (event.ts - self._anchor_ts) / control.speed
            delay -= time.monotonic()
            if delay <= 0:
                return True
            try:
                await asyncio.wait_for(control.wake.wait(), timeout=delay)
            except TimeoutError:
                return True
            # Woken: a new speed counts from where the replay is now.
            self._anchor(control.position if control.position is not None else event.ts)
        return False


MAX_BUNDLE_LOG_BYTES = 16 * 1024 * 1024
"""Bytes of one log file read from a bundle (the newest); capture writes far less."""
MAX_BUNDLE_LOGS = 500
"""Log files read from one bundle; a manifest listing more is not trusted further."""
LOG_BATCH = 2000
"""Lines per LogLines event."""


class ListedLog(NamedTuple):
    """One log file of a bundle, as its manifest lists it."""

    file: str
    """Its path in the bundle."""
    stream: str
    """The stream id the Logs view shows it under."""
    kind: str
    """``container``, ``host`` or ``journal``."""
    cut_bytes: int = 0
    """Bytes of the log's start the capture left out (it keeps the newest part)."""


def listed_logs(manifest: Mapping[str, Any]) -> list[ListedLog]:
    """The logs a bundle's manifest lists among its files.

    The manifest's ``logs`` entries; a bundle written before ``logs`` was recorded gives its
    ``logs/containers/*.log`` by name.
    """
    files = manifest.get("files")
    listed = files if isinstance(files, Mapping) else {}
    entries = manifest.get("logs")
    if not isinstance(entries, list):
        entries = [
            {"file": name, "stream": f"container:{Path(name).stem}", "kind": "container"}
            for name in sorted(listed)
            if name.startswith("logs/containers/") and name.endswith(".log")
        ]
    logs: list[ListedLog] = []
    for entry in entries[:MAX_BUNDLE_LOGS]:
        if not isinstance(entry, Mapping):
            continue
        name, stream, kind = entry.get("file"), entry.get("stream"), entry.get("kind")
        cut = entry.get("cut_bytes")
        if isinstance(name, str) and isinstance(stream, str) and name in listed:
            cut_bytes = cut if isinstance(cut, int) and cut > 0 else 0
            logs.append(ListedLog(name, safe_text(stream), str(kind), cut_bytes))
    return logs


def _inside(root: Path, name: str) -> bool:
    """Whether ``name`` is a regular file of the bundle at ``root``: not a link out of it, nor
    a fifo or device put in a bundle directory (opening a fifo waits for a writer forever)."""
    try:
        path = (root / name).resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return path.is_relative_to(root.resolve()) and path.is_file()


class BundleLogsSource:
    """The bundle's log files in the Logs view: each a stream of LogLines, sent once at ``ts``.

    Each file is read from its end (MAX_BUNDLE_LOG_BYTES), in a thread; journal exports
    (``journalctl -o json``) are parsed entry by entry, keeping each entry's own time.
    """

    live = False

    def __init__(
        self,
        root: Path,
        manifest: Mapping[str, Any],
        *,
        host: str,
        ts: float,
        ready: Future[Any] | None = None,
    ) -> None:
        self.root = root
        self.listed = listed_logs(manifest)
        """(file, stream, kind) of each log the manifest lists."""
        self.ready = ready
        """Done once the bundle is all out (an archive still extracting), if not yet."""
        self.host = host
        self.ts = ts
        self.id = f"{BUNDLE_LOGS_PREFIX}{root.name}"
        self._closed = False

    async def open(self) -> None:
        """Nothing to connect: the files were checked when the bundle was opened."""
        self._closed = False

    async def close(self) -> None:
        """Stop after the batch being read."""
        self._closed = True

    async def events(self) -> AsyncIterator[Event]:
        """Every log's lines, a file at a time, once the bundle is all out."""
        if self.ready is not None:
            with contextlib.suppress(Exception):  # what could not be read is told by the opener
                await asyncio.wrap_future(self.ready)
        for log in self.listed:
            if self._closed:
                return
            if not await asyncio.to_thread(_inside, self.root, log.file):
                continue
            batches = await asyncio.to_thread(list, self._batches(log))
            for batch in batches:
                yield batch

    def _batches(self, log: ListedLog) -> Iterator[LogLines]:
        try:
            with (self.root / log.file).open("rb") as fh:
                size = fh.seek(0, 2)
                fh.seek(max(0, size - MAX_BUNDLE_LOG_BYTES))
                data = fh.read(MAX_BUNDLE_LOG_BYTES)
        except OSError:
            return  # verify() already told the user the file is missing or damaged
        raw = data.splitlines()
        cut = log.cut_bytes
        if size > MAX_BUNDLE_LOG_BYTES and raw:
            cut += size - MAX_BUNDLE_LOG_BYTES + len(raw[0]) + 1
            raw = raw[1:]  # the first line was cut
        if log.kind == "journal":
            lines = _journal_lines(raw)
        else:
            lines = _stamped_lines(raw, datetime.fromtimestamp(self.ts or 0, UTC).year)
        if cut:
            # Said first, so nobody takes the oldest line shown for the log's start.
            lines.insert(0, LogLine(text=f"[{cut:,} earlier bytes of this log are not here]"))
        for start in range(0, len(lines), LOG_BATCH):
            yield LogLines(
                ts=self.ts,
                host=self.host,
                source=self.id,
                stream=log.stream,
                lines=tuple(lines[start : start + LOG_BATCH]),
            )


def _stamped_lines(raw: list[bytes], year: int) -> list[LogLine]:
    """Lines of a plain log file, each with the time it carries, or the time of the line
    before it (a traceback's lines go with their message): patterns and merges by time then
    show when things happened, not when the bundle was opened."""
    lines: list[LogLine] = []
    last: float | None = None
    for entry in raw:
        text = decode(entry)
        stamp = parse_timestamp(text, year=year)
        if stamp is not None:
            last = stamp.ts
        lines.append(LogLine(text=text, ts=last))
    return lines


def _journal_lines(raw: list[bytes]) -> list[LogLine]:
    lines: list[LogLine] = []
    for entry in raw:
        line = parse_journal_entry(entry)
        if line is not None:
            lines.append(LogLine(text=line.text, ts=line.ts))
    return lines
