"""The base of the panes that show a filterable table: a status line, a RowTable, a ``/`` input.

The process table, the container list and the investigation's timeline share it: ``/`` opens a
one-line input at the bottom that filters as it is typed, enter keeps the filter and goes back
to the table, esc clears it (and, with nothing to clear, goes on to the app). A filter that
cannot be read (an invalid regular expression) leaves the one in force and says why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Generic, Protocol, TypeVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual.app import ComposeResult
from textual.binding import Binding
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input

from opsconsole.sources.text import safe_text
from opsconsole.widgets.row_table import Column, RowTable

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)


class RowFilter(Protocol[T_contra]):
    """What a pane's ``make_filter`` gives: the text it was made from and a test for an item."""

    @property
    def text(self) -> str:
        """The filter as typed."""
        ...

    def matches(self, item: T_contra) -> bool:
        """True when ``item`` is shown under this filter."""
        ...


class RegexFilter:
    """A case-insensitive regular expression; a leading ``!`` shows what does not match.

    Subclasses say which fields of an item are searched. ``re.error`` if the text is invalid.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        """The filter as typed."""
        self.invert = text.startswith("!")
        """True when the items that do not match are the ones shown."""
        self.pattern = re.compile(text[1:] if self.invert else text, re.IGNORECASE)
        """The expression, without the ``!``."""

    def found(self, fields: Iterable[str]) -> bool:
        """True when the item whose searched fields are ``fields`` is shown."""
        search = self.pattern.search
        # A loop, not any() over a generator: this runs for every row of every tick.
        for field in fields:
            if search(field):
                return not self.invert
        return self.invert


def filter_bindings(group: str) -> list[Binding]:
    """``/`` and esc for a filtered table, with ids under ``group`` ("processes.filter", ...).

    Each pane lists them among its own BINDINGS, so the help screen shows them with the pane's
    other keys and every id stays the pane's.
    """
    return [
        Binding("slash", "filter", "Filter", id=f"{group}.filter"),
        Binding("escape", "clear_filter", "Clear the filter", show=False, id=f"{group}.clear"),
    ]


class StatusLine(Widget):
    """One line over a table that says what it shows; drawn as an error while ``-error``.

    The widget draws its line itself (Textual's line API): a process table's line changes on
    most ticks, and rendering it as a Static's content cost half as much as the table did.
    """

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $foreground;
        &.-error { color: $error; text-style: bold; }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        """Create the line.

        Args:
            id: The ID of the widget in the DOM.
            classes: The CSS classes of the widget.
        """
        super().__init__(id=id, classes=classes)
        self._said: tuple[str, bool] = ("", False)
        """The text and error flag as last shown."""
        self._strip: Strip | None = None
        """The line as drawn, until the text, the width or the styles change."""

    @property
    def text(self) -> str:
        """What the line says."""
        return self._said[0]

    def say(self, text: str, *, error: bool = False) -> None:
        """Show ``text`` (plain, cut with an ellipsis), as an error when ``error``."""
        if self._said != (text, error):
            self._said = (text, error)
            self._strip = None
            self.set_class(error, "-error")
            self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strip = None

    def render_line(self, y: int) -> Strip:
        width, style = self.size.width, self.rich_style
        if y:
            return Strip.blank(width, style)
        if self._strip is None or self._strip.cell_length != width:
            text = safe_text(self._said[0])
            if cell_len(text) > width:
                text = set_cell_size(text, width - 1) + "…" if width > 1 else ""
            # Textual pads the rest of the line with the background, as it does a Static's.
            self._strip = Strip([Segment(text, style)], cell_len(text))
        return self._strip


class FilterInput(Input):
    """The one-line filter input docked at the bottom of a table; shown while ``-open``."""

    DEFAULT_CSS = """
    FilterInput {
        dock: bottom;
        display: none;
        border: none;
        height: 1;
        padding: 0 1;
        &:focus { border: none; }
        &.-open { display: block; }
    }
    """


class FilteredTable(Widget, Generic[T]):
    """A pane of a status line, a RowTable and a ``/`` filter input (esc clears the filter).

    A mixin: list it after the pane's own base (``class P(EventPane, FilteredTable[Row])``),
    because Textual takes a widget's CSS type names (what ``query(EventPane)`` matches) from
    its first base alone; the look of the status line and of the input travels with their own
    widgets. Add ``filter_bindings(group)`` to the pane's BINDINGS.

    Subclasses implement ``make_filter`` (text to filter) and ``show_rows`` (draw the rows and
    the status line again), and filter their items with ``filtered``.
    """

    def __init__(
        self,
        columns: Iterable[Column],
        *,
        placeholder: str,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create the pane.

        Args:
            columns: The table's columns, left to right.
            placeholder: What the empty filter input says (what is matched, how).
            id: The ID of the widget in the DOM.
            classes: The CSS classes of the widget.
        """
        super().__init__(id=id, classes=classes)
        self.table = RowTable(columns)
        """The rows."""
        self.status_line = StatusLine(id="status")
        """The line over the table."""
        self.filter_input = FilterInput(placeholder=placeholder, id="filter")
        """The ``/`` input."""
        self.row_filter: RowFilter[T] | None = None
        """The filter in force; None shows every item."""
        self.filter_error: str | None = None
        """Why the last filter typed was refused (the one in force is kept); None if it was not."""

    def compose(self) -> ComposeResult:
        yield self.status_line
        yield self.table
        yield self.filter_input

    # -- what subclasses give ---------------------------------------------------------------

    def make_filter(self, text: str) -> RowFilter[T] | None:
        """The filter that ``text`` means (None: show all); raise ``re.error`` if invalid."""
        raise NotImplementedError

    def show_rows(self) -> None:
        """Draw the rows and the status line again: the filter, or its error, changed."""
        raise NotImplementedError

    # -- the filter ---------------------------------------------------------------------------

    @property
    def filter_text(self) -> str:
        """The filter in force ("" for none)."""
        return self.row_filter.text if self.row_filter is not None else ""

    @property
    def filter_problem(self) -> str | None:
        """The status line's text for a refused filter, naming the one kept; None if none."""
        if self.filter_error is None:
            return None
        kept = f"kept /{self.row_filter.text}/" if self.row_filter is not None else "showing all"
        return f"invalid regex ({kept}): {self.filter_error}"

    def filtered(self, items: Iterable[T]) -> list[T]:
        """The items the filter in force shows, in their order."""
        row_filter = self.row_filter
        if row_filter is None:
            return list(items)
        return [item for item in items if row_filter.matches(item)]

    def set_filter(self, text: str) -> bool:
        """Filter the rows by ``text``; empty shows all.

        An invalid filter leaves the one in force in place, shows why, and returns False.
        """
        try:
            new_filter = self.make_filter(text)
        except re.error as exc:
            self.filter_error = str(exc)
        else:
            self.row_filter, self.filter_error = new_filter, None
        self.show_rows()
        return self.filter_error is None

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.set_filter(event.value):
            self._close_filter()

    def _close_filter(self) -> None:
        self.filter_input.remove_class("-open")
        self.table.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            # Let esc go on to the app when there is nothing here to clear.
            return self.filter_input.has_class("-open") or self.row_filter is not None
        return super().check_action(action, parameters)

    def action_filter(self) -> None:
        """Open the filter input, holding the filter in force."""
        self.filter_input.value = self.filter_text
        self.filter_input.add_class("-open")
        self.filter_input.focus()

    def action_clear_filter(self) -> None:
        """Drop the filter and close its input."""
        self.filter_input.value = ""
        self.set_filter("")
        self._close_filter()
