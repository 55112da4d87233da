"""The RCA notes: a Markdown editor that saves itself, with templates and a preview.

Nothing typed is lost: the notes are saved within a second of the last keystroke (sooner when
the typing pauses, and at least once a second while it goes on), on leaving, on switching
incident, and by ``flush`` when the SSH session drops (SIGHUP). A save that fails (a full disk,
another console holding the store) leaves the text in the editor, says so in red, and is tried
again every few seconds until it works.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING, ClassVar, Final

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.document._document import Location
from textual.document._document_navigator import DocumentNavigator
from textual.document._wrapped_document import WrappedDocument
from textual.timer import Timer
from textual.widgets import Static, TextArea

from opsconsole.checklists import NotesTemplate
from opsconsole.store import IncidentBundle, Notes, SavedNotes, Store, StoreError
from opsconsole.widgets.incident import ChoiceScreen, InvestigationPart, clock_time

if TYPE_CHECKING:
    from textual.widgets import Markdown

IDLE_SAVE: Final = 0.3
"""Seconds of no typing after which the notes are saved."""
MAX_UNSAVED: Final = 0.8
"""Most seconds typed text waits for a save while the typing goes on."""
RETRY_SAVE: Final = 2.0
"""Seconds between attempts after a save failed."""
LARGE_NOTES: Final = 200_000
"""Characters above which the editor stops highlighting: Textual's TextArea re-parses and
re-highlights the whole document on every key, which at 1 MB costs ~0.3 s a key."""
MAX_PREVIEW: Final = 100_000
"""Characters the preview renders (Markdown widgets are costly; the editor has it all)."""


class _MeasuredDocument(WrappedDocument):
    """A wrapped document that remembers its height until it is wrapped again.

    Textual's sums every line's wraps on each line it draws: with 20,000 lines that is most
    of the time of a keystroke."""

    _height: int | None = None

    def wrap(self, width: int, tab_width: int | None = None) -> None:
        self._height = None
        super().wrap(width, tab_width)

    def wrap_range(self, start: Location, old_end: Location, new_end: Location) -> None:
        self._height = None
        super().wrap_range(start, old_end, new_end)

    @property
    def height(self) -> int:
        if self._height is None:
            self._height = super().height
        return self._height


class NotesArea(TextArea):
    """The TextArea of the notes, drawing in time proportional to the screen, not the notes."""

    def _set_document(self, text: str, language: str | None) -> None:
        super()._set_document(text, language)
        # Same as Textual's own, with the measured document (private API: pinned by the 1 MB
        # test, which fails on a Textual where this stops working).
        self.wrapped_document = _MeasuredDocument(self.document, tab_width=self.indent_width)
        self.navigator = DocumentNavigator(self.wrapped_document)
        self._rewrap_and_refresh_virtual_size()


class NotesEditor(InvestigationPart, can_focus=True):
    """The incident's RCA notes in Markdown. ``f2`` toggles the preview, ``f3`` inserts a
    template, ``ctrl+s`` saves now; cite evidence as ``[E3]`` (``c`` in the evidence list)."""

    HELP_GROUP: ClassVar[str] = "Notes"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "toggle_preview", "Preview", id="notes.preview"),
        Binding("f3", "template", "Template", id="notes.template"),
        Binding("ctrl+s", "save", "Save", id="notes.save"),
    ]

    DEFAULT_CSS = """
    NotesEditor {
        layout: vertical;
        & > #notes-status { height: 1; padding: 0 1; background: $panel; color: $foreground; }
        & > #notes-status.-error { background: $error; color: $background; text-style: bold; }
        & > TextArea { height: 1fr; border: none; }
        & > #notes-preview { height: 1fr; display: none; padding: 0 1; }
        &.-preview > TextArea { display: none; }
        &.-preview > #notes-preview { display: block; }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        """Create the editor.

        Args:
            id: The ID of the widget in the DOM.
            classes: The CSS classes of the widget.
        """
        super().__init__(id=id, classes=classes)
        self.templates: tuple[NotesTemplate, ...] = ()
        """The templates ``f3`` offers."""
        self.text_area = NotesArea(language="markdown", soft_wrap=True, id="notes-text")
        self._status = Static(id="notes-status", markup=False)
        self._preview: Markdown | None = None
        """Made on the first preview: the Markdown widget and its parser cost 3 MB at start."""
        self._save_lock = threading.Lock()
        self._loaded_for: int | None = None
        self._saved_text = ""
        self._revision = 0
        self._dirty_since: float | None = None
        self._timer: Timer | None = None
        self.save_error: str | None = None
        """Why the last save failed; None when the notes are saved."""
        self.saves = 0
        """Saves done (for tests and the status line)."""

    def compose(self) -> ComposeResult:
        yield self._status
        yield self.text_area

    def on_mount(self) -> None:
        self._show_status("No incident open.")

    @property
    def loaded_for(self) -> int | None:
        """The incident whose notes are in the editor."""
        return self._loaded_for

    # -- loading ----------------------------------------------------------------------------

    def show_bundle(self, bundle: IncidentBundle | None) -> None:
        # Only a switch of incident reloads the text: a reload never overwrites typing.
        incident_id = bundle.incident.id if bundle else None
        if incident_id == self._loaded_for:
            return
        self.flush()
        self._loaded_for = incident_id
        notes = bundle.notes if bundle else Notes("", 0, None)
        self._saved_text, self._revision = notes.text, notes.revision
        self._dirty_since = None
        large = len(notes.text) > LARGE_NOTES
        language = None if large else "markdown"
        if self.text_area.language != language:
            # A new language re-parses the text in the editor: empty it first.
            self.text_area.load_text("")
            self.text_area.language = language
        self.text_area.load_text(notes.text)
        self.text_area.read_only = bundle is None or (
            self.store is not None and self.store.read_only
        )
        if bundle is None:
            self._show_status("No incident open.")
        elif self.text_area.read_only:
            reason = self.store.read_only_reason if self.store else None
            self._show_status(f"Read-only: {reason or 'the store cannot be written'}")
        else:
            saved = f"saved {clock_time(notes.saved_at)}" if notes.saved_at else "empty"
            plain = " · long notes: no highlighting" if large else ""
            self._show_status(
                f"Notes of INC-{incident_id}, {saved}{plain} · f2 preview · f3 template"
            )

    # -- saving -----------------------------------------------------------------------------

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        if self._loaded_for is None or self.text_area.read_only:
            return
        now = time.monotonic()
        if self._dirty_since is None:
            self._dirty_since = now
        delay = max(0.05, min(IDLE_SAVE, self._dirty_since + MAX_UNSAVED - now))
        if self._timer is not None and delay == IDLE_SAVE:
            self._timer.reset()  # typing goes on: wait for a pause, within MAX_UNSAVED
        else:
            self._schedule(delay)

    def _schedule(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(delay, self._save_soon, name="notes-autosave")

    def _save_soon(self) -> None:
        self._timer = None
        self.run_worker(self.save(), group="notes-save", exclusive=True)

    async def save(self) -> bool:
        """Save the notes now (in a thread); True when they are saved."""
        incident_id, store = self._loaded_for, self.store
        if incident_id is None or store is None:
            return True
        text = self.text_area.text
        self._dirty_since = None
        try:
            saved = await asyncio.to_thread(self._save_text, store, incident_id, text)
        except StoreError as error:
            self._failed(str(error))
            return False
        if saved is not None and incident_id == self._loaded_for:
            self.save_error = None
            note = " · another console's text was kept aside" if saved.conflict else ""
            self._show_status(f"Saved {clock_time(saved.saved_at)}{note}")
            if saved.conflict:
                self.notify(
                    "Another console changed these notes: its text is kept in the report.",
                    severity="warning",
                    markup=False,
                )
        return True

    def _save_text(self, store: Store, incident_id: int, text: str) -> SavedNotes | None:
        """Save ``text`` unless it is what was saved last (None then). Runs in a thread or
        (flush) on the UI thread, one at a time."""
        with self._save_lock:
            if text == self._saved_text and incident_id == self._loaded_for:
                return None
            saved = store.save_notes(incident_id, text, self._revision)
            self._saved_text, self._revision = text, saved.revision
            self.saves += 1
            return saved

    def _failed(self, message: str) -> None:
        self.save_error = message
        self._show_status(f"NOT SAVED: {message} Retrying every {RETRY_SAVE:g}s.", error=True)
        if self._timer is None:
            self._schedule(RETRY_SAVE)

    def flush(self) -> bool:
        """Save any unsaved text now, on the calling thread (leaving, hang-up, switch)."""
        incident_id, store = self._loaded_for, self.store
        if incident_id is None or store is None or store.read_only:
            return True
        try:
            self._save_text(store, incident_id, self.text_area.text)
        except StoreError as error:
            self._failed(str(error))
            return False
        return True

    def on_unmount(self) -> None:
        self.flush()

    def _show_status(self, text: str, *, error: bool = False) -> None:
        self._status.update(Text(text, no_wrap=True, overflow="ellipsis"))
        self._status.set_class(error, "-error")

    # -- actions ----------------------------------------------------------------------------

    async def action_save(self) -> None:
        """Save now."""
        await self.save()

    async def action_toggle_preview(self) -> None:
        """Switch between the editor and the rendered Markdown."""
        previewing = not self.has_class("-preview")
        self.set_class(previewing, "-preview")
        if previewing:
            text = self.text_area.text
            if len(text) > MAX_PREVIEW:
                text = text[:MAX_PREVIEW] + f"\n\n*Preview cut at {MAX_PREVIEW:,} characters.*"
            if self._preview is None:
                from textual.widgets import Markdown

                self._preview = Markdown(id="notes-preview")
                await self.mount(self._preview)
            await self._preview.update(text)
            self.focus()  # the editor is hidden: keep the keys here, for f2 back
        else:
            self.text_area.focus()

    def action_template(self) -> None:
        """Insert a notes template: the whole notes when empty, else at the cursor."""
        if self.text_area.read_only or not self.templates:
            return
        by_name = {t.name: t for t in self.templates}

        def chosen(name: str | None) -> None:
            template = by_name.get(name or "")
            if template is not None:
                self.insert(template.text)

        choices = [(t.name, t.title) for t in self.templates]
        self.app.push_screen(ChoiceScreen("Insert a template", choices), chosen)

    def insert(self, text: str) -> None:
        """Insert ``text`` at the cursor (the whole notes when they are empty)."""
        if self.text_area.read_only:
            return
        if not self.text_area.text.strip():
            self.text_area.text = text
            self.text_area.move_cursor(self.text_area.document.end)
        else:
            self.text_area.insert(text)
        self.text_area.focus()
