"""The floor under any Textual console: a bare app that changes N full-width lines a second.

``idle_overhead.py`` runs it (as ``textual-1`` and ``textual-40``) beside opsconsole, so its
figures say how much of opsconsole's idle cost is Textual's own cost of drawing a change and
how much is ours. No data source, no widgets but 40 Statics: only the redraw.
"""

from __future__ import annotations

import sys

from textual.app import App, ComposeResult
from textual.widgets import Static

LINES = 40


class Floor(App[None]):
    """Forty lines of text; every second the first ``changing`` of them get new text."""

    def __init__(self, changing: int) -> None:
        super().__init__()
        self.changing = changing
        self.ticks = 0

    def compose(self) -> ComposeResult:
        for index in range(LINES):
            yield Static(f"line {index}", id=f"line-{index}")

    def on_mount(self) -> None:
        self.set_interval(1.0, self.tick)

    def tick(self) -> None:
        self.ticks += 1
        for index in range(self.changing):
            figure = self.ticks * (index + 1) % 997
            line = self.query_one(f"#line-{index}", Static)
            line.update(f"line {index} value {figure:>5} " + "x" * 120, layout=False)


if __name__ == "__main__":
    Floor(int(sys.argv[1]) if len(sys.argv) > 1 else LINES).run()
