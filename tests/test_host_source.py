"""The host source against the real host: plausible figures, rates from the second sample, the
process table, a steady cadence, a prompt close, and figures this kernel lacks shown as None."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from opsconsole.sources.base import Source
from opsconsole.sources.events import Event, HostSample, ProcessTable, SourceHealth
from opsconsole.sources.host import (
    PSEUDO_FILESYSTEMS,
    HostSampler,
    HostSource,
    MountTable,
    StatvfsGuard,
    carrier_interfaces,
)


async def take(
    events: AsyncIterator[Event], done: Callable[[list[Event]], bool], timeout: float = 15.0
) -> list[Event]:
    """Events until ``done(events so far)``."""
    seen: list[Event] = []

    async def run() -> None:
        async for event in events:
            seen.append(event)
            if done(seen):
                return

    await asyncio.wait_for(run(), timeout)
    return seen


def samples(events: list[Event]) -> list[HostSample]:
    return [e for e in events if isinstance(e, HostSample)]


def tables(events: list[Event]) -> list[ProcessTable]:
    return [e for e in events if isinstance(e, ProcessTable)]


def health(events: list[Event]) -> list[SourceHealth]:
    return [e for e in events if isinstance(e, SourceHealth)]


@pytest.fixture
async def opened() -> AsyncIterator[Callable[..., Any]]:
    """Opens HostSources and closes them after the test."""
    sources: list[HostSource] = []

    async def open_source(**options: Any) -> HostSource:
        source = HostSource(**options)
        await source.open()
        sources.append(source)
        return source

    yield open_source
    for source in sources:
        await source.close()


async def test_samples_of_this_host(opened: Callable[..., Any]) -> None:
    source: HostSource = await opened(interval=0.3)
    assert isinstance(source, Source)
    events = await take(source.events(), lambda seen: len(samples(seen)) == 2)
    first, second = samples(events)
    assert (first.host, first.source) == (socket.gethostname(), "host")
    assert abs(first.ts - time.time()) < 5
    assert first.mem_total == psutil.virtual_memory().total
    assert first.cpu_count == psutil.cpu_count()
    assert first.boot_time == psutil.boot_time()
    assert first.load is not None and all(value >= 0 for value in first.load)
    assert first.mem_available is not None and 0 < first.mem_available <= first.mem_total
    assert first.swap_total is not None and first.swap_total >= 0
    mounts = {disk.mount: disk for disk in first.disks}
    assert "/" in mounts
    root = mounts["/"]
    assert 0 < root.used < root.total and 0 <= root.percent <= 100
    assert not {disk.fstype for disk in first.disks} & PSEUDO_FILESYSTEMS
    # Rates need two samples.
    assert first.cpu_percent is None and first.per_core == ()
    assert (first.disk_read_bps, first.net_rx_bps, first.interfaces) == (None, None, ())

    assert second.cpu_percent is not None and 0 <= second.cpu_percent <= 100
    assert len(second.per_core) == psutil.cpu_count()
    assert all(0 <= core <= 100 for core in second.per_core)
    assert second.disk_read_bps is not None and second.disk_read_bps >= 0
    assert second.disk_write_bps is not None and second.disk_write_bps >= 0
    assert second.net_rx_bps is not None and second.net_tx_bps is not None
    names = {interface.name for interface in second.interfaces}
    assert names == set(psutil.net_io_counters(pernic=True)) - {"lo"}
    counted = [i for i in second.interfaces if i.in_total]
    assert second.net_rx_bps == pytest.approx(sum(i.rx_bps for i in counted))
    assert second.ts - first.ts == pytest.approx(0.3, abs=0.1)


async def test_the_first_sample_is_taken_while_opening(opened: Callable[..., Any]) -> None:
    # At start-up the console's loop is busy building the screen: the first figures are taken
    # in the opening thread, ready when the loop asks for events, and the next come an
    # interval later (not at once, which would make the first rates over a few milliseconds).
    source: HostSource = await opened(interval=0.5)
    opened_at = time.time()
    events = await take(source.events(), lambda seen: len(samples(seen)) == 2)
    first, second = samples(events)
    assert first.ts <= opened_at
    assert tables(events)[0].ts <= opened_at
    assert second.ts - first.ts >= 0.45


async def test_process_table_lists_this_process(opened: Callable[..., Any]) -> None:
    source: HostSource = await opened(interval=0.3, process_rows=500)
    events = await take(source.events(), lambda seen: len(tables(seen)) == 1)
    table = tables(events)[0]
    mine = [row for row in table.rows if row.pid == os.getpid()]
    assert mine and mine[0].command == " ".join(psutil.Process().cmdline())
    assert table.total >= len(table.rows) > 1
    assert table.host == socket.gethostname()


async def test_process_rows_bound_the_table(opened: Callable[..., Any]) -> None:
    source: HostSource = await opened(interval=0.2, process_rows=3)
    events = await take(source.events(), lambda seen: len(tables(seen)) == 1)
    assert len(tables(events)[0].rows) == 3


async def test_process_table_has_its_own_interval(opened: Callable[..., Any]) -> None:
    source: HostSource = await opened(interval=0.1, process_interval=0.4, hostname="web-7")
    events = await take(source.events(), lambda seen: len(samples(seen)) == 13)
    assert {event.host for event in events} == {"web-7"}
    assert 3 <= len(tables(events)) <= 5  # at 0, 0.4, 0.8, 1.2 s


async def test_cadence_does_not_drift_with_work_time(
    opened: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = psutil.virtual_memory

    def slow_virtual_memory() -> Any:
        time.sleep(0.15)  # a sample that takes a while, as on a loaded host
        return real()

    monkeypatch.setattr(psutil, "virtual_memory", slow_virtual_memory)
    source: HostSource = await opened(interval=0.4, process_interval=10)
    events = await take(source.events(), lambda seen: len(samples(seen)) == 5)
    stamps = [sample.ts for sample in samples(events)]
    spacing = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
    assert spacing == pytest.approx(0.4, abs=0.07)  # not 0.4 + 0.15


async def test_close_unblocks_events_promptly_and_source_reopens(
    opened: Callable[..., Any],
) -> None:
    source: HostSource = await opened(interval=30)
    first = asyncio.Event()

    async def consume() -> list[Event]:
        seen = []
        async for event in source.events():
            seen.append(event)
            first.set()
        return seen

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 10)
    started = time.monotonic()
    await source.close()
    seen = await asyncio.wait_for(task, 1.0)
    assert time.monotonic() - started < 0.5
    assert samples(seen)
    await source.close()  # idempotent
    # The hub opens a source again after a failure: it starts afresh.
    await source.open()
    again = await take(source.events(), lambda seen: bool(samples(seen)))
    assert samples(again)[0].cpu_percent is None


async def test_a_sample_that_fails_ends_the_run_with_its_error(
    opened: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hub then shows the source degraded and opens it again after a backoff.
    source: HostSource = await opened(interval=0.1)
    events = source.events()
    await take(events, lambda seen: bool(samples(seen)))

    def broken(self: HostSampler) -> Any:
        raise OSError("/proc went away")

    monkeypatch.setattr(HostSampler, "sample", broken)
    with pytest.raises(OSError, match="/proc went away"):
        await take(events, lambda seen: False, timeout=2.0)
    # Its sampling thread has stopped: nothing samples for a run that ended.
    await asyncio.sleep(0.3)
    assert not [t for t in threading.enumerate() if t.name == "opsconsole-host"]


async def test_close_during_a_slow_sample_returns_at_once(
    opened: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real = psutil.virtual_memory

    def stuck_virtual_memory() -> Any:
        release.wait(10)  # as a read stuck in the kernel would
        return real()

    source: HostSource = await opened(interval=0.1)
    events = source.events()
    await take(events, lambda seen: bool(samples(seen)))
    monkeypatch.setattr(psutil, "virtual_memory", stuck_virtual_memory)
    pending = asyncio.create_task(take(events, lambda seen: False))
    await asyncio.sleep(0.3)  # the next sample is now stuck in its thread
    assert not pending.done()
    started = time.monotonic()
    await source.close()
    assert samples(await asyncio.wait_for(pending, 1.0)) == []
    assert time.monotonic() - started < 0.5
    release.set()


async def test_missing_figures_are_none_and_reported_once(
    opened: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_swap() -> Any:
        raise NotImplementedError("no swap accounting on this kernel")

    def broken_counters(*args: Any, **kwargs: Any) -> Any:
        raise OSError(2, "No such file or directory", "/proc/net/dev")

    monkeypatch.delattr(psutil, "getloadavg")  # as on psutil builds that lack it
    monkeypatch.setattr(psutil, "swap_memory", no_swap)
    monkeypatch.setattr(psutil, "disk_io_counters", lambda *a, **k: None)  # no disks
    monkeypatch.setattr(psutil, "net_io_counters", broken_counters)
    source: HostSource = await opened(interval=0.15)
    events = source.events()
    seen = await take(events, lambda seen: len(samples(seen)) == 3)
    reports = health(seen)
    assert len(reports) == 1 and seen[0] is reports[0]
    reason = reports[0].degraded
    assert reason is not None
    for figure in ("load average", "swap", "disk I/O", "network"):
        assert figure in reason
    for sample in samples(seen):
        assert sample.load is None and sample.swap_total is None and sample.swap_percent is None
        assert sample.disk_read_bps is None and sample.net_rx_bps is None
        assert sample.mem_total == psutil.virtual_memory().total
    assert samples(seen)[-1].cpu_percent is not None
    assert tables(seen)

    monkeypatch.undo()  # the figures come back
    recovered = await take(events, lambda seen: len(samples(seen)) == 2)
    assert [report.degraded for report in health(recovered)] == [None]
    assert samples(recovered)[0].load is not None
    assert samples(recovered)[-1].disk_read_bps is not None


def test_statvfs_guard_gives_up_on_a_hung_mount_without_piling_threads() -> None:
    release = threading.Event()
    calls: list[str] = []

    def hanging_statvfs(mount: str) -> os.statvfs_result:
        calls.append(mount)
        release.wait(10)  # a dead NFS server
        return os.statvfs("/")

    guard = StatvfsGuard(timeout=0.2, statvfs=hanging_statvfs)
    started = time.monotonic()
    assert guard.statvfs("/mnt/nfs") is None
    assert 0.2 <= time.monotonic() - started < 1.0
    started = time.monotonic()
    assert guard.statvfs("/mnt/nfs") is None  # still hung: no new call, no new wait
    assert time.monotonic() - started < 0.1
    assert calls == ["/mnt/nfs"]
    release.set()  # the server is back: the stuck call returns, and the next one is asked
    deadline = time.monotonic() + 5
    while (answer := guard.statvfs("/mnt/nfs")) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert answer is not None
    assert calls == ["/mnt/nfs", "/mnt/nfs"]


def test_mount_table_is_listed_again_only_after_a_mount_or_unmount(tmp_path: Path) -> None:
    # Tests run as root here (CI too): a real tmpfs mount is the change the kernel signals.
    table = MountTable()
    first = table.partitions()
    assert table.partitions() is first  # nothing changed: not parsed again
    target = tmp_path / "mnt"
    target.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(target)], check=True)
    try:
        mounted = table.partitions()
        assert str(target) in {part.mountpoint for part in mounted}
    finally:
        subprocess.run(["umount", str(target)], check=True)
    assert str(target) not in {part.mountpoint for part in table.partitions()}


# -- the network total --------------------------------------------------------------------


@pytest.fixture
def bridged_namespace() -> Iterator[str]:
    """A bridge on this host with a veth port whose peer is in a network namespace: the shape
    of a container host. Yields the namespace's name."""
    netns, bridge, port, peer = "ocnet", "ocbr0", "ocveth0", "ocveth1"

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    ip("netns", "add", netns)
    try:
        ip("link", "add", bridge, "type", "bridge")
        ip("link", "add", port, "type", "veth", "peer", "name", peer)
        ip("link", "set", port, "master", bridge)
        ip("link", "set", peer, "netns", netns)
        ip("addr", "add", "10.254.7.1/30", "dev", bridge)
        ip("link", "set", bridge, "up")
        ip("link", "set", port, "up")
        ip("-n", netns, "addr", "add", "10.254.7.2/30", "dev", peer)
        ip("-n", netns, "link", "set", peer, "up")
        yield netns
    finally:
        for link in (port, bridge):
            subprocess.run(["ip", "link", "del", link], capture_output=True)
        subprocess.run(["ip", "netns", "del", netns], capture_output=True)


