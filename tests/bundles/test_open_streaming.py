"""Opening a bundle archive shows its first screen while the rest is still being extracted;
what is found damaged later is told when found; closing stops the extraction."""

from __future__ import annotations

import asyncio
import io
import tarfile
from pathlib import Path

from opsconsole import open_cli
from opsconsole.bundle import open_bundle, open_streaming
from opsconsole.config import Config
from opsconsole.sources.archive import peek_names
from opsconsole.sources.events import Event, HostSample, LogLine, LogLines, SourceHealth
from opsconsole.sources.sosreport import is_sosreport
from tests.bundles.helpers import T0, replay, write_bundle
from tests.bundles_read.test_archive_safety import _Zeros
from tests.scripted import wait_for


def _big_stream(count: int) -> list[Event]:
    """``count`` seconds of samples and log batches: about 7 kB of events a second."""
    events: list[Event] = []
    for n in range(count):
        events.append(HostSample(ts=T0 + n, host="h1", source="host", cpu_percent=float(n % 100)))
        lines = tuple(LogLine(text=f"INFO {n} {j} " + "x" * 120) for j in range(40))
        events.append(
            LogLines(ts=T0 + n, host="h1", source="f", stream="file:/var/log/app", lines=lines)
        )
    return events


async def test_the_first_events_play_while_the_archive_extracts(tmp_path: Path) -> None:
    archive = write_bundle(tmp_path / "big", _big_stream(4000), fmt="tar.gz")  # ~28 MB of events
    # Told from a sosreport by its first members: no need to read past the 28 MB stream.
    assert peek_names(archive, enough=lambda name: name.endswith("manifest.json")) == [
        "big",
        "big/manifest.json",
    ]
    assert not is_sosreport(archive)
    bundle = open_streaming(archive, tmp_path / "work")
    try:
        assert bundle.pending is not None and not bundle.pending.done()
        played = await replay(bundle.events)
        assert (await asyncio.wrap_future(bundle.pending)) == []
    finally:
        bundle.close()
    # Every event, in order, as the whole extracted bundle has them; no partial line.
    whole = open_bundle(archive, tmp_path / "whole")
    assert played == await replay(whole.events)
    assert not any(isinstance(e, SourceHealth) for e in played)
    assert len(played) == 8000


async def test_damage_found_after_the_first_screen_is_told(tmp_path: Path) -> None:
    directory = write_bundle(tmp_path / "b", fmt="dir")
    (directory / "snapshots" / "host.json").write_text('{"hostname": "altered"}')
    archive = tmp_path / "b.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:  # the order pack() uses: manifest first
        tar.add(directory, arcname="b", recursive=False)
        for name in ("manifest.json", "events.jsonl", "logs", "snapshots"):
            tar.add(directory / name, arcname=f"b/{name}")
    with open_cli.opened(archive, Config(), paused=True) as session:
        assert session.problems == []  # not known yet when the first screen comes
        app = open_cli.make_app(session)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(lambda: bool(app._notifications), timeout=10)
            await pilot.pause()
            told = [n.message for n in app._notifications]
    assert told == ["snapshots/host.json: sha256 mismatch (altered or damaged)"]


def test_a_bundle_archived_in_the_old_order_still_opens(tmp_path: Path) -> None:
    directory = write_bundle(tmp_path / "b", fmt="dir")
    archive = tmp_path / "old.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:  # sorted: events.jsonl before manifest.json
        tar.add(directory, arcname="b")
    bundle = open_streaming(archive, tmp_path / "work")
    try:
        assert bundle.manifest["host"] == "h1"
        assert bundle.pending is not None and bundle.pending.result(timeout=10) == []
        assert bundle.events.read_bytes() == (directory / "events.jsonl").read_bytes()
    finally:
        bundle.close()


def test_closing_stops_the_extraction(tmp_path: Path) -> None:
    archive = write_bundle(tmp_path / "big", _big_stream(4000), fmt="tar.gz")
    bundle = open_streaming(archive, tmp_path / "work")
    bundle.close()
    assert bundle.pending is not None and bundle.pending.done()
    # Stopped within the stream (its partial file removed): what comes after it never came.
    assert not (bundle.root / "events.jsonl").exists()
    assert not (bundle.root / "snapshots").exists()


async def test_a_bomb_after_the_first_screen_is_refused_and_told(tmp_path: Path) -> None:
    directory = write_bundle(tmp_path / "b", fmt="dir")
    archive = tmp_path / "bomb.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        for name in ("manifest.json", "events.jsonl"):
            tar.add(directory / name, arcname=f"b/{name}")
        info = tarfile.TarInfo("b/logs/zeros")
        info.size = 96 * 1024 * 1024
        tar.addfile(info, io.BufferedReader(_Zeros(info.size), 1 << 20))
    with open_cli.opened(archive, Config(), paused=True) as session:
        app = open_cli.make_app(session)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(lambda: bool(app._notifications), timeout=20)
            await pilot.pause()
            told = [(n.title, n.message) for n in app._notifications]
            assert app.hub.latest("host.sample") is not None  # the first screen stays
    ((title, message),) = told
    assert title == "Bundle refused"
    assert message.startswith("bomb.tar.gz: refused: refused at member 'b/logs/zeros'")
    assert "decompression bomb" in message
    assert not (tmp_path / "b" / "logs" / "zeros").exists()
