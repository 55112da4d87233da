"""The cgroup this process runs in, and the CPU and memory limits it lives under (v1 and v2).

A console inside a container or a systemd slice sees the host's CPU and memory, but it is the
cgroup's quota that throttles it and the cgroup's memory limit that gets it OOM-killed; this
module reads those. Where each controller lives comes from ``/proc/self/cgroup`` and
``/proc/self/mountinfo`` rather than from fixed paths, so combined (``cpu,cpuacct``) and split v1
mounts, hybrid hosts (v1 controllers beside an empty v2 hierarchy), pure v2 and containers whose
cgroup mount shows only their own subtree all resolve the same way.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal, TypeVar

import msgspec

from opsconsole.sources.events import CgroupLimits

_OCTAL = re.compile(r"\\([0-7]{3})")
_Number = TypeVar("_Number", int, float)

UNLIMITED_V1: int = 1 << 62
"""cgroup v1 writes "no limit" as a huge page-aligned number (9223372036854771712); anything at
or above this is no limit."""


# msgspec Structs rather than dataclasses: the same fields, equality, hash and repr, but
# defined in C at import instead of by generating and exec-ing source (4-5M instructions each).
class Hierarchy(msgspec.Struct, frozen=True):
    """Where one controller of this process's cgroup is found."""

    version: Literal[1, 2]
    mount: Path
    """Mount point of the hierarchy."""
    mount_root: str
    """Cgroup path the mount shows at its mount point (``/`` unless a container sees a subtree)."""
    path: str
    """This process's cgroup path, as /proc/self/cgroup gives it."""

    @property
    def directory(self) -> Path:
        """The directory of this process's cgroup."""
        if self.mount_root == "/":
            relative = self.path
        elif self.path == self.mount_root or self.path.startswith(self.mount_root + "/"):
            relative = self.path[len(self.mount_root) :]
        else:
            # A container without its own cgroup namespace: the mount already is our cgroup.
            relative = ""
        return self.mount / relative.lstrip("/")

    def lineage(self) -> Iterator[Path]:
        """This cgroup's directory, then each parent up to the mount point."""
        directory = self.directory
        yield directory
        for parent in directory.parents:
            if not parent.is_relative_to(self.mount):
                return
            yield parent


