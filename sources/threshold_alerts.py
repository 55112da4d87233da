"""Alerts from the console's own thresholds: host (and container) figures crossing a level.

Headless and passive: a plain class the app (or the agent) feeds with the events it already
has; it returns the ``Alert`` events to publish. An alert is raised when a figure's level goes
up (ok to warning, warning to critical), changed when it goes down a level, and resolved when
it is back to ok; a figure hovering at a threshold does not flap, because it must fall
``HYSTERESIS`` below a level to leave it. Thresholds are the configuration's
(``Config.thresholds``, ``Threshold.level``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from opsconsole.config import Level, Threshold
from opsconsole.sources.events import Alert, ContainerList, ContainerStatsBatch, Event, HostSample

HYSTERESIS: Final = 0.95
"""A figure leaves a level only below this fraction of the level's threshold."""
MAX_TRACKED: Final = 4096
"""Figures whose level is remembered at most (containers and disks come and go)."""

_RANK: Final[Mapping[Level, int]] = {"ok": 0, "warning": 1, "critical": 2}
_NAMES: Final = {
    "cpu": "CPU busy",
    "memory": "memory used",
    "swap": "swap used",
    "disk": "disk used",
    "load": "load per core",
    "cgroup_cpu": "cgroup CPU quota used",
    "cgroup_memory": "cgroup memory limit used",
}


def _ratio(used: float | int | None, limit: float | int | None) -> float | None:
    if used is None or not limit:
        return None
    return used / limit * 100.0


class ThresholdAlerts:
    """Turns figures into alerts as they cross the configured thresholds.

    ``feed(event)`` takes any event and returns the alerts it causes (usually none); only
    ``HostSample`` and container stats are looked at. ``source`` names the alerts' source.
    """

    def __init__(self, thresholds: Mapping[str, Threshold], *, source: str = "thresholds") -> None:
        self.thresholds = thresholds
        self.source = source
        self._levels: dict[tuple[str, str], Level] = {}
        """The level of each figure (host and name), as last alerted."""
        self._names: dict[str, str] = {}
        """Container names by id, from the latest lists."""

    def feed(self, event: Event) -> list[Alert]:
        """The alerts ``event`` raises, changes or resolves."""
        if isinstance(event, HostSample):
            return self._check(event, self._host_figures(event))
        if isinstance(event, ContainerList):
            self._names.update({c.id: c.name for c in event.containers})
            if len(self._names) > MAX_TRACKED:
                self._names = {c.id: c.name for c in event.containers}
            return []
        if isinstance(event, ContainerStatsBatch):
            figures = [
                (
                    "cgroup_memory",
                    f"container {self._names.get(s.id, s.id[:12])}",
                    _ratio(s.mem_usage, s.mem_limit),
                )
                for s in event.stats
            ]
            return self._check(event, figures)
        return []

    def _host_figures(self, sample: HostSample) -> list[tuple[str, str, float | None]]:
        figures: list[tuple[str, str, float | None]] = [
            ("cpu", "", sample.cpu_percent),
            ("memory", "", sample.mem_percent),
            ("swap", "", sample.swap_percent if sample.swap_total else None),
        ]
        if sample.load is not None and sample.cpu_count:
            figures.append(("load", "", sample.load[0] / sample.cpu_count))
        figures.extend(("disk", disk.mount, disk.percent) for disk in sample.disks)
        if (cgroup := sample.cgroup) is not None:
            cpu = _ratio(cgroup.cpu_usage_cores, cgroup.cpu_limit_cores)
            figures.append(("cgroup_cpu", "", cpu))
            figures.append(("cgroup_memory", "", _ratio(cgroup.memory_usage, cgroup.memory_limit)))
        return figures

    def _check(self, event: Event, figures: Iterable[tuple[str, str, float | None]]) -> list[Alert]:
        alerts = []
        for metric, subject, value in figures:
            threshold = self.thresholds.get(metric)
            if threshold is None or value is None or value != value:  # NaN: unknown
                continue
            key = (event.host, f"{metric}:{subject}" if subject else metric)
            before = self._levels.get(key, "ok")
            level = self._level(threshold, value, before)
            if level == before:
                continue
            if level == "ok":
                self._levels.pop(key, None)
            elif key in self._levels or len(self._levels) < MAX_TRACKED:
                self._levels[key] = level
            alerts.append(self._alert(event, metric, subject, value, threshold, level))
        return alerts

    @staticmethod
    def _level(threshold: Threshold, value: float, before: Level) -> Level:
        level = threshold.level(value)
        # Going down: only once clearly below the level held, so a figure at the line is quiet.
        if _RANK[level] < _RANK[before]:
            held = threshold.critical if before == "critical" else threshold.warning
            if value >= held * HYSTERESIS:
                return before
        return level

    def _alert(
        self,
        event: Event,
        metric: str,
        subject: str,
        value: float,
        threshold: Threshold,
        level: Level,
    ) -> Alert:
        name = _NAMES.get(metric, metric)
        what = f"{name} {subject}".strip() if subject else name
        shown = f"{value:.2f}" if metric == "load" else f"{value:.0f}%"
        if level == "ok":
            summary = f"{what} back to {shown}"
        else:
            limit = threshold.critical if level == "critical" else threshold.warning
            limit_shown = f"{limit:g}" if metric == "load" else f"{limit:g}%"
            summary = f"{what} at {shown} (>= {limit_shown})"
        return Alert(
            ts=event.ts,
            host=event.host,
            source=self.source,
            key=f"threshold:{metric}:{subject}" if subject else f"threshold:{metric}",
            severity="info" if level == "ok" else level,
            summary=summary,
            origin=f"threshold:{metric}",
            resolved=level == "ok",
            labels={"value": f"{value:.4g}", **({"subject": subject} if subject else {})},
        )
