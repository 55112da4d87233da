"""Round trip through the full console: what the live console showed when the recording
stopped is what the replay of that recording shows at its end."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from opsconsole import open_cli
from opsconsole.app import OpsConsoleApp
from opsconsole.capture import live_sources
from opsconsole.config import Config, ContainersConfig, InvestigationConfig
from opsconsole.sources.events import HostSample
from opsconsole.widgets.container_list import COLUMNS, ContainerListPane
from opsconsole.widgets.header import ConsoleHeader
from tests.containers.conftest import Podman
from tests.scripted import wait_for

# The figures that move with every read (CPU, memory, uptime, network, disk I/O, the recent
# change mark) are left out: the rest of each row is the same fact, live or replayed.
STEADY = tuple(
    i
    for i, column in enumerate(COLUMNS)
    if column.key in ("name", "state", "health", "restarts", "exit", "engine", "image", "group")
)
PREFIX = "Recording written: "


def _rows(app: OpsConsoleApp) -> dict[str, tuple[str, ...]]:
    """The container view's rows as shown: name -> the steady columns."""
    pane = app.query_one("#containers").query_one(ContainerListPane)
    name = next(i for i, column in enumerate(COLUMNS) if column.key == "name")
    return {row.cells[name]: tuple(row.cells[i] for i in STEADY) for row in pane.table.rows}


def _written(app: OpsConsoleApp) -> list[str]:
    # Textual keeps no public list of the notifications.
    return [n.message for n in app._notifications if n.message.startswith(PREFIX)]


async def test_what_was_shown_live_is_what_the_replay_shows(
    podman: Podman, sock: Path, tmp_path: Path
) -> None:
    names = [podman.run("sleep", "3600"), podman.run("sh", "-c", "exit 3")]
    config = Config(
        refresh=0.5,
        containers=ContainersConfig(
            discover=False, engines=(f"podman=unix://{sock}",), relist_interval=2.0
        ),
        investigation=InvestigationConfig(store=tmp_path / "none.db"),
    )
    sources, _ = live_sources(config, "testhost")
    live = OpsConsoleApp(config, sources, hostname="testhost", theme_dir=tmp_path)
    try:
        async with live.run_test(size=(160, 45)) as pilot:
            await wait_for(lambda: bool(live.query("#containers ContainerListPane")), timeout=10)
            await pilot.press("4")
            await wait_for(lambda: set(names) <= set(_rows(live)), timeout=20)
            await wait_for(lambda: "exited" in _rows(live)[names[1]], timeout=20)
            await pilot.press("ctrl+r")
            await pilot.pause(2.0)  # a few samples and container reads into the recording
            shown = {name: row for name, row in _rows(live).items() if name in names}
            sample = live.hub.latest("host.sample")
            await pilot.press("ctrl+r")
            await wait_for(lambda: bool(_written(live)), timeout=30)
            (told,) = _written(live)
    finally:
        podman("rm", "--force", "--time", "0", *names, check=False)
    assert shown[names[0]][1] == "running" and shown[names[1]][1:5] == ("exited", "-", "0", "3")

    with open_cli.opened(Path(told.removeprefix(PREFIX)), Config(), speed=0) as session:
        control = session.control
        assert control is not None and session.host == "testhost"
        replay = open_cli.make_app(session)
        async with replay.run_test(size=(160, 45)) as pilot:
            await wait_for(lambda: control.ended, timeout=20)
            await wait_for(lambda: bool(replay.query("#containers ContainerListPane")), timeout=10)
            await pilot.press("4")
            await wait_for(lambda: set(names) <= set(_rows(replay)), timeout=10)
            replayed = {name: row for name, row in _rows(replay).items() if name in names}
            samples = replay.hub.latest("host.sample")
            # The header says it is a replay, at the recorded time of its newest fact.
            when = datetime.fromtimestamp(replay.now(), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            header = replay.query_one(ConsoleHeader)
            await wait_for(lambda: when in header.render_line(0).text, timeout=5)
            assert "REPLAY" in header.render_line(0).text
    assert replayed == shown
    # The host sample on screen when the recording stopped was recorded (one more may have
    # come before the stop took effect).
    assert isinstance(samples, HostSample) and isinstance(sample, HostSample)
    assert samples.ts >= sample.ts
