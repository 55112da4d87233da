"""Snapshots of the console's screens, replaying a recording of a real host (deterministic).

Update after a deliberate change with ``pytest tests/snapshots --snapshot-update`` and look at
every changed SVG (``snapshot_report.html``) before committing it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from opsconsole.app import OpsConsoleApp
from opsconsole.config import Config
from opsconsole.sources.events import SourceState
from opsconsole.sources.replay import ReplaySource
from opsconsole.themes.builtin import builtin_names

RECORDING = Path(__file__).parent.parent / "fixtures" / "host-recording.jsonl"
SIZES = {"80x24": (80, 24), "160x45": (160, 45)}


def replay_app(tmp_path: Path, theme: str = "opsconsole-dark") -> OpsConsoleApp:
    source = ReplaySource(RECORDING, speed=0)
    return OpsConsoleApp(Config(theme=theme), [source], hostname="replay", theme_dir=tmp_path)


def until_replayed(*keys: str):
    """A run_before that waits for the whole recording to reach the panes, then presses keys."""

    async def run_before(pilot: Pilot[int]) -> None:
        app = pilot.app
        assert isinstance(app, OpsConsoleApp)
        for _ in range(400):
            if app.hub.statuses()[0].state is SourceState.ENDED and app.caught_up:
                break
            await pilot.pause(0.05)
        await pilot.pause(0.3)  # the panes' refresh after the last batch
        if keys:
            await pilot.press(*keys)
            await pilot.pause(0.2)

    return run_before


@pytest.mark.parametrize("theme", builtin_names())
@pytest.mark.parametrize("size", SIZES)
def test_dashboard(snap_compare, tmp_path: Path, theme: str, size: str) -> None:
    app = replay_app(tmp_path, theme)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=until_replayed())


@pytest.mark.parametrize(
    ("view", "key"),
    [("processes", "2"), ("host", "3"), ("alerts", "6"), ("investigation", "7"), ("sources", "0")],
)
def test_views(snap_compare, tmp_path: Path, view: str, key: str) -> None:
    assert snap_compare(
        replay_app(tmp_path), terminal_size=(80, 24), run_before=until_replayed(key)
    )


def test_help(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(
        replay_app(tmp_path), terminal_size=(80, 24), run_before=until_replayed("question_mark")
    )


def test_too_small(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(replay_app(tmp_path), terminal_size=(50, 12), run_before=until_replayed())
