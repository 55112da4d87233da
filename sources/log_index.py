"""A file of any size as numbered lines, without reading it whole: a compact index of newlines.

The index stores, for every 64 KiB block of the file, how many newlines come before it (one
8-byte integer per block: 128 KiB of index for a 1 GiB file). Line ``i`` is found by a bisect
over those counts and a scan of one block, whose newline positions are cached while that part
of the file is on screen. Counting runs in a background thread at memchr speed; before it has
reached the end, the last megabyte is indexed first, so the last screen of a huge file shows at
once with an estimated line number.

The file is followed by ``poll``: data appended is counted, a file that shrank was truncated
(counted again from the start), and a path that now names another file was rotated (the new
file is opened). Each of these is reported as a notice the view shows.

Hostile content is normal: CRLF, no final newline, NUL bytes, invalid UTF-8 (decoded with
replacement) and lines of many megabytes (cut at ``MAX_LINE_BYTES``, the cut reported).
"""

from __future__ import annotations

import bisect
import contextlib
import os
import re
import stat
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator
from itertools import accumulate, count
from operator import add
from typing import NamedTuple, Protocol

BLOCK = 1 << 16
"""Bytes per index entry."""
READ = 1 << 22
"""Bytes read at once while counting and searching."""
TAIL = 1 << 18
"""Bytes at the end of the file indexed first, before the background count reaches them:
some 2,500 lines, 60 screens to scroll back at once; a quarter of what was read before (1 MB)
saves 3 ms of the first frame."""
MAX_LINE_BYTES = 16 << 10
"""Bytes of a line that are read and shown; the rest is reported as cut."""
BLOCK_CACHE = 64
"""Blocks whose newline positions are kept (about 64 screens of typical lines)."""
BINARY_SAMPLE = 8192
FOLLOW_INTERVAL = 0.1
"""Seconds between two looks at a followed file's size and identity."""


class DocLine(NamedTuple):
    """One line of a document as the view gets it: text decoded but not yet made safe."""

    text: str
    cut: int = 0
    """Bytes of the line left out (a line longer than ``MAX_LINE_BYTES``)."""
    origin: str = ""
    """Which source the line came from, in a merged view."""
    ts: float | None = None
    """The line's time when its source knows it (journald, containers), else None."""
    marker: bool = False
    """A line the console wrote (lines dropped, file rotated), not one from the log."""
    level: int | None = None
    """The line's level when its source says it (journald's PRIORITY), else None."""


class Document(Protocol):
    """Numbered lines the log view shows: a file through its index, or a stream's ring buffer."""

    name: str
    """What the view's title says: a path, a stream id."""

    @property
    def line_count(self) -> int:
        """Lines there are now (it grows while followed)."""
        ...

    @property
    def generation(self) -> int:
        """A number that changes whenever lines change other than by being appended."""
        ...

    def line(self, index: int) -> DocLine:
        """Line ``index`` (0-based); a placeholder line when it is not known yet."""
        ...

    def lines(self, start: int) -> Iterator[tuple[int, DocLine]]:
        """Lines from ``start`` to the current end, cheaply, for filters and scans."""
        ...

    def status(self) -> str:
        """A short state for the title: ``indexing 40%``, ``deleted``, or empty."""
        ...

    def take_notices(self) -> list[str]:
        """Things that happened (rotated, truncated, lines dropped) since the last call."""
        ...


def decode(raw: bytes) -> str:
    """Bytes of a line as text: CR of a CRLF dropped, invalid UTF-8 replaced, never an error."""
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw.decode("utf-8", "replace")


_CONTROLS = bytes([*range(9), *range(14, 32)])
"""Control bytes that text does not hold (tab, newlines, form feed and CR are text)."""


