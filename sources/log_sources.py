"""Where log lines come from besides files: pipes, journald, container streams, and globs.

Files are documents over their index (``log_index``). A stream (standard input, journald, a
container's LogLines batches) is a ``RingDocument``: a bounded ring buffer that keeps the last
lines and says how many it dropped, so a firehose costs bounded memory. Readers run in daemon
threads and only append to the ring; the view takes what is new once per frame.
"""

from __future__ import annotations

import glob
import os
import subprocess
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import msgspec

from opsconsole.sources.events import LogLine, LogLines
from opsconsole.sources.log_index import MAX_LINE_BYTES, DocLine, decode
from opsconsole.sources.log_levels import json_level

RING_CAPACITY = 200_000
"""Lines a stream keeps by default (about 40 MB of typical lines)."""
MAX_FILES = 64
"""Files opened from one directory or glob; the newest are taken and the rest counted."""
READ_SIZE = 1 << 16
MAX_NOTICES = 20
"""Notices a stream keeps until the view takes them."""
JOURNAL_ENTRY_LIMIT = 4 << 20
"""Bytes of one ``journalctl -o json`` entry read; a longer one is dropped as garbage."""


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
                    return DocLine(
                        f"[{self.evicted} earlier lines dropped: the buffer keeps the last "
                        f"{self.capacity}]",
                        marker=True,
                    )
                index -= 1
            if not 0 <= index < len(self._buffer):
                return DocLine("", marker=True)
            return self._buffer[(self._head + index) % len(self._buffer)]

    def lines(self, start: int) -> Iterator[tuple[int, DocLine]]:
        """Lines from ``start`` to the end as it is now."""
        for index in range(start, self.line_count):
            yield index, self.line(index)

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

_journal_decoder = msgspec.json.Decoder(dict[str, Any])


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
    try:
        entry = _journal_decoder.decode(raw)
    except msgspec.DecodeError:
        return None
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


def journal_command(
    unit: str | None = None, *, follow: bool = True, lines: int = 1000, file: str | None = None
) -> list[str]:
    """The journalctl command line that the journald stream runs."""
    command = ["journalctl", "-o", "json", "--no-pager", "-n", str(lines)]
    if follow:
        command.append("--follow")
    if unit:
        command += ["-u", unit]
    if file:
        command += ["--file", file]
    return command


class JournalStream:
    """``journalctl -o json --follow`` in a subprocess, read into a ring by a daemon thread.

    A journalctl that fails (no journal, no permission) ends the stream with its own message.
    """

    def __init__(self, document: RingDocument, command: Sequence[str]) -> None:
        self.document = document
        self.command = list(command)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start journalctl; a missing journalctl is reported in the stream, not raised."""
        try:
            self._process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as error:
            self.document.ended = True
            self.document.mark(f"[journalctl cannot run: {error.strerror}]")
            return
        threading.Thread(target=self._read, name="log-journal", daemon=True).start()

    def _read(self) -> None:
        process = self._process
        assert process is not None and process.stdout is not None and process.stderr is not None
        # Raw reads, not readline: what arrived is shown now, not when a buffer fills.
        for raw_lines in split_stream(_read_fd(process.stdout.fileno()), JOURNAL_ENTRY_LIMIT):
            entries = (parse_journal_entry(raw.text) for raw in raw_lines)
            self.document.append(entry for entry in entries if entry is not None)
        error = process.stderr.read(4096).decode("utf-8", "replace").strip()
        status = process.wait()
        self.document.ended = True
        if status:
            self.document.mark(f"[journalctl exited with {status}: {error or 'no message'}]")
        else:
            self.document.mark("[journal ended]")

    def stop(self) -> None:
        """Stop journalctl (idempotent)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()


# --- files, directories and globs ---------------------------------------------------------


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
        elif glob.has_magic(argument):
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
