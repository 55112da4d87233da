"""The host source: CPU, memory, disks, network, the cgroup and the busiest processes.

Every ``interval`` seconds it yields a ``HostSample`` and, every ``process_interval``, a
``ProcessTable``. All reading (psutil, /proc, statvfs) runs in a worker thread so the event loop,
which is also the UI's, never waits on the kernel. Rates (CPU percent, disk and network bytes per
second) are deltas between two samples, so the first sample has none.

A figure this kernel or container does not provide (no load average, no swap accounting, no
disk counters) is None, and the source says once which figures are missing with a
``SourceHealth``. Network and FUSE filesystems are asked for their usage with a timeout, one
question at a time, so a dead NFS server costs neither a hung sample nor a pile of threads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import select
import socket
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO, Final, TypeVar

import msgspec
import psutil

from opsconsole.sources.cgroup import CgroupReader
from opsconsole.sources.events import DiskUsage, Event, HostSample, NetRate, SourceHealth
from opsconsole.sources.processes import ProcessScanner
from opsconsole.sources.text import safe_text

log = logging.getLogger(__name__)

# psutil warns (on stderr, under the UI) when a kernel lacks a minor figure such as swap-in
# counts; the sample shows such figures as None instead.
warnings.filterwarnings("ignore", category=RuntimeWarning, module="psutil")

_T = TypeVar("_T")

PSEUDO_FILESYSTEMS: Final = frozenset(
    {
        "autofs",
        "binfmt_misc",
        "bpf",
        "cgroup",
        "cgroup2",
        "configfs",
        "debugfs",
        "devpts",
        "devtmpfs",
        "efivarfs",
        "fuse.lxcfs",
        "fusectl",
        "hugetlbfs",
        "mqueue",
        "nfsd",
        "nsfs",
        "proc",
        "pstore",
        "ramfs",
        "rpc_pipefs",
        "securityfs",
        "selinuxfs",
        "squashfs",
        "sysfs",
        "tracefs",
    }
)
"""Filesystems that hold no data worth watching (kernel interfaces, read-only snap images)."""

MEMORY_FS_MOUNTS: Final = frozenset({"/tmp", "/dev/shm", "/run"})
"""The tmpfs mounts shown: the ones whose filling up breaks a machine. Others are clutter."""

NETWORK_FILESYSTEMS: Final = frozenset(
    {
        "9p",
        "afs",
        "ceph",
        "cifs",
        "davfs",
        "glusterfs",
        "lustre",
        "ncpfs",
        "nfs",
        "nfs4",
        "smb3",
        "smbfs",
        "virtiofs",
    }
)
"""Filesystems whose statvfs waits on a server (FUSE ones, ``fuse.*``, too)."""

STATVFS_TIMEOUT: Final = 0.5
"""Seconds a network filesystem gets to answer how full it is."""


class _Figures:
    """Reads figure groups, turning any failure into None and remembering what was missing."""

    def __init__(self) -> None:
        self.missing: list[str] = []

    def read(self, group: str, reader: Callable[[], _T | None]) -> _T | None:
        """``reader()``, or None (noted as missing) when it fails or gives nothing."""
        try:
            value = reader()
        except Exception:  # any kernel may lack any figure; the rest must still show
            log.debug("host figure %s unavailable", group, exc_info=True)
            value = None
        if value is None:
            self.missing.append(group)
        return value


def _busy_and_total(times: Any) -> tuple[float, float]:
    """Busy and total CPU seconds of one psutil cpu_times entry, counted as top does."""
    # guest time is already inside user and nice; iowait is idle time.
    total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return total - idle, total


def _percent(busy: float, total: float) -> float:
    return round(min(100.0, max(0.0, busy / total * 100.0)), 1) if total > 0 else 0.0


def _rate(current: float, previous: float, elapsed: float) -> float:
    """Per-second rate of a counter; 0 when it went back (a reset or a recreated device)."""
    return max(0.0, current - previous) / elapsed


class StatvfsGuard:
    """statvfs for filesystems that can hang: one pending call per mount, waited on briefly.

    A call that does not return in time keeps its thread (a syscall cannot be interrupted) and the
    mount is reported as not answering, without a new call, until that thread returns. So a dead
    server costs at most one thread per mount, not one per sample.
    """

    def __init__(
        self,
        timeout: float = STATVFS_TIMEOUT,
        statvfs: Callable[[str], os.statvfs_result] = os.statvfs,
    ) -> None:
        self.timeout = timeout
        self._statvfs = statvfs
        self._pending: dict[str, concurrent.futures.Future[os.statvfs_result]] = {}

    def statvfs(self, mount: str) -> os.statvfs_result | None:
        """The mount's statvfs, or None when it does not answer in time (or still hangs)."""
        pending = self._pending.get(mount)
        if pending is not None and not pending.done():
            return None
        future: concurrent.futures.Future[os.statvfs_result] = concurrent.futures.Future()
        self._pending[mount] = future
        threading.Thread(
            target=_settle, args=(future, self._statvfs, mount), name="statvfs", daemon=True
        ).start()
        try:
            return future.result(self.timeout)
        except TimeoutError:
            return None
        finally:
            if future.done():
                del self._pending[mount]


