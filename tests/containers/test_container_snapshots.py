"""Snapshots of the container list, its filter, the confirmation and read-only refusal.

Fed with a recording taken from the real podman engine (``recorded-containers.jsonl``: a pod, a
compose project, an unhealthy, a paused and an exited container) at a fixed clock, so the screens
are deterministic. Update after a deliberate change with ``--snapshot-update`` and look at every
changed SVG before committing it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from opsconsole.sources.containers import ContainerControl
from opsconsole.sources.events import Event, decode
from opsconsole.widgets.container_list import ContainerListPane
from opsconsole.widgets.row_table import RowTable

RECORDING = Path(__file__).parent / "recorded-containers.jsonl"


def recorded() -> list[Event]:
    return [decode(line) for line in RECORDING.read_bytes().splitlines() if line.strip()]


class RecordedApp(App[None]):
    def __init__(self, *, read_only: bool = False) -> None:
        super().__init__()
        self.events = recorded()
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        clock = self.events[0].ts + 300
        # No engine behind this control: the snapshots never act, they only ask.
        yield ContainerListPane(ContainerControl([], read_only=self.read_only), clock=lambda: clock)

    def on_mount(self) -> None:
        self.query_one(ContainerListPane).consume(self.events)
        self.query_one(RowTable).focus()


def pressing(*keys: str):
    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.pause(0.1)

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (160, 30)])
def test_list(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(RecordedApp(), terminal_size=size, run_before=pressing())


def test_filter(snap_compare) -> None:
    keys = ("slash", *"shop")
    assert snap_compare(RecordedApp(), terminal_size=(120, 24), run_before=pressing(*keys))


def test_confirm_restart(snap_compare) -> None:
    assert snap_compare(RecordedApp(), terminal_size=(120, 24), run_before=pressing("j", "R"))


def test_read_only_refusal(snap_compare) -> None:
    app = RecordedApp(read_only=True)
    assert snap_compare(app, terminal_size=(120, 24), run_before=pressing("j", "R"))
