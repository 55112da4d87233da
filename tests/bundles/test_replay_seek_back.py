"""Seeking back in a replay, in the full console: every pane shows each recorded fact once."""

from __future__ import annotations

from pathlib import Path

from opsconsole.bundle import BundleWriter
from opsconsole.sources.events import encode
from opsconsole.widgets.alerts import AlertsPane
from opsconsole.widgets.host_overview import HostOverview
from opsconsole.widgets.log_patterns import PatternsPane
from opsconsole.widgets.log_view import LogsTab
from tests.bundles.helpers import T0, replayed_console, stream
from tests.scripted import wait_for

HOST_LOG = "file:/var/log/host.log"


def _bundle(root: Path) -> Path:
    """The helpers' minute of events, plus a host log file as capture writes one."""
    writer = BundleWriter(root)
    writer.add_event_lines(encode(event) for event in stream())
    writer.add_bytes("logs/host/var/log/host.log", b"kernel: eth0 link up\nkernel: eth0 down\n")
    writer.logs.append({"file": "logs/host/var/log/host.log", "stream": HOST_LOG, "kind": "host"})
    return writer.finish(host="h1")


def _lines(app: object, stream: str, text: str) -> int:
    """How many lines of the Logs view's ``stream`` hold ``text``."""
    document = app.query_one(LogsTab).pane.stream(stream)  # type: ignore[attr-defined]
    return sum(text in document.line(n).text for n in range(document.line_count))


def _error_lines(app: object) -> int:
    """How many times the recorded ERROR line is in the Logs view."""
    return _lines(app, "file:/var/log/app.log", "database connection refused")


def _assert_played_once(app: object) -> None:
    """Every fact of the whole recording is in its pane exactly once."""
    overview = app.query_one(HostOverview)  # type: ignore[attr-defined]
    alerts = app.query_one(AlertsPane)  # type: ignore[attr-defined]
    assert len(overview.model.cpu) == 60
    assert [entry.count for entry in alerts.entries.values()] == [1]
    assert _error_lines(app) == 1
    assert _lines(app, HOST_LOG, "eth0") == 2
    assert app.query_one(PatternsPane).grouper.lines == 3  # type: ignore[attr-defined]


async def test_seeking_back_shows_each_fact_once(tmp_path: Path) -> None:
    path = _bundle(tmp_path / "b")
    async with replayed_console(path) as (app, pilot, control):
        # The views after the dashboard are built after the first frame.
        await wait_for(lambda: bool(app.query(AlertsPane)) and bool(app.query(PatternsPane)))
        overview = app.query_one(HostOverview)
        alerts = app.query_one(AlertsPane)
        patterns = app.query_one(PatternsPane)
        # The panes take what the source played through the app's pump: on a loaded box,
        # a while after the clock ended.
        await wait_for(lambda: bool(alerts.entries) and patterns.grouper.lines >= 3, 10)
        await pilot.pause(0.5)
        _assert_played_once(app)
        alerts.entries[next(iter(alerts.entries))].acked = True  # what the engineer did

        # Back to 30 s in, paused: the stream starts over and stops there.
        control.paused = True
        control.seek(T0 + 30)
        await wait_for(lambda: control.position == T0 + 30, timeout=10)
        await wait_for(lambda: overview.model.cpu.latest == 30.0, timeout=10)
        await pilot.pause(0.5)
        assert len(overview.model.cpu) == 31  # history up to 30 s, not 60 + 31
        assert overview.model.cpu.latest == 30.0
        assert [entry.count for entry in alerts.entries.values()] == [1]
        assert next(iter(alerts.entries.values())).acked  # the ack stays
        assert _error_lines(app) == 0  # written at 40 s: not yet
        # The bundle's log files are given once, outside the clock: they stay.
        assert _lines(app, HOST_LOG, "eth0") == 2
        assert patterns.grouper.lines == 2
        assert app.now() == T0 + 30  # ages count to the recording's time again

        # Played to the end again: once each, as the first time.
        control.toggle()
        await wait_for(lambda: control.ended, timeout=10)
        await wait_for(lambda: _error_lines(app) >= 1 and patterns.grouper.lines >= 3, 10)
        await pilot.pause(0.5)
        _assert_played_once(app)