def _settle(future: concurrent.futures.Future[_T], call: Callable[[str], _T], arg: str) -> None:
    try:
        future.set_result(call(arg))
    except BaseException as exc:
        future.set_exception(exc)


class MountTable:
    """The mounted filesystems, listed again only when the kernel says the table changed.

    Listing them parses the whole mount table, which on a host with many containers is most of
    the cost of a sample; the table rarely changes. The kernel marks ``/proc/self/mounts`` with
    a priority event on every mount and unmount (see proc(5)), and a poll takes that mark. Where
    the file is missing (not Linux) the table is listed every time.
    """

    def __init__(self, path: str = "/proc/self/mounts") -> None:
        self._partitions: list[Any] | None = None
        self._poll: select.poll | None = None
        try:
            # Kept open for the sampler's life: the mark belongs to this open file.
            self._file: BinaryIO | None = Path(path).open("rb", buffering=0)  # noqa: SIM115
        except OSError:
            self._file = None
        else:
            self._poll = select.poll()
            self._poll.register(self._file, select.POLLPRI | select.POLLERR)

    def partitions(self) -> list[Any]:
        """``psutil.disk_partitions(all=True)`` as of now."""
        if self._partitions is None or self._poll is None or self._poll.poll(0):
            self._partitions = psutil.disk_partitions(all=True)
        return self._partitions


# A msgspec Struct rather than a dataclass: defined in C at import instead of by generating
# and exec-ing source (4-5M instructions a class).
class _Counters(msgspec.Struct, frozen=True):
    """Cumulative counters of one sample, kept to compute the next sample's rates."""

    at: float
    cpu: tuple[tuple[float, float], ...] | None
    disk: tuple[int, int] | None
    net: dict[str, Any] | None


