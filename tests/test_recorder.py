"""The recorder writes the hub's stream so that a replay gives back the same events."""

from __future__ import annotations

import asyncio
from pathlib import Path

from opsconsole.hub import Backoff, Hub
from opsconsole.recorder import Recorder
from opsconsole.sources.events import HostSample, SourceState
from opsconsole.sources.replay import ReplaySource
from tests.scripted import ScriptedSource, sample, wait_for


async def test_recording_replays_to_the_same_events(tmp_path: Path) -> None:
    source = ScriptedSource([sample(i) for i in range(50)])
    hub = Hub([source], host="h", backoff=Backoff(initial=0.01, jitter=0))
    recorder = Recorder(hub, tmp_path / "rec.jsonl")
    recorder.start()
    await hub.start()
    await wait_for(lambda: hub.statuses()[0].state is SourceState.ENDED)
    await hub.stop()
    await recorder.stop()
    assert recorder.error is None and recorder.dropped == 0

    replay = ReplaySource(tmp_path / "rec.jsonl", speed=0)
    await replay.open()
    played = [e async for e in replay.events()]
    samples = [e for e in played if isinstance(e, HostSample)]
    assert [e.cpu_percent for e in samples] == [float(i) for i in range(50)]
    assert recorder.written == len(played)


async def test_write_error_ends_the_recording_not_the_hub(tmp_path: Path) -> None:
    # /dev/full answers every write with ENOSPC: a real full disk.
    source = ScriptedSource([sample(i) for i in range(5)], hold_open=True)
    hub = Hub([source], host="h", backoff=Backoff(initial=0.01, jitter=0))
    recorder = Recorder(hub, Path("/dev/full"))
    recorder.start()
    await hub.start()
    await wait_for(lambda: recorder.error is not None)
    assert "No space left" in str(recorder.error)
    await asyncio.sleep(0.05)
    assert hub.statuses()[0].state is SourceState.LIVE
    await hub.stop()
    await recorder.stop()