def test_network_total_counts_container_traffic_once(bridged_namespace: str) -> None:
    # Traffic to a "container" crosses the bridge and its port: both show it, the total
    # (the host's NICs) does not count it again.
    sampler = HostSampler(host="h")
    sampler.sample()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for _ in range(500):
            udp.sendto(b"x" * 1000, ("10.254.7.2", 9))
    sample, _ = sampler.sample()
    by_name = {interface.name: interface for interface in sample.interfaces}
    assert by_name["ocbr0"].tx_bps > 0 and by_name["ocveth0"].tx_bps > 0
    assert not by_name["ocbr0"].in_total and not by_name["ocveth0"].in_total
    counted = [interface for interface in sample.interfaces if interface.in_total]
    assert counted, "no interface makes the total"
    assert sample.net_tx_bps == pytest.approx(sum(i.tx_bps for i in counted))
    # Inside the namespace no interface has a device behind it: the veth is the total.
    inside = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            bridged_namespace,
            sys.executable,
            "-c",
            "import psutil; from opsconsole.sources.host import carrier_interfaces; "
            "print(sorted(carrier_interfaces(set(psutil.net_io_counters(pernic=True)) - {'lo'})))",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    assert inside.stdout.strip() == "['ocveth1']"


def test_interfaces_enslaved_or_without_device_are_left_out_of_the_total(tmp_path: Path) -> None:
    # The shapes sysfs gives; the real kernel's is tested above.
    for name, links in {
        "eth0": ("device",),
        "ifb0": (),
        "docker0": ("bridge",),
        "veth1a2b": ("master",),
        "bond0": (),
        "eno1": ("device", "master"),
    }.items():
        (tmp_path / name).mkdir()
        for link in links:
            (tmp_path / name / link).mkdir()
    names = ["eth0", "ifb0", "docker0", "veth1a2b", "bond0", "eno1"]
    assert carrier_interfaces(names, tmp_path) == {"eth0", "eno1"}
    # In a container: no devices, so every interface that is not a port of another.
    without_devices = ["ifb0", "docker0", "veth1a2b", "bond0"]
    assert carrier_interfaces(without_devices, tmp_path) == {"ifb0", "docker0", "bond0"}