class HostSampler:
    """Takes HostSamples; rates are computed against the previous call. Not thread-safe."""

    def __init__(
        self,
        *,
        host: str,
        source: str = "host",
        cgroup: CgroupReader | None = None,
        statvfs_timeout: float = STATVFS_TIMEOUT,
    ) -> None:
        self.host = host
        self.source = source
        self._cgroup = cgroup
        self._guard = StatvfsGuard(statvfs_timeout)
        self._mounts = MountTable()
        self._previous: _Counters | None = None
        self._carriers: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
        """The interface names last seen, and which of them make the total."""

    def sample(self) -> tuple[HostSample, list[str]]:
        """One sample, and the figure groups that were not available (with reasons)."""
        figures = _Figures()
        ts = time.time()
        now = time.monotonic()
        previous = self._previous
        elapsed = now - previous.at if previous is not None else 0.0

        cores = figures.read(
            "CPU", lambda: tuple(_busy_and_total(t) for t in psutil.cpu_times(percpu=True))
        )
        cpu_percent: float | None = None
        per_core: tuple[float, ...] = ()
        if cores and previous is not None and previous.cpu and len(previous.cpu) == len(cores):
            deltas = [
                (b - pb, t - pt) for (b, t), (pb, pt) in zip(cores, previous.cpu, strict=True)
            ]
            per_core = tuple(_percent(b, t) for b, t in deltas)
            cpu_percent = _percent(sum(b for b, _ in deltas), sum(t for _, t in deltas))

        load = figures.read("load average", _load_average)
        memory = figures.read("memory", psutil.virtual_memory)
        swap = figures.read("swap", psutil.swap_memory)
        disks, hung = figures.read("disk usage", self._disk_usage) or ((), [])

        io = figures.read("disk I/O", lambda: psutil.disk_io_counters(perdisk=False))
        disk = (io.read_bytes, io.write_bytes) if io is not None else None
        disk_read_bps = disk_write_bps = None
        if disk is not None and previous is not None and previous.disk is not None and elapsed:
            disk_read_bps = _rate(disk[0], previous.disk[0], elapsed)
            disk_write_bps = _rate(disk[1], previous.disk[1], elapsed)

        nics = figures.read("network", lambda: psutil.net_io_counters(pernic=True) or None)
        net = {name: c for name, c in nics.items() if name != "lo"} if nics is not None else None
        interfaces: tuple[NetRate, ...] = ()
        rx_bps = tx_bps = None
        if net is not None and previous is not None and previous.net is not None and elapsed:
            carriers = self._carriers_of(frozenset(net))
            interfaces = tuple(
                _net_rate(name, counters, previous.net[name], elapsed, name in carriers)
                for name, counters in sorted(net.items())
                if name in previous.net
            )
            rx_bps = sum(i.rx_bps for i in interfaces if i.in_total)
            tx_bps = sum(i.tx_bps for i in interfaces if i.in_total)

        boot_time = figures.read("boot time", psutil.boot_time)
        cpu_count = figures.read("CPU count", psutil.cpu_count)
        cgroup = self._cgroup.read() if self._cgroup is not None else None

        self._previous = _Counters(now, cores, disk, net)
        sample = HostSample(
            ts=ts,
            host=self.host,
            source=self.source,
            boot_time=boot_time,
            cpu_count=cpu_count,
            cpu_percent=cpu_percent,
            per_core=per_core,
            load=load,
            mem_total=memory.total if memory is not None else None,
            mem_used=memory.used if memory is not None else None,
            mem_available=memory.available if memory is not None else None,
            mem_percent=memory.percent if memory is not None else None,
            swap_total=swap.total if swap is not None else None,
            swap_used=swap.used if swap is not None else None,
            swap_percent=swap.percent if swap is not None else None,
            disks=disks,
            disk_read_bps=disk_read_bps,
            disk_write_bps=disk_write_bps,
            net_rx_bps=rx_bps,
            net_tx_bps=tx_bps,
            interfaces=interfaces,
            cgroup=cgroup,
        )
        return sample, figures.missing + [f"no answer from {mount}" for mount in hung]

    def _carriers_of(self, names: frozenset[str]) -> frozenset[str]:
        """``carrier_interfaces`` of ``names``, looked up again only when they change."""
        if names != self._carriers[0]:
            self._carriers = (names, carrier_interfaces(names))
        return self._carriers[1]

    def _disk_usage(self) -> tuple[tuple[DiskUsage, ...], list[str]]:
        """Usage of each real filesystem, once per device; and the mounts that did not answer."""
        chosen: dict[str, Any] = {}
        for part in self._mounts.partitions():
            fstype = part.fstype
            if fstype in PSEUDO_FILESYSTEMS:
                continue
            if fstype == "tmpfs" and part.mountpoint not in MEMORY_FS_MOUNTS:
                continue
            # A container's root is an overlay; the many others are other containers' roots.
            if fstype == "overlay" and part.mountpoint != "/":
                continue
            # A device mounted twice (bind mounts) is shown once, at its shortest path.
            key = part.device if part.device.startswith("/") else part.mountpoint
            if key not in chosen or len(part.mountpoint) < len(chosen[key].mountpoint):
                chosen[key] = part
        disks: list[DiskUsage] = []
        hung: list[str] = []
        for part in sorted(chosen.values(), key=lambda p: p.mountpoint):
            remote = part.fstype in NETWORK_FILESYSTEMS or part.fstype.startswith("fuse")
            try:
                stat = (
                    self._guard.statvfs(part.mountpoint) if remote else os.statvfs(part.mountpoint)
                )
            except OSError:
                continue  # gone since listed, or not ours to look at
            if stat is None:
                hung.append(safe_text(part.mountpoint))
                continue
            total = stat.f_blocks * stat.f_frsize
            if total == 0:
                continue  # a filesystem with no blocks holds no data (as df decides)
            free = stat.f_bavail * stat.f_frsize
            used = (stat.f_blocks - stat.f_bfree) * stat.f_frsize
            disks.append(
                DiskUsage(
                    mount=safe_text(part.mountpoint),
                    device=safe_text(part.device),
                    fstype=safe_text(part.fstype),
                    total=total,
                    used=used,
                    free=free,
                    # As df: the share of the space available to users that is used.
                    percent=round(used / (used + free) * 100.0, 1) if used + free else 0.0,
                )
            )
        return tuple(disks), hung


