"""The investigation view: the incident, its tracker, evidence, timeline and notes in one tab.

The app mounts one ``InvestigationView``. It opens the store itself (in a thread, so a slow or
broken disk never holds the UI; a store it cannot use is shown as a clear error and the rest of
the console works on), takes the event stream like any pane (alerts and container events become
timeline entries of the open incident), and pins evidence from whichever pane has the focus
(``pin_focused``, for the app's ``p`` key). ``install_hangup_handler`` saves everything when the
SSH session drops.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane

from opsconsole import paths
from opsconsole.checklists import Templates, load_templates
from opsconsole.config import InvestigationConfig
from opsconsole.evidence import EvidenceDraft, Jumpable, Pinnable
from opsconsole.report import export
from opsconsole.sources.events import Event
from opsconsole.store import (
    INCIDENT_STATUSES,
    Evidence,
    Incident,
    IncidentBundle,
    Store,
    StoreError,
    store_path,
)
from opsconsole.timeline_feed import TimelineFeed
from opsconsole.widgets.evidence import EvidencePane
from opsconsole.widgets.incident import (
    ChoiceScreen,
    IncidentFields,
    IncidentForm,
    IncidentSummary,
    InvestigationPart,
    incident_choices,
)
from opsconsole.widgets.notes import NotesEditor
from opsconsole.widgets.pane import EventPane
from opsconsole.widgets.timeline import TimelinePane
from opsconsole.widgets.tracker import TrackerPane

SECTIONS = ("tracker", "evidence", "timeline", "notes")
FEED_REFRESH = 1.0
"""Most seconds before entries the event stream added show on the timeline."""


class InvestigationView(EventPane):
    """The investigation: incident summary on top, then Tracker, Evidence, Timeline and Notes.

    Keys: ``[``/``]`` previous/next section, ``I`` incidents (switch, new), ``N`` new incident,
    ``E`` edit the incident, ``+`` next status (acknowledged, mitigated, resolved, closed),
    ``A`` archive, ``X`` export the report and handoff.
    """

    HELP_GROUP: ClassVar[str] = "Investigation"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("I", "incidents", "Incidents", id="investigation.incidents"),
        Binding("N", "new_incident", "New incident", show=False, id="investigation.new"),
        Binding("E", "edit_incident", "Edit incident", show=False, id="investigation.edit"),
        Binding("plus", "advance", "Next status", id="investigation.advance"),
        Binding("A", "archive", "Archive", show=False, id="investigation.archive"),
        Binding("X", "export", "Export", id="investigation.export"),
        Binding(
            "left_square_bracket",
            "section(-1)",
            "Previous section",
            show=False,
            id="investigation.previous",
        ),
        Binding(
            "right_square_bracket",
            "section(1)",
            "Next section",
            show=False,
            id="investigation.next",
        ),
    ]

    DEFAULT_CSS = """
    InvestigationView {
        height: 1fr;
        layout: vertical;
        & > TabbedContent { height: 1fr; }
        & TabPane { padding: 0; }
        & TabPane > InvestigationPart { height: 1fr; }
    }
    """

    def __init__(
        self,
        config: InvestigationConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create the view; the store is opened once it is mounted.

        Args:
            config: Where the store, templates and exports are.
            clock: Wall-clock time (tests pass a fixed one).
            id: The ID of the widget in the DOM.
            classes: The CSS classes of the widget.
        """
        super().__init__(id=id, classes=classes)
        self.config = config or InvestigationConfig()
        self._clock = clock
        self.store: Store | None = None
        """The store once open; None before, or when it could not be opened."""
        self.store_error: str | None = None
        """Why the store could not be opened."""
        self.incident: Incident | None = None
        """The incident shown."""
        self.templates = Templates((), ())
        self._feed = TimelineFeed()
        self._feed_reload: Timer | None = None
        self.summary = IncidentSummary(id="incident-summary")
        self.tracker = TrackerPane(id="tracker")
        self.evidence = EvidencePane(id="evidence-list")
        self.timeline = TimelinePane(id="timeline")
        self.notes = NotesEditor(id="notes")

    @property
    def parts(self) -> tuple[InvestigationPart, ...]:
        """The sections, in tab order."""
        return (self.tracker, self.evidence, self.timeline, self.notes)

    def compose(self) -> ComposeResult:
        yield self.summary
        # No ``initial``: the first section (the tracker) is the default, and naming it made
        # ContentTabs raise when the console quit while this view was still mounting.
        with TabbedContent(id="investigation-sections"):
            for name, part in zip(SECTIONS, self.parts, strict=True):
                with TabPane(name.capitalize(), id=f"investigation-{name}"):
                    yield part

    async def on_mount(self) -> None:
        self.summary.update("Opening the investigation store…")
        self.run_worker(self._open(), group="investigation-open")

    async def _open(self) -> None:
        path = self.config.store or store_path()
        try:
            store = await asyncio.to_thread(
                Store.open, path, read_only=self.config.read_only, clock=self._clock
            )
        except StoreError as error:
            self.store_error = str(error)
            self.summary.show_error(f"Investigation unavailable: {error}")
            return
        self.templates = await asyncio.to_thread(load_templates, self.config.templates)
        for message in self.templates.errors:
            self.notify(message, title="Template", severity="warning", markup=False, timeout=10)
        self.tracker.templates = self.templates.steps
        self.notes.templates = self.templates.notes
        self.store = store
        for part in self.parts:
            part.store = store
        self.incident = await asyncio.to_thread(store.current_incident)
        await self.reload()

    async def reload(self) -> None:
        """Read the shown incident again and show it in every part."""
        store = self.store
        if store is None:
            return
        bundle: IncidentBundle | None = None
        if self.incident is not None:
            # The editor keeps its own text: read the notes only for another incident.
            with_notes = self.notes.loaded_for != self.incident.id
            try:
                bundle = await asyncio.to_thread(
                    store.bundle, self.incident.id, with_notes=with_notes
                )
            except StoreError as error:
                self.notify(str(error), severity="error", markup=False)
                return
        self.incident = bundle.incident if bundle else None
        notice = f"read-only: {store.read_only_reason}" if store.read_only else None
        self.summary.show(self.incident, notice)
        for part in self.parts:
            part.incident_id = self.incident.id if self.incident else None
            part.show_bundle(bundle)
        self.refresh_bindings()

    def on_investigation_part_changed(self, event: InvestigationPart.Changed) -> None:
        event.stop()
        self.run_worker(self.reload(), group="investigation-reload", exclusive=True)

    async def switch_to(self, incident_id: int) -> None:
        """Show another incident (and open it next time)."""
        if self.store is None:
            return
        self.notes.flush()
        try:
            self.incident = await asyncio.to_thread(self.store.incident, incident_id)
            if not self.store.read_only:
                await asyncio.to_thread(self.store.set_current_incident, incident_id)
        except StoreError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        await self.reload()

    def flush(self) -> bool:
        """Save the notes now, on this thread (hang-up, exit); False when they could not be."""
        return self.notes.flush()

    def on_unmount(self) -> None:
        self.flush()
        if self.store is not None:
            self.store.close()

    # -- the event stream -------------------------------------------------------------------

    def collect(self, events: Sequence[Event]) -> bool:
        incident = self.incident
        if self.store is None or incident is None or not incident.is_open:
            return False
        drafts = self._feed.entries(events)
        if drafts:
            self.run_worker(self._record(incident.id, drafts), group="investigation-feed")
        return False

    def show(self) -> None:
        """Nothing to draw from the stream directly: recorded entries reload the timeline."""

    async def _record(self, incident_id: int, drafts: Sequence[Any]) -> None:
        store = self.store
        if store is None or store.read_only:
            return
        try:
            added = await asyncio.to_thread(store.add_timeline, incident_id, drafts)
        except StoreError as error:
            self.notify(str(error), title="Timeline", severity="error", markup=False)
            return
        if added and self._feed_reload is None:
            # An alert storm adds entries every batch: show them at most once a second.
            self._feed_reload = self.set_timer(FEED_REFRESH, self._reload_from_feed)

    def _reload_from_feed(self) -> None:
        self._feed_reload = None
        self.run_worker(self.reload(), group="investigation-reload", exclusive=True)

    # -- evidence ---------------------------------------------------------------------------

    def pin_focused(self) -> None:
        """Pin the selection of the focused pane (the app's ``p``)."""
        node: Any = self.app.focused
        while node is not None and not isinstance(node, Pinnable):
            node = node.parent
        draft = node.pin_selection() if node is not None else None
        if draft is None:
            self.notify("Nothing here to pin: select a line, a row or an alert first.")
            return
        self.run_worker(self.pin(draft), group="investigation-act")

    async def pin(self, draft: EvidenceDraft) -> Evidence | None:
        """Store ``draft`` as evidence of the open incident (opening one if there is none)."""
        store = self.store
        if store is None:
            self.notify(self.store_error or "The store is not open yet.", severity="error")
            return None
        try:
            if self.incident is None or not self.incident.is_open:
                title = time.strftime(
                    "Investigation %Y-%m-%d %H:%M UTC", time.gmtime(self._clock())
                )
                self.incident = await asyncio.to_thread(store.create_incident, title)
                self.notify(f"Opened {self.incident.ref} for this evidence.", markup=False)
            evidence = await asyncio.to_thread(store.add_evidence, self.incident.id, draft)
        except StoreError as error:
            self.notify(str(error), title="Not pinned", severity="error", markup=False)
            return None
        self.notify(f"Pinned {evidence.ref}: {evidence.title}", markup=False)
        await self.reload()
        return evidence

    def on_evidence_pane_jump_requested(self, event: EvidencePane.JumpRequested) -> None:
        event.stop()
        if not self.jump_back(event.evidence):
            self.notify(
                f"{event.evidence.ref}: where it came from ({event.evidence.source}) is not open.",
                markup=False,
            )

    def jump_back(self, evidence: Evidence) -> bool:
        """Show the pane ``evidence`` was pinned from, at the item; False when it is gone."""
        pane_id = evidence.locator.get("pane")
        for widget in self.screen.query("*"):
            if widget.id != pane_id or not isinstance(widget, Jumpable):
                continue
            _reveal(widget)
            if widget.jump_to(evidence.locator):
                if widget.focusable:
                    widget.focus()
                else:
                    _focus_first(widget)
                return True
        return False

    def on_evidence_pane_cite_requested(self, event: EvidencePane.CiteRequested) -> None:
        event.stop()
        self.query_one(TabbedContent).active = "investigation-notes"
        self.notes.insert(f"[{event.evidence.ref}]")

    # -- incidents --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"edit_incident", "advance", "archive", "export"}:
            return self.incident is not None
        return True

    def action_section(self, offset: int) -> None:
        """Show the previous or next section."""
        sections = self.query_one(TabbedContent)
        names = [f"investigation-{name}" for name in SECTIONS]
        index = names.index(sections.active) if sections.active in names else 0
        sections.active = names[(index + offset) % len(names)]
        _focus_first(self.parts[(index + offset) % len(names)])

    async def action_incidents(self) -> None:
        """List the incidents: pick one to switch to, or start a new one."""
        if self.store is None:
            return
        incidents = await asyncio.to_thread(self.store.incidents, archived=True)

        def chosen(key: str | None) -> None:
            if key == "new":
                self.action_new_incident()
            elif key is not None:
                self.run_worker(self.switch_to(int(key)), group="investigation-act")

        choices = incident_choices(incidents, self._clock())
        self.app.push_screen(ChoiceScreen("Incidents", choices), chosen)

    def action_new_incident(self) -> None:
        """Open a new incident (a form: title, severity, impact, services)."""
        store = self.store
        if store is None:
            return

        async def create(fields: IncidentFields) -> None:
            try:
                incident = await asyncio.to_thread(
                    store.create_incident,
                    fields.title,
                    severity=fields.severity,
                    impact=fields.impact,
                    services=fields.services,
                )
            except (StoreError, ValueError) as error:
                self.notify(str(error), severity="error", markup=False)
                return
            await self.switch_to(incident.id)

        def done(fields: IncidentFields | None) -> None:
            if fields is not None:
                self.run_worker(create(fields), group="investigation-act")

        self.app.push_screen(IncidentForm("New incident"), done)

    def action_edit_incident(self) -> None:
        """Edit the incident's title, severity, impact and services."""
        store, incident = self.store, self.incident
        if store is None or incident is None:
            return

        def done(fields: IncidentFields | None) -> None:
            if fields is not None:
                self.run_worker(
                    self.tracker.act(
                        store.update_incident,
                        incident.id,
                        title=fields.title,
                        severity=fields.severity,
                        impact=fields.impact,
                        services=fields.services,
                    ),
                    group="investigation-act",
                )

        self.app.push_screen(IncidentForm(f"Edit {incident.ref}", incident), done)

    async def action_advance(self) -> None:
        """Move the incident to its next status (closing asks first)."""
        store, incident = self.store, self.incident
        if store is None or incident is None or incident.status == "closed":
            return
        status = INCIDENT_STATUSES[INCIDENT_STATUSES.index(incident.status) + 1]
        if status != "closed":
            await self.tracker.act(store.set_status, incident.id, status)
            return

        def confirmed(answer: str | None) -> None:
            if answer == "yes":
                self.run_worker(
                    self.tracker.act(store.close_incident, incident.id), group="investigation-act"
                )

        choices = [("no", "No, keep it open"), ("yes", f"Yes, close {incident.ref}")]
        self.app.push_screen(ChoiceScreen(f"Close {incident.ref}?", choices), confirmed)

    async def action_archive(self) -> None:
        """Archive the incident (or bring it back): hidden from the list, never deleted."""
        if self.store is not None and self.incident is not None:
            await self.tracker.act(
                self.store.archive_incident, self.incident.id, not self.incident.archived
            )

    async def action_export(self) -> None:
        """Write the report and the shift handoff, and say where."""
        store, incident = self.store, self.incident
        if store is None or incident is None:
            return
        self.notes.flush()
        directory = self.config.export_dir or paths.data_dir() / "reports"
        try:
            written = await asyncio.to_thread(export, store, incident.id, directory, self._clock())
        except (OSError, StoreError) as error:
            reason = error.strerror if isinstance(error, OSError) else str(error)
            self.notify(f"Export failed: {reason}", severity="error", markup=False, timeout=10)
            return
        self.notify(
            "Wrote " + " and ".join(str(path) for path in written), markup=False, timeout=10
        )


def _reveal(widget: Widget) -> None:
    """Make every tab that holds ``widget`` the active one."""
    for node in widget.ancestors:
        if isinstance(node, TabPane) and node.id is not None:
            tabs = next((a for a in node.ancestors if isinstance(a, TabbedContent)), None)
            if tabs is not None:
                tabs.active = node.id


def _focus_first(widget: Widget) -> None:
    for node in widget.query("*"):
        if node.focusable:
            node.focus()
            return


def install_hangup_handler(app: App[Any]) -> None:
    """On SIGHUP (the SSH session dropped) or SIGTERM: save the notes, then leave.

    Call from the app's ``on_mount`` (a running loop is needed).
    """
    loop = asyncio.get_running_loop()

    def hang_up() -> None:
        for view in app.screen_stack[0].query(InvestigationView):
            view.flush()
        app.exit()

    for signum in (signal.SIGHUP, signal.SIGTERM):
        loop.add_signal_handler(signum, hang_up)
