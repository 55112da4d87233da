"""Where log lines come from besides files: pipes, journald, container streams, globs, and
several of them merged by time.

Files are documents over their index (``log_index``). A stream (standard input, journald, a
container's LogLines batches) is a ``RingDocument``: a bounded ring buffer that keeps the last
lines and says how many it dropped, so a firehose costs bounded memory. Readers run in daemon
threads and only append to the ring; the view takes what is new once per frame.
"""

from __future__ import annotations

import heapq
import itertools
import os
import subprocess
import threading
import time
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsconsole.sources.log_index import MAX_LINE_BYTES, DocLine, Document, FileDocument, decode
from opsconsole.sources.log_levels import json_decoder, json_level, line_time

if TYPE_CHECKING:  # events import msgspec: kept off the start of ``opsconsole logs FILE``
    from opsconsole.sources.events import LogLine, LogLines

RING_CAPACITY = 200_000
"""Lines a stream keeps by default (about 40 MB of typical lines)."""
MAX_FILES = 64
"""Files opened from one directory or glob; the newest are taken and the rest counted."""
READ_SIZE = 1 << 16
MAX_NOTICES = 20
"""Notices a stream keeps until the view takes them."""
JOURNAL_ENTRY_LIMIT = 4 << 20
"""Bytes of one ``journalctl -o json`` entry read; a longer one is dropped as garbage."""


def dropped_marker(count: int, why: str) -> DocLine:
    """Line 0 of a bounded document that dropped its ``count`` oldest lines, and why."""
    return DocLine(f"[{count:,} earlier lines dropped: {why}]", marker=True)


class RingDocument:
    """A stream's last ``capacity`` lines, as a Document; appended to from any thread.

    When lines are evicted, line 0 becomes a marker saying how many were dropped, and
    ``evicted`` grows so that a view that is not following can keep its place.
    """

    def __init__(self, name: str, capacity: int = RING_CAPACITY) -> None:
        self.name = name
        self.capacity = max(1, capacity)
        self._lock = threading.Lock()
        self._buffer: list[DocLine] = []
        self._head = 0
        """Index in ``_buffer`` of the oldest line once the buffer is full."""
        self.evicted = 0
        """Lines pushed out of the ring so far."""
        self.generation = 0
        self._notices: list[str] = []
        self.ended = False
        """True once the stream has ended (end of input, process exited)."""
        self.appended = 0
        """Lines appended so far (a cheap "anything new?" check)."""

    @property
    def line_count(self) -> int:
        """Lines held, plus the marker line once some were dropped."""
        return len(self._buffer) + (1 if self.evicted else 0)

    def append(self, lines: Iterable[DocLine]) -> None:
        """Add lines at the end, dropping the oldest beyond the capacity."""
        with self._lock:
            buffer, capacity = self._buffer, self.capacity
            for line in lines:
                self.appended += 1
                if len(buffer) < capacity:
                    buffer.append(line)
                else:
                    buffer[self._head] = line
                    self._head = (self._head + 1) % capacity
                    self.evicted += 1

    def clear(self) -> None:
        """Drop every line, to be given them again (a replay starting over): views and merges
        see a new generation and start afresh."""
        with self._lock:
            self._buffer = []
            self._head = 0
            self.evicted = 0
            self.appended = 0
            self.generation += 1
            self.ended = False
            self._notices.clear()

    def append_text(self, texts: Iterable[str], origin: str = "") -> None:
        """Add plain text lines."""
        self.append(DocLine(text, origin=origin) for text in texts)

    def mark(self, text: str) -> None:
        """Add a line of the console's own (``[120 lines dropped]``) and a notice."""
        self.append([DocLine(text, marker=True)])
        if len(self._notices) < MAX_NOTICES:  # a stream nobody looks at keeps only a few
            self._notices.append(text)

    def line(self, index: int) -> DocLine:
        """Line ``index``; line 0 is the dropped-lines marker once lines were evicted."""
        with self._lock:
            if self.evicted:
                if index == 0:
                    return dropped_marker(
                        self.evicted, f"the buffer keeps the last {self.capacity:,}"
                    )
                index -= 1
            if not 0 <= index < len(self._buffer):
                return DocLine("", marker=True)
            return self._buffer[(self._head + index) % len(self._buffer)]

    def lines(self, start: int) -> Iterator[tuple[int, DocLine]]:
        """Lines from ``start`` to the end as it is now."""
        for index in range(start, self.line_count):
            yield index, self.line(index)

    def line_at(self, sequence: int) -> DocLine | None:
        """The line appended ``sequence``-th (0-based, counting every line ever appended), or
        None once it was dropped: a number that stays valid while the ring turns."""
        with self._lock:
            position = sequence - self.evicted
            if not 0 <= position < len(self._buffer):
                return None
            return self._buffer[(self._head + position) % len(self._buffer)]

    def since(self, sequence: int) -> tuple[int, list[DocLine]]:
        """The lines appended from ``sequence`` on that the ring still holds, and the
        sequence number of the first of them."""
        with self._lock:
            first = max(sequence, self.evicted)
            size = len(self._buffer)
            return first, [
                self._buffer[(self._head + position) % size]
                for position in range(first - self.evicted, size)
            ]

    def status(self) -> str:
        """``ended`` once the stream has ended, else empty."""
        return "ended" if self.ended else ""

    def take_notices(self) -> list[str]:
        """Markers added since the last call."""
        notices, self._notices = self._notices, []
        return notices


