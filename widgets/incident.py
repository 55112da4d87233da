"""The incident's summary line, the incident switcher, and the small dialogs the investigation uses.

Every part of the investigation is an ``InvestigationPart``: it is shown an ``IncidentBundle``
and changes the store through ``act``, which runs the store call in a thread (the UI never waits
on the disk), turns a ``StoreError`` into a clear notification, and tells the view to reload.
Text the engineer typed is shown literally: no markup is ever parsed from it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from opsconsole.sources.text import safe_text
from opsconsole.store import SEVERITIES, Incident, IncidentBundle, Severity, Store, StoreError
from opsconsole.widgets.format import duration

T = TypeVar("T")

_SEVERITY_STYLE = {"SEV1": "bold reverse red", "SEV2": "bold red", "SEV3": "bold yellow"}


def clock_time(ts: float | None) -> str:
    """A time as the panes show it: ``HH:MM:SS`` UTC (the report has the dates)."""
    return "--:--:--" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%S")


def one_line(text: str) -> str:
    """Outside or typed text for one line of a table: controls escaped, spaces collapsed."""
    return safe_text(" ".join(text.split()))


class InvestigationPart(Widget):
    """A part of the investigation view: shown a bundle, changes the store through ``act``."""

    class Changed(Message):
        """The store changed: the view reloads every part."""

    store: Store | None = None
    """The store, once the view has opened it."""
    incident_id: int | None = None
    """The incident shown, None when there is none."""

    def show_bundle(self, bundle: IncidentBundle | None) -> None:
        """Show ``bundle`` (None: no incident)."""
        raise NotImplementedError

    async def act(self, call: Callable[..., T], *args: object, **kwargs: object) -> T | None:
        """Run ``call`` (a store method) in a thread; on success post ``Changed`` and return its
        result, on a StoreError or bad input notify and return None."""
        if self.store is None:
            self.notify("The investigation store is not open.", severity="error", markup=False)
            return None
        try:
            result = await asyncio.to_thread(call, *args, **kwargs)
        except (StoreError, ValueError) as error:
            self.notify(str(error), title="Not saved", severity="error", markup=False, timeout=8)
            return None
        self.post_message(self.Changed())
        return result

    def ask(self, title: str, done: Callable[[str], object], value: str = "") -> None:
        """Prompt for one line of text; ``done`` gets it unless the engineer cancels."""

        def answered(text: str | None) -> None:
            if text is not None and text.strip():
                result = done(text)
                if asyncio.iscoroutine(result):
                    self.run_worker(result, group="investigation-act")

        self.app.push_screen(PromptScreen(title, value), answered)


class PromptScreen(ModalScreen[str | None]):
    """Asks for one line of text: enter gives it, esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel")
    ]
    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical {
        width: 70; max-width: 95%; height: auto; padding: 1 2;
        background: $panel; border: round $primary;
    }
    PromptScreen Label { margin-bottom: 1; }
    """

    def __init__(self, title: str, value: str = "") -> None:
        super().__init__()
        self._title = title
        self._value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self._title))
            yield Input(value=self._value, id="prompt-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)


class ChoiceScreen(ModalScreen[str | None]):
    """Asks to choose one of several options (id, label): enter picks, esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="choice.cancel")
    ]
    DEFAULT_CSS = """
    ChoiceScreen { align: center middle; }
    ChoiceScreen > Vertical {
        width: 80; max-width: 95%; height: auto; max-height: 80%; padding: 1 2;
        background: $panel; border: round $primary;
    }
    ChoiceScreen Label { margin-bottom: 1; }
    ChoiceScreen OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, title: str, choices: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self._title = title
        self._choices = choices

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self._title))
            yield OptionList(*(Option(Text(label), id=key) for key, label in self._choices))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Close without a choice."""
        self.dismiss(None)


@dataclass(frozen=True)
class IncidentFields:
    """What the incident form gives back."""

    title: str
    severity: Severity
    impact: str
    services: tuple[str, ...]


