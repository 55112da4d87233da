"""The log view: numbered lines of a file or stream drawn on demand, never loaded whole.

``LogView`` is a line-API ScrollView over a ``Document`` (a file through its newline index, or
a stream's ring buffer). It draws only the lines on screen, each through ``safe_text`` so no
escape sequence from a log reaches the terminal, coloured by level. Searching, filtering and
jumps run in threads over the document; following takes new lines once per frame, however fast
they arrive. ``LogPane`` wraps it with a title line, a prompt for search, filter, save and
trace, and the level histogram; the ``logs`` command and the console's Logs tab both use it.
"""

from __future__ import annotations

import bisect
import re
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Sequence, Set
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import AwaitMount
from textual.widgets import Input, Static

from opsconsole.sources.base import BUNDLE_LOGS_PREFIX
from opsconsole.sources.log_index import ByteSearch, DocLine, Document, FileDocument
from opsconsole.sources.log_levels import Level, LineInfo, Stamp, analyse, parse_timestamp
from opsconsole.sources.log_sources import MergedDocument, RingDocument, feed_log_lines
from opsconsole.sources.text import safe_text
from opsconsole.widgets.pane import EventPane

if TYPE_CHECKING:  # kept off the start of ``opsconsole logs FILE``: events import msgspec,
    # and the histogram is mounted after the first frame
    from opsconsole.sources.events import Event, LogLines
    from opsconsole.widgets.log_histogram import LogHistogram

FRAME = 0.1
"""Seconds between two looks at the documents for new lines: one redraw per frame at most."""
FLOOD_FRAME = 0.25
"""Seconds between two redraws while followed lines arrive faster than half a screen a frame:
too fast to read either way, and each such redraw costs a whole screen's repaint."""
COPY_LIMIT = 10_000
"""Lines one copy takes at most (OSC 52 payloads are limited by terminals anyway)."""
SHOWN_CHARS = 4096
"""Characters of a line drawn; the rest is said to be cut (horizontal scroll stops there)."""
TIME_MODES = ("raw", "utc", "local", "hidden")
JSON_MODES = ("raw", "fields", "pretty")
# Regexes used only on a key press stay text until then (re compiles and caches them): their
# compiling is no part of the first frame.
_ERROR_HINT = (
    r"(?i)error|fatal|crit|panic|emerg|severe|exception|traceback|<[0-3]>|\"priority\":\"[0-3]\""
)
_TOKEN = (
    r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
    r"|(?:req(?:uest)?|trace|span|corr(?:elation)?)[-_]?id[=:\"' ]+([\w.-]+)"
    r"|\b(?=[\w-]*\d)[A-Za-z0-9][\w-]{7,}\b"
)


def smart_pattern(text: str) -> re.Pattern[str]:
    """A regex for ``text``: case-insensitive unless it has a capital (vim's smartcase).

    An invalid regex is searched for literally, so a stray ``[`` still finds something.
    """
    flags = 0 if any(char.isupper() for char in text) else re.IGNORECASE
    try:
        return re.compile(text, flags)
    except re.error:
        return re.compile(re.escape(text), flags)


def id_token(text: str) -> str | None:
    """The first thing in ``text`` that looks like a request or correlation id, or None."""
    match = re.search(_TOKEN, text)
    if match is None:
        return None
    return match.group(1) or match.group(0)


# --- filters --------------------------------------------------------------------------------


class FilterSpec:
    """What a filter keeps: regexes all present, none of the excluded, a level, a time range.

    A plain class, not a dataclass: its generated methods cost ``opsconsole logs FILE`` about
    a millisecond before the first frame, and nothing compares or prints a spec.
    """

    __slots__ = ("context", "exclude", "include", "min_level", "since", "text", "until")

    def __init__(
        self,
        *,
        include: list[re.Pattern[str]] | None = None,
        exclude: list[re.Pattern[str]] | None = None,
        min_level: Level = Level.NONE,
        since: float | None = None,
        until: float | None = None,
        context: int = 0,
        text: str = "",
    ) -> None:
        self.include: list[re.Pattern[str]] = include if include is not None else []
        self.exclude: list[re.Pattern[str]] = exclude if exclude is not None else []
        self.min_level = min_level
        self.since = since
        self.until = until
        self.context = context
        self.text = text

    @classmethod
    def parse(cls, text: str) -> FilterSpec:
        """Parse ``regex !excluded level:warn since:TIME until:TIME -C3`` (any order, AND).

        ValueError with the reason for a bad level or time.
        """
        spec = cls(text=text.strip())
        for word in text.split():
            key, _, value = word.partition(":")
            if key == "level" and value:
                spec.min_level = Level.parse(value)
            elif key in ("since", "until") and value:
                moment = value.replace("_", " ")
                minutes = re.fullmatch(r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d)(Z|[+-][\d:]+)?", moment)
                if minutes is not None:
                    moment = f"{minutes.group(1)}:00{minutes.group(2) or ''}"
                elif re.fullmatch(r"\d{4}-\d\d-\d\d", moment):
                    moment += "T00:00:00"
                stamp = parse_timestamp(moment)
                if stamp is None:
                    raise ValueError(f"not a time: {value!r} (use 2026-11-24T10:00:00)")
                setattr(spec, key, stamp.ts)
            elif re.fullmatch(r"-C\d+|context:\d+", word):
                spec.context = int(re.sub(r"\D", "", word))
            elif word.startswith("!") and len(word) > 1:
                spec.exclude.append(smart_pattern(word[1:]))
            else:
                spec.include.append(smart_pattern(word))
        return spec

    @property
    def simple(self) -> bool:
        """True when one regex alone decides (a file can then be scanned at regex speed)."""
        return (
            len(self.include) == 1
            and not self.exclude
            and self.min_level is Level.NONE
            and self.since is None
            and self.until is None
        )

    def keeps(self, line: DocLine, info_level: Level, ts: float | None) -> bool:
        """True when ``line`` (of level ``info_level``, at ``ts``) passes."""
        if line.marker:
            return True  # dropped-lines markers stay visible whatever the filter
        text = line.text
        if any(pattern.search(text) is None for pattern in self.include):
            return False
        if any(pattern.search(text) is not None for pattern in self.exclude):
            return False
        if info_level < self.min_level:
            return False
        if self.since is not None and (ts is None or ts < self.since):
            return False
        return not (self.until is not None and (ts is None or ts > self.until))


