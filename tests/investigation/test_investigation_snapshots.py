"""Snapshots of the investigation's sections on a fixed incident (markup in it shown literally).

Update after a deliberate change with ``pytest tests/investigation --snapshot-update`` and look
at every changed SVG before committing it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from opsconsole.config import InvestigationConfig
from opsconsole.store import Store
from tests.investigation.conftest import Clock, build_incident
from tests.investigation.launcher import InvestigationApp


def app_on(tmp_path: Path, section: str, incident: bool = True) -> InvestigationApp:
    store = tmp_path / "investigations.db"
    clock = Clock()
    with Store.open(store, clock=clock) as opened:
        if incident:
            build_incident(opened, clock)
    config = InvestigationConfig(store=store, templates=tmp_path / "none", export_dir=tmp_path)
    return InvestigationApp(config, clock=Clock(), section=section)


async def loaded(pilot: Pilot[int]) -> None:
    app = pilot.app
    assert isinstance(app, InvestigationApp)
    app.view.notes.text_area.cursor_blink = False
    for _ in range(100):
        if app.view.store is not None or app.view.store_error is not None:
            break
        await pilot.pause(0.05)
    await pilot.pause(0.3)


@pytest.mark.parametrize("section", ["tracker", "evidence", "timeline", "notes"])
def test_sections(snap_compare, tmp_path: Path, section: str) -> None:
    assert snap_compare(app_on(tmp_path, section), terminal_size=(110, 30), run_before=loaded)


def test_tracker_at_80x24(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(app_on(tmp_path, "tracker"), terminal_size=(80, 24), run_before=loaded)


def test_no_incident(snap_compare, tmp_path: Path) -> None:
    app = app_on(tmp_path, "tracker", incident=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=loaded)
