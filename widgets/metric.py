"""Figures over time: a bounded history, a metric line with its sparkline, and rows of meters.

The host panes keep one ``Series`` per figure as their model and hand it to a ``Metric`` when
they redraw. A Metric copies what it draws at that moment, so a frozen pane keeps its picture
even when the terminal is resized. Drawing is our own rather than ``textual.widgets.Sparkline``:
that one scales every sparkline between its own minimum and maximum (a flat 2% CPU with noise
fills the cell) and has no notion of thresholds; this one draws against a fixed top (100 for a
percentage) and colours each column by its own level, so an old spike stays red.

Colour is never the only cue: a figure at warning carries ``!`` and at critical ``!!``, for
colour-blind users and NO_COLOR terminals.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import ClassVar, Final, Literal, NamedTuple

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

from opsconsole.config import Level

Window = Literal["recent", "all"]
"""What a sparkline covers: the newest sample per column, or the whole history squeezed in."""

LevelOf = Callable[[float], Level]
"""Maps a figure to its threshold level."""

SPARK_GLYPHS: Final = "▁▂▃▄▅▆▇█"
_EIGHTHS: Final = " ▏▎▍▌▋▊▉"
MARKERS: Final[dict[Level | None, str]] = {None: "", "ok": "", "warning": "!", "critical": "!!"}
"""The non-colour cue after a value, per level."""

_SNAPSHOT_MIN: Final = 256
"""Samples a "recent" Metric copies at least, so a wider terminal after a freeze still fills."""


class Series:
    """A bounded history of one figure, oldest first; None marks a sample that lacked it."""

    __slots__ = ("_values",)

    def __init__(self, maxlen: int) -> None:
        self._values: deque[float | None] = deque(maxlen=max(1, maxlen))

    def append(self, value: float | None) -> None:
        """Add the newest sample; a non-finite figure (a damaged recording) counts as missing."""
        self._values.append(value if value is not None and math.isfinite(value) else None)

    def __len__(self) -> int:
        return len(self._values)

    @property
    def latest(self) -> float | None:
        """The newest sample, or None when there is none or it lacked the figure."""
        return self._values[-1] if self._values else None

    def tail(self, count: int) -> tuple[float | None, ...]:
        """The newest ``count`` samples, oldest first."""
        newest_first = tuple(islice(reversed(self._values), max(0, count)))
        return newest_first[::-1]

    def values(self) -> tuple[float | None, ...]:
        """Every sample kept, oldest first."""
        return tuple(self._values)


def fit_left(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells from the left with an ellipsis, keeping its end.

    The end of a mount point or an interface name is what tells it apart (``…/docker``).
    """
    if len(text) <= width:
        return text
    return "…" + text[len(text) - width + 1 :] if width > 1 else text[:width]


