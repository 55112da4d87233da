"""The tracker: the steps being tried (todo-style) and the hypotheses, driven from the keyboard."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from opsconsole.checklists import StepTemplate
from opsconsole.store import Evidence, Hypothesis, IncidentBundle, Step
from opsconsole.widgets.incident import ChoiceScreen, InvestigationPart, one_line
from opsconsole.widgets.row_table import Column, Row, RowTable

STEP_MARKS = {"todo": "[ ]", "doing": "[~]", "done": "[x]", "skipped": "[-]"}
HYPOTHESIS_MARKS = {"open": "?", "confirmed": "✓", "refuted": "✗"}
_NEXT_STATUS = {"todo": "doing", "doing": "done", "done": "todo", "skipped": "todo"}

STEP_COLUMNS = (
    Column("mark", "", 3),
    Column("title", "STEP", 52),
    Column("owner", "OWNER", 10),
    Column("note", "NOTE", 60),
)
HYPOTHESIS_COLUMNS = (
    Column("mark", "", 1),
    Column("status", "STATUS", 9),
    Column("text", "HYPOTHESIS", 60),
    Column("evidence", "EVIDENCE", 30),
)


def step_row(step: Step) -> Row:
    """How a step reads in the table."""
    return Row(
        str(step.id),
        (STEP_MARKS[step.status], one_line(step.title), one_line(step.owner), one_line(step.note)),
        alarm=step.status == "doing",
    )


def hypothesis_row(hypothesis: Hypothesis) -> Row:
    """How a hypothesis reads in the table."""
    return Row(
        str(hypothesis.id),
        (
            HYPOTHESIS_MARKS[hypothesis.status],
            hypothesis.status,
            one_line(hypothesis.text),
            ", ".join(f"E{i}" for i in hypothesis.evidence),
        ),
        alarm=hypothesis.status == "confirmed",
    )


class TrackerPane(InvestigationPart):
    """Steps over hypotheses; tab moves between them.

    Steps: ``a`` add, ``e`` edit, ``o`` owner, ``n`` note, space cycles todo → doing → done,
    ``x`` done, ``s`` skip, ``J``/``K`` move down/up, ``d`` delete, ``T`` add a checklist from a
    template. Hypotheses: ``h`` add, ``c`` confirm, ``r`` refute, ``u`` reopen, ``l`` link the
    evidence you pick.
    """

    HELP_GROUP: ClassVar[str] = "Tracker"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add_step", "Add step", id="tracker.add_step"),
        Binding("T", "add_template", "Checklist", id="tracker.template"),
        Binding("h", "add_hypothesis", "Hypothesis", id="tracker.add_hypothesis"),
        Binding("space", "cycle", "Next status", id="tracker.cycle"),
        Binding("x", "step_status('done')", "Done", show=False, id="tracker.done"),
        Binding("s", "step_status('skipped')", "Skip", show=False, id="tracker.skip"),
        Binding("e", "edit", "Edit", show=False, id="tracker.edit"),
        Binding("o", "owner", "Owner", show=False, id="tracker.owner"),
        Binding("n", "note", "Note", show=False, id="tracker.note"),
        Binding("J", "move(1)", "Move down", show=False, id="tracker.move_down"),
        Binding("K", "move(-1)", "Move up", show=False, id="tracker.move_up"),
        Binding("d", "delete", "Delete step", show=False, id="tracker.delete"),
        Binding("c", "hypothesis('confirmed')", "Confirm", show=False, id="tracker.confirm"),
        Binding("r", "hypothesis('refuted')", "Refute", show=False, id="tracker.refute"),
        Binding("u", "hypothesis('open')", "Reopen", show=False, id="tracker.reopen"),
        Binding("l", "link", "Link evidence", show=False, id="tracker.link"),
    ]

    DEFAULT_CSS = """
    TrackerPane {
        layout: vertical;
        & > .title {
            height: 1; padding: 0 1; background: $panel; color: $foreground; text-style: bold;
        }
        & > #steps { height: 2fr; }
        & > #hypotheses { height: 1fr; }
        & RowTable { scrollbar-size-horizontal: 0; }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        """Create the pane.

        Args:
            id: The ID of the widget in the DOM.
            classes: The CSS classes of the widget.
        """
        super().__init__(id=id, classes=classes)
        self.templates: tuple[StepTemplate, ...] = ()
        """The checklists ``T`` offers."""
        self._steps: dict[str, Step] = {}
        self._hypotheses: dict[str, Hypothesis] = {}
        self._evidence: tuple[Evidence, ...] = ()
        self.steps_table = RowTable(STEP_COLUMNS, id="steps")
        self.hypotheses_table = RowTable(HYPOTHESIS_COLUMNS, id="hypotheses")

    def compose(self) -> ComposeResult:
        yield Static("Steps", classes="title", markup=False)
        yield self.steps_table
        yield Static("Hypotheses", classes="title", markup=False)
        yield self.hypotheses_table

    def show_bundle(self, bundle: IncidentBundle | None) -> None:
        steps = bundle.steps if bundle else ()
        hypotheses = bundle.hypotheses if bundle else ()
        self._evidence = bundle.evidence if bundle else ()
        self._steps = {str(s.id): s for s in steps}
        self._hypotheses = {str(h.id): h for h in hypotheses}
        self.steps_table.set_rows(step_row(s) for s in steps)
        self.hypotheses_table.set_rows(hypothesis_row(h) for h in hypotheses)

    # -- what is selected ---------------------------------------------------------------------

    @property
    def selected_step(self) -> Step | None:
        """The step under the cursor of the steps table."""
        key = self.steps_table.cursor_key
        return self._steps.get(key) if key else None

    @property
    def selected_hypothesis(self) -> Hypothesis | None:
        """The hypothesis under the cursor of the hypotheses table."""
        key = self.hypotheses_table.cursor_key
        return self._hypotheses.get(key) if key else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        on_steps = self.steps_table.has_focus
        step_actions = {"cycle", "step_status", "edit", "owner", "note", "move", "delete"}
        if action in step_actions:
            return on_steps and self.selected_step is not None
        if action in {"hypothesis", "link"}:
            return self.hypotheses_table.has_focus and self.selected_hypothesis is not None
        if action in {"add_step", "add_template", "add_hypothesis"}:
            return self.incident_id is not None
        return True

    # -- steps ------------------------------------------------------------------------------

    def action_add_step(self) -> None:
        """Add a step at the end."""
        if self.store is not None and self.incident_id is not None:
            store, incident = self.store, self.incident_id
            self.ask("New step", lambda text: self.act(store.add_steps, incident, [text]))

    def action_add_template(self) -> None:
        """Add every step of a checklist."""
        if self.store is None or self.incident_id is None:
            return
        store, incident = self.store, self.incident_id
        by_name = {t.name: t for t in self.templates}

        def chosen(name: str | None) -> None:
            template = by_name.get(name or "")
            if template is not None:
                self.run_worker(
                    self.act(store.add_steps, incident, template.steps, template=template.title),
                    group="investigation-act",
                )

        choices = [(t.name, f"{t.title} ({len(t.steps)} steps)") for t in self.templates]
        self.app.push_screen(ChoiceScreen("Add a checklist", choices), chosen)

    async def action_cycle(self) -> None:
        """Move the step to its next status: todo → doing → done → todo."""
        step = self.selected_step
        if step is not None and self.store is not None:
            await self.act(self.store.update_step, step.id, status=_NEXT_STATUS[step.status])

    async def action_step_status(self, status: str) -> None:
        """Mark the step done or skipped."""
        step = self.selected_step
        if step is not None and self.store is not None:
            await self.act(self.store.update_step, step.id, status=status)

    def _edit_field(self, field: str, title: str) -> None:
        step = self.selected_step
        if step is None or self.store is None:
            return
        store, step_id = self.store, step.id
        current = str(getattr(step, field))
        self.ask(title, lambda text: self.act(store.update_step, step_id, **{field: text}), current)

    def action_edit(self) -> None:
        """Edit the step's title."""
        self._edit_field("title", "Step")

    def action_owner(self) -> None:
        """Set who owns the step."""
        self._edit_field("owner", "Owner")

    def action_note(self) -> None:
        """Write a note on the step."""
        self._edit_field("note", "Note")

    async def action_move(self, offset: int) -> None:
        """Move the step down (1) or up (-1); the cursor follows it."""
        step = self.selected_step
        if step is not None and self.store is not None:
            await self.act(self.store.move_step, step.id, offset)

    async def action_delete(self) -> None:
        """Remove the step (the timeline keeps that it existed)."""
        step = self.selected_step
        if step is not None and self.store is not None:
            await self.act(self.store.delete_step, step.id)

    # -- hypotheses -------------------------------------------------------------------------

    def action_add_hypothesis(self) -> None:
        """Write down a new hypothesis (open)."""
        if self.store is not None and self.incident_id is not None:
            store, incident = self.store, self.incident_id
            self.ask("New hypothesis", lambda text: self.act(store.add_hypothesis, incident, text))

    async def action_hypothesis(self, status: str) -> None:
        """Confirm, refute or reopen the hypothesis."""
        hypothesis = self.selected_hypothesis
        if hypothesis is not None and self.store is not None:
            await self.act(self.store.set_hypothesis_status, hypothesis.id, status)

    def action_link(self) -> None:
        """Link a piece of evidence to the hypothesis."""
        hypothesis = self.selected_hypothesis
        if hypothesis is None or self.store is None:
            return
        if not self._evidence:
            self.notify("No evidence pinned yet: press p on a pane's selection.")
            return
        store, hypothesis_id = self.store, hypothesis.id

        def chosen(key: str | None) -> None:
            if key is not None:
                self.run_worker(
                    self.act(store.link_evidence, hypothesis_id, [int(key)]),
                    group="investigation-act",
                )

        choices = [(str(e.id), f"{e.ref}  {one_line(e.title)}") for e in self._evidence]
        self.app.push_screen(ChoiceScreen("Link evidence", choices), chosen)
