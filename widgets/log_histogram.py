"""A histogram of log lines per level over time: where the errors bunch up."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.reactive import reactive
from textual.timer import Timer
from textual.widget import Widget
from textual.worker import get_current_worker

from opsconsole.sources.log_index import Document
from opsconsole.sources.log_levels import Level, analyse

SAMPLE = 200_000
"""Lines looked at at most: a longer document is sampled evenly, so counting stays quick."""
REFRESH = 2.0
"""Seconds at least between two counts of a document that grows (a followed log)."""
BARS = " ▁▂▃▄▅▆▇█"
ROWS = (("error", Level.ERROR), ("warn", Level.WARN), ("other", Level.NONE))


class Tally:
    """The times and levels counted so far of one document, every ``step``-th line.

    A document that grows is counted on from where the last count stopped; one whose lines
    changed otherwise (a ring buffer that dropped its oldest, a file truncated) from the start.
    Past ``2 * sample`` lines, every other one is dropped and the step doubled, so memory and
    the time to sort the lines into buckets stay bounded however long a log is followed.
    """

    def __init__(self, document: Document, sample: int = SAMPLE) -> None:
        self.document = document
        self.sample = sample
        self.lock = threading.Lock()
        """Held while counting: two counts of one document never interleave."""
        self._shape: tuple[int, int] | None = None
        self._next = 0
        self._step = 1
        self._stamped: list[tuple[float, Level]] = []
        self._previous = Level.NONE

    @property
    def current(self) -> bool:
        """True when every line of the document now has been counted."""
        document = self.document
        return self._shape == _shape(document) and self._next >= document.line_count

    def take(self, is_cancelled: Callable[[], bool] = lambda: False) -> None:
        """Count the lines not counted yet (all of them when the document changed shape)."""
        document = self.document
        count, shape = document.line_count, _shape(document)
        if shape != self._shape:
            self._shape, self._next, self._previous = shape, 0, Level.NONE
            self._step = max(1, count // self.sample)
            self._stamped = []
        stamped, previous, step = self._stamped, self._previous, self._step
        index = self._next
        while index < count:
            if not index % 4096 and is_cancelled():
                break
            line = document.line(index)
            index += step
            if line.marker:
                continue
            info = analyse(line.text, previous)
            level = Level(line.level) if line.level else info.level
            previous = level
            ts = line.ts if line.ts is not None else info.stamp.ts if info.stamp else None
            if ts is not None:
                stamped.append((ts, level))
                if len(stamped) > 2 * self.sample:
                    del stamped[1::2]
                    step *= 2
        self._next, self._previous, self._step = index, previous, step

    def buckets(self, buckets: int) -> tuple[float, float, list[list[int]]] | None:
        """Counts per time bucket of error+fatal, warn, and other lines: ``(first, last, rows)``.

        None when no line has a time. Lines without a time are left out.
        """
        stamped, step = self._stamped, self._step
        if not stamped:
            return None
        first = min(ts for ts, _ in stamped)
        last = max(ts for ts, _ in stamped)
        width = max((last - first) / buckets, 1e-9)
        rows = [[0] * buckets for _ in ROWS]
        for ts, level in stamped:
            bucket = min(buckets - 1, int((ts - first) / width))
            row = 0 if level >= Level.ERROR else 1 if level == Level.WARN else 2
            rows[row][bucket] += step
        return first, last, rows


def _shape(document: Document) -> tuple[int, int]:
    """What changes when lines change other than by being appended."""
    return document.generation, getattr(document, "evicted", 0)


def bars(counts: Sequence[int], top: int) -> str:
    """One row of block characters scaled to ``top``."""
    if top <= 0:
        return " " * len(counts)
    return "".join(
        BARS[0 if not value else max(1, round(value / top * (len(BARS) - 1)))] for value in counts
    )


class LogHistogram(Widget):
    """Lines per level over time for the document shown: errors, warnings, the rest."""

    DEFAULT_CSS = """
    LogHistogram {
        height: 4;
        background: $panel;
        color: $foreground;
        & > .loghistogram--error { color: $error; }
        & > .loghistogram--warn { color: $warning; }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"loghistogram--error", "loghistogram--warn"}
    """
    | Class | Description |
    | :- | :- |
    | `loghistogram--error` | The row of errors. |
    | `loghistogram--warn` | The row of warnings. |
    """

    summary: reactive[str] = reactive("counting…")
    """What the histogram shows, as plain text rows (set on the UI thread only)."""

    def __init__(self, *, id: str | None = None) -> None:
        """Create the histogram (it counts when ``count`` is first called).

        Args:
            id: The ID of the widget in the DOM.
        """
        super().__init__(id=id)
        self._tally: Tally | None = None
        self._counted_at = 0.0
        self._pending: Timer | None = None

    @property
    def counted(self) -> Document | None:
        """The document last counted (or being counted)."""
        return self._tally.document if self._tally is not None else None

    def count(self, document: Document) -> None:
        """Count ``document`` in a thread and show the result: from the start when it is
        another document than the last, else its new lines (at most every ``REFRESH``
        seconds, so a followed firehose is not counted at every frame)."""
        tally = self._tally
        if tally is None or tally.document is not document:
            tally = self._tally = Tally(document)
            self.summary = "counting…"
        elif tally.current:
            return
        elif (wait := self._counted_at + REFRESH - time.monotonic()) > 0:
            # Counted a moment ago: the lines that came since are counted when it is time,
            # even if no more come to ask for it.
            if self._pending is None:
                self._pending = self.set_timer(wait, lambda: self._count_later(document))
            return
        self._counted_at = time.monotonic()
        self._count(tally, max(10, self.size.width - 8))

    def _count_later(self, document: Document) -> None:
        self._pending = None
        if self.has_class("-open") and self.counted is document:  # still the one shown
            self.count(document)

    @work(thread=True, exclusive=True, group="log-histogram")
    def _count(self, tally: Tally, buckets: int) -> None:
        worker = get_current_worker()
        document = tally.document
        # A filter fills its document in a thread: count what it keeps once it has read all.
        while not getattr(document, "done", True):
            if worker.is_cancelled:
                return
            time.sleep(0.05)
        started = time.monotonic()
        with tally.lock:
            tally.take(lambda: worker.is_cancelled)
            result = tally.buckets(buckets)
        if worker.is_cancelled:  # another document was asked for meanwhile
            return
        if result is None:
            text = "no timestamps found in these lines"
        else:
            first, last, rows = result
            top = max(max(row) for row in rows)
            lines = [
                f"{name:>6} {bars(row, top)}" for (name, _), row in zip(ROWS, rows, strict=True)
            ]
            span = (
                f"{datetime.fromtimestamp(first):%Y-%m-%d %H:%M:%S} → "
                f"{datetime.fromtimestamp(last):%H:%M:%S}  (peak {top:,}/bucket, "
                f"{time.monotonic() - started:.1f}s)"
            )
            text = "\n".join([*lines, span])
        self.app.call_from_thread(setattr, self, "summary", text)

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="crop")
        for number, row in enumerate(self.summary.split("\n")):
            style = (
                self.get_component_rich_style("loghistogram--error")
                if number == 0 and row.lstrip().startswith("error")
                else self.get_component_rich_style("loghistogram--warn")
                if number == 1
                else None
            )
            text.append(row + "\n", style=style)
        return text
