"""A closer look at one container: its inspect, its processes, its stats history and its log.

Each view gets what it shows from the control facade (in a worker: the facade runs the engine
calls in threads) or, for the stats history, from the list pane's bounded history. Everything
the engine says is outside text: it is made safe and shown as Text, never parsed as markup.

The log view here is kept simple and bounded (a ring buffer of lines drawn with the line API);
the full log view with search and patterns is the log pane's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Final, Literal

from rich.segment import Segment
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.reactive import reactive
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Footer, Input, Sparkline, Static, TabbedContent, TabPane, Tree
from textual.widgets.tree import TreeNode

from opsconsole.sources.containers import ContainerControl
from opsconsole.sources.engine import EngineError, LogQuery
from opsconsole.sources.events import ContainerInfo, ContainerStats, LogLine
from opsconsole.sources.text import safe_text
from opsconsole.widgets.filtered_table import StatusLine
from opsconsole.widgets.format import NA, percent, size
from opsconsole.widgets.row_table import Column, Row, RowTable

View = Literal["logs", "inspect", "processes", "stats"]
"""The views of a container, by the id of their tab."""

MASK: Final = "••••••"
"""Shown instead of an environment value until the engineer reveals them."""
TREE_CHILDREN: Final = 500
"""Children of one inspect node shown at most (a hostile image can carry thousands of labels)."""
VALUE_CHARS: Final = 1000
"""Characters of one inspect value shown at most."""
LOG_LINES: Final = 10_000
"""Lines the container log view keeps (the oldest go first; the status line counts them)."""
LINE_CHARS: Final = 2000
"""Characters of one log line drawn at most."""


# --- inspect ----------------------------------------------------------------------------


def env_entry(entry: str, reveal: bool) -> str:
    """An ``Env`` entry with its value masked unless ``reveal``."""
    name, sep, value = entry.partition("=")
    return entry if reveal or not sep else f"{name}={MASK}" if value else entry


class InspectView(Widget):
    """The engine's inspect document as a tree. Environment values are masked until ``v``.

    Keys: ``/`` searches keys and values (enter goes to the first match), ``n`` the next
    match, ``v`` reveals or hides environment values, ``e`` expands all, the tree's keys move.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", id="inspect.search"),
        Binding("n", "next_match", "Next match", id="inspect.next"),
        Binding("v", "reveal", "Reveal env", id="inspect.reveal"),
        Binding("e", "expand_all", "Expand all", show=False, id="inspect.expand"),
        Binding("escape", "close_search", "Close search", show=False, id="inspect.close"),
    ]

    DEFAULT_CSS = """
    InspectView {
        height: 1fr;
        & > Tree { height: 1fr; background: $surface; }
        & > Input { dock: bottom; display: none; border: none; height: 1; padding: 0 1; }
        & > Input.-open { display: block; }
    }
    """

    revealed: reactive[bool] = reactive(False)
    """True while environment values are shown in clear."""

    def __init__(self, control: ContainerControl, info: ContainerInfo) -> None:
        super().__init__()
        self._control = control
        self._info = info
        self._doc: dict[str, Any] | None = None
        self._matches: list[TreeNode[None]] = []
        self._match = -1
        self._tree: Tree[None] = Tree(Text(safe_text(info.name)))
        self._status = StatusLine()
        self._input = Input(placeholder="search keys and values · enter goes · esc closes")

    def compose(self) -> ComposeResult:
        yield self._status
        yield self._tree
        yield self._input

    def on_mount(self) -> None:
        self._status.say("inspecting…")
        self._load()

    @work(exclusive=True, group="inspect")
    async def _load(self) -> None:
        try:
            self._doc = await self._control.inspect(self._info.engine, self._info.id)
        except EngineError as exc:
            self._status.say(f"inspect failed: {exc}", error=True)
            return
        self._build()

    def _build(self) -> None:
        tree = self._tree
        tree.clear()
        if self._doc is not None:
            self._add(tree.root, self._doc, "")
        tree.root.expand()
        shown = "shown" if self.revealed else "masked (v reveals)"
        self._status.say(f"environment values {shown} · / searches")

    def _add(self, node: TreeNode[None], value: object, path: str) -> None:
        items: Iterable[tuple[str, object]] = ()
        if isinstance(value, Mapping):
            items = ((str(k), v) for k, v in value.items())
        elif isinstance(value, list):
            items = ((str(i), v) for i, v in enumerate(value))
        for index, (key, child) in enumerate(items):
            if index >= TREE_CHILDREN:
                node.add_leaf(Text("… more not shown", style="italic"))
                break
            here = f"{path}.{key}"
            if isinstance(child, Mapping | list) and child:
                branch = node.add(Text(safe_text(key), style="bold"))
                self._add(branch, child, here)
                continue
            if here == ".Config.Env" or (path == ".Config.Env" and isinstance(child, str)):
                child = env_entry(child, self.revealed) if isinstance(child, str) else child
            shown = "null" if child is None else str(child)
            label = Text.assemble((safe_text(key), "bold"), ": ", safe_text(shown[:VALUE_CHARS]))
            node.add_leaf(label)

    def watch_revealed(self) -> None:
        if self._doc is not None:
            self._build()

    def action_reveal(self) -> None:
        """Show or mask environment values."""
        self.revealed = not self.revealed

    def action_expand_all(self) -> None:
        """Open every branch."""
        self._tree.root.expand_all()

    def action_search(self) -> None:
        """Open the search input."""
        self._input.add_class("-open")
        self._input.focus()

    def action_close_search(self) -> None:
        """Close the search input."""
        self._input.remove_class("-open")
        self._tree.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.search(event.value)
        self.action_close_search()

    def search(self, text: str) -> int:
        """Find nodes whose key or value holds ``text`` (any case); go to the first. The count."""
        needle = text.casefold()
        self._matches = []
        if needle:
            todo = [self._tree.root]
            while todo:
                node = todo.pop(0)
                if needle in str(node.label).casefold():
                    self._matches.append(node)
                todo.extend(node.children)
        self._match = -1
        self._status.say(f"{len(self._matches)} matches for {text!r} · n goes to the next")
        self.action_next_match()
        return len(self._matches)

    def action_next_match(self) -> None:
        """Go to the next search match, opening its branches."""
        if not self._matches:
            return
        self._match = (self._match + 1) % len(self._matches)
        node = self._matches[self._match]
        parent = node.parent
        while parent is not None:
            parent.expand()
            parent = parent.parent
        self.call_after_refresh(self._tree.move_cursor, node)

    @property
    def cursor_label(self) -> str:
        """The text of the node under the cursor ("" for none)."""
        node = self._tree.cursor_node
        return str(node.label) if node is not None else ""


