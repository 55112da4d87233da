"""The evidence list: what was pinned, from where and when; enter asks to jump back to it."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

from opsconsole.sources.text import safe_text
from opsconsole.store import Evidence, IncidentBundle
from opsconsole.widgets.incident import InvestigationPart, clock_time, one_line
from opsconsole.widgets.row_table import Column, Row, RowTable

MAX_DETAIL = 8000
"""Characters of a piece of evidence the detail box shows (the report has all of it)."""

COLUMNS = (
    Column("ref", "REF", 5),
    Column("kind", "KIND", 9),
    Column("time", "TIME", 8),
    Column("host", "HOST", 12),
    Column("title", "WHAT", 44),
    Column("source", "SOURCE", 40),
)


def evidence_row(evidence: Evidence) -> Row:
    """How a piece of evidence reads in the list."""
    return Row(
        str(evidence.id),
        (
            evidence.ref,
            one_line(evidence.kind),
            clock_time(evidence.ts),
            one_line(evidence.host),
            one_line(evidence.title),
            one_line(evidence.source),
        ),
    )


class EvidencePane(InvestigationPart):
    """The pinned evidence, with the content of the selected one below.

    Enter posts ``JumpRequested`` (the view shows the pane it came from, when still open);
    ``c`` posts ``CiteRequested`` so the notes get ``[E3]`` at the cursor.
    """

    HELP_GROUP: ClassVar[str] = "Evidence"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "jump", "Jump to source", id="evidence.jump"),
        Binding("c", "cite", "Cite in notes", id="evidence.cite"),
    ]

    DEFAULT_CSS = """
    EvidencePane {
        layout: vertical;
        & > RowTable { height: 1fr; }
        & RowTable { scrollbar-size-horizontal: 0; }
        & > #evidence-detail {
            height: 8; padding: 0 1; background: $panel; color: $foreground;
            overflow-y: auto;
        }
    }
    """

    class JumpRequested(Message):
        """Show the pane this evidence was pinned from, at the item."""

        def __init__(self, evidence: Evidence) -> None:
            super().__init__()
            self.evidence = evidence
            """The evidence to go back to (its ``locator`` says where)."""

    class CiteRequested(Message):
        """Insert a citation of this evidence in the notes."""

        def __init__(self, evidence: Evidence) -> None:
            super().__init__()
            self.evidence = evidence
            """The evidence to cite."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        """Create the pane.

        Args:
            id: The ID of the widget in the DOM.
            classes: The CSS classes of the widget.
        """
        super().__init__(id=id, classes=classes)
        self._evidence: dict[str, Evidence] = {}
        self.table = RowTable(COLUMNS)
        self._detail = Static(id="evidence-detail", markup=False)

    def compose(self) -> ComposeResult:
        yield self.table
        yield self._detail

    def show_bundle(self, bundle: IncidentBundle | None) -> None:
        evidence = bundle.evidence if bundle else ()
        self._evidence = {str(e.id): e for e in evidence}
        self.table.set_rows(evidence_row(e) for e in evidence)
        self._show_detail()

    @property
    def selected(self) -> Evidence | None:
        """The evidence under the cursor."""
        key = self.table.cursor_key
        return self._evidence.get(key) if key else None

    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        # The table takes enter (and clicks) first: selecting a row is the jump.
        event.stop()
        self._show_detail()
        self.action_jump()

    def on_mount(self) -> None:
        self.watch(self.table, "cursor_row", self._show_detail, init=False)

    def _show_detail(self, _row: int | None = None) -> None:
        evidence = self.selected
        if evidence is None:
            self._detail.update("Nothing pinned yet: select something in a pane and press p.")
            return
        content = evidence.content
        if len(content) > MAX_DETAIL:
            content = content[:MAX_DETAIL] + "\n…"
        text = Text(
            f"{evidence.ref} {evidence.kind} from {one_line(evidence.source)} on"
            f" {one_line(evidence.host)}\n",
            style="bold",
        )
        text.append("\n".join(safe_text(line) for line in content.splitlines()), style="")
        self._detail.update(text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"jump", "cite"}:
            return self.table.has_focus and self.selected is not None
        return True

    def action_jump(self) -> None:
        """Ask to show where the evidence came from."""
        evidence = self.selected
        if evidence is not None:
            self.post_message(self.JumpRequested(evidence))

    def action_cite(self) -> None:
        """Ask the notes to cite the evidence."""
        evidence = self.selected
        if evidence is not None:
            self.post_message(self.CiteRequested(evidence))
