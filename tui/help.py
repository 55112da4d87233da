"""The help screen: every key the console answers to, grouped by where it works."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Static

_OWN_MODULE_PREFIX = "opsconsole."


class BindingGroup(NamedTuple):
    """The keys of one kind of node, and the node on screen that answers to them."""

    title: str
    node: DOMNode
    bindings: list[Binding]


def binding_groups(app: App[Any], screen: Screen[Any]) -> Iterator[BindingGroup]:
    """The app's keys, then those of each of our own widget classes on ``screen``.

    Where a class has several instances (a process table in two views), the group names one
    that is displayed, so running its actions from the command palette acts on what the user
    sees. Textual's own widgets (the arrow keys of a table) are left out: they are what users
    expect anyway, and listing them would bury the keys that are ours.
    """
    seen: set[type[DOMNode]] = set()
    nodes: list[DOMNode] = [app, screen, *screen.walk_children()]
    nodes.sort(key=lambda node: not _displayed(node))  # stable: displayed ones first
    for node in nodes:
        for cls in type(node).__mro__:
            if (
                cls in seen
                or not isinstance(cls, type)
                or not issubclass(cls, DOMNode)
                or not cls.__module__.startswith(_OWN_MODULE_PREFIX)
                or "BINDINGS" not in cls.__dict__
            ):
                continue
            seen.add(cls)
            bindings = [
                b
                for b in Binding.make_bindings(cls.__dict__["BINDINGS"])
                if b.description and (node is not app or _enabled(app, b))
            ]
            if bindings:
                yield BindingGroup(_group_title(cls), node, bindings)


def _enabled(node: DOMNode, binding: Binding) -> bool:
    """False for an app key turned off here (the replay keys of a live console). Only the app's
    are asked: a pane's key that does nothing just now (esc with no filter) is still its key."""
    action, _, parameters = binding.action.partition("(")
    return node.check_action(action, (parameters,) if parameters else ()) is not False


def _displayed(node: DOMNode) -> bool:
    return all(n.display for n in node.ancestors_with_self if isinstance(n, Widget))


def _group_title(cls: type[DOMNode]) -> str:
    if issubclass(cls, App):
        return "Everywhere"
    return str(getattr(cls, "HELP_GROUP", cls.__name__))


class HelpScreen(ModalScreen[None]):
    """A scrollable list of every binding, by group; esc, q or ? closes it."""

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close help", id="help.close"),
        Binding("j,down", "scroll_down", "Scroll down", show=False, id="help.down"),
        Binding("k,up", "scroll_up", "Scroll up", show=False, id="help.up"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 80%;
        max-width: 90;
        height: 90%;
        border: round $primary;
        border-title-color: $primary;
        background: $surface;
        padding: 0 1;
    }
    HelpScreen .group { text-style: bold; color: $accent; margin-top: 1; }
    HelpScreen .keys { color: $foreground; }
    """

    def __init__(self, groups: list[BindingGroup]) -> None:
        super().__init__()
        self._groups = groups

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "Keys  (esc to close)"
            for title, _, bindings in self._groups:
                yield Static(title, classes="group", markup=False)
                yield Static(self._keys_text(bindings), classes="keys")

    def _keys_text(self, bindings: list[Binding]) -> Text:
        text = Text()
        for binding in bindings:
            if text:
                text.append("\n")
            text.append(f"{self.app.get_key_display(binding):>12}", style="bold")
            text.append(f"  {binding.description}")
        return text

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)

    def action_scroll_down(self) -> None:
        self.query_one(VerticalScroll).scroll_down()

    def action_scroll_up(self) -> None:
        self.query_one(VerticalScroll).scroll_up()