# --- processes ----------------------------------------------------------------------------


class ProcessesView(Widget):
    """The container's processes as the engine's top shows them, refreshed every 2 seconds."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "refresh", "Refresh", id="top.refresh"),
    ]

    DEFAULT_CSS = """
    ProcessesView {
        height: 1fr;
        & > RowTable { height: 1fr; }
    }
    """

    INTERVAL: ClassVar[float] = 2.0

    def __init__(self, control: ContainerControl, info: ContainerInfo) -> None:
        super().__init__()
        self._control = control
        self._info = info
        self._table = RowTable(())
        self._status = StatusLine()

    def compose(self) -> ComposeResult:
        yield self._status
        yield self._table

    def on_mount(self) -> None:
        self._status.say("reading processes…")
        self.action_refresh()
        self.set_interval(self.INTERVAL, self._tick)

    def _tick(self) -> None:
        # Only while its tab is the one shown: top costs the engine a process scan.
        if all(node.display for node in self.ancestors_with_self if isinstance(node, Widget)):
            self.action_refresh()

    def action_refresh(self) -> None:
        """Read the processes again."""
        self._load()

    @work(exclusive=True, group="top")
    async def _load(self) -> None:
        try:
            top = await self._control.top(self._info.engine, self._info.id)
        except EngineError as exc:
            self._status.say(f"processes not readable: {exc}", error=True)
            return
        titles = [safe_text(t) for t in top.titles]
        rows = [tuple(safe_text(c) for c in row) for row in top.rows]
        if [c.label for c in self._table.columns] != titles:
            self._table.columns = [
                Column(str(i), title, _width(i, title, rows, last=i == len(titles) - 1))
                for i, title in enumerate(titles)
            ]
        self._table.set_rows(Row(str(i), row) for i, row in enumerate(rows))
        self._status.say(f"{len(rows)} processes · refreshed every {self.INTERVAL:g}s")


def _width(index: int, title: str, rows: Sequence[tuple[str, ...]], *, last: bool) -> int:
    """A top column's width: its widest cell, within reason (the command gets the most)."""
    widest = max([len(title), *(len(row[index]) for row in rows if index < len(row))])
    return max(1, min(widest, 200 if last else 16))