def _load_average() -> tuple[float, float, float]:
    one, five, fifteen = psutil.getloadavg()
    return (one, five, fifteen)


def _net_rate(name: str, now: Any, before: Any, elapsed: float, in_total: bool) -> NetRate:
    return NetRate(
        name=safe_text(name),
        rx_bps=_rate(now.bytes_recv, before.bytes_recv, elapsed),
        tx_bps=_rate(now.bytes_sent, before.bytes_sent, elapsed),
        errors=max(0, now.errin + now.errout - before.errin - before.errout),
        drops=max(0, now.dropin + now.dropout - before.dropin - before.dropout),
        in_total=in_total,
    )


SYS_CLASS_NET: Final = Path("/sys/class/net")


def carrier_interfaces(names: Iterable[str], sysfs: Path = SYS_CLASS_NET) -> frozenset[str]:
    """The interfaces whose traffic makes the host's network total.

    On its way out, a container's traffic crosses its veth, a bridge, then the NIC (and an ifb
    mirror of the NIC where traffic is shaped): a plain sum counts it two to four times. The
    total is the interfaces with a device behind them (physical or virtio NICs); where none
    has one (inside a container), every interface not enslaved to another (a bridge or bond
    port), as each then carries traffic of its own.
    """
    names = list(names)
    with_device = frozenset(name for name in names if (sysfs / name / "device").exists())
    if with_device:
        return with_device
    return frozenset(name for name in names if not (sysfs / name / "master").exists())


