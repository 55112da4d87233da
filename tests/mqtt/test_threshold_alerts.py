"""Alerts from the console's own thresholds: raised, changed and resolved, without flapping."""

from __future__ import annotations

from opsconsole.config import DEFAULT_THRESHOLDS
from opsconsole.sources.events import (
    ContainerInfo,
    ContainerList,
    ContainerStats,
    ContainerStatsBatch,
    DiskUsage,
    HostSample,
)
from opsconsole.sources.threshold_alerts import ThresholdAlerts


def sample(cpu: float, disk: float = 10.0, ts: float = 1.0) -> HostSample:
    disks = (
        DiskUsage(mount="/var", device="sda1", fstype="ext4", total=100, used=0, free=0,
                  percent=disk),
    )  # fmt: skip
    return HostSample(ts=ts, host="web-1", source="host", cpu_percent=cpu, disks=disks)


def test_a_figure_crossing_levels_raises_changes_and_resolves_one_alert() -> None:
    alerts = ThresholdAlerts(DEFAULT_THRESHOLDS)
    assert alerts.feed(sample(10)) == []
    (warning,) = alerts.feed(sample(75))
    assert (warning.key, warning.severity, warning.resolved) == ("threshold:cpu", "warning", False)
    assert warning.summary == "CPU busy at 75% (>= 70%)" and warning.host == "web-1"
    assert alerts.feed(sample(80)) == []  # same level: nothing new
    (critical,) = alerts.feed(sample(95))
    assert critical.severity == "critical" and critical.key == warning.key
    assert alerts.feed(sample(88)) == []  # just under 90: held, no flapping at the line
    (down,) = alerts.feed(sample(80))
    assert down.severity == "warning"
    (resolved,) = alerts.feed(sample(20))
    assert resolved.resolved and resolved.summary == "CPU busy back to 20%"


def test_each_disk_and_container_is_its_own_alert() -> None:
    alerts = ThresholdAlerts(DEFAULT_THRESHOLDS)
    (disk,) = alerts.feed(sample(10, disk=95))
    assert disk.key == "threshold:disk:/var" and disk.severity == "critical"
    assert "disk used /var at 95%" in disk.summary
    info = ContainerInfo(engine="podman", runtime="podman", id="abc123", name="web", image="i",
                         state="running")  # fmt: skip
    assert (
        alerts.feed(ContainerList(ts=1, host="h", source="p", engine="p", containers=(info,))) == []
    )
    stats = ContainerStats(id="abc123", mem_usage=97, mem_limit=100)
    unlimited = ContainerStats(id="def456", mem_usage=97, mem_limit=None)
    batch = ContainerStatsBatch(ts=1, host="h", source="p", engine="p", stats=(stats, unlimited))
    (memory,) = alerts.feed(batch)
    assert memory.key == "threshold:cgroup_memory:container web" and memory.severity == "critical"


def test_unknown_figures_never_alarm() -> None:
    alerts = ThresholdAlerts(DEFAULT_THRESHOLDS)
    assert alerts.feed(HostSample(ts=1, host="h", source="host", cpu_percent=float("nan"))) == []
    assert alerts.feed(HostSample(ts=1, host="h", source="host")) == []
