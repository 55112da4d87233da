"""Events and bundles the bundle tests build with the real writer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from textual.pilot import Pilot

from opsconsole import open_cli
from opsconsole.app import OpsConsoleApp
from opsconsole.bundle import BundleWriter
from opsconsole.config import Config
from opsconsole.sources.bundle_source import BundleSource, ReplayControl
from opsconsole.sources.events import (
    Alert,
    ContainerChange,
    Event,
    HostSample,
    LogLine,
    LogLines,
    encode,
)
from tests.scripted import wait_for

T0 = 1_700_000_000.0


def stream() -> list[Event]:
    """A minute of a recording: samples every second, an alert at 20 s, an error at 40 s."""
    events: list[Event] = []
    for n in range(60):
        events.append(HostSample(ts=T0 + n, host="h1", source="host", cpu_percent=float(n)))
        if n == 20:
            events.append(
                Alert(
                    ts=T0 + n,
                    host="h1",
                    source="mqtt",
                    key="disk",
                    severity="critical",
                    summary="disk full",
                    origin="alerts/disk",
                )
            )
        if n == 40:
            events.append(
                LogLines(
                    ts=T0 + n,
                    host="h1",
                    source="file",
                    stream="file:/var/log/app.log",
                    lines=(LogLine(text="ERROR database connection refused"),),
                )
            )
        if n == 50:
            events.append(
                ContainerChange(
                    ts=T0 + n,
                    host="h1",
                    source="podman",
                    engine="podman",
                    id="c1",
                    name="web1",
                    action="die",
                    exit_code=137,
                )
            )
    return events


def write_bundle(root: Path, events: list[Event] | None = None, *, fmt: str = "dir") -> Path:
    """A bundle of ``events`` (default ``stream()``) with a snapshot and a log."""
    writer = BundleWriter(root)
    writer.add_event_lines(encode(event) for event in (events or stream()))
    writer.add_json("snapshots/host.json", {"hostname": "h1"})
    writer.add_bytes("logs/app.log", b"line one\nline two\n")
    return writer.finish(host="h1", fmt=fmt)


async def replay(path: Path) -> list[Event]:
    """Every event of the stream at ``path`` as BundleSource plays it, as fast as it can."""
    source = BundleSource(path, ReplayControl(speed=0))
    await source.open()
    played: list[Event] = []

    async def play() -> None:
        async for event in source.events():
            played.append(event)

    task = asyncio.create_task(play())
    await wait_for(lambda: source.control.ended, timeout=30)
    await source.close()
    await task
    return played


@asynccontextmanager
async def replayed_console(
    path: Path, size: tuple[int, int] = (120, 40), timeout: float = 10.0
) -> AsyncIterator[tuple[OpsConsoleApp, Pilot[int], ReplayControl]]:
    """The whole console replaying the bundle at ``path`` as fast as it can, once its clock has
    played to the end: the app, its pilot and the clock."""
    with open_cli.opened(path, Config(), speed=0) as session:
        control = session.control
        assert control is not None
        app = open_cli.make_app(session)
        async with app.run_test(size=size) as pilot:
            await wait_for(lambda: control.ended, timeout=timeout)
            yield app, pilot, control