class HostSource:
    """The local host as a source of HostSample and ProcessTable events.

    ``interval`` is the seconds between host samples, ``process_interval`` between process
    tables (default: the same). ``process_rows`` bounds the process table. The cadence is
    steady: work time does not add to the interval, and a late tick is skipped, not bunched.
    """

    id = "host"
    live = True

    def __init__(
        self,
        *,
        interval: float = 1.0,
        process_rows: int = 200,
        process_interval: float | None = None,
        hostname: str | None = None,
    ) -> None:
        if interval <= 0 or (process_interval is not None and process_interval <= 0):
            raise ValueError("intervals must be positive")
        self.interval = interval
        self.process_interval = process_interval if process_interval is not None else interval
        self.process_rows = process_rows
        self.hostname = hostname or socket.gethostname()
        self._closed = asyncio.Event()
        self._sampler: HostSampler | None = None
        self._scanner: ProcessScanner | None = None
        self._scanner_missing: str | None = None
        self._first: tuple[_Tick | Exception, float] | None = None
        """The tick ``open`` took, and when it began, for the next ``events`` to give first."""
        self._runs: list[tuple[asyncio.Queue[_Tick | Exception | None], threading.Event]] = []
        """The queue and stop flag of each ``events`` running (one, as the hub runs it)."""

    async def open(self) -> None:
        """Prepare the readers (finding the cgroup, checking /proc) and take the first sample,
        in one thread: at start-up the loop is busy building the screen, and the first figures
        are ready by the time it asks for them instead of a loop turn later."""
        self._closed.clear()
        await asyncio.to_thread(self._prepare)

    def _prepare(self) -> None:
        sampler = HostSampler(host=self.hostname, source=self.id, cgroup=CgroupReader())
        try:
            scanner = ProcessScanner(host=self.hostname, source=self.id, rows=self.process_rows)
            missing = None
        except OSError as exc:
            scanner, missing = None, f"processes ({exc.strerror or exc})"
        self._sampler, self._scanner, self._scanner_missing = sampler, scanner, missing
        began = time.monotonic()
        first: _Tick | Exception
        try:
            first = self._collect(sampler, scanner)
        except Exception as error:  # events() raises it, as it does a later sample's
            first = error
        self._first = (first, began)

    async def events(self) -> AsyncIterator[Event]:
        """Yield samples and process tables until ``close``."""
        sampler, scanner = self._sampler, self._scanner
        if sampler is None:
            raise RuntimeError("HostSource.events() before open()")
        if self._closed.is_set():
            return
        ticks: asyncio.Queue[_Tick | Exception | None] = asyncio.Queue()
        began: float | None = None
        if self._first is not None:
            first, began = self._first
            self._first = None
            ticks.put_nowait(first)
        stop = threading.Event()
        self._runs.append((ticks, stop))
        # One thread of its own, which keeps the cadence and hands each tick over: a worker
        # thread per tick, and the tasks that waited for it or for close, cost the loop more
        # than the sample did.
        threading.Thread(
            target=self._sample_ticks,
            args=(sampler, scanner, asyncio.get_running_loop(), ticks, stop, began),
            name="opsconsole-host",
            daemon=True,
        ).start()
        reported: str | None = None
        try:
            while (tick := await ticks.get()) is not None:
                if isinstance(tick, Exception):
                    raise tick
                sample, table, missing = tick
                if self._scanner_missing:
                    missing.append(self._scanner_missing)
                degraded = f"n/a here: {', '.join(missing)}" if missing else None
                if degraded != reported:
                    reported = degraded
                    yield SourceHealth(
                        ts=sample.ts, host=self.hostname, source=self.id, degraded=degraded
                    )
                yield sample
                if table is not None:
                    yield table
        finally:
            stop.set()
            self._runs.remove((ticks, stop))

    def _sample_ticks(
        self,
        sampler: HostSampler,
        scanner: ProcessScanner | None,
        loop: asyncio.AbstractEventLoop,
        ticks: asyncio.Queue[_Tick | Exception | None],
        stop: threading.Event,
        began: float | None,
    ) -> None:
        """The sampling thread of one ``events``: a sample every ``interval``, with a process
        table when one is due, put on ``ticks`` until ``stop`` is set or a sample fails. The
        first comes at once, or, when ``open`` took one that ``began`` then, an interval on."""
        next_host = next_processes = now = time.monotonic()
        if began is not None:
            next_host = _next_tick(began, self.interval, now)
            next_processes = _next_tick(began, self.process_interval, now)
            stop.wait(max(0.0, min(next_host, next_processes) - now))
        while not stop.is_set():
            take_processes = scanner is not None and time.monotonic() >= next_processes
            # A tick the loop has not taken yet is not added to: a stalled consumer gets the
            # next one when it comes back (qsize reads a length: safe from this thread).
            if ticks.qsize() < 2:
                result: _Tick | Exception
                try:
                    result = self._collect(sampler, scanner if take_processes else None)
                except Exception as error:  # the loop raises it from events()
                    result = error
                if stop.is_set():
                    return  # closed meanwhile: the result is dropped
                try:
                    loop.call_soon_threadsafe(ticks.put_nowait, result)
                except RuntimeError:
                    return  # the loop is closed
                if isinstance(result, Exception):
                    return
            done = time.monotonic()
            next_host = _next_tick(next_host, self.interval, done)
            if take_processes:
                next_processes = _next_tick(next_processes, self.process_interval, done)
            due = min(next_host, next_processes) if scanner is not None else next_host
            stop.wait(max(0.0, due - time.monotonic()))

    @staticmethod
    def _collect(sampler: HostSampler, scanner: ProcessScanner | None) -> _Tick:
        sample, missing = sampler.sample()
        if scanner is None:
            return sample, None, missing
        figures = _Figures()
        table = figures.read("processes", scanner.scan)
        return sample, table, missing + figures.missing

    async def close(self) -> None:
        """Stop; a pending ``events`` returns promptly. Idempotent."""
        self._closed.set()
        for ticks, stop in self._runs:
            stop.set()
            ticks.put_nowait(None)


_Tick = tuple[HostSample, "Event | None", list[str]]
"""What one tick of the sampling thread gives: the sample, the process table when one was
due, and the figures that were not available."""


def _next_tick(due: float, interval: float, now: float) -> float:
    """The tick after ``due``; if that is already past, the next one from ``now`` (no burst)."""
    following = due + interval
    return following if following > now else now + interval
