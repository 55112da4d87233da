"""A cheap table of text rows: a line-API widget that renders only the rows that changed.

Textual's DataTable renders every visible cell again through Rich whenever any cell changes,
which at one update a second is most of an idle console's CPU. Here a row is one line of
plain text cells; its rendered Strip is kept until the row's cells, its place in the zebra
striping, the cursor or the theme change, so an update where three rows changed builds three
Strips. Cell text is data: it goes into Segments as it is, never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from math import ceil
from typing import ClassVar, Literal, NamedTuple

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Offset, Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip

from opsconsole.sources.text import safe_text


class Column(NamedTuple):
    """A column: its key, the label in the header, its width in cells and how text sits."""

    key: str
    label: str
    width: int
    justify: Literal["left", "right"] = "left"


class Row(NamedTuple):
    """A row: a unique key, one text per column, and whether it is drawn as an alarm."""

    key: str
    cells: tuple[str, ...]
    alarm: bool = False


_ODD, _EVEN, _CURSOR = 0, 1, 2
"""How a row is drawn besides its alarm flag: a plain row, a zebra stripe, or the cursor."""


def _fit(text: str, width: int, justify: Literal["left", "right"]) -> str:
    """``text`` padded or cut (with an ellipsis) to exactly ``width`` cells."""
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    padding = " " * (width - length)
    return padding + text if justify == "right" else text + padding


class RowTable(ScrollView, can_focus=True):
    """A table of text rows under a header that stays on top, with a row cursor.

    Give it the columns, then the rows with ``set_rows`` on every update. The cursor follows
    its row (by key) as rows move; a cursor on the first row stays on top, showing whatever
    comes first, unless it got there by following its row. Keys: up/down, ``j``/``k``,
    page up/down, ``g``/``G`` (ctrl+home/ctrl+end) move the cursor; left/right, home/end
    scroll sideways; enter posts ``Selected``. A click moves the cursor and selects.
    """

    HELP_GROUP: ClassVar[str] = "Tables"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Select the row", show=False, id="table.select"),
        Binding("down,j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="table.page_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="table.page_up"),
        Binding("g,ctrl+home", "first", "First row", show=False, id="table.first"),
        Binding("G,ctrl+end", "last", "Last row", show=False, id="table.last"),
        Binding("left", "scroll_left", "Scroll left", show=False, id="table.left"),
        Binding("right", "scroll_right", "Scroll right", show=False, id="table.right"),
        Binding("home", "leftmost", "Scroll to the start", show=False, id="table.home"),
        Binding("end", "rightmost", "Scroll to the end", show=False, id="table.end"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "rowtable--header",
        "rowtable--even",
        "rowtable--cursor",
        "rowtable--alarm",
    }
    """
    | Class | Description |
    | :- | :- |
    | `rowtable--header` | The header line. |
    | `rowtable--even` | Every other row (zebra stripes). |
    | `rowtable--cursor` | The row under the cursor. |
    | `rowtable--alarm` | A row flagged as an alarm. |
    """

    DEFAULT_CSS = """
    RowTable {
        background: $surface;
        color: $foreground;
        & > .rowtable--header { text-style: bold; background: $panel; color: $foreground; }
        & > .rowtable--even { background: $surface-lighten-1 50%; }
        & > .rowtable--alarm { color: $warning; text-style: bold; }
        & > .rowtable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .rowtable--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        &:dark > .rowtable--even { background: $surface-darken-1 40%; }
    }
    """

    class Selected(Message):
        """Posted when enter is pressed on a row, or a row is clicked."""

        def __init__(self, table: RowTable, key: str) -> None:
            super().__init__()
            self.table = table
            """The table the row was selected in."""
            self.key = key
            """The key of the selected row."""

        @property
        def control(self) -> RowTable:
            """The table the row was selected in."""
            return self.table

    cursor_row: reactive[int] = reactive(0)
    """Index of the row under the cursor (0 when the table is empty)."""

    def __init__(
        self,
        columns: Iterable[Column],
        *,
        zebra_stripes: bool = True,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create the table.

        Args:
            columns: The columns, left to right.
            zebra_stripes: Draw every other row in the ``rowtable--even`` style.
            id: The ID of the widget in the DOM.
            classes: The CSS classes of the widget.
        """
        super().__init__(id=id, classes=classes)
        self._columns = tuple(columns)
        self._zebra = zebra_stripes
        self._rows: tuple[Row, ...] = ()
        self._index: dict[str, int] = {}
        self._followed: str | None = None
        """Key of the row the cursor followed at the last update."""
        self._strips: dict[tuple[str, int], tuple[tuple[tuple[str, ...], bool], Strip]] = {}
        """Each row's last rendered Strip, by key and look, with what it was rendered from: a
        row that moves up or down a line keeps the Strips of both stripes."""
        self._header: Strip | None = None
        self._styles: dict[tuple[int, bool], Style] = {}
        self._view = (Offset(0, 0), 0)
        """The scroll offset and the width of the rows, as of the frame being drawn."""
        self.rendered_rows = 0
        """Row Strips built so far (the rest came from the cache): what updates cost."""

    # -- the model ------------------------------------------------------------------------

    @property
    def columns(self) -> tuple[Column, ...]:
        """The columns, left to right."""
        return self._columns

    @columns.setter
    def columns(self, columns: Iterable[Column]) -> None:
        """Replace the columns (their labels, say): every row is drawn again."""
        self._columns = tuple(columns)
        self._header = None
        self._strips.clear()
        self._update_virtual_size()
        self.refresh()

    @property
    def rows(self) -> tuple[Row, ...]:
        """The rows, in the order shown."""
        return self._rows

    @property
    def row_count(self) -> int:
        """How many rows there are."""
        return len(self._rows)

    @property
    def cursor_key(self) -> str | None:
        """Key of the row under the cursor, or None when the table is empty."""
        return self._rows[self.cursor_row].key if self._rows else None

    def set_rows(self, rows: Iterable[Row]) -> None:
        """Show ``rows`` (keys unique) in this order, the cursor following its row."""
        follow = self._followed_key()
        before = self._rows
        self._rows = tuple(rows)
        self._index = {row.key: index for index, row in enumerate(self._rows)}
        strips, shown = self._strips, self._index
        for key in [key for key in strips if key[0] not in shown]:
            del strips[key]
        self._followed = follow if follow in self._index else None
        self._update_virtual_size()
        if follow in self._index:
            self.cursor_row = self._index[follow]
        else:
            self.cursor_row = self.cursor_row  # validated: kept within the rows there are
        # Repaint only the lines whose row changed: on an idle host that is a handful of
        # processes whose figures moved, not the whole screen of them. Rows added or removed
        # at the end repaint only the lines from there on.
        # Only rows within the window can need a repaint: others are drawn when scrolled to.
        # One refresh for them all, a region per run of changed lines: each refresh call costs
        # Textual as much as a short run of lines does.
        after = self._rows
        scroll_y = round(self.scroll_y)
        top = max(0, scroll_y - 1)
        end = min(max(len(before), len(after)), top + self.size.height + 1)
        width = max(self.virtual_size.width, self.size.width)
        regions: list[Region] = []
        start = None
        for index in range(top, end + 1):
            changed = index < end and (
                index >= len(before) or index >= len(after) or before[index] != after[index]
            )
            if changed and start is None:
                start = index
            elif not changed and start is not None:
                # Line 0 is the header: row ``index`` is line ``index + 1`` of the content.
                regions.append(Region(0, start + 1 - scroll_y, width, index - start))
                start = None
        if regions:
            self.refresh(*regions)

    def _followed_key(self) -> str | None:
        """Key of the row the cursor stays on, or None to leave the cursor where it is."""
        key = self.cursor_key
        if self.cursor_row == 0 and key != self._followed:
            return None
        return key

    def _update_virtual_size(self) -> None:
        # The width of every column and its padding, and a line for the header. A change
        # makes a layout, so an update with as many rows as before makes none.
        width = sum(column.width + 2 for column in self._columns)
        size, before = Size(width, len(self._rows) + 1), self.virtual_size
        if size == before:
            return
        # Textual lays out the whole screen on any change of a virtual size (the scrollbars
        # may come or go). A process table gains and loses rows most seconds on a busy host;
        # when only the height changed and the scrollbar stays as it is, setting the size
        # quietly and resizing the scrollbar's thumb is all that is needed.
        view = self.container_size.height
        if (
            self.is_mounted
            and size.width == before.width
            and ((size.height > view) == (before.height > view))
        ):
            self.set_reactive(RowTable.virtual_size, size)
            bar = self.vertical_scrollbar
            # A row more or less seldom moves the thumb by a glyph; repainting the whole bar
            # for nothing would double the lines a tick redraws on a host where processes
            # come and go.
            drawn = _thumb(bar.size.height, bar.window_virtual_size, bar.window_size, bar.position)
            if drawn == _thumb(bar.size.height, size.height, bar.window_size, bar.position):
                bar.set_reactive(ScrollBar.window_virtual_size, size.height)
            else:
                bar.window_virtual_size = size.height
            self.scroll_to(y=min(self.scroll_y, self.max_scroll_y), animate=False)
        else:
            self.virtual_size = size

    # -- the cursor -----------------------------------------------------------------------

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, len(self._rows) - 1))

    def watch_cursor_row(self) -> None:
        self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        visible = self.scrollable_content_region.height - 1  # the header hides a line
        if visible < 1:
            return
        top, row = round(self.scroll_y), self.cursor_row
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + visible:
            self.scroll_to(y=row - visible + 1, animate=False)

    def _on_resize(self) -> None:
        self._scroll_to_cursor()

    def action_cursor_down(self) -> None:
        """Move the cursor one row down."""
        self.cursor_row += 1

    def action_cursor_up(self) -> None:
        """Move the cursor one row up."""
        self.cursor_row -= 1

    def action_page_down(self) -> None:
        """Move the cursor a screen down."""
        self.cursor_row += max(1, self.scrollable_content_region.height - 2)

    def action_page_up(self) -> None:
        """Move the cursor a screen up."""
        self.cursor_row -= max(1, self.scrollable_content_region.height - 2)

    def action_first(self) -> None:
        """Move the cursor to the first row."""
        self.cursor_row = 0

    def action_last(self) -> None:
        """Move the cursor to the last row."""
        self.cursor_row = len(self._rows) - 1

    def action_leftmost(self) -> None:
        """Scroll to the first column."""
        self.scroll_to(x=0, animate=False)

    def action_rightmost(self) -> None:
        """Scroll to the end of the widest row."""
        self.scroll_to(x=self.max_scroll_x, animate=False)

    def action_select(self) -> None:
        """Post ``Selected`` for the row under the cursor."""
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Selected(self, key))

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        row = round(self.scroll_y) + offset.y - 1
        if row < len(self._rows):
            self.cursor_row = row
            self.action_select()

    # -- drawing --------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        # A new theme, or focus (the cursor's colours): every Strip is drawn again.
        self._styles.clear()
        self._strips.clear()
        self._header = None

    def _row_style(self, look: int, alarm: bool) -> Style:
        style = self._styles.get((look, alarm))
        if style is None:
            names = ["rowtable--alarm"] if alarm else []
            if look == _EVEN:
                names.insert(0, "rowtable--even")
            elif look == _CURSOR:
                names.append("rowtable--cursor")  # last: its colours win over the alarm's
            style = self.get_component_rich_style(*names) if names else self.rich_style
            self._styles[(look, alarm)] = style
        return style

    def _line(self, texts: Sequence[str], style: Style) -> Strip:
        # One cell of padding each side of every column, as DataTable draws them.
        text = "".join(
            f" {_fit(safe_text(value), column.width, column.justify)} "
            for column, value in zip(self._columns, texts, strict=False)
        )
        return Strip([Segment(text, style)], cell_len(text))

    def _header_strip(self) -> tuple[Strip, Style]:
        style = self.get_component_rich_style("rowtable--header")
        if self._header is None:
            self._header = self._line([column.label for column in self._columns], style)
        return self._header, style

    def _row_strip(self, index: int) -> tuple[Strip, Style]:
        """The Strip of row ``index`` (from the cache when nothing changed) and its style."""
        row = self._rows[index]
        if index == self.cursor_row:
            look = _CURSOR
        else:
            # The first row striped, as DataTable draws them.
            look = _EVEN if self._zebra and index % 2 == 0 else _ODD
        style = self._row_style(look, row.alarm)
        state = (row.cells, row.alarm)
        cached = self._strips.get((row.key, look))
        if cached is not None and cached[0] == state:
            return cached[1], style
        strip = self._line(row.cells, style)
        self._strips[(row.key, look)] = (state, strip)
        self.rendered_rows += 1
        return strip, style

    def render_lines(self, crop: Region) -> list[Strip]:
        # Where the view is and how wide, once for the lines of a frame: the region behind
        # the width is looked up on the screen, which cost more than drawing a cached row.
        self._view = (self.scroll_offset, self.scrollable_content_region.width)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        (scroll_x, scroll_y), width = self._view
        if y == 0:
            strip, style = self._header_strip()
        elif (index := scroll_y + y - 1) < len(self._rows):
            strip, style = self._row_strip(index)
        else:
            return Strip.blank(width, self.rich_style)
        # The row's own style past its last column, so stripes and cursor span the width.
        return strip.crop_extend(scroll_x, scroll_x + width, style)


def _thumb(size: int, virtual: float, window: float, position: float) -> tuple[int, int] | None:
    """Where a vertical scrollbar of ``size`` cells draws its thumb, in eighths of a cell;
    None when it draws none. The same arithmetic as Textual's ``ScrollBarRender``."""
    window = ceil(window) if window < virtual else 0
    virtual = ceil(virtual)
    if not (window and size and virtual and size != virtual):
        return None
    thumb = max(1, window / (virtual / size))
    offset = (size - thumb) * (position / (virtual - window))
    eighths = len(ScrollBarRender.VERTICAL_BARS)
    start = int(offset * eighths)
    return start, start + ceil(thumb * eighths)
