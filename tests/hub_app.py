"""A test app whose panes a hub of real sources feeds, as the console's pump does."""

from __future__ import annotations

from textual.app import App

from opsconsole.hub import Hub
from opsconsole.widgets.pane import EventPane


class HubFedApp(App[None]):
    """Starts ``self.hub`` (set by the subclass) on mount, hands every batch to every pane of
    the main screen (screens pushed over it do not hide them), and stops the hub on unmount."""

    hub: Hub

    async def on_mount(self) -> None:
        self._subscription = self.hub.subscribe()
        await self.hub.start()
        self.run_worker(self._pump())

    async def _pump(self) -> None:
        while not self._subscription.closed:
            batch = await self._subscription.batch()
            if not self.screen_stack:
                return  # the app is closing: its screens are gone before on_unmount stops the hub
            for pane in self.screen_stack[0].query(EventPane):
                pane.consume(batch)

    async def on_unmount(self) -> None:
        await self.hub.stop()