# --- stats history -----------------------------------------------------------------------


class StatsView(Widget):
    """CPU and memory over the last minutes, from the list pane's history, redrawn each second."""

    DEFAULT_CSS = """
    StatsView {
        height: 1fr;
        padding: 0 1;
        & > .label { height: 1; color: $foreground; text-style: bold; margin-top: 1; }
        & > Sparkline { height: 4; }
        & > #stats-now { height: auto; color: $foreground; }
    }
    """

    def __init__(self, info: ContainerInfo, history: Sequence[ContainerStats]) -> None:
        super().__init__()
        self._info = info
        self._history = history
        self._seen: tuple[int, ContainerStats | None] = (-1, None)
        self._cpu = Sparkline([], id="cpu")
        self._memory = Sparkline([], id="memory")
        self._now = Static(id="stats-now")

    def compose(self) -> ComposeResult:
        yield Static("CPU %", classes="label")
        yield self._cpu
        yield Static("Memory", classes="label")
        yield self._memory
        yield self._now

    def on_mount(self) -> None:
        self._draw()
        self.set_interval(1.0, self._draw)

    def _draw(self) -> None:
        history = list(self._history)
        latest = history[-1] if history else None
        if (len(history), latest) == self._seen:
            return  # nothing new since the last redraw
        self._seen = (len(history), latest)
        self._cpu.data = [s.cpu_percent or 0.0 for s in history]
        self._memory.data = [float(s.mem_usage or 0) for s in history]
        if latest is None:
            text = "No stats yet (they stream while the container runs)."
        else:
            limit = size(latest.mem_limit) if latest.mem_limit is not None else "no limit"
            text = (
                f"now: CPU {percent(latest.cpu_percent)} · memory {size(latest.mem_usage)} of "
                f"{limit} · pids {latest.pids if latest.pids is not None else NA} · "
                f"net {size(latest.net_rx)} in, {size(latest.net_tx)} out · "
                f"block {size(latest.blk_read)} read, {size(latest.blk_write)} written · "
                f"{len(history)} reads"
            )
        self._now.update(Text(text))


# --- logs --------------------------------------------------------------------------------