def spark_columns(values: Sequence[float | None], width: int, window: Window) -> list[float | None]:
    """One value per column, newest at the right; older columns without data are None.

    For ``"all"``, a history longer than ``width`` is cut into ``width`` buckets and each
    column shows its bucket's maximum, so a short spike stays visible.
    """
    if width <= 0:
        return []
    count = len(values)
    if count <= width or window == "recent":
        shown = list(values[-width:])
        return [None] * (width - len(shown)) + shown
    columns: list[float | None] = []
    for column in range(width):
        bucket = [
            v
            for v in values[column * count // width : (column + 1) * count // width]
            if v is not None
        ]
        columns.append(max(bucket) if bucket else None)
    return columns


def spark_rows(columns: Sequence[float | None], top: float, height: int = 1) -> list[str]:
    """Block glyphs for ``columns`` scaled to ``top``, ``height`` lines, top line first.

    A known zero still shows the lowest glyph, so "idle" and "no data" (a blank, also for a
    non-finite value) differ.
    """
    top = top if 0 < top < math.inf else 1.0
    glyphs = len(SPARK_GLYPHS)
    steps = glyphs * height
    isfinite = math.isfinite
    # Eighths of the total height each column fills, at least one for any known value; 0 for
    # none.
    fills = [
        0
        if value is None or not isfinite(value)
        else max(1, min(steps, round(value / top * steps)))
        for value in columns
    ]
    rows: list[str] = []
    for line in reversed(range(height)):
        base = line * glyphs
        rows.append(
            "".join(
                [
                    SPARK_GLYPHS[min(fill - base, glyphs) - 1] if fill > base else " "
                    for fill in fills
                ]
            )
        )
    return rows


def meter(fraction: float | None, width: int) -> str:
    """A horizontal bar ``width`` cells wide, filled to ``fraction`` in eighths of a cell."""
    if width <= 0:
        return ""
    if fraction is None or not math.isfinite(fraction):
        return " " * width
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (_EIGHTHS[part] if part else "")
    return bar.ljust(width)


LEVEL_COMPONENT_CLASSES: Final = frozenset(
    {
        "level--label",
        "level--track",
        "level--plain",
        "level--ok",
        "level--warning",
        "level--critical",
    }
)
"""The component classes of the widgets that colour figures by level.

| Class | Description |
| :- | :- |
| `level--label` | The label of a figure. |
| `level--track` | The empty part of a meter (its background is used). |
| `level--plain` | A figure without thresholds, such as a rate. |
| `level--ok` | Below the warning threshold. |
| `level--warning` | At or above the warning threshold. |
| `level--critical` | At or above the critical threshold. |
"""


def level_css(type_name: str) -> str:
    """The default colours of ``LEVEL_COMPONENT_CLASSES`` for the widget type ``type_name``."""
    return f"""
    {type_name} > .level--label {{ color: $text-muted; text-style: not bold; }}
    {type_name} > .level--track {{ background: $panel; }}
    {type_name} > .level--plain {{ color: $primary; }}
    {type_name} > .level--ok {{ color: $success; }}
    {type_name} > .level--warning {{ color: $warning; }}
    {type_name} > .level--critical {{ color: $error; text-style: bold; }}
    """


Part = tuple[str, Style]
"""A run of text in one style: what the figure drawers produce, to become Text or a Strip."""


class LevelPalette:
    """A widget's level styles, from its component classes, kept until its styles change.

    Asking Textual for a component style costs more than drawing a sparkline, and every
    figure asks on every tick. The widget calls ``clear`` from ``notify_style_update``.
    """

    __slots__ = ("_cache", "_widget")

    def __init__(self, widget: Widget) -> None:
        self._widget = widget
        self._cache: dict[tuple[str, bool], Style] = {}

    def component(self, name: str, *, partial: bool = False) -> Style:
        """The rich style of the component class ``name``."""
        style = self._cache.get((name, partial))
        if style is None:
            style = self._widget.get_component_rich_style(name, partial=partial)
            self._cache[(name, partial)] = style
        return style

    def own(self) -> Style:
        """The widget's own rich style (its colour over its background)."""
        style = self._cache.get(("", False))
        if style is None:
            # Worked out from every ancestor's background: a third of drawing a line of figures.
            style = self._cache[("", False)] = self._widget.rich_style
        return style

    def level(self, level: Level | None) -> Style:
        """The style of a figure at ``level`` (None: a figure without thresholds)."""
        return self.component(f"level--{level or 'plain'}")

    def value(self, level: Level | None) -> Style:
        """The style of a figure and its cue: its level's, or plain text without thresholds."""
        return self.level(level) if level is not None else _PLAIN

    def clear(self) -> None:
        """Forget the styles (the theme or the CSS changed)."""
        self._cache.clear()


_PLAIN: Final = Style()


class LevelStyled(Widget):
    """Base of the widgets that colour parts of what they draw by threshold level.

    The colours come from the theme through component classes (``LEVEL_COMPONENT_CLASSES``),
    so a user theme restyles them.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = set(LEVEL_COMPONENT_CLASSES)

    DEFAULT_CSS = level_css("LevelStyled")

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.palette = LevelPalette(self)
        """The level styles of this widget."""

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.palette.clear()


class Reading(NamedTuple):
    """What a ``Metric`` shows besides its history."""

    value: str
    """The current figure, formatted."""
    level: Level | None = None
    """Threshold level of the current figure; None when it has no thresholds or is unknown."""
    top: float | None = None
    """Value at the top of the sparkline; None scales to the highest value shown."""
    floor: float = 0.0
    """The least top when scaling, so that an idle rate does not look busy."""
    level_of: LevelOf | None = None
    """Colours each column by its own level; None colours them all by ``level``."""


def spark_parts(
    palette: LevelPalette,
    reading: Reading,
    history: Sequence[float | None],
    width: int,
    height: int = 1,
    window: Window = "recent",
) -> list[list[Part]]:
    """The sparkline of ``history`` under ``reading``'s scale, ``height`` lines, top first.

    Each run of columns at one level takes that level's style when the reading judges each
    column (``level_of``); otherwise the whole line takes the reading's level.
    """
    columns = spark_columns(history, width, window)
    top = reading.top
    if top is None:
        top = max([reading.floor, *(v for v in columns if v is not None)])
    rows = spark_rows(columns, top, height)
    level_of = reading.level_of
    if level_of is None:
        style = palette.level(reading.level)
        return [[(row, style)] for row in rows]
    levels = [None if v is None else level_of(v) for v in columns]
    return [_styled_runs(palette, row, levels) for row in rows]


def _styled_runs(palette: LevelPalette, row: str, levels: Sequence[Level | None]) -> list[Part]:
    """``row`` with each run of columns at one level in that level's style."""
    parts: list[Part] = []
    start = 0
    for end in range(1, len(row) + 1):
        if end == len(row) or levels[end] != levels[start]:
            parts.append((row[start:end], palette.level(levels[start] or "ok")))
            start = end
    return parts


def metric_head(
    palette: LevelPalette, label: str, reading: Reading, label_width: int, value_width: int
) -> list[Part]:
    """Label, figure (right-aligned in ``value_width`` cells) and its level cue.

    The figure is coloured here rather than by a CSS class: a class change restyles the
    widget, which costs more than the whole redraw when a figure hovers at a threshold.
    """
    value_style = palette.value(reading.level)
    return [
        (fit_left(label, label_width).ljust(label_width), palette.component("level--label")),
        (" ", _PLAIN),
        (reading.value.rjust(value_width), value_style),
        (MARKERS[reading.level].ljust(2), value_style),
    ]


def metric_line(
    palette: LevelPalette,
    label: str,
    reading: Reading,
    history: Sequence[float | None],
    width: int,
    *,
    label_width: int,
    value_width: int,
    window: Window = "recent",
) -> list[Part]:
    """One figure on one line: its head, then its sparkline in the rest of ``width``.

    The parts may run past ``width`` when the head alone does: the caller crops.
    """
    parts = metric_head(palette, label, reading, label_width, value_width)
    spark_width = width - sum(cell_len(text) for text, _ in parts) - 1
    if spark_width >= 4:
        parts.append((" ", _PLAIN))
        parts.extend(spark_parts(palette, reading, history, spark_width, 1, window)[0])
    return parts


class Metric(LevelStyled):
    """One figure: label, value, level cue (``!``/``!!``) and a sparkline of its history.

    One line high, the sparkline fills the width after the value. Taller (CSS ``height``), the
    label and value take the first line and the sparkline the lines below it, full width.
    The value and its cue take the colour of the current level, from the same component
    classes as the sparkline; a figure without thresholds keeps the text colour.
    """

    DEFAULT_CSS = """
    Metric { height: 1; width: 1fr; color: $foreground; }
    """

    label: reactive[str] = reactive("")
    """What the figure is, shown first and muted."""

    def __init__(
        self,
        label: str,
        *,
        label_width: int = 6,
        value_width: int = 8,
        window: Window = "recent",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create a metric.

        Args:
            label: What the figure is.
            label_width: Cells the label takes (longer labels are cut), to align a column.
            value_width: Cells the value takes at least (it is right-aligned in them).
            window: ``"recent"`` draws one sample per column, ``"all"`` the whole history.
            id: The ID of the widget in the DOM.
            classes: The CSS classes of the widget.
        """
        super().__init__(id=id, classes=classes)
        self.set_reactive(Metric.label, label)
        self._label_width = label_width
        self._value_width = value_width
        self._window: Window = window
        self._history: tuple[float | None, ...] = ()
        self._reading = Reading("n/a")

    @property
    def reading(self) -> Reading:
        """What the metric shows now."""
        return self._reading

    def show_reading(self, reading: Reading, history: Series, *, label: str | None = None) -> None:
        """Show a new reading with ``history``, copied now; ``label`` renames the metric."""
        shown = copy_history(history, self.size.width, self._window)
        if shown == self._history and reading[:4] == self._reading[:4] and label is None:
            return  # a flat figure (no swap, an idle link) draws the same: skip the repaint
        self._history = shown
        self._reading = reading
        if label is not None:
            self.label = label
        self.refresh()

    def render(self) -> Text:
        width, height = self.size
        palette, reading = self.palette, self._reading
        if height <= 1:
            parts = metric_line(
                palette,
                self.label,
                reading,
                self._history,
                width,
                label_width=self._label_width,
                value_width=self._value_width,
                window=self._window,
            )
            return Text.assemble(*parts, no_wrap=True, overflow="crop")
        # Tall: the figure right after the label, the sparkline full width below.
        head = metric_head(palette, self.label, reading, self._label_width, 0)
        spark = spark_parts(palette, reading, self._history, width, height - 1, self._window)
        lines = [Text.assemble(*line, no_wrap=True, overflow="crop") for line in (head, *spark)]
        return Text("\n", no_wrap=True).join(lines)


def copy_history(history: Series, width: int, window: Window) -> tuple[float | None, ...]:
    """What a figure keeps of ``history`` to draw: all of it for ``"all"``, else the newest
    that fill ``width`` (at least ``_SNAPSHOT_MIN``, so a wider terminal after a freeze still
    fills)."""
    if window == "all":
        return history.values()
    return history.tail(max(width, _SNAPSHOT_MIN))


class MeterRow(NamedTuple):
    """One meter of a ``Meters`` widget."""

    label: str
    fraction: float | None
    """How full the bar is, 0 to 1; None when unknown (an empty bar)."""
    text: str
    """The figure after the bar, such as ``45%``; the level cue follows it."""
    level: Level | None = None
    detail: str = ""
    """Shown muted after the figure and its cue, such as ``120G/146G ext4 /dev/sda1``."""


class Meters(LevelStyled):
    """Rows of horizontal meters, like htop's: ``label ████▌     text``, in as many columns as fit.

    Compact, it is one line with a single vertical bar glyph per item (``▁▃█▂``); when more
    items than cells, each glyph shows the highest of a group of neighbours.
    """

    DEFAULT_CSS = """
    Meters { height: auto; width: 1fr; color: $foreground; }
    """

    def __init__(
        self,
        *,
        compact: bool = False,
        label: str = "",
        label_width: int = 4,
        text_width: int = 6,
        detail_width: int = 0,
        min_bar: int = 10,
        columns: int | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create a set of meters.

        Args:
            compact: One glyph per item on one line instead of a meter per item.
            label: Shown before the glyphs when compact.
            label_width: Cells for each label.
            text_width: Cells for the figure and its level cue after each bar.
            detail_width: Cells for each row's detail after the figure; 0 shows none.
            min_bar: Cells a bar needs at least; fewer columns are used to give it that.
            columns: A fixed number of columns; None fits as many as the width allows.
            id: The ID of the widget in the DOM.
            classes: The CSS classes of the widget.
        """
        super().__init__(id=id, classes=classes)
        self._compact = compact
        self._label = label
        self._label_width = label_width
        self._text_width = text_width
        self._detail_width = detail_width
        self._min_bar = min_bar
        self._columns = columns
        self._rows: tuple[MeterRow, ...] = ()

    def show_meters(self, rows: Iterable[MeterRow]) -> None:
        """Show these meters, replacing the previous ones."""
        new_rows = tuple(rows)
        layout = len(new_rows) != len(self._rows)
        self._rows = new_rows
        self.refresh(layout=layout)

    @property
    def _fixed_width(self) -> int:
        """Cells of a meter besides its bar."""
        detail = self._detail_width + 1 if self._detail_width else 0
        return self._label_width + 1 + 1 + self._text_width + detail

    def _column_count(self, width: int) -> int:
        if self._columns is not None:
            return self._columns
        cell = self._fixed_width + self._min_bar
        # Two cells between columns.
        return max(1, min(len(self._rows) or 1, (width + 2) // (cell + 2)))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if self._compact:
            return 1
        return max(1, -(-len(self._rows) // self._column_count(width)))

    def render(self) -> Text:
        width = self.size.width
        if self._compact:
            return self._render_compact(width)
        columns = self._column_count(width)
        per_line = -(-len(self._rows) // columns) if self._rows else 0
        # Five items in four columns need two lines, which hold them in three columns.
        columns = -(-len(self._rows) // per_line) if per_line else 1
        cell_width = (width + 2) // columns - 2
        bar_width = max(1, cell_width - self._fixed_width)
        lines = []
        for line in range(per_line):
            text = Text(no_wrap=True, overflow="crop")
            # Fill down each column first, as htop numbers its cores.
            for column in range(columns):
                index = column * per_line + line
                if index >= len(self._rows):
                    break
                if column:
                    text.append("  ")
                text.append_text(self._meter_cell(self._rows[index], bar_width))
            lines.append(text)
        return Text("\n", no_wrap=True).join(lines)

    def _meter_cell(self, row: MeterRow, bar_width: int) -> Text:
        label = fit_left(row.label, self._label_width).ljust(self._label_width)
        style = self.palette.level(row.level)
        label_style = self.palette.component("level--label")
        track = self.palette.component("level--track", partial=True)
        text = Text.assemble(
            (label, label_style),
            " ",
            (meter(row.fraction, bar_width), style + track),
            " ",
            ((row.text + MARKERS[row.level]).ljust(self._text_width), style),
        )
        if self._detail_width:
            text.append(
                " " + row.detail[: self._detail_width].ljust(self._detail_width), label_style
            )
        return text

    def _render_compact(self, width: int) -> Text:
        parts = compact_meter(self.palette, self._label, self._rows, width)
        return Text.assemble(*parts, no_wrap=True, overflow="crop")


def compact_meter(
    palette: LevelPalette, label: str, rows: Sequence[MeterRow], width: int
) -> list[Part]:
    """``rows`` as one glyph each after ``label`` on one line of ``width`` cells; with more
    rows than cells, each glyph shows the busiest of a group of neighbours."""
    if not rows or width <= 0:
        return []
    parts: list[Part] = []
    if label:
        parts.append((f"{label} ", palette.component("level--label")))
    group = -(-len(rows) // max(1, width - cell_len(label) - (1 if label else 0)))
    for start in range(0, len(rows), group):
        members = rows[start : start + group]
        busiest = max(members, key=lambda r: r.fraction if r.fraction is not None else -1.0)
        parts.append((spark_rows([busiest.fraction], 1.0)[0], palette.level(busiest.level)))
    return parts