class Placement(msgspec.Struct, frozen=True):  # not a dataclass: see Hierarchy
    """The hierarchies holding this process's CPU quota, CPU accounting and memory controllers."""

    cpu: Hierarchy | None
    cpuacct: Hierarchy | None
    memory: Hierarchy | None


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (``\\040``)."""
    return _OCTAL.sub(lambda match: chr(int(match[1], 8)), field)


def detect(proc_self: Path = Path("/proc/self")) -> Placement:
    """Find where this process's cgroup controllers are mounted; a controller not found is None.

    A controller mounted as v1 wins over the v2 hierarchy: on hybrid hosts the v2 hierarchy is
    mounted too but holds no controllers.
    """
    try:
        membership = (proc_self / "cgroup").read_text()
        mountinfo = (proc_self / "mountinfo").read_text()
    except OSError:
        return Placement(None, None, None)
    v1_paths: dict[str, str] = {}
    v2_path: str | None = None
    for line in membership.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if parts[0] == "0" and controllers == "":
            v2_path = path
        else:
            for controller in controllers.split(","):
                v1_paths[controller] = path
    v1_mounts: dict[str, tuple[Path, str]] = {}
    v2_mount: tuple[Path, str] | None = None
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        dash = fields.index("-")
        if dash < 5 or len(fields) < dash + 4:
            continue
        root, mount_point = _unescape(fields[3]), Path(_unescape(fields[4]))
        fstype, super_options = fields[dash + 1], fields[dash + 3].split(",")
        if fstype == "cgroup2" and v2_mount is None:
            v2_mount = (mount_point, root)
        elif fstype == "cgroup":
            for option in super_options:
                v1_mounts.setdefault(option, (mount_point, root))

    def find(controller: str) -> Hierarchy | None:
        if controller in v1_paths and controller in v1_mounts:
            mount, root = v1_mounts[controller]
            return Hierarchy(1, mount, root, v1_paths[controller])
        if v2_path is not None and v2_mount is not None:
            return Hierarchy(2, v2_mount[0], v2_mount[1], v2_path)
        return None

    return Placement(find("cpu"), find("cpuacct"), find("memory"))


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _read_int(path: Path) -> int | None:
    text = _read(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _read_stat(path: Path) -> dict[str, int]:
    """A flat keyed file such as cpu.stat: ``name value`` per line."""
    stats: dict[str, int] = {}
    for line in (_read(path) or "").splitlines():
        name, _, value = line.partition(" ")
        try:
            stats[name] = int(value)
        except ValueError:
            continue
    return stats


def _v2_cpu_max(directory: Path) -> float | None:
    """Cores allowed by ``cpu.max`` ("50000 100000"), None for "max" or no file."""
    text = _read(directory / "cpu.max")
    if text is None:
        return None
    quota, _, period = text.partition(" ")
    try:
        return int(quota) / int(period or 100000)
    except (ValueError, ZeroDivisionError):
        return None  # "max"


def _v1_cpu_quota(directory: Path) -> float | None:
    """Cores allowed by cpu.cfs_quota_us / cpu.cfs_period_us, None when the quota is -1."""
    quota = _read_int(directory / "cpu.cfs_quota_us")
    period = _read_int(directory / "cpu.cfs_period_us")
    if quota is None or period is None or quota < 0 or period <= 0:
        return None
    return quota / period


def _v2_memory_max(directory: Path) -> int | None:
    return _read_int(directory / "memory.max")  # "max" parses as None


def _v1_memory_limit(directory: Path) -> int | None:
    limit = _read_int(directory / "memory.limit_in_bytes")
    return limit if limit is not None and limit < UNLIMITED_V1 else None


def _tightest(
    hierarchy: Hierarchy, read: Callable[[Path], _Number | None]
) -> tuple[_Number, Path] | None:
    """The smallest limit on the way from this cgroup up to the root, and where it is set."""
    best: tuple[_Number, Path] | None = None
    for directory in hierarchy.lineage():
        value = read(directory)
        if value is not None and (best is None or value < best[0]):
            best = (value, directory)
    return best


LIMITS_TTL = 10.0
"""Seconds a found limit is trusted before the tree is walked again: limits change seldom (a
``systemctl set-property``, a ``docker update``), and walking every cgroup up to the root each
second was most of what a host sample cost."""


class _Limits(msgspec.Struct, frozen=True):  # not a dataclass: see Hierarchy
    """The tightest limits up the tree, and where the CPU quota is set."""

    cpu: float | None = None
    cpu_dir: Path | None = None
    memory: int | None = None


class _Counters(msgspec.Struct, frozen=True):  # not a dataclass: see Hierarchy
    """Cumulative counters from the previous read, to turn into deltas."""

    at: float
    usage_seconds: float | None
    throttled_periods: int | None
    throttled_seconds: float | None
    cpu_dir: Path | None
    """Where the throttling was counted: a delta across a move of the quota means nothing."""


class CgroupReader:
    """Reads the limits of this process's cgroup, and its CPU use and throttling since last read.

    ``proc_self`` stands in for ``/proc/self`` in tests, whose fake ``mountinfo`` points at fake
    cgroup trees. The limits are looked up again every ``LIMITS_TTL`` seconds; each ``read``
    in between costs a few small file reads, and none when no limit applies.
    """

    def __init__(
        self,
        *,
        proc_self: Path = Path("/proc/self"),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._placement = detect(proc_self)
        self._clock = clock
        self._previous: _Counters | None = None
        self._limits = _Limits()
        self._limits_at: float | None = None

    @property
    def placement(self) -> Placement:
        """Where the controllers were found."""
        return self._placement

    def read(self) -> CgroupLimits | None:
        """The current limits and usage, or None when no CPU or memory limit applies."""
        placement = self._placement
        now = self._clock()
        if self._limits_at is None or now - self._limits_at >= LIMITS_TTL:
            self._limits, self._limits_at = _find_limits(placement), now
        limits = self._limits
        limited = [
            hierarchy
            for hierarchy, limit in ((placement.memory, limits.memory), (placement.cpu, limits.cpu))
            if hierarchy is not None and limit is not None
        ]
        if not limited:
            self._previous = None
            return None
        periods_total = throttled_total = None
        if placement.cpu is not None:
            # Throttling is counted where the quota is set, not in the cgroups below it.
            stat = _read_stat((limits.cpu_dir or placement.cpu.directory) / "cpu.stat")
            periods_total = stat.get("nr_throttled")
            if placement.cpu.version == 2:
                throttled_total = _scaled(stat.get("throttled_usec"), 1e-6)
            else:
                throttled_total = _scaled(stat.get("throttled_time"), 1e-9)
        usage_seconds = (
            _cpu_usage(placement.cpuacct)
            if placement.cpuacct is not None and _usage_matches(placement)
            else None
        )
        memory_usage = _memory_usage(placement.memory) if placement.memory else None
        previous = self._previous
        self._previous = _Counters(
            now, usage_seconds, periods_total, throttled_total, limits.cpu_dir
        )
        usage_cores = periods = throttled = None
        if previous is not None and now > previous.at:
            usage = _delta(usage_seconds, previous.usage_seconds)
            usage_cores = usage / (now - previous.at) if usage is not None else None
            if previous.cpu_dir == limits.cpu_dir:
                periods = _delta(periods_total, previous.throttled_periods)
                throttled = _delta(throttled_total, previous.throttled_seconds)
        return CgroupLimits(
            version=limited[0].version,
            path=_describe(placement),
            cpu_limit_cores=limits.cpu,
            cpu_usage_cores=usage_cores,
            throttled_periods=periods,
            throttled_seconds=throttled,
            memory_limit=limits.memory,
            memory_usage=memory_usage,
        )


def _find_limits(placement: Placement) -> _Limits:
    """The tightest CPU quota and memory limit on the way up from this process's cgroups."""
    cpu = placement.cpu
    found_cpu = _tightest(cpu, _v2_cpu_max if cpu.version == 2 else _v1_cpu_quota) if cpu else None
    memory = placement.memory
    found_memory = (
        _tightest(memory, _v2_memory_max if memory.version == 2 else _v1_memory_limit)
        if memory
        else None
    )
    return _Limits(
        cpu=found_cpu[0] if found_cpu else None,
        cpu_dir=found_cpu[1] if found_cpu else None,
        memory=found_memory[0] if found_memory else None,
    )


