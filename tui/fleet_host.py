"""One host of the fleet, drilled into: its dashboard fed from the broker, as if logged in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from opsconsole.config import Threshold
from opsconsole.sources.base import FLEET_PREFIX
from opsconsole.sources.events import Event
from opsconsole.sources.text import safe_text
from opsconsole.widgets.host_overview import HostOverview
from opsconsole.widgets.pane import EventPane
from opsconsole.widgets.process_table import ProcessTablePane


class FleetHostScreen(Screen[None]):
    """A remote host's figures and processes, from what its agent publishes; esc goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back to the fleet", id="fleet_host.back"),
    ]

    DEFAULT_CSS = """
    FleetHostScreen > #fleet-host-title { height: 1; padding: 0 1; background: $panel; }
    FleetHostScreen > HostOverview { height: auto; max-height: 60%; }
    """

    def __init__(self, host: str, *, thresholds: Mapping[str, Threshold], history: int) -> None:
        super().__init__()
        self.host = host
        """The host shown."""
        self._thresholds = thresholds
        self._history = history

    def compose(self) -> ComposeResult:
        yield Static(
            f"{safe_text(self.host)} · from the fleet (MQTT)", id="fleet-host-title", markup=False
        )
        yield HostOverview(thresholds=self._thresholds, history=self._history)
        yield ProcessTablePane(id="fleet-host-processes")
        yield Footer()

    def wants(self, event: Event) -> bool:
        """True for the events this host's agent published."""
        return event.host == self.host and event.source.startswith(FLEET_PREFIX)

    def consume(self, events: Iterable[Event]) -> None:
        """Give this host's events among ``events`` to the panes."""
        mine: Sequence[Event] = [event for event in events if self.wants(event)]
        if mine:
            for pane in self.query(EventPane):
                pane.consume(mine)