class LogLinesView(ScrollView, can_focus=True):
    """A bounded ring of log lines drawn with the line API; stderr in the error colour."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"loglines--stderr", "loglines--time"}
    """
    | Class | Description |
    | :- | :- |
    | `loglines--stderr` | A line from stderr. |
    | `loglines--time` | The time of a line. |
    """

    DEFAULT_CSS = """
    LogLinesView {
        background: $surface;
        color: $foreground;
        & > .loglines--stderr { color: $error; }
        & > .loglines--time { color: $foreground 60%; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "scroll_down", "Down", show=False, id="loglines.down"),
        Binding("k,up", "scroll_up", "Up", show=False, id="loglines.up"),
        Binding("g,home", "scroll_home", "Top", show=False, id="loglines.top"),
        Binding("G,end", "scroll_end", "End", show=False, id="loglines.end"),
        Binding("pagedown", "page_down", "Page down", show=False, id="loglines.page_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="loglines.page_up"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: deque[LogLine] = deque(maxlen=LOG_LINES)
        """The lines kept, oldest first."""
        self.dropped = 0
        """Lines no longer kept: pushed out of the ring or dropped by a slow reader."""
        self._width = 0

    def add(self, lines: Sequence[LogLine], dropped: int = 0) -> None:
        """Append lines (the oldest fall out of the ring, counted)."""
        overflow = max(0, len(self.lines) + len(lines) - LOG_LINES)
        self.dropped += dropped + overflow
        self.lines.extend(lines)
        longest = max((len(line.text) for line in lines), default=0)
        self._width = max(self._width, min(LINE_CHARS, longest) + 10)
        self.virtual_size = Size(self._width, len(self.lines))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        if index >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        line = self.lines[index]
        base = self.rich_style
        style = base
        if line.stream == "stderr":
            style = self.get_component_rich_style("loglines--stderr")
        segments: list[Segment] = []
        if line.ts is not None:
            stamp = datetime.fromtimestamp(line.ts).strftime("%H:%M:%S")
            segments.append(Segment(stamp + " ", self.get_component_rich_style("loglines--time")))
        segments.append(Segment(safe_text(line.text[:LINE_CHARS]), style))
        strip = Strip(segments)
        return strip.crop_extend(scroll_x, scroll_x + width, base)


class LogsView(Widget):
    """The container's log, following: the last 500 lines, then live. ``space`` pauses the
    scrolling (lines keep arriving and are kept), ``G`` goes to the end."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_follow", "Follow/pause", id="logs.follow"),
    ]

    DEFAULT_CSS = """
    LogsView {
        height: 1fr;
        & > LogLinesView { height: 1fr; }
    }
    """

    following: reactive[bool] = reactive(True)
    """True to keep the newest line in view."""

    def __init__(self, control: ContainerControl, info: ContainerInfo, *, tail: int = 500) -> None:
        super().__init__()
        self._control = control
        self._info = info
        self._tail = tail
        self._ended: str | None = None
        self.view = LogLinesView(id="loglines")
        self._status = StatusLine()

    def compose(self) -> ComposeResult:
        yield self._status
        yield self.view

    def on_mount(self) -> None:
        self._show_status()
        self._follow()

    @work(exclusive=True, group="logs")
    async def _follow(self) -> None:
        info = self._info
        try:
            async for batch in self._control.logs(
                info.engine, info.id, info.name, LogQuery(follow=True, tail=self._tail)
            ):
                self.view.add(batch.lines, batch.dropped)
                if self.following:
                    self.view.scroll_end(animate=False, immediate=False)
                self._show_status()
            self._ended = "log ended (the container stopped or was removed)"
        except EngineError as exc:
            self._ended = f"log not readable: {exc}"
        self._show_status()

    def _show_status(self) -> None:
        view = self.view
        parts = [
            "following" if self.following else "paused (space follows)",
            f"{len(view.lines):,} lines",
        ]
        if view.dropped:
            parts.append(f"{view.dropped:,} older lines not kept")
        if self._ended:
            parts.append(self._ended)
        self._status.say(" · ".join(parts), error=bool(self._ended))

    def watch_following(self) -> None:
        if self.following:
            self.view.scroll_end(animate=False)
        if self.is_mounted:
            self._show_status()

    def action_toggle_follow(self) -> None:
        """Pause the scrolling, or follow again."""
        self.following = not self.following


# --- the screen ---------------------------------------------------------------------------


class ContainerScreen(Screen[None]):
    """One container's views in tabs: logs, inspect, processes, stats. esc goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", id="container.close"),
        Binding("1", "show('logs')", "Logs", show=False, id="container.logs"),
        Binding("2", "show('inspect')", "Inspect", show=False, id="container.inspect"),
        Binding("3", "show('processes')", "Processes", show=False, id="container.processes"),
        Binding("4", "show('stats')", "Stats", show=False, id="container.stats"),
    ]

    DEFAULT_CSS = """
    ContainerScreen {
        background: $background;
        & > #container-title {
            height: 1;
            padding: 0 1;
            background: $primary;
            color: $foreground;
            text-style: bold;
        }
        & TabPane { padding: 0; }
    }
    """

    def __init__(
        self,
        control: ContainerControl,
        info: ContainerInfo,
        *,
        view: View = "logs",
        history: Sequence[ContainerStats] = (),
    ) -> None:
        super().__init__()
        self.control = control
        self.info = info
        """The container, as the list showed it when the screen opened."""
        self._view = view
        self._history = history

    def compose(self) -> ComposeResult:
        info = self.info
        title = f"{info.name} · {info.runtime} · {info.engine} · {info.image} · {info.state}"
        yield Static(Text(safe_text(title)), id="container-title")
        with TabbedContent(initial=self._view, id="container-views"):
            with TabPane("1 Logs", id="logs"):
                yield LogsView(self.control, info)
            with TabPane("2 Inspect", id="inspect"):
                yield InspectView(self.control, info)
            with TabPane("3 Processes", id="processes"):
                yield ProcessesView(self.control, info)
            with TabPane("4 Stats", id="stats"):
                yield StatsView(info, self._history)
        yield Footer()

    def on_mount(self) -> None:
        self._focus(self._view)

    def action_show(self, view: View) -> None:
        """Switch to ``view``."""
        self.query_one(TabbedContent).active = view
        self._focus(view)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._focus(event.pane.id or "logs")

    def _focus(self, view: str) -> None:
        pane = self.query_one(f"#{view}", TabPane)
        for widget in pane.query("*"):
            if widget.focusable:
                widget.focus()
                return

    def action_close(self) -> None:
        """Back to the list."""
        self.dismiss(None)
