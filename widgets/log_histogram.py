"""A histogram of log lines per level over time: where the errors bunch up."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.reactive import reactive
from textual.widget import Widget
from textual.worker import get_current_worker

from opsconsole.sources.log_index import Document
from opsconsole.sources.log_levels import Level, analyse

SAMPLE = 200_000
"""Lines looked at at most: a longer document is sampled evenly, so counting stays quick."""
BARS = " ▁▂▃▄▅▆▇█"
ROWS = (("error", Level.ERROR), ("warn", Level.WARN), ("other", Level.NONE))


def histogram(
    document: Document, buckets: int, sample: int = SAMPLE
) -> tuple[float, float, list[list[int]]] | None:
    """Counts per time bucket of error+fatal, warn, and other lines: ``(first, last, rows)``.

    None when no line has a time. Lines without a time are left out.
    """
    count = document.line_count
    step = max(1, count // sample)
    stamped: list[tuple[float, Level]] = []
    previous = Level.NONE
    for index in range(0, count, step):
        line = document.line(index)
        if line.marker:
            continue
        info = analyse(line.text, previous)
        level = Level(line.level) if line.level else info.level
        previous = level
        ts = line.ts if line.ts is not None else info.stamp.ts if info.stamp else None
        if ts is not None:
            stamped.append((ts, level))
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

    counted: Document | None = None
    """The document last counted (or being counted)."""

    def count(self, document: Document) -> None:
        """Count ``document`` again in a thread and show the result."""
        self.counted = document
        self.summary = "counting…"
        self._count(document, max(10, self.size.width - 8))

    @work(thread=True, exclusive=True, group="log-histogram")
    def _count(self, document: Document, buckets: int) -> None:
        worker = get_current_worker()
        # A filter fills its document in a thread: count what it keeps once it has read all.
        while not getattr(document, "done", True):
            if worker.is_cancelled:
                return
            time.sleep(0.05)
        started = time.monotonic()
        result = histogram(document, buckets)
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