def feed_log_lines(document: RingDocument, batch: LogLines) -> None:
    """Append one LogLines batch (container logs from the engines) to a stream's ring."""
    if batch.dropped:
        document.mark(f"[{batch.dropped} lines dropped by {batch.stream}]")
    document.append(_doc_line(line) for line in batch.lines)


def _doc_line(line: LogLine) -> DocLine:
    text = line.text
    cut = 0
    if len(text) > MAX_LINE_BYTES:
        cut = len(text.encode("utf-8", "replace")) - MAX_LINE_BYTES
        text = text[:MAX_LINE_BYTES]
    return DocLine(text, cut, ts=line.ts, origin="stderr" if line.stream == "stderr" else "")


# --- raw streams (standard input, a process's output) ---------------------------------------


def split_stream(chunks: Iterable[bytes], limit: int = MAX_LINE_BYTES) -> Iterator[list[DocLine]]:
    """Lines out of raw byte chunks, a batch per chunk; a huge line is cut, never buffered whole."""
    pending = b""
    skipping = 0
    """Bytes of an over-long line being skipped until its newline."""
    for chunk in chunks:
        batch: list[DocLine] = []
        pieces = chunk.split(b"\n")
        last = pieces.pop()
        for piece in pieces:
            if skipping:
                batch.append(DocLine(decode(pending), skipping + len(piece)))
                pending, skipping = b"", 0
                continue
            line = pending + piece
            pending = b""
            cut = max(0, len(line) - limit)
            batch.append(DocLine(decode(line[:limit]), cut))
        if skipping:
            skipping += len(last)
        else:
            pending += last
            if len(pending) > limit:
                skipping = len(pending) - limit
                pending = pending[:limit]
        if batch:
            yield batch
    if pending:
        yield [DocLine(decode(pending), skipping)]


def _read_fd(fd: int) -> Iterator[bytes]:
    while True:
        try:
            chunk = os.read(fd, READ_SIZE)
        except OSError:
            return
        if not chunk:
            return
        yield chunk


def follow_fd(fd: int, document: RingDocument) -> threading.Thread:
    """Read ``fd`` (a pipe: standard input) into ``document`` in a daemon thread until EOF."""

    def run() -> None:
        for batch in split_stream(_read_fd(fd)):
            document.append(batch)
        document.ended = True
        document.mark("[end of input]")

    thread = threading.Thread(target=run, name=f"log-stream:{document.name}", daemon=True)
    thread.start()
    return thread


# --- journald ---------------------------------------------------------------------------------