def looks_binary(sample: bytes) -> bool:
    """True when ``sample`` (the start of a file) is clearly not text: NULs or mostly controls."""
    if not sample:
        return False
    if sample.count(b"\0") > len(sample) // 100:
        return True
    # Counted in C (the bytes left once the controls are deleted): a loop over the bytes in
    # Python cost ``opsconsole logs FILE`` about 4M instructions before its first frame.
    controls = len(sample) - len(sample.translate(None, _CONTROLS))
    return controls > len(sample) // 10


class FileChange:
    """What ``poll`` found: new lines, or something the view should say.

    A plain class, not a NamedTuple: making one cost ``opsconsole logs FILE`` about 2M
    instructions before its first frame.
    """

    __slots__ = ("grew", "notice")

    def __init__(self, grew: bool, notice: str | None) -> None:
        self.grew = grew
        self.notice = notice


class LineIndex:
    """The newline index of one open file, built in the background and followed by ``poll``.

    Raises OSError from the constructor when the file cannot be opened (permission denied, no
    such file, a directory).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._counted_more = threading.Condition(self._lock)
        """Notified as the first count goes on, and when it ends: readers wait on it."""
        self._blocks: OrderedDict[int, array[int]] = OrderedDict()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._counting = False
        """True while the first count runs."""
        self.generation = 0
        """Changes when the index is rebuilt (truncation, rotation)."""
        self.deleted = False
        """True once the path no longer names a file (the open file is still shown)."""
        self._fd = -1
        self._open(path)

    # -- opening and counting ---------------------------------------------------------------

    def _open(self, path: str) -> None:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            os.close(fd)
            raise IsADirectoryError(21, "is a directory", path)
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
            self._fd = fd
            self._identity = (info.st_dev, info.st_ino)
            self._reset(info.st_size)

    def _reset(self, size: int) -> None:
        with self._lock:
            self.generation += 1
            self._cum = array("q", [0])
            """Newlines before each block boundary counted so far."""
            self._counted = 0
            self._newlines = 0
            self._size = size
            self._last_byte = b""
            self._blocks.clear()
            self._tail_start = size
            self._tail: array[int] = array("q")
            self._estimate = 0
            self._read_tail(size)

    def _read_tail(self, size: int) -> None:
        """Index the last TAIL bytes so the end of the file can be shown before the count ends."""
        if size <= TAIL:
            return
        data = os.pread(self._fd, TAIL, size - TAIL)
        first = data.find(b"\n")
        if first < 0:
            return  # one huge line: nothing to gain, wait for the count
        base = size - TAIL + first + 1
        # Line starts from the lengths of the pieces between newlines, all in C (no Python
        # step per line), as it is on the way to the first screen: start k is base, plus k
        # newlines, plus the lengths of the k pieces before it.
        lengths = accumulate(map(len, data[first + 1 :].split(b"\n")), initial=0)
        starts = array("q", map(add, lengths, count(base)))
        starts.pop()  # the end of the last piece: past the data
        if starts[-1] >= size:
            starts.pop()  # the file ends with a newline: no line after it
        self._tail = starts
        self._tail_start = base
        per_line = (size - base) / max(1, len(starts))
        self._estimate = round(base / max(per_line, 1.0))

    def start(self) -> None:
        """Start counting in a background thread (once)."""
        with self._lock:  # two threads may ask at once (the view, a merge)
            if self._thread is None:
                thread = threading.Thread(
                    target=self._count_all, name=f"log-index:{self.path}", daemon=True
                )
                self._counting = True
                thread.start()
                self._thread = thread

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the first full count; True when it is done."""
        self.start()
        assert self._thread is not None
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def close(self) -> None:
        """Stop counting and close the file."""
        self._stop.set()
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def _count_all(self) -> None:
        # An OSError means the file was closed under us: the view shows what was counted.
        try:
            with contextlib.suppress(OSError):
                self._count_to(self._size)
        finally:
            with self._lock:
                self._counting = False  # no reader waits for a count that has ended
                self._counted_more.notify_all()

    def _count_to(self, size: int) -> None:
        """Count newlines from the last whole block up to ``size`` bytes."""
        while not self._stop.is_set():
            with self._lock:
                generation = self.generation
                base = (len(self._cum) - 1) * BLOCK
                if base >= size or self._counted >= size:
                    break
                fd = self._fd
            data = os.pread(fd, min(READ, size - base), base)
            if not data:
                break
            counts = array("q")
            total = self._cum[-1]
            end = len(data)
            whole = end - end % BLOCK
            for offset in range(0, whole, BLOCK):
                total += data.count(b"\n", offset, offset + BLOCK)
                counts.append(total)
            partial = data.count(b"\n", whole) if whole < end else 0
            with self._lock:
                if generation != self.generation:
                    return  # truncated or rotated meanwhile: a new count has started
                self._cum.extend(counts)
                # The block counted in part before holds more newlines now.
                self._blocks.pop(base // BLOCK, None)
                self._counted = base + end
                self._newlines = total + partial
                self._last_byte = data[-1:]
                self._counted_more.notify_all()
                if whole < end:
                    # A block in part: recounted on the next round, from its start.
                    break
        with self._lock:
            if self._tail and self._counted >= self._size:
                # The count reached the end: exact numbers replace the estimate.
                self._tail = array("q")
                self._tail_start = self._size

    # -- reading ----------------------------------------------------------------------------

    @property
    def complete(self) -> bool:
        """True once every byte of the file up to its known size has been counted."""
        return self._counted >= self._size

    @property
    def progress(self) -> float:
        """How much of the file has been counted, 0 to 1."""
        return 1.0 if self._size == 0 else min(1.0, self._counted / self._size)

    @property
    def line_count(self) -> int:
        """Lines in the file (estimated while the count has not reached the indexed tail)."""
        with self._lock:
            if self._tail:
                return max(self._estimate, self._newlines) + len(self._tail)
            return self._newlines + (1 if self._last_byte not in (b"", b"\n") else 0)

    def _newline_positions(self, block: int) -> array[int]:
        cached = self._blocks.get(block)
        if cached is not None:
            self._blocks.move_to_end(block)
            return cached
        start = block * BLOCK
        data = os.pread(self._fd, min(BLOCK, self._counted - start), start)
        positions = array("q", (start + match.start() for match in _NEWLINE.finditer(data)))
        self._blocks[block] = positions
        if len(self._blocks) > BLOCK_CACHE:
            self._blocks.popitem(last=False)
        return positions

    def _start_of(self, index: int) -> int | None:
        """Offset of the first byte of counted line ``index``, or None when not counted yet."""
        if index == 0:
            return 0
        if index > self._newlines:
            return None
        block = bisect.bisect_left(self._cum, index) - 1
        positions = self._newline_positions(block)
        return positions[index - self._cum[block] - 1] + 1

    def span(self, index: int) -> tuple[int, int] | None:
        """Byte offsets ``(start, end)`` of line ``index`` without its newline, or None."""
        with self._lock:
            if self._tail:
                head = max(self._estimate, self._newlines)
                if index >= head:
                    position = index - head
                    if position >= len(self._tail):
                        return None
                    start = self._tail[position]
                    end = (
                        self._tail[position + 1] - 1
                        if position + 1 < len(self._tail)
                        else self._size
                    )
                    if end == self._size and self._last_tail_newline():
                        end -= 1
                    return start, end
            first = self._start_of(index)
            if first is None or (first >= self._counted and index > 0):
                return None
            start = first
            after = self._start_of(index + 1)
            end = after - 1 if after is not None else self._counted
            return start, end

    def _last_tail_newline(self) -> bool:
        return os.pread(self._fd, 1, self._size - 1) == b"\n"

    def raw(self, index: int, limit: int = MAX_LINE_BYTES) -> tuple[bytes, int] | None:
        """Up to ``limit`` bytes of line ``index`` and how many were left out, or None."""
        span = self.span(index)
        if span is None:
            return None
        start, end = span
        length = end - start
        with self._lock:
            data = os.pread(self._fd, min(length, limit), start) if length else b""
        return data, max(0, length - limit)

    def line_of_offset(self, offset: int) -> int:
        """The line that holds byte ``offset`` (of the counted part)."""
        with self._lock:
            block = offset // BLOCK
            base = block * BLOCK
            if block >= len(self._cum):
                block = len(self._cum) - 1
                base = block * BLOCK
            count = self._cum[block]
            data = os.pread(self._fd, offset - base, base)
            return count + data.count(b"\n")

    def chunks(self, start: int, end: int | None = None) -> Iterator[tuple[int, bytes]]:
        """The counted bytes from ``start`` as ``(offset, data)`` pieces that end at a newline.

        A line longer than a piece is split across two; searches accept that rare miss.
        """
        for offset, data, stop in self.pieces(start, end):
            yield offset, data if stop == len(data) else data[:stop]

    def pieces(self, start: int, end: int | None = None) -> Iterator[tuple[int, bytes, int]]:
        """As ``chunks``, without copying a piece to cut it: ``(offset, data, stop)`` where
        ``data[:stop]`` ends at a newline (the bytes after ``stop`` come again in the next)."""
        offset = start
        generation = self.generation
        while not self._stop.is_set():
            with self._lock:
                limit = self._counted_limit(offset, end, generation)
                if limit is None:
                    return
                data = os.pread(self._fd, min(READ, limit - offset), offset)
            if not data:
                return
            stop = len(data)
            if offset + stop < limit:
                cut = data.rfind(b"\n") + 1
                if cut > 0:
                    stop = cut
            yield offset, data, stop
            offset += stop

    def _counted_limit(self, offset: int, end: int | None, generation: int) -> int | None:
        """Where ``pieces`` may read to from ``offset`` (the lock held): the counted bytes,
        waited for while the first count is on its way there (a search typed at once must
        not end at what was counted so far); None when no more will come."""
        while True:
            limit = self._counted if end is None else min(end, self._counted)
            if offset < limit:
                return limit
            wanted = self._size if end is None else min(end, self._size)
            if (
                not self._counting  # nothing more comes without a poll
                or offset >= wanted
                or generation != self.generation
                or self._stop.is_set()
            ):
                return None
            self._counted_more.wait(0.1)

    # -- following --------------------------------------------------------------------------

    def poll(self) -> FileChange:
        """Look at the file again: count appended data, notice truncation and rotation."""
        if self._counting:
            return FileChange(False, None)  # the first count is still running
        try:
            size = os.fstat(self._fd).st_size
        except OSError:
            return FileChange(False, None)
        notice: str | None = None
        try:
            info = os.stat(self.path)  # noqa: PTH116 - str paths, as opened
            rotated = (info.st_dev, info.st_ino) != self._identity
        except FileNotFoundError:
            rotated = False
            if not self.deleted:
                self.deleted = True
                notice = f"{self.path} was deleted; showing what it held"
        if rotated and size <= self._counted:
            # The old file holds nothing more: follow the new one, as tail -F does.
            self.deleted = False
            self._open(self.path)
            self._count_to(self._size)
            return FileChange(True, f"{self.path} was rotated; now showing the new file")
        if size < self._counted:
            self._reset(size)
            self._count_to(size)
            return FileChange(True, f"{self.path} was truncated; read again from the start")
        if size > self._counted:
            self._size = max(self._size, size)
            self._count_to(size)
            return FileChange(True, notice)
        return FileChange(False, notice)


_NEWLINE = re.compile(b"\n")
_REGEX_SYNTAX = re.compile(r"[.^$*+?{}\[\]\\|()]")


# Letters from the rarest to the most common in logs (English text and its identifiers).
_RARITY = b"zqjxkvbywgpfmuchdlrsnioate"


class ByteSearch:
    """A text search run over raw bytes of a file, as fast as the pattern allows.

    A plain word is found as a compiled literal (sre's literal search is faster here than
    ``bytes.find``). Case-insensitive, it is found by its longest run of characters that have
    no case (digits, punctuation), the line then checked with the regex; a word of letters only
    is found in a lowered copy of the bytes, and a piece that holds its rarest letter in neither
    case is skipped without being lowered (memchr speed). Anything else is the regex itself,
    which Python runs several times slower.
    """

    def __init__(self, pattern: re.Pattern[str]) -> None:
        text = pattern.pattern
        fold = bool(pattern.flags & re.IGNORECASE)
        self.regex = re.compile(
            text.encode("utf-8", "surrogateescape"), pattern.flags & ~re.UNICODE
        )
        self._literal: re.Pattern[bytes] | None = None
        self._verify = False
        self._lower = False
        self._rare: tuple[bytes, bytes] | None = None
        """The needle's rarest letter in both cases: a piece with neither cannot match."""
        if _REGEX_SYNTAX.search(text) is not None or not text:
            return
        if not fold:
            self._literal = re.compile(re.escape(text.encode("utf-8", "surrogateescape")))
            return
        uncased = max(re.findall(r"[\d\W_]+", text) or [""], key=len)
        if len(uncased) >= 3:
            self._literal = re.compile(re.escape(uncased.encode("utf-8", "surrogateescape")))
            self._verify = True
        elif text.isascii():
            lowered = text.lower().encode()
            self._literal = re.compile(re.escape(lowered))
            self._lower = True
            letters = [byte for byte in lowered if byte in _RARITY]
            if letters:
                rare = min(letters, key=_RARITY.index)
                self._rare = (bytes([rare]), bytes([rare]).upper())

    def finditer(self, data: bytes, stop: int | None = None) -> Iterator[int]:
        """Offsets in ``data[:stop]`` of matches, at most one per line, in order."""
        stop = len(data) if stop is None else stop
        literal = self._literal
        if literal is None:
            for match in self.regex.finditer(data, 0, stop):
                yield match.start()
            return
        haystack = data
        if self._lower:
            rare = self._rare
            if rare is not None and all(data.find(letter, 0, stop) < 0 for letter in rare):
                return
            haystack = data.lower()
        found = literal.search(haystack, 0, stop)
        while found is not None:
            position = found.start()
            line_end = haystack.find(b"\n", position, stop)
            if line_end < 0:
                line_end = stop
            if self._verify:
                line_start = haystack.rfind(b"\n", 0, position) + 1
                checked = self.regex.search(data, line_start, line_end)
                if checked is not None:
                    yield checked.start()
            else:
                yield position
            found = literal.search(haystack, line_end, stop)


class FileDocument:
    """A file as a Document, through its LineIndex."""

    def __init__(self, path: str, *, name: str | None = None) -> None:
        self.name = name or path
        self.index = LineIndex(path)
        self._notices: list[str] = []
        self._started = False
        self._start_lock = threading.Lock()

    def start(self, follow_interval: float | None = FOLLOW_INTERVAL) -> None:
        """Start indexing in the background, then follow the file every ``follow_interval`` s.

        Only the first call does anything.
        """
        with self._start_lock:  # the view and a merge may both ask
            if self._started:
                return
            self._started = True
        self.index.start()
        if follow_interval is not None:
            threading.Thread(
                target=self._follow, args=(follow_interval,), name="log-follow", daemon=True
            ).start()

    def _follow(self, interval: float) -> None:
        stop = self.index._stop
        self.index.wait()
        while not stop.wait(interval):
            try:
                self.poll()
            except OSError as error:
                self._notices.append(f"{self.name}: {error.strerror or error}; no longer followed")
                return

    def close(self) -> None:
        """Stop indexing and following, and close the file."""
        self.index.close()

    @property
    def line_count(self) -> int:
        """Lines in the file now."""
        return self.index.line_count

    @property
    def generation(self) -> int:
        """Changes when the file was truncated or rotated."""
        return self.index.generation

    def line(self, index: int) -> DocLine:
        """Line ``index``, decoded; a placeholder while the index has not reached it."""
        try:
            found = self.index.raw(index)
        except OSError as error:
            return DocLine(f"[cannot read: {error.strerror}]", marker=True)
        if found is None:
            return DocLine("[indexing…]", marker=True)
        data, cut = found
        return DocLine(decode(data), cut)

    def lines(self, start: int) -> Iterator[tuple[int, DocLine]]:
        """Lines from ``start`` on, read in large pieces (for filters and scans)."""
        span = self.index.span(start)
        if span is None:
            return
        number = start
        pending = b""
        for _, data in self.index.chunks(span[0]):
            pieces = (pending + data).split(b"\n")
            pending = pieces.pop()
            for piece in pieces:
                cut = max(0, len(piece) - MAX_LINE_BYTES)
                yield number, DocLine(decode(piece[:MAX_LINE_BYTES] if cut else piece), cut)
                number += 1
        if pending:
            yield number, DocLine(decode(pending[:MAX_LINE_BYTES]))

    def matching_lines(self, pattern: ByteSearch, start: int = 0) -> Iterator[int]:
        """Numbers of the lines from ``start`` on that ``pattern`` matches, at regex speed.

        Only matches cost Python work: the newlines between two matches are counted in C.
        """
        span = self.index.span(start)
        if span is None:
            return
        number = start
        for _, data, stop in self.index.pieces(span[0]):
            position = 0
            last = -1
            for found in pattern.finditer(data, stop):
                number += data.count(b"\n", position, found)
                position = found
                if number != last:
                    last = number
                    yield number
            number += data.count(b"\n", position, stop)

    def find(self, pattern: ByteSearch, start: int, *, backward: bool = False) -> int | None:
        """The first line after ``start`` (or last before it) that ``pattern`` matches; back
        from ``start`` at or past the line count, the last line is searched too."""
        index = self.index
        count = self.line_count
        past_end = backward and start >= count
        span = index.span(count - 1 if past_end else start)
        if span is None:
            return None
        if not backward:
            origin = span[1]  # the end of the start line: matches begin on the next one
            for offset, data, stop in index.pieces(origin):
                found = next(pattern.finditer(data, stop), None)
                if found is not None:
                    return index.line_of_offset(offset + found)
            return None
        end = span[1] + 1 if past_end else span[0]
        while end > 0:
            begin = max(0, end - READ)
            for offset, data, stop in index.pieces(begin, end):
                last = None
                for last in pattern.finditer(data, stop):  # noqa: B007 - the last one is wanted
                    pass
                if last is not None and offset + last < end - 1:
                    return index.line_of_offset(offset + last)
            end = begin
        return None

    def status(self) -> str:
        """``indexing N%`` while counting, ``deleted`` when the file is gone."""
        parts = []
        if not self.index.complete:
            parts.append(f"indexing {self.index.progress:.0%}")
        if self.index.deleted:
            parts.append("deleted")
        return ", ".join(parts)

    def poll(self) -> bool:
        """Follow the file once; True when there are new lines."""
        change = self.index.poll()
        if change.notice and len(self._notices) < 20:  # a file nobody looks at keeps a few
            self._notices.append(change.notice)
        return change.grew

    def take_notices(self) -> list[str]:
        """Rotations, truncations and deletions seen since the last call."""
        notices, self._notices = self._notices, []
        return notices


def open_checked(path: str, opener: Callable[[str], FileDocument] = FileDocument) -> FileDocument:
    """Open ``path`` as a document; OSError or ValueError with a message a person can act on."""
    try:
        with open(path, "rb") as handle:  # noqa: PTH123 - a plain open is what is checked
            sample = handle.read(BINARY_SAMPLE)
    except PermissionError:
        raise PermissionError(f"{path}: permission denied (try sudo, or a readable copy)") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{path}: is a directory (give a file or a glob)") from None
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    if looks_binary(sample):
        raise ValueError(f"{path}: looks like a binary file, not a log")
    return opener(path)
