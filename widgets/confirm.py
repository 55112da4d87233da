"""A confirmation dialog for actions that change the host: it names what, where, and the command.

Any pane can use it: ``self.app.push_screen(ConfirmScreen(...), callback)``; the callback gets
True when the engineer confirmed. Nothing is confirmed by default: enter on the dialog answers
with the focused button, which starts on "Cancel".
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from opsconsole.sources.text import safe_text


class ConfirmScreen(ModalScreen[bool]):
    """Ask before doing ``action`` to ``target`` on ``where``, showing the equivalent command.

    Keys: ``y`` confirms, ``n`` or esc cancels; tab moves between the buttons.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    DEFAULT_CSS = """
    ConfirmScreen {
        align: center middle;
        & > #dialog {
            width: 64;
            max-width: 100%;
            height: auto;
            border: thick $warning;
            background: $panel;
            padding: 1 2;
        }
        & #question { text-style: bold; color: $foreground; }
        & #command { margin-top: 1; color: $foreground; background: $surface; padding: 0 1; }
        & #buttons { height: auto; margin-top: 1; align-horizontal: right; }
        & Button { margin-left: 2; }
    }
    """

    def __init__(self, action: str, target: str, where: str, command: str | None = None) -> None:
        """Create the dialog.

        Args:
            action: What will be done, as a verb: ``restart``.
            target: What it is done to: a container's name.
            where: Where that lives: the engine.
            command: The equivalent command line, shown so the engineer knows exactly what runs.
        """
        super().__init__()
        self.action_name = action
        """The verb of the action asked about."""
        self.target = target
        """What the action is done to."""
        self.where = where
        """Where the target lives."""
        self.command = command
        """The equivalent command line, if any."""

    def compose(self) -> ComposeResult:
        question = Text.assemble(
            f"{self.action_name.capitalize()} ",
            (safe_text(self.target), "bold"),
            " on ",
            (safe_text(self.where), "bold"),
            "?",
        )
        with Vertical(id="dialog"):
            yield Static(question, id="question")
            if self.command:
                yield Static(Text(safe_text(self.command)), id="command")
            with Horizontal(id="buttons"):
                yield Button("Cancel (n)", id="no")
                yield Button(f"{self.action_name.capitalize()} (y)", variant="warning", id="yes")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        """Close the dialog with ``answer``."""
        self.dismiss(answer)