class FilteredDocument:
    """The lines of a document that a filter keeps, filled in by a background thread.

    A stream or a merge drops its oldest lines as new ones come (its ``evicted`` count grows
    and its line 0 becomes a marker), which moves every line number; the filter keeps numbers
    that do not move, counted from the first line the base ever held, and turns them into the
    base's line numbers of the moment when asked.
    """

    def __init__(self, base: Document, spec: FilterSpec) -> None:
        self.base = base
        self.spec = spec
        self.name = base.name
        self.rows: array[int] = array("I")
        """Lasting numbers (see the class) of the lines kept, ascending: 4 bytes a line (10M
        matches take 40 MB), widened to 8 only past 2**32 lines."""
        self.generation = base.generation
        self._stop = threading.Event()
        self._scanned = 0
        self.done = False
        threading.Thread(target=self._run, name="log-filter", daemon=True).start()

    @property
    def line_count(self) -> int:
        """Lines kept so far."""
        return len(self.rows)

    def _evicted(self) -> int:
        return int(getattr(self.base, "evicted", 0))

    @staticmethod
    def _lasting(index: int, evicted: int) -> int:
        """The lasting number of the base's line ``index`` while it has dropped ``evicted``."""
        return index + evicted - (1 if evicted else 0)

    @staticmethod
    def _index(lasting: int, evicted: int) -> int:
        """The base's line number now of lasting number ``lasting``."""
        return lasting - evicted + (1 if evicted else 0)

    def line(self, index: int) -> DocLine:
        """Line ``index`` of the filtered view."""
        if not 0 <= index < len(self.rows):
            return DocLine("", marker=True)
        lasting, evicted = self.rows[index], self._evicted()
        if lasting < evicted:
            return DocLine("[dropped from the buffer since it matched]", marker=True)
        return self.base.line(self._index(lasting, evicted))

    def lines(self, start: int) -> Iterator[tuple[int, DocLine]]:
        """Kept lines from ``start`` on."""
        for index in range(start, len(self.rows)):
            yield index, self.line(index)

    def base_index(self, index: int) -> int:
        """The base document's number of filtered line ``index``."""
        return max(0, self._index(self.rows[index], self._evicted()))

    def index_of(self, base_index: int) -> int:
        """The filtered line at or after the base's line ``base_index``."""
        return bisect.bisect_left(self.rows, self._lasting(base_index, self._evicted()))

    def status(self) -> str:
        """``filtering`` while the first pass runs."""
        return "" if self.done else f"filtering ({self._scanned:,} lines read)"

    def take_notices(self) -> list[str]:
        """The base's notices."""
        return self.base.take_notices()

    def stop(self) -> None:
        """Stop the background thread."""
        self._stop.set()

    def _run(self) -> None:
        # The first pass reads to the end; then, while the view lives, new lines are taken
        # as they arrive, so a filter keeps following a followed file.
        start = 0
        base = self.base
        # Line numbers are estimates until a file's first count ends: filter exact ones.
        while isinstance(base, FileDocument) and not base.index.complete:
            if self._stop.wait(FRAME):
                return
        while not self._stop.is_set():
            if self.base.generation != self.generation:
                return  # truncated or rotated: the view builds a new filter
            end = self._scan(start)
            self.done = True
            start = end
            self._stop.wait(FRAME)

    def _scan(self, start: int) -> int:
        try:
            end = self._scan_from(start)
        except OverflowError:  # a line number past 2**32: widen, then go on from the last kept
            self.rows = array("q", self.rows)
            end = self._scan_from(self.rows[-1] + 1 if self.rows else start)
        self._forget_dropped()
        return end

    def _forget_dropped(self) -> None:
        """Drop the kept lines the base no longer holds, once they are a good share of them
        (a slice of the array each time would cost more than the lines are worth)."""
        gone = bisect.bisect_left(self.rows, self._evicted())
        if gone and gone >= max(1024, len(self.rows) // 4):
            del self.rows[:gone]

    def _scan_from(self, start: int) -> int:
        spec, base = self.spec, self.base
        kept = self.rows
        if spec.simple and not spec.context and isinstance(base, FileDocument):
            pattern = ByteSearch(spec.include[0])
            count = 0
            for count, number in enumerate(base.matching_lines(pattern, start), 1):  # noqa: B007
                kept.append(number)
                if self._stop.is_set():
                    break
            total = base.line_count
            self._scanned = total
            return total
        after = 0
        recent: deque[int] = deque(maxlen=spec.context)
        previous = Level.NONE
        evicted = self._evicted()
        # Line 0 of a base that dropped lines is its marker, not a line of the log.
        first = max(self._index(start, evicted), 1 if evicted else 0)
        numbered: Iterator[tuple[int, DocLine]] = base.lines(first)
        if hasattr(base, "evicted"):  # a file never drops lines: its numbers last as they are
            # Read after each line: lines may have been dropped while the scan went on.
            numbered = ((self._lasting(i, self._evicted()), line) for i, line in numbered)
        number = start - 1
        for number, line in numbered:
            if self._stop.is_set():
                return number
            info = analyse(line.text, previous)
            level = Level(line.level) if line.level else info.level
            previous = level
            ts = line.ts if line.ts is not None else info.stamp.ts if info.stamp else None
            if spec.keeps(line, level, ts):
                while recent:
                    context = recent.popleft()
                    if not kept or context > kept[-1]:
                        kept.append(context)
                if not kept or number > kept[-1]:
                    kept.append(number)
                after = spec.context
            elif after:
                kept.append(number)
                after -= 1
            elif spec.context:
                recent.append(number)
            if number % 65536 == 0:
                self._scanned = number
        self._scanned = number + 1
        return max(start, number + 1)


# --- the view -------------------------------------------------------------------------------


def _format_time(ts: float, mode: str) -> str:
    if mode == "utc":
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    moment = datetime.fromtimestamp(ts).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + moment.strftime(" %Z")


def _json_fields(fields: dict[str, Any]) -> str:
    import json  # here, not at the top: 2 ms that a log without JSON never needs

    message = next(
        (fields[key] for key in ("msg", "message", "MESSAGE") if isinstance(fields.get(key), str)),
        None,
    )
    rest = " ".join(
        f"{key}={value if isinstance(value, str) else json.dumps(value)}"
        for key, value in fields.items()
        if value is not message
    )
    return f"{message}  {rest}" if message is not None else rest


class LogView(ScrollView, can_focus=True):
    """Lines of one document, drawn on demand, with a line cursor.

    Keys follow less, vim and lnav: j/k, g/G, / n N, e/E errors, m bookmarks and u/U to jump
    between them, f follow. The view follows the end (``follow``) until the cursor moves up.
    """

    HELP_GROUP: ClassVar[str] = "Logs"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor(1)", "Down", show=False, id="logs.down"),
        Binding("up,k", "cursor(-1)", "Up", show=False, id="logs.up"),
        Binding("pagedown,space", "page(1)", "Page down", show=False, id="logs.page_down"),
        Binding("pageup,b", "page(-1)", "Page up", show=False, id="logs.page_up"),
        Binding("g,home", "first", "First line", show=False, id="logs.first"),
        Binding("G,end", "last", "Last line", show=False, id="logs.last"),
        Binding("left,h", "scroll_left", "Left", show=False, id="logs.left"),
        Binding("right,l", "scroll_right", "Right", show=False, id="logs.right"),
        Binding("f", "toggle_follow", "Follow", id="logs.follow"),
        Binding("n", "search_next(1)", "Next match", show=False, id="logs.search_next"),
        Binding("N", "search_next(-1)", "Previous match", show=False, id="logs.search_previous"),
        Binding("e", "error(1)", "Next error", id="logs.next_error"),
        Binding("E", "error(-1)", "Previous error", show=False, id="logs.previous_error"),
        Binding("m", "bookmark", "Mark", show=False, id="logs.bookmark"),
        Binding("u", "goto_bookmark(1)", "Next mark", show=False, id="logs.next_bookmark"),
        Binding("U", "goto_bookmark(-1)", "Previous mark", show=False, id="logs.prev_bookmark"),
        Binding("w", "toggle_wrap", "Wrap", show=False, id="logs.wrap"),
        Binding("T", "cycle_time", "Time", show=False, id="logs.time"),
        Binding("J", "cycle_json", "JSON", show=False, id="logs.json"),
        Binding("v", "select", "Select", show=False, id="logs.select"),
        Binding("y", "copy", "Copy", show=False, id="logs.copy"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "logview--cursor",
        "logview--selected",
        "logview--error",
        "logview--warn",
        "logview--debug",
        "logview--marker",
        "logview--match",
        "logview--bookmark",
        "logview--time",
        "logview--origin",
    }
    """
    | Class | Description |
    | :- | :- |
    | `logview--cursor` | The line under the cursor. |
    | `logview--selected` | Lines of the selection being made for a copy. |
    | `logview--error` | Lines of level error and fatal. |
    | `logview--warn` | Warnings. |
    | `logview--debug` | Debug and trace lines. |
    | `logview--marker` | Lines the console wrote (lines dropped, cut, rotated). |
    | `logview--match` | Search matches. |
    | `logview--bookmark` | The bookmark sign in the gutter. |
    | `logview--time` | Timestamps shown in UTC or local time. |
    | `logview--origin` | The source name of a line in a merged view. |
    """

    DEFAULT_CSS = """
    LogView {
        background: $surface;
        color: $foreground;
        & > .logview--cursor { background: $block-cursor-blurred-background; }
        &:focus > .logview--cursor { background: $block-cursor-background 60%; }
        & > .logview--selected { background: $primary 30%; }
        & > .logview--error { color: $error; }
        & > .logview--warn { color: $warning; }
        & > .logview--debug { color: $foreground 60%; }
        & > .logview--marker { color: $accent; text-style: italic; }
        & > .logview--match { background: $warning; color: $background; }
        & > .logview--bookmark { color: $accent; text-style: bold; }
        & > .logview--time { color: $secondary; }
        & > .logview--origin { color: $primary; text-style: bold; }
    }
    """

    class Changed(Message):
        """The position, the document or a mode changed: the pane updates its title."""

    class Notice(Message):
        """Something the user should read: a rotation, a failed search, a saved file."""

        def __init__(self, text: str, severity: str = "information") -> None:
            super().__init__()
            self.text = text
            """What to say (already plain text, not markup)."""
            self.severity = severity
            """information, warning or error."""

    cursor: reactive[int] = reactive(0, init=False)
    """Index of the line under the cursor in the document shown."""
    follow: reactive[bool] = reactive(True, init=False)
    """True while the view stays on the last line as lines arrive."""
    wrap: reactive[bool] = reactive(False, init=False)
    """True to wrap long lines instead of scrolling sideways."""
    time_mode: reactive[str] = reactive("raw", init=False)
    """How timestamps show: raw, utc, local (with the zone) or hidden."""
    json_mode: reactive[str] = reactive("fields", init=False)
    """How JSON lines show: raw, fields (message then key=value) or pretty (indented)."""

    def __init__(
        self, document: Document, *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.base: Document = document
        """The document before any filter: a file, a stream, a merge."""
        self.document: Document = document
        """What is shown: ``base``, or ``base`` through a filter."""
        self.filter: FilterSpec | None = None
        self.search: re.Pattern[str] | None = None
        self.bookmarks: set[int] = set()
        """Bookmarked lines, as numbers in ``base``."""
        self.selection_start: int | None = None
        """Start of the selection being made (``v``), or None."""
        self._seen: tuple[int, int, int] = (-1, -1, -1)
        self._status: tuple[str, str] = ("", "")
        """What the documents' ``status`` said when the title was last told (see ``tick``)."""
        self._drawn = 0.0
        """When new lines were last drawn (monotonic seconds)."""
        self._evicted = 0
        self._styles: dict[str, Style] = {}
        self._rows: tuple[Any, list[Strip]] | None = None
        self._widest = 0
        self.busy = False
        """True while a search or jump runs in the background."""
        self.on_change: Callable[[], None] | None = None
        """Called when the position, the document or a mode changed (instead of ``Changed``),
        so that a title is redrawn in the same frame as the lines, not one frame later."""

    # -- the document -------------------------------------------------------------------

    def _changed(self) -> None:
        """Tell the title: at once through ``on_change`` (the same frame), else by a message."""
        if self.on_change is not None:
            self.on_change()
        else:
            self.post_message(self.Changed())

    def on_mount(self) -> None:
        self._refresh_size()
        # The frame timer runs only while the view is on screen: a hidden Logs view costs
        # nothing (its documents keep taking lines; the first frame shown draws them).
        self._frame = self.set_interval(FRAME, self.tick, name="log-view-frame", pause=True)
        if self.follow:
            self.call_after_refresh(self._go_end)
        self.call_after_refresh(self._start_documents)

    def _start_documents(self) -> None:
        # Counting a big file competes with the first screen for the interpreter: start it
        # once that screen (from the indexed tail) is drawn.
        for document in self._documents_shown():
            if isinstance(document, FileDocument):
                document.start()

    def _documents_shown(self) -> list[Document]:
        base = self.base
        return list(base.documents) if isinstance(base, MergedDocument) else [base]

    def set_document(self, document: Document) -> None:
        """Show another document (another file, a merge); filters and search are kept."""
        self._stop_filter()
        if isinstance(self.base, MergedDocument) and self.base is not document:
            self.base.close()  # a merge left behind stops following its documents
        self.base = document
        self._start_documents()
        self.bookmarks.clear()
        self.selection_start = None
        self._evicted = getattr(document, "evicted", 0)
        self.document = document
        self._seen = (-1, -1, -1)  # another document: its first frame is drawn at once
        if self.filter is not None:
            self.apply_filter(self.filter)
        self._rows = None
        self._refresh_size()
        self.cursor = max(0, self.document.line_count - 1) if self.follow else 0
        self._go_end() if self.follow else self.scroll_to(0, 0, animate=False)
        self._changed()

    def _stop_filter(self) -> None:
        if isinstance(self.document, FilteredDocument):
            self.document.stop()

    def apply_filter(self, spec: FilterSpec | None) -> None:
        """Show only the lines ``spec`` keeps (None shows every line); the cursor keeps its line."""
        base_line = self.base_line(self.cursor)
        self._stop_filter()
        self.filter = spec if spec is not None and spec.text else None
        self.document = (
            self.base if self.filter is None else FilteredDocument(self.base, self.filter)
        )
        self._rows = None
        self._seen = (-1, -1, -1)
        self._refresh_size()
        if isinstance(self.document, FilteredDocument):
            # Set quietly: moving the cursor up would pause following, and whether it moves
            # up depends on how far the filter's thread has got.
            self.set_reactive(LogView.cursor, 0)
            if self.follow:
                self._go_end()
            else:
                self.scroll_to(0, 0, animate=False)
        elif base_line is not None:
            self.cursor = base_line
        self._changed()

    def base_line(self, index: int) -> int | None:
        """Number in ``base`` of shown line ``index``."""
        document = self.document
        if isinstance(document, FilteredDocument):
            return document.base_index(index) if index < document.line_count else None
        return index

    def shown_index(self, base_line: int) -> int:
        """Index of the shown line at or after ``base`` line ``base_line``."""
        document = self.document
        return document.index_of(base_line) if isinstance(document, FilteredDocument) else base_line

    def on_show(self) -> None:
        self._frame.resume()
        self.tick()

    def on_hide(self) -> None:
        self._frame.pause()

    def tick(self) -> None:
        """Once a frame: take new lines and notices, and redraw if anything changed."""
        document = self.document
        for notice in document.take_notices():
            self.post_message(self.Notice(notice, "warning"))
        evicted = getattr(self.base, "evicted", 0)
        state = (document.line_count, document.generation, evicted)
        if state == self._seen:
            status = (document.status(), self.base.status())
            if status != self._status:  # a filter or a count went on, or ended, with no new line
                self._status = status
                self._changed()
            if self.follow and self.scroll_y != self.max_scroll_y:
                self._go_end()  # a layout (a wider line came) left the view short of the end
            return
        if (
            state[1] != self._seen[1]
            and self._seen[1] != -1
            and isinstance(document, FilteredDocument)
        ):
            self.apply_filter(self.filter)  # the file was truncated or rotated: filter again
            return
        now = time.monotonic()
        if (
            self.follow
            and state[1] == self._seen[1]
            and state[0] - self._seen[0] > self.size.height // 2
            and now - self._drawn < FLOOD_FRAME
        ):
            return  # a flood: the next frame draws these lines with the ones after them
        self._drawn = now
        self._seen = state
        if evicted != self._evicted and not self.follow and document is self.base:
            # Lines dropped off the top of a ring: keep the lines on screen where they are.
            shift = evicted - self._evicted
            self.cursor = max(0, self.cursor - shift)
            self.scroll_to(y=max(0, self.scroll_y - shift), animate=False)
        self._evicted = evicted
        self._rows = None
        self._refresh_size()
        if self.follow:
            self._go_end()
        self.refresh()
        self._changed()

    def _refresh_size(self) -> None:
        size = Size(self._widest if not self.wrap else 0, max(self.document.line_count, 1))
        before = self.virtual_size
        if size == before:
            return
        # Textual lays out the whole screen on any change of a virtual size, as the scrollbars
        # may come or go. A followed log grows every frame: when only the height changed and
        # the vertical scrollbar stays as it is, the size is set quietly and only the thumb of
        # the scrollbar is resized (as RowTable does), so following costs a repaint, no layout.
        view = self.container_size.height
        if (
            self.is_mounted
            and view > 0
            and size.width == before.width
            and (size.height > view) == (before.height > view)
        ):
            self.set_reactive(LogView.virtual_size, size)
            self.vertical_scrollbar.window_virtual_size = size.height
            if self.scroll_y > self.max_scroll_y:  # fewer lines: at once, not after a refresh
                self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
        else:
            self.virtual_size = size

    def _go_end(self) -> None:
        if not self.follow:
            return  # a key moved the cursor since this was scheduled
        last = max(0, self.document.line_count - 1)
        self.set_reactive(LogView.cursor, last)
        # Set directly: scroll_to does nothing until a layout has shown the scrollbar that
        # the new lines need, and following must not wait a frame for that.
        self.scroll_target_y = self.scroll_y = self.max_scroll_y
        self.refresh()

    # -- cursor and scrolling ---------------------------------------------------------------

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, self.document.line_count - 1))

    def watch_cursor(self, old: int, new: int) -> None:
        height = self.scrollable_content_region.height
        top = round(self.scroll_y)
        if new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif height and new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False, immediate=True)
        if new < self.document.line_count - 1 and new < old:
            self.follow = False
        self._rows = None
        self.refresh()
        self._changed()

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self._go_end()
        self._changed()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._rows = None

    def watch_scroll_x(self, old: float, new: float) -> None:
        super().watch_scroll_x(old, new)
        self._rows = None

    def watch_wrap(self) -> None:
        self._rows = None
        self._refresh_size()
        self.scroll_to(x=0, animate=False)
        self.refresh()
        self._changed()

    def watch_time_mode(self) -> None:
        self._rows = None
        self.refresh()
        self._changed()

    def watch_json_mode(self) -> None:
        self._rows = None
        self.refresh()
        self._changed()

    def action_cursor(self, delta: int) -> None:
        """Move the cursor ``delta`` lines."""
        self.cursor += delta

    def action_page(self, direction: int) -> None:
        """Move a screen up or down."""
        self.cursor += direction * max(1, self.scrollable_content_region.height - 1)

    def action_first(self) -> None:
        """Go to the first line (and stop following)."""
        self.follow = False
        self.cursor = 0

    def action_last(self) -> None:
        """Go to the last line and follow from there."""
        self.follow = True
        self._go_end()

    def action_toggle_follow(self) -> None:
        """Follow new lines, or pause where the view is."""
        self.follow = not self.follow

    def action_toggle_wrap(self) -> None:
        """Wrap long lines, or scroll sideways."""
        self.wrap = not self.wrap

    def action_cycle_time(self) -> None:
        """Show timestamps as written, in UTC, in local time, or not at all."""
        self.time_mode = TIME_MODES[(TIME_MODES.index(self.time_mode) + 1) % len(TIME_MODES)]

    def action_cycle_json(self) -> None:
        """Show JSON lines raw, as fields, or pretty-printed."""
        self.json_mode = JSON_MODES[(JSON_MODES.index(self.json_mode) + 1) % len(JSON_MODES)]

    def go_to(self, index: int) -> None:
        """Put the cursor on shown line ``index`` (and stop following), centred if far."""
        self.follow = False
        height = self.scrollable_content_region.height
        top = round(self.scroll_y)
        if not top <= index < top + height:
            self.scroll_to(y=max(0, index - height // 2), animate=False, immediate=True)
        self.cursor = index

    # -- bookmarks and selection ------------------------------------------------------------

    def action_bookmark(self) -> None:
        """Mark the line under the cursor, or unmark it."""
        line = self.base_line(self.cursor)
        if line is None:
            return
        self.bookmarks ^= {line}
        self._rows = None
        self.refresh()

    def action_goto_bookmark(self, direction: int) -> None:
        """Jump to the next (1) or previous (-1) bookmark."""
        here = self.base_line(self.cursor) or 0
        marks = sorted(self.bookmarks)
        if direction > 0:
            later = [mark for mark in marks if mark > here]
            target = later[0] if later else None
        else:
            earlier = [mark for mark in marks if mark < here]
            target = earlier[-1] if earlier else None
        if target is None:
            self.post_message(self.Notice("No more bookmarks that way (m marks a line)"))
            return
        self.go_to(self.shown_index(target))

    def action_select(self) -> None:
        """Start a selection at the cursor (``y`` copies it), or drop the one being made."""
        self.selection_start = None if self.selection_start is not None else self.cursor
        self._rows = None
        self.refresh()

    def selected_range(self) -> range:
        """The lines a copy takes: the selection, or the line under the cursor."""
        if self.selection_start is None:
            return range(self.cursor, self.cursor + 1)
        low, high = sorted((self.selection_start, self.cursor))
        return range(low, min(high + 1, low + COPY_LIMIT))

    def action_copy(self) -> None:
        """Copy the selected lines over OSC 52 (made safe: no escapes reach the clipboard)."""
        lines = self.selected_range()
        text = "\n".join(safe_text(self.document.line(index).text) for index in lines)
        self.app.copy_to_clipboard(text)
        self.selection_start = None
        self._rows = None
        self.refresh()
        self.post_message(self.Notice(f"Copied {len(lines)} line(s) to the clipboard (OSC 52)"))

    # -- search and jumps (in threads) ------------------------------------------------------

    def start_search(self, text: str) -> None:
        """Search for ``text`` (a regex, smartcase) from the cursor down, highlighting matches;
        up from the last line, where a log opens and a follow stays (the newest match first)."""
        self.search = smart_pattern(text) if text else None
        self._rows = None
        self.refresh()
        if self.search is None:
            return
        count = self.document.line_count
        if self.follow or self.cursor >= count - 1:
            self._find(self.search, -1, f"/{self.search.pattern}", None, start=count)
        else:
            self.action_search_next(1)

    def action_search_next(self, direction: int) -> None:
        """Go to the next (1) or previous (-1) line the search matches."""
        if self.search is None:
            self.post_message(self.Notice("No search yet: press / to search"))
            return
        self._find(self.search, direction, f"/{self.search.pattern}", None)

    def action_error(self, direction: int) -> None:
        """Go to the next (1) or previous (-1) error or fatal line."""
        self._find(re.compile(_ERROR_HINT), direction, "error", Level.ERROR)

    def _find(
        self,
        pattern: re.Pattern[str],
        direction: int,
        what: str,
        level: Level | None,
        *,
        start: int | None = None,
    ) -> None:
        """Look for the next line ``pattern`` matches from ``start`` (the cursor) in a thread."""
        self.busy = True
        self._changed()
        origin = self.cursor if start is None else start
        self._find_worker(self.document, origin, pattern, direction, what, level)

    @work(thread=True, exclusive=True, group="log-find")
    def _find_worker(
        self,
        document: Document,
        start: int,
        pattern: re.Pattern[str],
        direction: int,
        what: str,
        level: Level | None,
    ) -> None:
        found = find_line(document, start, pattern, direction, level)
        self.app.call_from_thread(self._found, document, found, what, direction)

    def _found(self, document: Document, found: int | None, what: str, direction: int) -> None:
        self.busy = False
        if document is not self.document:
            return
        if found is None:
            # Says which way it looked, and the key that looks the other way.
            errors = what == "error"
            where, other = ("below", "up") if direction > 0 else ("above", "down")
            key = ("E" if errors else "N") if direction > 0 else ("e" if errors else "n")
            subject = f"errors {where}" if errors else f"matches {where} for {safe_text(what)}"
            message = f"No more {subject} ({key} looks {other})"
            self.post_message(self.Notice(message, "warning"))
            self._changed()
            return
        self.go_to(found)

    # -- saving ------------------------------------------------------------------------------

    def save(self, path: str) -> None:
        """Write exactly the lines shown (after filters) to ``path``, in a thread."""
        self._save_worker(self.document, path)

    @work(thread=True, exclusive=True, group="log-save")
    def _save_worker(self, document: Document, path: str) -> None:
        try:
            count = save_lines(document, Path(path).expanduser())
        except OSError as error:
            message = f"Not saved: {safe_text(path)}: {error.strerror or error}"
            self.post_message(self.Notice(message, "error"))
            return
        self.post_message(self.Notice(f"Saved {count:,} lines to {safe_text(path)}"))

    # -- drawing --------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._rows = None

    def _style(self, *names: str) -> Style:
        key = " ".join(names)
        style = self._styles.get(key)
        if style is None:
            style = self.get_component_rich_style(*names) if names else self.rich_style
            self._styles[key] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.height and self.scrollable_content_region.width
        height = self.scrollable_content_region.height
        # The lines counted at the last frame: a flood skips frames, and a repaint meanwhile
        # (a key, the title) must show what the scroll position was set for.
        count = self._seen[0] if self._seen[0] >= 0 else self.document.line_count
        top = round(self.scroll_y)
        if self.follow and height:
            # Following shows the end from the very first frame, before any layout has made
            # the scrollbar that lets the view scroll there.
            top = max(0, count - height)
        key = (top, round(self.scroll_x), width, height, count, self.document.line_count)
        if self._rows is None or self._rows[0] != key:
            self._rows = (key, self._layout(key[0], key[1], width, height))
        rows = self._rows[1]
        return rows[y] if y < len(rows) else Strip.blank(width, self.rich_style)

    def _layout(self, top: int, scroll_x: int, width: int, height: int) -> list[Strip]:
        """The Strips of the screen, from line ``top`` (wrapped or pretty lines take more rows)."""
        document = self.document
        count = document.line_count
        rows: list[Strip] = []
        previous = Level.NONE
        if top > 0 and top < count:
            previous = self._level(document.line(top - 1), Level.NONE)
        at_end = self.follow and self.wrap
        start = top
        if at_end:
            # Wrapped lines take several rows: fill the screen upwards from the last line.
            start = max(0, count - height)
        index = start
        while index < count and (at_end or len(rows) < height):
            line = document.line(index)
            # A line drawn as written needs no time from its text (see _segments), unless
            # its source gave one: skipping it spares a first frame the stamps' regexes.
            stamp = self.time_mode != "raw" or line.ts is not None
            info = None if line.marker else analyse(line.text[:SHOWN_CHARS], previous, stamp=stamp)
            level = Level(line.level) if line.level else info.level if info else Level.NONE
            previous = level
            rows.extend(self._line_rows(index, line, level, info, scroll_x, width))
            index += 1
        if at_end:
            rows = rows[-height:]
        return rows

    def _level(self, line: DocLine, previous: Level) -> Level:
        if line.level:
            return Level(line.level)
        return analyse(line.text, previous).level

    def _line_rows(
        self,
        index: int,
        line: DocLine,
        level: Level,
        info: LineInfo | None,
        scroll_x: int,
        width: int,
    ) -> list[Strip]:
        segments, extra = self._segments(index, line, info)
        base_style = self._line_style(index, line, level)
        strip = Strip(segments).apply_style(base_style)
        length = strip.cell_length
        if length > self._widest and not self.wrap:
            self._widest = min(length, SHOWN_CHARS + 200)
            self.call_after_refresh(self._refresh_size)
        rows: list[Strip] = []
        if self.wrap and width > 0:
            for begin in range(0, max(length, 1), width):
                rows.append(strip.crop_extend(begin, begin + width, base_style))
        else:
            rows.append(strip.crop_extend(scroll_x, scroll_x + width, base_style))
        for text in extra:  # pretty JSON: one row per line of the indented form
            rows.append(
                Strip([Segment("   " + safe_text(text))])
                .apply_style(base_style)
                .crop_extend(scroll_x, scroll_x + width, base_style)
            )
        return rows

    def _line_style(self, index: int, line: DocLine, level: Level) -> Style:
        names: list[str] = []
        if line.marker:
            names.append("logview--marker")
        elif level >= Level.ERROR:
            names.append("logview--error")
        elif level == Level.WARN:
            names.append("logview--warn")
        elif level in (Level.DEBUG, Level.TRACE):
            names.append("logview--debug")
        if self.selection_start is not None and index in self.selected_range():
            names.append("logview--selected")
        if index == self.cursor:
            names.append("logview--cursor")
        return self._style(*names)

    def _segments(
        self, index: int, line: DocLine, info: LineInfo | None
    ) -> tuple[list[Segment], list[str]]:
        """The segments of one line (gutter, origin, time, text, cut) and pretty-JSON rows."""
        base = self.base_line(index)
        mark = "◆" if base is not None and base in self.bookmarks else " "
        segments = [Segment(mark, self._style("logview--bookmark"))]
        if line.origin:
            segments.append(Segment(f"{safe_text(line.origin)} ", self._style("logview--origin")))
        text = line.text[:SHOWN_CHARS]
        cut_chars = len(line.text) - len(text)
        extra: list[str] = []
        stamp: Stamp | None = info.stamp if info is not None else None
        if line.ts is not None and stamp is None:
            stamp = Stamp(line.ts, 0, 0)
        if info is not None and info.fields is not None and self.json_mode != "raw":
            if self.json_mode == "fields":
                text = _json_fields(info.fields)
            else:
                import json

                pretty = json.dumps(info.fields, indent=2, ensure_ascii=False).splitlines()
                text, extra = pretty[0], pretty[1:]
        if stamp is not None and self.time_mode != "raw":
            text = text[: stamp.start] + text[stamp.end :].lstrip(" ") if stamp.end else text
            if self.time_mode != "hidden":
                segments.append(
                    Segment(
                        _format_time(stamp.ts, self.time_mode) + " ", self._style("logview--time")
                    )
                )
        elif (
            stamp is not None and stamp.end == 0 and line.ts is not None and self.time_mode == "raw"
        ):
            segments.append(
                Segment(_format_time(line.ts, "local") + " ", self._style("logview--time"))
            )
        shown = safe_text(text)
        if self.search is not None and not line.marker:
            match_style = self._style("logview--match")
            position = 0
            for match in self.search.finditer(shown):
                if match.end() == match.start():
                    continue
                segments.append(Segment(shown[position : match.start()]))
                segments.append(Segment(match.group(), match_style))
                position = match.end()
            segments.append(Segment(shown[position:]))
        else:
            segments.append(Segment(shown))
        if line.cut or cut_chars:
            size = line.cut + len(line.text[SHOWN_CHARS:].encode("utf-8", "replace"))
            segments.append(
                Segment(
                    f" [line cut: {_size(size)} more not shown]", self._style("logview--marker")
                )
            )
        return segments, extra


def _size(count: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:,} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return str(count)


def find_line(
    document: Document,
    start: int,
    pattern: re.Pattern[str],
    direction: int,
    level: Level | None = None,
    limit_seconds: float = 30.0,
) -> int | None:
    """The next (direction 1) or previous (-1) line after ``start`` that ``pattern`` matches
    (and that is at least ``level``, when given); None when there is none."""
    deadline = time.monotonic() + limit_seconds

    def accept(line: DocLine, previous: Level) -> bool:
        if pattern.search(line.text) is None or line.marker:
            return False
        if level is None:
            return True
        found = Level(line.level) if line.level else analyse(line.text, previous).level
        return found >= level

    if isinstance(document, FileDocument):
        raw = ByteSearch(pattern)
        here = start
        while time.monotonic() < deadline:
            found = document.find(raw, here, backward=direction < 0)
            if found is None:
                return None
            if accept(document.line(found), Level.NONE):
                return found
            here = found
        return None
    if direction > 0:
        for index, line in document.lines(start + 1):
            if accept(line, Level.NONE):
                return index
            if index % 4096 == 0 and time.monotonic() > deadline:
                return None
        return None
    for index in range(start - 1, -1, -1):
        if accept(document.line(index), Level.NONE):
            return index
        if index % 4096 == 0 and time.monotonic() > deadline:
            return None
    return None


def save_lines(document: Document, path: Path) -> int:
    """Write every line of ``document`` (markers left out) to ``path``; the count written."""
    count = 0
    with path.open("w", encoding="utf-8", errors="replace", newline="\n") as out:
        for _, line in document.lines(0):
            if line.marker:
                continue
            out.write(line.text)
            out.write("\n")
            count += 1
    return count


# --- the pane -------------------------------------------------------------------------------


class LogPane(Vertical):
    """A log view with its title line, a prompt (search, filter, save, trace) and documents.

    Give it documents (files, streams); ``[`` and ``]`` switch between them, ``M`` merges
    them by time, ``t`` traces the id under the cursor across all of them. Container logs
    arrive as LogLines batches through ``feed``.
    """

    HELP_GROUP: ClassVar[str] = "Logs"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "prompt('search')", "Search", id="logs.search"),
        Binding("ampersand", "prompt('filter')", "Filter", id="logs.filter"),
        Binding("s", "prompt('save')", "Save", id="logs.save"),
        Binding("t", "prompt('trace')", "Trace id", show=False, id="logs.trace"),
        Binding("right_square_bracket", "switch(1)", "Next log", show=False, id="logs.next_doc"),
        Binding(
            "left_square_bracket", "switch(-1)", "Previous log", show=False, id="logs.prev_doc"
        ),
        Binding("M", "merge", "Merge", show=False, id="logs.merge"),
        Binding("H", "histogram", "Histogram", show=False, id="logs.histogram"),
        Binding("escape", "cancel", "Close prompt", show=False, id="logs.cancel"),
    ]

    DEFAULT_CSS = """
    LogPane {
        height: 1fr;
        & > #log-title {
            height: 1;
            width: 1fr;
            background: $panel;
            color: $foreground;
            text-style: bold;
        }
        & > LogView { height: 1fr; }
        & > Input, & > Input:focus { display: none; height: 1; border: none; padding: 0 1; }
        & > Input.-open { display: block; }
        & > LogHistogram { display: none; }
        & > LogHistogram.-open { display: block; }
    }
    """

    PROMPTS: ClassVar[dict[str, str]] = {
        "search": "search (regex, smartcase)",
        "filter": "filter: regex !exclude level:warn since:2026-11-24T10:00 until:… -C3",
        "save": "save the shown lines to file",
        "trace": "trace this id across every open log",
    }

    def __init__(
        self, documents: Sequence[Document], *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.documents: list[Document] = list(documents)
        self._placeholder = RingDocument("no log open: container logs appear here as they come")
        self.current = 0
        self._prompt = ""
        self._title = ""
        self._streams: dict[str, RingDocument] = {}
        self._hidden: AwaitMount | None = None
        self._histogram: LogHistogram | None = None
        # Kept, not queried: if the console quits while this pane is being mounted, its
        # children are gone before its Mount event is handled (a query there raised).
        self._title_line = Static(id="log-title", markup=False)
        self._view = LogView(
            self.documents[0] if self.documents else self._placeholder, id="log-view"
        )

    def compose(self) -> ComposeResult:
        yield self._title_line
        yield self._view

    @property
    def view(self) -> LogView:
        """The log view."""
        return self._view

    def on_mount(self) -> None:
        self.view.on_change = self._view_changed
        self._update_title()
        # The histogram and the prompt stay hidden until asked for: mounted after the first
        # frame, their styles and widgets cost that frame nothing.
        self.call_after_refresh(lambda: self.is_attached and self._mount_hidden())

    def _mount_hidden(self) -> AwaitMount:
        """Mount the histogram and the prompt (once); await the result to use them."""
        if self._hidden is None:
            from opsconsole.widgets.log_histogram import LogHistogram

            self._histogram = LogHistogram(id="log-histogram")
            self._hidden = self.mount(self._histogram, Input(id="log-prompt"))
        return self._hidden

    def _view_changed(self) -> None:
        """Redraw the title; an open histogram counts the lines shown: again when they are
        another document's (a filter, another log, a merge, a trace), on as they grow."""
        self._update_title()
        histogram = self._histogram
        if histogram is not None and histogram.has_class("-open"):
            histogram.count(self.view.document)

    def add_document(self, document: Document, *, show: bool = True) -> None:
        """Open another document, and show it (always, when nothing else was open)."""
        self.documents.append(document)
        if show or self.view.base is self._placeholder:
            self.current = len(self.documents) - 1
            self.view.set_document(document)
        self._update_title()

    def clear_streams(self, keep: Set[str] = frozenset()) -> None:
        """Empty every stream's document but those in ``keep``; files are left as they are."""
        for name, document in self._streams.items():
            if name not in keep:
                document.clear()

    def stream(self, stream: str) -> RingDocument:
        """The document of stream ``stream`` (a LogLines ``stream`` id), opened if new."""
        document = self._streams.get(stream)
        if document is None:
            document = RingDocument(stream)
            self._streams[stream] = document
            self.add_document(document, show=False)
        return document

    def show_stream(self, stream: str) -> None:
        """Show stream ``stream`` (such as ``container:podman:web``), opening it if new."""
        document = self.stream(stream)
        self.current = self.documents.index(document)
        self.view.set_document(document)

    def feed(self, batch: LogLines) -> None:
        """Take a batch of container (or any stream's) lines into its stream's document."""
        feed_log_lines(self.stream(batch.stream), batch)

    def on_log_view_changed(self, event: LogView.Changed) -> None:
        event.stop()
        self._view_changed()

    def on_log_view_notice(self, event: LogView.Notice) -> None:
        event.stop()
        self.app.notify(event.text, severity=event.severity, markup=False)  # type: ignore[arg-type]
        self._update_title()

    def _update_title(self) -> None:
        if not self.is_mounted:
            return
        view = self.view
        document = view.document
        parts = [safe_text(view.base.name)]
        if len(self.documents) > 1:
            parts[0] = f"[{self.current + 1}/{len(self.documents)}] {parts[0]}"
        count = document.line_count
        parts.append(f"line {min(view.cursor + 1, count):,}/{count:,}")
        for status in (view.base.status(), document.status() if document is not view.base else ""):
            if status:
                parts.append(status)
        if view.filter is not None:
            parts.append(f"filter: {safe_text(view.filter.text)}")
        if view.search is not None:
            parts.append(f"/{safe_text(view.search.pattern)}")
        parts.append("FOLLOW" if view.follow else "paused")
        if view.time_mode != "raw":
            parts.append(f"time: {view.time_mode}")
        if view.wrap:
            parts.append("wrap")
        if view.busy:
            parts.append("searching…")
        title = " " + " │ ".join(parts)
        if title != self._title:  # most frames change nothing in it
            self._title = title
            # One line of fixed height and full width: no layout needed, only a repaint.
            self._title_line.update(title, layout=False)

    async def action_prompt(self, kind: str) -> None:
        """Open the prompt for a search, a filter, a save or a trace."""
        # A key pressed before the first frame ended: the keys after it wait for this.
        await self._mount_hidden()
        prompt = self.query_one(Input)
        self._prompt = kind
        prompt.placeholder = self.PROMPTS[kind]
        view = self.view
        if kind == "filter":
            prompt.value = view.filter.text if view.filter is not None else ""
        elif kind == "trace":
            prompt.value = id_token(view.document.line(view.cursor).text) or ""
        elif kind == "save":
            name = Path(view.base.name).name or "log"
            prompt.value = str(Path.cwd() / f"{name}.shown.log")
        else:
            prompt.value = ""
        prompt.add_class("-open")
        # Focus now, not after a message round: keys typed right after "/" go to the prompt.
        self.screen.set_focus(prompt)

    def action_cancel(self) -> None:
        """Close the prompt and give the keys back to the view."""
        for prompt in self.query(Input):
            prompt.remove_class("-open")
        self.view.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value
        self.action_cancel()
        view = self.view
        if self._prompt == "search":
            view.start_search(text)
        elif self._prompt == "filter":
            try:
                view.apply_filter(FilterSpec.parse(text) if text.strip() else None)
            except ValueError as error:
                self.app.notify(str(error), severity="error", markup=False)
        elif self._prompt == "save" and text.strip():
            view.save(text.strip())
        elif self._prompt == "trace" and text.strip():
            self.trace(text.strip())
        self._update_title()

    def trace(self, token: str) -> None:
        """Show every line of every open log that holds ``token``, merged by time."""
        spec = FilterSpec.parse(re.escape(token))
        view = self.view
        if len(self.documents) > 1:
            view.set_document(MergedDocument(self.documents))
        view.start_search(token)
        view.apply_filter(spec)

    def action_switch(self, step: int) -> None:
        """Show the next or previous open log."""
        if len(self.documents) < 2:
            return
        self.current = (self.current + step) % len(self.documents)
        self.view.set_document(self.documents[self.current])

    def action_merge(self) -> None:
        """Show every open log in one view, ordered by time."""
        if len(self.documents) < 2:
            self.app.notify("Only one log is open: nothing to merge", markup=False)
            return
        self.view.set_document(MergedDocument(self.documents))

    async def action_histogram(self) -> None:
        """Show or hide the histogram of lines per level over time."""
        await self._mount_hidden()
        histogram = self._histogram
        assert histogram is not None  # mounted just above
        histogram.toggle_class("-open")
        if histogram.has_class("-open"):
            histogram.count(self.view.document)


def open_documents(paths: Sequence[str], *, on_error: Callable[[str], None]) -> list[Document]:
    """Documents for ``paths`` (files, directories, globs); each failure told to ``on_error``.

    Their index is not started: the view starts it once its first screen is drawn.
    """
    from opsconsole.sources.log_index import open_checked
    from opsconsole.sources.log_sources import expand_paths

    files, notes = expand_paths(paths)
    for note in notes:
        on_error(note)
    documents: list[Document] = []
    for path in files:
        try:
            document = open_checked(path)
        except (OSError, ValueError) as error:
            on_error(str(error))
            continue
        documents.append(document)
    return documents


class LogsTab(EventPane):
    """The console's Logs view: a LogPane fed with every LogLines batch of the event stream.

    Container logs (and any other stream) arrive as LogLines from the hub; each stream gets a
    ring-buffer document. Files opened with ``open_paths`` are read through their index.
    """

    DEFAULT_CSS = """
    LogsTab { height: 1fr; }
    """

    def __init__(
        self,
        documents: Sequence[Document] = (),
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._documents = list(documents)
        self._kept_streams: set[str] = set()
        """Streams a replay starting over does not give again (a bundle's log files)."""

    def compose(self) -> ComposeResult:
        yield LogPane(self._documents, id="logs-pane")

    @property
    def pane(self) -> LogPane:
        """The log pane inside."""
        return self.query_one(LogPane)

    def collect(self, events: Sequence[Event]) -> bool:
        """Feed every LogLines batch to its stream; the view redraws itself once a frame."""
        from opsconsole.sources.events import LogLines

        if not self.is_mounted:
            return False
        pane = self.pane
        for event in events:
            if isinstance(event, LogLines):
                pane.feed(event)
                if event.source.startswith(BUNDLE_LOGS_PREFIX):
                    self._kept_streams.add(event.stream)
        return False

    def reset(self) -> None:
        self.pane.clear_streams(keep=self._kept_streams)

    def show(self) -> None:
        """Nothing to do: the log view takes new lines on its own frame timer."""

    def open_paths(self, paths: Sequence[str]) -> None:
        """Open files, directories or globs; what cannot be opened is told in a notification."""

        def tell(message: str) -> None:
            self.app.notify(message, title="Not opened", severity="error", markup=False)

        for document in open_documents(paths, on_error=tell):
            self.pane.add_document(document)