class IncidentForm(ModalScreen[IncidentFields | None]):
    """Title, severity, impact and affected services of an incident: enter in the last field
    (or ctrl+s) saves, esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="incident_form.cancel"),
        Binding("ctrl+s", "save", "Save", id="incident_form.save"),
    ]
    DEFAULT_CSS = """
    IncidentForm { align: center middle; }
    IncidentForm > Vertical {
        width: 80; max-width: 95%; height: auto; padding: 0 2;
        background: $panel; border: round $primary;
    }
    IncidentForm Label { margin-top: 1; }
    IncidentForm #form-error { color: $error; }
    """

    def __init__(self, heading: str, incident: Incident | None = None) -> None:
        super().__init__()
        self._heading = heading
        self._incident = incident

    def compose(self) -> ComposeResult:
        incident = self._incident
        with Vertical():
            yield Label(Text(self._heading, style="bold"))
            yield Label("Title")
            yield Input(value=incident.title if incident else "", id="form-title")
            yield Label("Severity")
            yield Select(
                [(s, s) for s in SEVERITIES],
                value=incident.severity if incident else "SEV3",
                allow_blank=False,
                id="form-severity",
            )
            yield Label("Impact")
            yield Input(value=incident.impact if incident else "", id="form-impact")
            yield Label("Affected services (comma separated)")
            yield Input(value=", ".join(incident.services) if incident else "", id="form-services")
            yield Static(id="form-error", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "form-services":
            self.action_save()
        else:
            self.focus_next()

    def action_save(self) -> None:
        """Give back the fields (the title is required)."""
        title = self.query_one("#form-title", Input).value.strip()
        if not title:
            self.query_one("#form-error", Static).update("A title is needed.")
            self.query_one("#form-title", Input).focus()
            return
        severity = self.query_one("#form-severity", Select).value
        services = self.query_one("#form-services", Input).value.split(",")
        self.dismiss(
            IncidentFields(
                title=title,
                severity=severity if severity in SEVERITIES else "SEV3",
                impact=self.query_one("#form-impact", Input).value.strip(),
                services=tuple(s.strip() for s in services if s.strip()),
            )
        )

    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(None)


class IncidentSummary(Static):
    """Two lines on top of the investigation: the incident, its status and times, its impact."""

    DEFAULT_CSS = """
    IncidentSummary {
        height: 2;
        padding: 0 1;
        background: $panel;
        color: $foreground;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    IncidentSummary.-error {
        color: $error; text-style: bold; text-wrap: wrap; height: auto; max-height: 5;
    }
    """

    def show(self, incident: Incident | None, notice: str | None = None) -> None:
        """Show ``incident`` (or say there is none), with ``notice`` (read-only, errors)."""
        self.set_class(False, "-error")
        if incident is None:
            text = Text("No incident open. ", style="bold")
            text.append("I: list, new incident · the p key pins evidence and opens one")
        else:
            text = Text()
            text.append(
                f" {incident.severity} ", style=_SEVERITY_STYLE.get(incident.severity, "bold")
            )
            text.append(f" {incident.ref} ", style="bold")
            text.append(one_line(incident.title), style="bold")
            text.append(f"  [{incident.status}{' · archived' if incident.archived else ''}]")
            text.append(
                f"\nDetected {clock_time(incident.detected_at)}"
                f" · TTM {duration(incident.time_to_mitigate)}"
                f" · MTTR {duration(incident.time_to_resolve)}"
                f" · Impact: {one_line(incident.impact) or '-'}"
                f" · Services: {one_line(', '.join(incident.services)) or '-'}"
            )
        if notice:
            text.append(f"  ({notice})", style="italic")
        self.update(text)

    def show_error(self, message: str) -> None:
        """Say the store cannot be used, and why."""
        self.set_class(True, "-error")
        self.update(Text(message))


def incident_choices(
    incidents: Sequence[Incident], now: float | None = None
) -> list[tuple[str, str]]:
    """The switcher's lines: new first, then each incident with its state and age."""
    now = time.time() if now is None else now
    lines = [("new", "+ New incident")]
    for incident in incidents:
        age = duration(now - incident.detected_at)
        archived = " · archived" if incident.archived else ""
        lines.append(
            (
                str(incident.id),
                f"{incident.ref}  {incident.severity}  {incident.status:<12}{archived}"
                f"  {age} ago  {one_line(incident.title)}",
            )
        )
    return lines
