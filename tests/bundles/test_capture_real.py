"""Capture from the real host and a real podman, then open what was written: the events, the
snapshots, the redaction, the full console with its clock, and the investigation copy."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from opsconsole import open_cli, paths
from opsconsole.bundle import open_bundle
from opsconsole.capture import FlightRecorder, capture, live_sources
from opsconsole.config import Config, ContainersConfig, InvestigationConfig
from opsconsole.hub import Hub
from opsconsole.redact import MASK
from opsconsole.sources.events import Alert, ContainerList, Event, SourceHealth, SourceStatus
from opsconsole.store import Store
from opsconsole.widgets.replay_clock import ReplayClock
from tests.bundles.helpers import replay
from tests.containers.conftest import Podman
from tests.scripted import wait_for

SECRET = "tok-4f7a9c2e1b"


def _config(sock: Path, store: Path) -> Config:
    return Config(
        refresh=0.5,
        containers=ContainersConfig(
            discover=False, engines=(f"podman=unix://{sock}",), relist_interval=2.0
        ),
        investigation=InvestigationConfig(store=store),
    )


def _container(podman: Podman, names: list[str]) -> str:
    name = podman.run(
        "sh",
        "-c",
        f'while true; do echo "INFO ok password={SECRET}"; sleep 0.5; done',
        options=("-e", f"API_TOKEN={SECRET}"),
    )
    names.append(name)
    return name


def _data(events: list[Event]) -> list[Event]:
    return [e for e in events if not isinstance(e, SourceStatus | SourceHealth)]


async def test_capture_host_and_podman_then_open(
    podman: Podman, sock: Path, tmp_path: Path
) -> None:
    names: list[str] = []
    try:
        name = _container(podman, names)
        store = tmp_path / "inv.db"
        with Store.open(store) as opened:
            opened.create_incident("web1 slow")
        config = _config(sock, store)
        path = await capture(
            config, duration=5, output=tmp_path / "cap.tar.gz", host="testhost", fmt="tar.gz"
        )
    finally:
        podman("rm", "--force", "--time", "0", *names, check=False)
    assert path == tmp_path / "cap.tar.gz"
    bundle = open_bundle(path, tmp_path / "work")
    assert bundle.problems == []
    counts = bundle.manifest["event_counts"]
    assert counts["host.sample"] >= 5 and counts["container.list"] >= 1
    assert f"podman:{sock}" in bundle.manifest["sources"]
    # Snapshots: inspect (environment masked), the container's log (secret masked), host facts.
    inspect = (bundle.root / f"snapshots/containers/{name}.json").read_text()
    assert f"API_TOKEN={MASK}" in inspect and SECRET not in inspect
    log = (bundle.root / f"logs/containers/{name}.log").read_text()
    assert "INFO ok password=" + MASK in log and SECRET not in log
    for snapshot in ("host.json", "processes.json", "config.json", "os-release"):
        assert (bundle.root / "snapshots" / snapshot).is_file()
    assert bundle.manifest["investigation"]["incident"] == "INC-1"
    # Replayed, the stream is the recorded one, with the container in it.
    recorded = (bundle.root / "events.jsonl").read_bytes().splitlines()
    played = await replay(bundle.events)
    assert len(_data(played)) == len(recorded) - sum(
        1 for line in recorded if b'"kind":"source.' in line
    )
    listed = [e for e in played if isinstance(e, ContainerList)]
    assert any(c.name == name for c in listed[-1].containers)


async def test_open_in_the_console_with_clock_and_investigation_copy(
    podman: Podman, sock: Path, tmp_path: Path
) -> None:
    store = tmp_path / "inv.db"
    with Store.open(store) as opened:
        opened.create_incident("disk filling")
    config = _config(sock, store)
    path = await capture(config, duration=3, output=tmp_path / "b", host="testhost", fmt="dir")
    assert open_bundle(path).manifest["event_counts"].get("host.sample", 0) >= 1
    with open_cli.opened(path, Config(), paused=True) as session:
        copy = session.investigation_copy
        assert copy is not None and copy.parent == paths.data_dir() and copy != store
        assert session.config.investigation.store == copy
        app = open_cli.make_app(session)
        async with app.run_test(size=(120, 40)) as pilot:
            # Opened paused: the first recorded fact shows, and the clock waits.
            control = session.control
            assert control is not None
            await wait_for(lambda: control.position is not None, timeout=10)
            assert not app.hub.live
            clock = app.query_one(ReplayClock)
            await pilot.pause(0.3)
            assert "REPLAY" in str(clock.render()) and "paused" in str(clock.render())
            # The clock's keys work from the view that has the keyboard.
            assert not clock.has_focus
            await pilot.press("plus", "plus", "plus")
            assert control.speed == 8.0
            await pilot.press("space")
            assert not control.paused
            await wait_for(lambda: app.hub.latest("host.sample") is not None, timeout=10)
    # The copy is the user's to continue; the bundle's own store is untouched.
    with Store.open(copy) as opened:
        incident = opened.current_incident()
        assert incident is not None and incident.title == "disk filling"
        opened.add_manual_entry(incident.id, "continued offline")
    assert open_bundle(path).problems == []


async def test_flight_recorder_keeps_what_was_live_and_writes_on_critical_alert(
    podman: Podman, sock: Path, tmp_path: Path
) -> None:
    config = _config(sock, tmp_path / "none.db")
    sources, _ = live_sources(config, "testhost")
    hub = Hub(sources, host="testhost")
    live = hub.subscribe()
    written: list[Path | None] = []
    recorder = FlightRecorder(
        hub,
        directory=tmp_path / "flight",
        minutes=1,
        host="testhost",
        on_written=lambda path, error: written.append(path),
    )
    recorder.start()
    await hub.start()
    try:
        await asyncio.sleep(2)
        hub.publish(
            Alert(
                ts=time.time(),
                host="testhost",
                source="test",
                key="k",
                severity="critical",
                summary="disk full",
                origin="test",
            )
        )
        await wait_for(lambda: bool(written), timeout=10)
        seen = live.drain()
    finally:
        await recorder.stop()
        await hub.stop()
    assert written[0] is not None
    bundle = open_bundle(written[0])
    assert bundle.problems == []
    played = await replay(bundle.events)
    # What the console got live up to the alert is what the bundle replays, alert included.
    replayed = _data(played)
    assert replayed == _data(seen)[: len(replayed)]
    assert len(replayed) >= 3
    assert any(isinstance(e, Alert) and e.summary == "disk full" for e in played)