def _usage_matches(placement: Placement) -> bool:
    """True when CPU accounting covers the same cgroup as the quota.

    v1 can mount cpuacct apart from cpu and leave the process in another group there (often the
    root, which counts the whole host): that usage says nothing about this cgroup.
    """
    cpu, cpuacct = placement.cpu, placement.cpuacct
    return cpu is None or cpuacct is None or cpu.path == cpuacct.path


def _cpu_usage(cpuacct: Hierarchy) -> float | None:
    """CPU seconds used by this cgroup since it was created."""
    if cpuacct.version == 2:
        return _scaled(_read_stat(cpuacct.directory / "cpu.stat").get("usage_usec"), 1e-6)
    return _scaled(_read_int(cpuacct.directory / "cpuacct.usage"), 1e-9)


def _memory_usage(memory: Hierarchy) -> int | None:
    """The memory charged to this cgroup."""
    name = "memory.current" if memory.version == 2 else "memory.usage_in_bytes"
    return _read_int(memory.directory / name)


def _scaled(value: int | None, factor: float) -> float | None:
    return value * factor if value is not None else None


def _delta(current: _Number | None, previous: _Number | None) -> _Number | None:
    """current - previous; None when either is unknown or the counter went back (a reset)."""
    if current is None or previous is None or current < previous:
        return None
    return current - previous


def _describe(placement: Placement) -> str:
    """The cgroup path; ``memory:/a cpu:/b`` when v1 controllers put us in different groups."""
    paths = {
        name: hierarchy.path
        for name, hierarchy in (("memory", placement.memory), ("cpu", placement.cpu))
        if hierarchy is not None
    }
    if len(set(paths.values())) <= 1:
        return next(iter(paths.values()), "/")
    return " ".join(f"{name}:{path}" for name, path in paths.items())
