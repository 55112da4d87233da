"""A small console around the InvestigationView, for Pilot tests and the crash test.

``python -m tests.investigation.launcher STORE [--section notes]`` runs it in a real terminal.
It holds a process table that can pin and be jumped back to (as every pane will), the view in a
second tab, the ``p`` key the app will have, and the hang-up handler.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, TabbedContent, TabPane

from opsconsole.config import InvestigationConfig
from opsconsole.sources.events import ProcessTable
from opsconsole.themes.builtin import BUILTIN_THEMES
from opsconsole.widgets.investigation import InvestigationView, install_hangup_handler
from opsconsole.widgets.pane import EventPane
from opsconsole.widgets.process_table import ProcessTablePane
from tests.test_app import host_events

PROCESSES = next(e for e in host_events(1) if isinstance(e, ProcessTable))
"""Two processes, the busiest an nginx worker whose command line holds markup."""


class InvestigationApp(App[int]):
    """Processes and the investigation, in two tabs."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "pin", "Pin", id="app.pin"),
        Binding("ctrl+q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(
        self,
        config: InvestigationConfig,
        *,
        clock: Callable[[], float] | None = None,
        section: str | None = None,
    ) -> None:
        super().__init__()
        for theme in BUILTIN_THEMES:
            self.register_theme(theme)
        self.theme = "opsconsole-dark"
        self.view = (
            InvestigationView(config, id="investigation")
            if clock is None
            else InvestigationView(config, clock=clock, id="investigation")
        )
        self._section = section

    def compose(self) -> ComposeResult:
        with TabbedContent(initial="investigation-tab", id="views"):
            with TabPane("Processes", id="processes-tab"):
                yield ProcessTablePane(id="processes")
            with TabPane("Investigation", id="investigation-tab"):
                yield self.view
        yield Footer()

    def on_mount(self) -> None:
        install_hangup_handler(self)
        self.query_one(ProcessTablePane).consume([PROCESSES])
        if self._section is not None:
            self.query_one(
                "#investigation-sections", TabbedContent
            ).active = f"investigation-{self._section}"
        view = self.view
        first = {
            "tracker": view.tracker.steps_table,
            "evidence": view.evidence.table,
            "timeline": view.timeline.table,
            "notes": view.notes.text_area,
        }
        first[self._section or "tracker"].focus()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        for pane in event.pane.query(EventPane):
            pane.show_if_due()

    def action_pin(self) -> None:
        self.view.pin_focused()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("store", type=Path)
    parser.add_argument("--section")
    args = parser.parse_args()
    InvestigationApp(InvestigationConfig(store=args.store), section=args.section).run()


if __name__ == "__main__":
    main()
