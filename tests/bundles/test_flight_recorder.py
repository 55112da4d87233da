"""The flight recorder: the last minutes of a live console, written on demand from the UI, and
bounded in memory by time and by count."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from opsconsole.app import OpsConsoleApp
from opsconsole.bundle import open_bundle
from opsconsole.capture import FlightRecorder
from opsconsole.config import Config, InvestigationConfig
from opsconsole.hub import Hub
from opsconsole.sources.events import HostSample
from opsconsole.sources.host import HostSource
from tests.bundles.helpers import T0, replay
from tests.scripted import wait_for


async def test_ctrl_b_writes_the_last_minutes_of_the_live_host(tmp_path: Path) -> None:
    config = Config(
        refresh=0.5,
        flight_recorder_minutes=1,
        investigation=InvestigationConfig(store=tmp_path / "none.db"),
    )
    app = OpsConsoleApp(config, [HostSource(interval=0.5)], hostname="testhost", theme_dir=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        flight = app.flight
        assert flight is not None
        await wait_for(lambda: app.hub.latest("host.sample") is not None, timeout=10)
        # Three samples at least: counted, not timed (under load the source skips a late
        # tick rather than bunching two, so 0.9 s can hold only two).
        stamps: set[float] = set()

        def three() -> bool:
            stamps.add(_latest_ts(app))
            return len(stamps - {0.0}) >= 3

        await wait_for(three, timeout=20)
        shown = app.hub.latest("host.sample")
        await pilot.press("ctrl+b")
        # This host's own threshold alerts may write one too, in the same second: both are kept.
        await wait_for(lambda: "on demand" in _written(app).values() or _failed(app), timeout=20)
        assert not _failed(app)
        (path,) = [path for path, reason in _written(app).items() if reason == "on demand"]
    bundle = open_bundle(path)
    assert bundle.problems == [] and bundle.host == "testhost"
    samples = [e for e in await replay(bundle.events) if isinstance(e, HostSample)]
    # What the console showed when the key was pressed is in the recording, with what led to it.
    assert len(samples) >= 3 and shown in samples


def _written(app: OpsConsoleApp) -> dict[Path, str]:
    """The flight recordings the app said it wrote, and why each was written."""
    prefix = "Flight recording written: "
    # Textual keeps no public list of the notifications.
    paths = [
        Path(n.message[len(prefix) :]) for n in app._notifications if n.message.startswith(prefix)
    ]
    return {path: _reason(path) for path in paths}


def _latest_ts(app: OpsConsoleApp) -> float:
    latest = app.hub.latest("host.sample")
    return latest.ts if latest is not None else 0.0


def _failed(app: OpsConsoleApp) -> list[str]:
    return [n.message for n in app._notifications if "Flight recording failed" in n.message]


def _reason(root: Path) -> str:
    return str(json.loads((root / "snapshots" / "flight-recorder.json").read_text())["reason"])


def _sample(ts: float) -> HostSample:
    return HostSample(ts=ts, host="h", source="host", cpu_percent=ts - T0)


async def test_memory_is_bounded_by_the_window_and_by_count(tmp_path: Path) -> None:
    hub = Hub([], host="h")
    by_time = FlightRecorder(hub, directory=tmp_path / "time", minutes=1, host="h")
    by_count = FlightRecorder(hub, directory=tmp_path / "count", max_events=3, host="h")
    by_time.start()
    by_count.start()
    await hub.start()
    try:
        for n in (0, 10, 30, 50):
            hub.publish(_sample(T0 + n))
        await wait_for(lambda: len(by_time) == 4)
        assert len(by_count) == 3
        hub.publish(_sample(T0 + 100))  # a minute after 30 s: 0, 10 and 30 s go
        for n in range(101, 104):
            hub.publish(_sample(T0 + n))
        await wait_for(lambda: len(by_time) == 5)
        assert len(by_count) == 3
        path = await by_time.write()
        # Two in the same second (on demand and on an alert): two bundles.
        counted, again = await asyncio.gather(by_count.write(), by_count.write("critical alert"))
    finally:
        await by_time.stop()
        await by_count.stop()
        await hub.stop()
    assert path is not None and counted is not None and again is not None
    assert again != counted and _reason(again) == "critical alert"
    kept = [e.ts - T0 for e in await replay(open_bundle(path).events)]
    assert kept == [50, 100, 101, 102, 103]
    kept = [e.ts - T0 for e in await replay(open_bundle(counted).events)]
    assert kept == [101, 102, 103]
