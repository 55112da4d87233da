"""The hub: statuses, retries with backoff, bounded fan-out that counts what it drops."""

from __future__ import annotations

import asyncio

import pytest

from opsconsole.hub import Backoff, Hub
from opsconsole.sources.events import Event, HostSample, SourceHealth, SourceState, SourceStatus
from tests.scripted import FAST, ScriptedSource, sample, wait_for


async def test_events_fan_out_to_every_subscriber_in_order() -> None:
    source = ScriptedSource([sample(i) for i in range(5)])
    hub = Hub([source], host="h", backoff=FAST)
    first, second = hub.subscribe(), hub.subscribe(kinds=["host.sample"])
    await hub.start()
    await wait_for(lambda: hub.statuses()[0].state is SourceState.ENDED)
    got_first = [e for e in first.drain() if isinstance(e, HostSample)]
    got_second = second.drain()
    assert [e.cpu_percent for e in got_first] == [0, 1, 2, 3, 4]
    assert got_second == got_first  # the kind filter keeps only samples
    await hub.stop()


async def test_status_goes_starting_live_ended() -> None:
    hub = Hub([ScriptedSource([sample(1)])], host="h", backoff=FAST)
    sub = hub.subscribe(kinds=["source.status"])
    await hub.start()
    await wait_for(lambda: hub.statuses()[0].state is SourceState.ENDED)
    states = [e.state for e in sub.drain() if isinstance(e, SourceStatus)]
    assert states == [SourceState.STARTING, SourceState.LIVE, SourceState.ENDED]
    await hub.stop()


async def test_unavailable_source_retries_with_growing_backoff_then_recovers() -> None:
    source = ScriptedSource([sample(1)], fail_opens=3, hold_open=True)
    backoff = Backoff(initial=0.02, maximum=1.0, factor=2.0, jitter=0.0)
    hub = Hub([source], host="h", backoff=backoff)
    sub = hub.subscribe(kinds=["source.status"])
    await hub.start()
    await wait_for(lambda: hub.statuses()[0].state is SourceState.LIVE and source.opens == 4)
    unavailable = [
        e for e in sub.drain() if isinstance(e, SourceStatus) and e.state is SourceState.UNAVAILABLE
    ]
    assert [e.reason for e in unavailable] == [f"socket missing (try {i})" for i in (1, 2, 3)]
    assert [e.attempts for e in unavailable] == [1, 2, 3]
    waits = [round(e.retry_at - e.ts, 2) for e in unavailable if e.retry_at]
    assert waits == [0.02, 0.04, 0.08]  # doubling
    await wait_for(lambda: hub.statuses()[0].attempts == 0)  # a delivering source has recovered
    await hub.stop()
    assert source.closes >= 4  # closed after every failed attempt and at stop


def test_backoff_is_capped_and_jittered_within_bounds() -> None:
    backoff = Backoff(initial=1.0, maximum=30.0, jitter=0.1)
    delays = [backoff.delay(n) for n in range(1, 12)]
    assert 1.0 <= delays[0] <= 1.1
    assert all(30.0 <= d <= 33.0 for d in delays[6:])


async def test_permanent_failure_stops_retrying() -> None:
    source = ScriptedSource([], fail_opens=99, permanent=True)
    hub = Hub([source], host="h", backoff=FAST)
    await hub.start()
    await wait_for(lambda: hub.statuses()[0].state is SourceState.UNAVAILABLE)
    await asyncio.sleep(0.1)
    status = hub.statuses()[0]
    assert source.opens == 1
    assert status.retry_at is None and status.reason == "socket missing (try 1)"
    await hub.stop()


async def test_failure_mid_stream_is_reported_and_retried() -> None:
    source = ScriptedSource([sample(1)], fail_mid_stream=True, hold_open=True)
    hub = Hub([source], host="h", backoff=FAST)
    sub = hub.subscribe(kinds=["source.status"])
    await hub.start()
    await wait_for(lambda: source.opens == 2 and hub.statuses()[0].state is SourceState.LIVE)
    reasons = [e.reason for e in sub.drain() if isinstance(e, SourceStatus) and e.reason]
    assert "ConnectionResetError: engine went away" in reasons
    await hub.stop()


async def test_degraded_health_is_a_status_with_its_reason() -> None:
    events: list[Event] = [
        sample(1),
        SourceHealth(ts=1.0, host="h", source="scripted", degraded="load average n/a"),
        sample(2),
    ]
    hub = Hub([ScriptedSource(events, hold_open=True)], host="h", backoff=FAST)
    await hub.start()
    await wait_for(lambda: hub.statuses()[0].state is SourceState.DEGRADED)
    assert hub.statuses()[0].reason == "load average n/a"
    await hub.stop()


async def test_full_queue_drops_oldest_and_counts_per_source() -> None:
    events: list[Event] = [sample(i) for i in range(100)]
    hub = Hub([ScriptedSource(events, hold_open=True)], host="h", backoff=FAST)
    slow = hub.subscribe(maxlen=10, kinds=["host.sample"])
    await hub.start()
    await wait_for(lambda: hub.latest("host.sample") is not None and slow.dropped == 90)
    kept = slow.drain()
    assert [e.cpu_percent for e in kept if isinstance(e, HostSample)] == list(range(90, 100))
    assert hub.dropped("scripted") == 90
    await hub.stop()


async def test_late_subscriber_gets_status_and_latest_value_at_once() -> None:
    hub = Hub([ScriptedSource([sample(1), sample(2)], hold_open=True)], host="h", backoff=FAST)
    await hub.start()
    await wait_for(lambda: hub.latest("host.sample") is not None)
    await asyncio.sleep(0.05)
    late = hub.subscribe()
    primed = late.drain()
    assert any(isinstance(e, SourceStatus) and e.state is SourceState.LIVE for e in primed)
    assert [e.cpu_percent for e in primed if isinstance(e, HostSample)] == [2]
    await hub.stop()


async def test_stop_unblocks_waiting_subscriber_and_closes_sources() -> None:
    source = ScriptedSource([], hold_open=True)
    hub = Hub([source], host="h", backoff=FAST)
    sub = hub.subscribe(kinds=["host.sample"])
    await hub.start()
    waiter = asyncio.create_task(sub.batch())
    await asyncio.sleep(0.05)
    await asyncio.wait_for(hub.stop(), timeout=2)
    assert await asyncio.wait_for(waiter, timeout=2) == []
    assert source.closes >= 1
    await hub.stop()  # idempotent


async def test_a_crashing_source_does_not_take_down_the_others() -> None:
    good = ScriptedSource([sample(1, "good")], id="good", hold_open=True)
    bad = ScriptedSource([], id="bad", fail_mid_stream=True, hold_open=True)
    hub = Hub([good, bad], host="h", backoff=FAST)
    await hub.start()
    await wait_for(lambda: hub.latest("host.sample", source="good") is not None)
    assert {s.source: s.state for s in hub.statuses()}["good"] is SourceState.LIVE
    await hub.stop()


def test_duplicate_source_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate source id"):
        Hub([ScriptedSource([]), ScriptedSource([])], host="h")
