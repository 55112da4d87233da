"""The row of view labels under the header, with a bar under the active view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.renderables.bar import Bar
from textual.strip import Strip
from textual.widget import Widget


class ViewTabs(Widget):
    """Every view's label on one line and a bar under the active one, drawn by one widget.

    It looks as the tabs of Textual's TabbedContent do, but is one widget where those are a
    widget per label, their rows and the bar. That matters every second: the header's clock
    is drawn in the same frame as the figures below this row, and Textual renders every
    widget between the two, so fourteen widgets here cost more than the clock's frame did.

    A click on a label posts ``Chosen``; the app's number keys choose views.
    """

    DEFAULT_CSS = """
    ViewTabs {
        height: 2;
        width: 1fr;
        & > .view-tabs--label { color: $foreground 50%; }
        & > .view-tabs--active { color: $foreground; }
        & > .view-tabs--bar { color: $block-cursor-background; background: $foreground 10%; }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "view-tabs--label",
        "view-tabs--active",
        "view-tabs--bar",
    }
    """
    | Class | Description |
    | :- | :- |
    | `view-tabs--label` | A view's label. |
    | `view-tabs--active` | The active view's label. |
    | `view-tabs--bar` | The bar under the labels (its colour marks the active view). |
    """

    active: reactive[str] = reactive("", layout=False)
    """The id of the view shown."""

    class Chosen(Message):
        """A view's label was clicked."""

        def __init__(self, tabs: ViewTabs, view: str) -> None:
            super().__init__()
            self.tabs = tabs
            """The tabs clicked."""
            self.view = view
            """The id of the view chosen."""

        @property
        def control(self) -> ViewTabs:
            """The tabs clicked."""
            return self.tabs

    def __init__(
        self,
        views: Sequence[tuple[str, str]],
        *,
        active: str = "",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create the row.

        Args:
            views: Each view's id and label, in order.
            active: The id of the view shown first.
            id: The ID of the widget in the DOM.
            classes: The CSS classes of the widget.
        """
        super().__init__(id=id, classes=classes)
        self._views = tuple(views)
        self._spans: list[tuple[int, int]] = []
        """Where each label is drawn (with its padding), first cell and end, before scrolling."""
        x = 0
        for _, label in self._views:
            self._spans.append((x, x + cell_len(label) + 2))
            x += cell_len(label) + 2
        self._strips: tuple[Strip, Strip] | None = None
        """Both lines as drawn, until the active view, the width or the styles change."""
        self.set_reactive(ViewTabs.active, active)

    def watch_active(self) -> None:
        self._strips = None
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips = None

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 2

    def _scroll(self, width: int) -> int:
        """Cells the labels are shifted left by, so that the active label is seen whole."""
        index = self._index(self.active)
        if index is None:
            return 0
        start, end = self._spans[index]
        return max(0, min(start, end - width))

    def _index(self, view: str) -> int | None:
        return next((i for i, (view_id, _) in enumerate(self._views) if view_id == view), None)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if self._strips is None or self._strips[0].cell_length != width:
            self._strips = self._draw(width)
        return self._strips[y] if y < 2 else Strip.blank(width, self.rich_style)

    def _draw(self, width: int) -> tuple[Strip, Strip]:
        base = self.rich_style
        label_style = base + self.get_component_rich_style("view-tabs--label")
        active_style = base + self.get_component_rich_style("view-tabs--active")
        labels = [
            Segment(f" {label} ", active_style if view == self.active else label_style)
            for view, label in self._views
        ]
        scroll = self._scroll(width)
        line = Strip(labels).crop_extend(scroll, scroll + width, base)
        index = self._index(self.active)
        if index is None:
            highlight = (0, 0)
        else:
            # Under the label's text, not its padding, as Textual's tabs draw it.
            start, end = self._spans[index]
            highlight = (start + 1 - scroll, end - 1 - scroll)
        bar_style = self.get_component_rich_style("view-tabs--bar")
        bar = Bar(
            highlight_range=highlight,
            highlight_style=Style.from_color(bar_style.color),
            background_style=Style.from_color(bar_style.bgcolor),
        )
        console = self.app.console
        segments = list(console.render(bar, console.options.update_width(width)))
        underline = Strip(
            [Segment(s.text, base + s.style if s.style else base) for s in segments if s.text]
        ).crop_extend(0, width, base)
        return line, underline

    def on_click(self, event: events.Click) -> None:
        scroll = self._scroll(self.size.width)
        x = event.x + scroll
        for (view, _), (start, end) in zip(self._views, self._spans, strict=True):
            if start <= x < end:
                event.stop()
                self.post_message(self.Chosen(self, view))
                return