def _field_text(value: Any) -> str:
    """A journald field as text: journald sends non-UTF-8 values as arrays of bytes."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        try:
            return bytes(value).decode("utf-8", "replace")
        except (TypeError, ValueError):
            return ""
    return "" if value is None else str(value)


def parse_journal_entry(raw: bytes | str) -> DocLine | None:
    """One line of ``journalctl -o json`` as a line of the view; None for garbage."""
    return _journal_entry(raw)[0]


def _journal_entry(raw: bytes | str) -> tuple[DocLine | None, str | None]:
    """One line of ``journalctl -o json`` as a line of the view, and the entry's cursor."""
    decoder, error = json_decoder()
    try:
        entry = decoder.decode(raw)
    except error:
        return None, None
    cursor = entry.get("__CURSOR")
    return _journal_line(entry), cursor if isinstance(cursor, str) else None


def _journal_line(entry: dict[str, Any]) -> DocLine:
    """A journal entry's fields as a line: ``identifier[pid]: message``, its time and level."""
    message = _field_text(entry.get("MESSAGE"))
    identifier = _field_text(entry.get("SYSLOG_IDENTIFIER") or entry.get("_COMM") or "")
    pid = _field_text(entry.get("_PID") or entry.get("SYSLOG_PID") or "")
    prefix = (
        f"{identifier}[{pid}]: " if identifier and pid else f"{identifier}: " if identifier else ""
    )
    ts: float | None = None
    realtime = entry.get("__REALTIME_TIMESTAMP")
    if isinstance(realtime, str) and realtime.isdigit():
        ts = int(realtime) / 1e6
    level = json_level(entry)
    first, _, rest = message.partition("\n")
    text = prefix + first + (" ⏎ " + rest.replace("\n", " ⏎ ") if rest else "")
    if len(text) > MAX_LINE_BYTES:
        return DocLine(text[:MAX_LINE_BYTES], len(text) - MAX_LINE_BYTES, ts=ts, level=level)
    return DocLine(text, ts=ts, level=level or None)


JOURNAL_FILE_POLL = 1.0
"""Seconds between two reads of a journal file for new entries (journalctl cannot follow a
file given with ``--file``: "Failed to get journal fd")."""


def journal_command(
    unit: str | None = None, *, follow: bool = True, lines: int = 1000, file: str | None = None
) -> list[str]:
    """The journalctl command line that the journald stream runs.

    ``follow`` with a ``file`` is left out, as journalctl refuses it: ``journal_stream``
    follows such a file by reading it again after the last entry's cursor.
    """
    command = ["journalctl", "-o", "json", "--no-pager", "-n", str(lines)]
    if follow and not file:
        command.append("--follow")
    if unit:
        command += ["-u", unit]
    if file:
        command += ["--file", file]
    return command


class JournalStream:
    """``journalctl -o json --follow`` in a subprocess, read into a ring by a daemon thread.

    With ``poll`` (seconds), a journalctl that ends well is run again every ``poll`` seconds
    for the entries after the last one read (``--after-cursor``): how a journal file, which
    journalctl cannot follow, is followed. A journalctl that fails (no journal, no
    permission) ends the stream with its own message.
    """

    def __init__(
        self, document: RingDocument, command: Sequence[str], *, poll: float | None = None
    ) -> None:
        self.document = document
        self.command = list(command)
        self.poll = poll
        self._process: subprocess.Popen[bytes] | None = None
        self._stopped = threading.Event()
        self._cursor: str | None = None

    def start(self) -> None:
        """Start journalctl; a missing journalctl is reported in the stream, not raised."""
        if self._spawn(self.command):
            threading.Thread(target=self._read, name="log-journal", daemon=True).start()

    def _spawn(self, command: list[str]) -> bool:
        try:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as error:
            self.document.ended = True
            self.document.mark(f"[journalctl cannot run: {error.strerror}]")
            return False
        return True

    def _read(self) -> None:
        while True:
            status, error = self._read_process()
            if status or self.poll is None or self._stopped.wait(self.poll):
                break
            after = [f"--after-cursor={self._cursor}"] if self._cursor else []
            if not self._spawn([*self.command, *after]):
                return
        self.document.ended = True
        if status and not self._stopped.is_set():
            self.document.mark(f"[journalctl exited with {status}: {error or 'no message'}]")
        else:
            self.document.mark("[journal ended]")

    def _read_process(self) -> tuple[int, str]:
        """Read one journalctl to its end: its exit status and the start of its errors."""
        process = self._process
        assert process is not None and process.stdout is not None and process.stderr is not None
        with process.stdout, process.stderr:
            # Raw reads, not readline: what arrived is shown now, not when a buffer fills.
            for raw_lines in split_stream(_read_fd(process.stdout.fileno()), JOURNAL_ENTRY_LIMIT):
                lines: list[DocLine] = []
                for raw in raw_lines:
                    line, cursor = _journal_entry(raw.text)
                    if line is not None:
                        lines.append(line)
                        self._cursor = cursor or self._cursor
                self.document.append(lines)
            error = process.stderr.read(4096).decode("utf-8", "replace").strip()
        return process.wait(), error

    def stop(self) -> None:
        """Stop journalctl and its polling (idempotent)."""
        self._stopped.set()
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()


