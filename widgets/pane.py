"""The base of every pane that is fed by the event stream."""

from __future__ import annotations

from collections.abc import Sequence

from textual.reactive import reactive
from textual.widget import Widget

from opsconsole.sources.events import Event


class EventPane(Widget):
    """A pane that keeps a model of the events it is given and shows it.

    The app hands every batch of events to every mounted EventPane through ``consume``. The
    pane always updates its model (``collect``), so history keeps growing while the display is
    frozen, and redraws (``show``) only when not frozen. Subclasses implement both; ``show``
    must update widgets in place, never rebuild them, because it runs once per refresh.
    """

    frozen: reactive[bool] = reactive(False)
    """True while the display is frozen: collection goes on, the screen holds still."""

    def consume(self, events: Sequence[Event]) -> None:
        """Take a batch of events from the hub, in time order."""
        if self.collect(events) and not self.frozen:
            self.show()

    def collect(self, events: Sequence[Event]) -> bool:
        """Update the model; return True when something this pane shows changed."""
        raise NotImplementedError

    def show(self) -> None:
        """Bring the display up to date with the model."""
        raise NotImplementedError

    def watch_frozen(self, frozen: bool) -> None:
        if not frozen and self.is_mounted:
            self.show()
