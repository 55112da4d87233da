"""The replay source: recorded events come back in order, at pace, damaged lines reported."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from opsconsole.sources import replay as replay_module
from opsconsole.sources.base import SourceUnavailable
from opsconsole.sources.events import (
    DiskUsage,
    Event,
    HostSample,
    ProcessRow,
    ProcessTable,
    SourceHealth,
    decode,
    encode,
)
from opsconsole.sources.replay import ReplaySource


def host_sample(ts: float, cpu: float) -> HostSample:
    return HostSample(
        ts=ts,
        host="web-7",
        source="host",
        cpu_percent=cpu,
        per_core=(cpu, cpu),
        load=(0.5, 0.4, 0.3),
        disks=(
            DiskUsage(
                mount="/", device="/dev/vda", fstype="ext4", total=10, used=5, free=5, percent=50.0
            ),
        ),
    )


def write_stream(path: Path, events: list[Event], extra: list[bytes] = ()) -> Path:
    path.write_bytes(b"".join(encode(e) + b"\n" for e in events) + b"".join(extra))
    return path


async def play(source: ReplaySource) -> list[Event]:
    await source.open()
    try:
        return [event async for event in source.events()]
    finally:
        await source.close()


def test_every_event_kind_round_trips_through_json() -> None:
    table = ProcessTable(
        ts=5.0,
        host="web-7",
        source="host",
        total=1,
        rows=(
            ProcessRow(
                pid=1,
                user="root",
                name="init",
                command="/sbin/init [red]",
                state="S",
                cpu_percent=0.1,
                rss=4096,
            ),
        ),
    )
    for event in (host_sample(1.0, 12.5), table):
        assert decode(encode(event)) == event


async def test_replays_recorded_events_in_order(tmp_path: Path) -> None:
    events: list[Event] = [host_sample(100.0 + i, float(i)) for i in range(20)]
    played = await play(ReplaySource(write_stream(tmp_path / "s.jsonl", events), speed=0))
    assert played == events


async def test_speed_scales_the_recorded_gaps(tmp_path: Path) -> None:
    # 2 recorded seconds at 20x should take about 0.1 s: far less than 2 s, more than nothing.
    events: list[Event] = [host_sample(100.0 + i * 0.5, 1.0) for i in range(5)]
    source = ReplaySource(write_stream(tmp_path / "s.jsonl", events), speed=20)
    started = time.monotonic()
    assert len(await play(source)) == 5
    elapsed = time.monotonic() - started
    assert 0.08 <= elapsed < 1.0


async def test_damaged_lines_are_reported_with_line_numbers_and_skipped(tmp_path: Path) -> None:
    good = [host_sample(100.0, 1.0), host_sample(101.0, 2.0)]
    path = tmp_path / "damaged.jsonl"
    path.write_bytes(
        encode(good[0])
        + b"\n"
        + b"not json at all\n"
        + b'{"kind": "host.sample", "ts": "yesterday", "host": "h", "source": "s"}\n'
        + b'{"kind": "no.such.kind", "ts": 1, "host": "h", "source": "s"}\n'
        + b"\xff\xfe\x1b[31m binary \x00\n"
        + b"\n"
        + encode(good[1])
        + b"\n"
    )
    played = await play(ReplaySource(path, speed=0))
    assert [e for e in played if isinstance(e, HostSample)] == good
    problems = [e.degraded for e in played if isinstance(e, SourceHealth)]
    assert [p.split(":")[1] for p in problems if p] == ["2", "3", "4", "5"]
    assert all(p and p.startswith("damaged.jsonl:") for p in problems)


async def test_oversized_line_is_refused_without_reading_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replay_module, "MAX_LINE_BYTES", 1024)
    event = host_sample(100.0, 1.0)
    path = write_stream(tmp_path / "big.jsonl", [], [b"x" * 10_000 + b"\n", encode(event) + b"\n"])
    played = await play(ReplaySource(path, speed=0))
    assert played[-1] == event
    assert isinstance(played[0], SourceHealth) and "longer than 1024 bytes" in str(
        played[0].degraded
    )


async def test_missing_recording_is_permanently_unavailable(tmp_path: Path) -> None:
    source = ReplaySource(tmp_path / "nope.jsonl")
    with pytest.raises(SourceUnavailable) as info:
        await source.open()
    assert info.value.permanent and "nope.jsonl" in info.value.reason


async def test_close_interrupts_a_long_recorded_gap(tmp_path: Path) -> None:
    events: list[Event] = [host_sample(100.0, 1.0), host_sample(10_000.0, 2.0)]
    source = ReplaySource(write_stream(tmp_path / "gap.jsonl", events), speed=1)
    await source.open()
    iterator = source.events()
    assert await anext(iterator) == events[0]
    pending = asyncio.ensure_future(anext(iterator))
    await asyncio.sleep(0.05)
    await source.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(pending, timeout=2)