def journal_stream(
    document: RingDocument, unit: str | None = None, file: str | None = None
) -> JournalStream:
    """The stream that follows journald (or a journal ``file``, by polling it), not started."""
    command = journal_command(unit, file=file, follow=True)
    return JournalStream(document, command, poll=JOURNAL_FILE_POLL if file else None)


# --- several documents merged by time ---------------------------------------------------------

MERGE_LIMIT = 1_000_000
"""Lines a merged view holds at most (10 bytes each); the oldest are dropped past it."""
SETTLE = 0.3
"""Seconds new lines wait before they are merged, so that sources read a moment apart (each
file is looked at every 0.1 s) still interleave by time."""
MERGE_INTERVAL = 0.1
"""Seconds between two looks at the merged documents for new lines."""
_LATE = 0x8000
"""Flag on a merged line's document number: it came later than lines after its time."""
Entry = tuple[float, int, int]
"""A line to merge: its time, its document, its number there."""


class MergedDocument:
    """Several documents as one, ordered by each line's time, and following them all.

    A line without a time takes the time of the line before it in its document, so it stays
    after that line. The last ``limit`` lines of the documents are merged in a thread; after
    that, new lines (a file appended, a stream) are taken every ``MERGE_INTERVAL`` seconds,
    held ``SETTLE`` seconds (with any line read since that is older than them), and merged by
    time at the end of the view.

    A line that arrives after lines of a later time were already merged (a clock behind, a
    writer that buffers) is placed at the end, marked late, not inserted above: the lines a
    user has read never move, and a user following the end sees it instead of it landing out
    of sight. Each merged line costs 10 bytes (two arrays); past ``limit`` the oldest are
    dropped and line 0 says how many, as a ring does.
    """

    def __init__(
        self,
        documents: Sequence[Document],
        *,
        limit: int = MERGE_LIMIT,
        settle: float = SETTLE,
        interval: float = MERGE_INTERVAL,
    ) -> None:
        self.documents = list(documents)[:_LATE]
        self.name = " + ".join(document.name for document in self.documents)
        self.limit = max(1, limit)
        self.generation = 0
        """Changes when a merged file was truncated or rotated (the merge is built again)."""
        self.evicted = 0
        """Merged lines dropped off the top so far."""
        self.late = 0
        """Lines placed at the end because lines of a later time were already merged."""
        self.done = False
        self._settle = settle
        self._interval = interval
        self._lock = threading.Lock()
        self._which = array("H")
        """Document of each merged line (with the ``_LATE`` flag)."""
        self._number = array("q")
        """Line of each merged line in its document (for a ring, its sequence number)."""
        self._head = 0
        """Entries before this one were dropped (the arrays are compacted now and then)."""
        self._origins = [Path(document.name).name or document.name for document in self.documents]
        self._stop = threading.Event()
        threading.Thread(target=self._run, name="log-merge", daemon=True).start()

    # -- reading -------------------------------------------------------------------------

    @property
    def line_count(self) -> int:
        """Lines merged, plus the marker line once some were dropped."""
        return len(self._which) - self._head + (1 if self.evicted else 0)

    def line(self, index: int) -> DocLine:
        """Line ``index``, its origin set to the document it came from."""
        with self._lock:
            if self.evicted:
                if index == 0:
                    return dropped_marker(
                        self.evicted, f"a merged view keeps the last {self.limit:,}"
                    )
                index -= 1
            position = self._head + index
            if not self._head <= position < len(self._which):
                return DocLine("", marker=True)
            which, number = self._which[position], self._number[position]
        origin = self._origins[which & ~_LATE]
        document = self.documents[which & ~_LATE]
        if isinstance(document, RingDocument):
            found = document.line_at(number)
            line = found or DocLine("[dropped from the stream's buffer]", marker=True)
        else:
            line = document.line(number)
        return line._replace(origin=f"{origin} (late)" if which & _LATE else origin)

    def lines(self, start: int) -> Iterator[tuple[int, DocLine]]:
        """Merged lines from ``start`` on."""
        for index in range(start, self.line_count):
            yield index, self.line(index)

    def status(self) -> str:
        """``merging`` until built; then how many lines came late, if any."""
        if not self.done:
            return "merging"
        if not self.late:
            return ""
        return f"{self.late:,} late line{'s' if self.late > 1 else ''} at the end"

    def take_notices(self) -> list[str]:
        """Notices of every merged document."""
        return [notice for document in self.documents for notice in document.take_notices()]

    def close(self) -> None:
        """Stop following (the documents themselves stay open)."""
        self._stop.set()

    # -- merging (in the thread) ---------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._build()
            self._follow()

    def _build(self) -> None:
        """Merge the last ``limit`` lines of every document, then mark the merge done."""
        for document in self.documents:
            if isinstance(document, FileDocument):
                document.start()
                document.index.wait()  # merged lines need exact numbers
        self._generations = [document.generation for document in self.documents]
        self._taken = [0] * len(self.documents)
        self._last_ts = [0.0] * len(self.documents)
        self._skipped = 0
        runs = [
            self._timed(which, self._new_lines(which, self.limit))
            for which in range(len(self.documents))
        ]
        with self._lock:
            self._which, self._number, self._head = array("H"), array("q"), 0
            self.evicted = self.late = 0
        self._shown_ts = 0.0
        total = sum(count for count, _ in runs)
        merged = heapq.merge(*(run for _, run in runs))
        for _ in range(total - self.limit):  # only the last ``limit`` are kept
            next(merged)
        with self._lock:
            self.evicted = self._skipped + max(0, total - self.limit)
        self._append(merged)
        self.done = True

    def _follow(self) -> None:
        pending: list[tuple[float, list[Entry]]] = []
        while not self._stop.wait(self._interval):
            if any(
                document.generation != seen
                for document, seen in zip(self.documents, self._generations, strict=True)
            ):
                with self._lock:
                    self.generation += 1
                return  # a file truncated or rotated: build again
            now = time.monotonic()
            arrived = [
                entry
                for which in range(len(self.documents))
                for entry in self._timed(which, self._new_lines(which))[1]
            ]
            if arrived:
                pending.append((now, arrived))
            ready = [
                entry
                for moment, batch in pending
                if now - moment >= self._settle
                for entry in batch
            ]
            if ready:
                # Lines read since, but older than the newest line released now, go with it:
                # held back, they would only come late.
                newest = max(ready)[0]
                young = [
                    (moment, batch) for moment, batch in pending if now - moment < self._settle
                ]
                ready += [entry for _, batch in young for entry in batch if entry[0] <= newest]
                pending = [
                    (moment, [entry for entry in batch if entry[0] > newest])
                    for moment, batch in young
                ]
                ready.sort()
                self._append(ready)

    def _new_lines(self, which: int, limit: int | None = None) -> Iterator[tuple[int, DocLine]]:
        """Lines of document ``which`` not taken yet (at most the last ``limit``)."""
        document = self.documents[which]
        if isinstance(document, RingDocument):
            first, lines = document.since(self._taken[which])
            if limit is not None:
                skipped = max(0, len(lines) - limit)  # what the ring dropped, it says itself
                first, lines = first + skipped, lines[skipped:]
                self._skipped += skipped
            self._taken[which] = first + len(lines)
            return enumerate(lines, first)
        end = document.line_count
        start = self._taken[which]
        if limit is not None:
            start = max(start, end - limit)
            self._skipped += start
        self._taken[which] = end
        return itertools.takewhile(lambda item: item[0] < end, document.lines(start))

    def _timed(
        self, which: int, lines: Iterable[tuple[int, DocLine]]
    ) -> tuple[int, Iterator[Entry]]:
        """How many ``lines`` (consecutive numbers) there are, and their ``(time, which,
        number)`` in time order.

        The times are kept in an array of 8 bytes a line; in the common case of a document
        already in time order the entries are made one by one as the merge takes them.
        """
        last = self._last_ts[which]
        times = array("d")
        first: int | None = None
        ordered = True
        for number, line in lines:
            if first is None:
                first = number
            ts = line.ts if line.ts is not None else line_time(line.text)
            if ts is None:
                ts = last
            elif ts < last:
                ordered = False
            last = ts
            times.append(ts)
        self._last_ts[which] = last
        if first is None:
            return 0, iter(())
        offsets: Iterable[int] = range(len(times))
        if not ordered:
            offsets = sorted(offsets, key=times.__getitem__)
        return len(times), ((times[offset], which, first + offset) for offset in offsets)

    def _append(self, entries: Iterable[Entry]) -> None:
        """Add ``entries`` (in time order) at the end; those older than the end are late."""
        shown = self._shown_ts
        which_column = array("H")
        number_column = array("q")
        late = 0
        for ts, which, number in entries:
            if ts < shown:
                which |= _LATE
                late += 1
            else:
                shown = ts
            which_column.append(which)
            number_column.append(number)
        self._shown_ts = shown
        with self._lock:
            self._which.extend(which_column)
            self._number.extend(number_column)
            self.late += late
            excess = len(self._which) - self._head - self.limit
            if excess > 0:
                self._head += excess
                self.evicted += excess
            if self._head > self.limit // 4:  # compact now and then, not at every frame
                del self._which[: self._head]
                del self._number[: self._head]
                self._head = 0


