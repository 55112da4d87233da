"""The base of every pane that is fed by the event stream."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from textual.dom import DOMNode
from textual.reactive import reactive
from textual.widget import Widget

if TYPE_CHECKING:
    # Only a type here: `opsconsole logs` starts without loading the event definitions.
    from opsconsole.sources.events import Event


class EventPane(Widget):
    """A pane that keeps a model of the events it is given and shows it.

    The app hands every batch of events to every mounted EventPane through ``consume``. The
    pane always updates its model (``collect``), so history keeps growing while the display is
    frozen or the pane sits in a hidden view, and redraws (``show``) only when it is visible and
    not frozen: a hidden view costs no rendering work. Subclasses implement both; ``show`` must
    update widgets in place, never rebuild them, because it runs once per refresh.
    """

    fleet_events: ClassVar[bool] = False
    """True for panes about the whole fleet or the sources themselves; the others are about this
    host and are given only its own events, never those other hosts' agents publish."""

    frozen: reactive[bool] = reactive(False)
    """True while the display is frozen: collection goes on, the screen holds still."""

    _stale = False

    def consume(self, events: Sequence[Event]) -> None:
        """Take a batch of events from the hub, in time order."""
        if self.collect(events):
            self._stale = True
            self.show_if_due()

    def show_if_due(self) -> None:
        """Redraw when the model changed since the last redraw and the pane can be seen."""
        if self._stale and not self.frozen and self.is_displayed:
            self._stale = False
            self.show()

    _chain: tuple[DOMNode | None, list[Widget]] = (None, [])
    """The parent when ``is_displayed`` last looked, and the widgets from here to the screen:
    every pane asks on every update, and walking up to the screen each time cost more than
    the rest of the question."""

    @property
    def is_displayed(self) -> bool:
        """True when this pane and every container above it is displayed (not a hidden tab)."""
        if not self.is_mounted:
            return False
        parent, chain = self._chain
        if parent is not self.parent or not chain:
            chain = [node for node in self.ancestors_with_self if isinstance(node, Widget)]
            self._chain = (self.parent, chain)
        return all(node.display for node in chain)

    def collect(self, events: Sequence[Event]) -> bool:
        """Update the model; return True when something this pane shows changed."""
        raise NotImplementedError

    def show(self) -> None:
        """Bring the display up to date with the model."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget what the stream gave: a replay is starting over, to seek back, and gives it
        all again. Panes that keep only the latest of everything need do nothing; panes that
        keep history or counts drop them (what the engineer did, such as an ack, stays)."""

    def watch_frozen(self) -> None:
        self.show_if_due()