# --- files, directories and globs ---------------------------------------------------------

_GLOB_MAGIC = frozenset("*?[")
"""The characters that make an argument a glob (as ``glob.has_magic``)."""


def expand_paths(arguments: Sequence[str], limit: int = MAX_FILES) -> tuple[list[str], list[str]]:
    """The files that ``arguments`` (paths, directories, globs) name, and notes about the rest.

    A directory or glob with more than ``limit`` files gives its ``limit`` newest ones and a
    note; a directory of 10,000 files costs one scandir, never 10,000 opens.
    """
    files: list[str] = []
    notes: list[str] = []
    for argument in arguments:
        if os.path.isdir(argument):  # noqa: PTH112
            try:
                with os.scandir(argument) as entries:
                    found = [entry for entry in entries if entry.is_file()]
            except OSError as error:
                notes.append(f"{argument}: {error.strerror}")
                continue
            candidates = [(entry.path, _mtime(entry.path)) for entry in found]
        elif not _GLOB_MAGIC.isdisjoint(argument):
            import glob  # only for a glob: a plain file opens without it (1 ms)

            matches = glob.iglob(argument)  # noqa: PTH207 - the user's own glob syntax
            candidates = [(path, _mtime(path)) for path in matches if os.path.isfile(path)]  # noqa: PTH113
            if not candidates:
                notes.append(f"{argument}: no file matches")
                continue
        else:
            files.append(argument)
            continue
        if not candidates:
            notes.append(f"{argument}: no files in it")
            continue
        candidates.sort(key=lambda item: item[1], reverse=True)
        if len(candidates) > limit:
            notes.append(f"{argument}: {len(candidates)} files; opened the {limit} newest")
        files.extend(sorted(path for path, _ in candidates[:limit]))
    return files, notes


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime  # noqa: PTH116
    except OSError:
        return 0.0
